"""Build a WSGI environ as a server does, and call a WSGI app as a server does."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple


def wsgi_environ(
    peer: Optional[str], headers: Iterable[Tuple[str, str]], *, path: str = "/", **extra: Any
) -> Dict[str, Any]:
    """An environ with ``HTTP_*`` keys; repeated header lines joined with commas, in order.

    ``peer`` None leaves ``REMOTE_ADDR`` out, as a server on a Unix socket does. ``extra``
    keys (``SERVER_NAME``, ...) are added as given.
    """
    environ: Dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "wsgi.url_scheme": "http",
        **extra,
    }
    if peer is not None:
        environ["REMOTE_ADDR"] = peer
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def run_wsgi_app(app: Any, environ: Dict[str, Any]) -> Tuple[str, bytes]:
    """Call a WSGI app like a server: the status line and the whole body."""
    status: List[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status.append(line)

    body = b"".join(app(environ, start_response))
    return status[0], body
