"""The recipe of docs/how-to/wsgi-asgi.md: realip's client in uWSGI's request log.

uWSGI logs the address from its own request data, which no WSGI middleware can change; it
logs variables an app sets with ``uwsgi.set_logvar``, as ``%(client)`` in ``--logformat``.
Importable only inside a uWSGI process.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import uwsgi
from server_app import wsgi_app

from realip.wsgi import RealIPMiddleware


def log_client(app: Callable[..., Any]) -> Callable[..., Any]:
    def logged(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        uwsgi.set_logvar("client", environ["REMOTE_ADDR"])  # realip rewrote it
        return app(environ, start_response)

    return logged


application = RealIPMiddleware(log_client(wsgi_app))
