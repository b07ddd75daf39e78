"""The lab's app pods: an ASGI and a WSGI app that answer what the socket saw and what realip said.

The resolver comes from ``Resolver.for_topology(**json.loads($LAB_TOPOLOGY))``, the way an app
in that topology is configured. Every answer is JSON: the server, the peer as the server saw it
(before the middleware rewrote anything), realip's client_ip / snat / reason, and the ``n``
query value so a load run can check each answer went back to the request that asked.

Imported by uvicorn (``lab_apps:asgi_app``) and gunicorn (``lab_apps:wsgi_app``) inside the
app pod namespaces; ``$LAB_PLAIN=1`` gives the same ASGI app without realip, for the load
comparison.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs

from realip import Resolver, get_result
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.request import ORIGINAL_CLIENT_KEY, ORIGINAL_REMOTE_ADDR_KEY
from realip.wsgi import RealIPMiddleware as WSGIRealIP


def _resolver() -> Resolver:
    spec = json.loads(os.environ.get("LAB_TOPOLOGY", '{"name": "pod-to-pod"}'))
    return Resolver.for_topology(**spec)


def _tag(query: str) -> Optional[str]:
    values = parse_qs(query).get("n")
    return values[0] if values else None


def _answer(server: str, peer: Optional[str], result: Any, query: str) -> bytes:
    data: Dict[str, Any] = {"server": server, "peer": peer, "n": _tag(query)}
    if result is not None:
        data.update(client_ip=result.client_ip, snat=result.snat, reason=result.reason)
    return json.dumps(data).encode()


async def _asgi_inner(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    original = scope.get(ORIGINAL_CLIENT_KEY, scope.get("client"))
    plain = os.environ.get("LAB_PLAIN") == "1"
    result = None if plain else get_result(scope)
    query = scope.get("query_string", b"").decode("latin-1")
    body = _answer("uvicorn", original[0] if original else None, result, query)
    if plain:
        # Without realip an app reads the header itself: hand back what the ingress wrote.
        xff = next((v for k, v in scope["headers"] if k == b"x-forwarded-for"), b"")
        body = (
            body[:-1] + b', "x_forwarded_for": ' + json.dumps(xff.decode("latin-1")).encode() + b"}"
        )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def asgi_app() -> Callable[..., Any]:
    """uvicorn factory: the ASGI app behind realip's middleware (or bare with LAB_PLAIN=1)."""
    if os.environ.get("LAB_PLAIN") == "1":
        return _asgi_inner
    return ASGIRealIP(_asgi_inner, _resolver())


def _wsgi_inner(
    environ: Dict[str, Any], start_response: Callable[[str, List[Tuple[str, str]]], Any]
) -> Iterable[bytes]:
    peer = environ.get(ORIGINAL_REMOTE_ADDR_KEY, environ.get("REMOTE_ADDR"))
    body = _answer("gunicorn", peer, get_result(environ), environ.get("QUERY_STRING", ""))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def wsgi_app() -> Callable[..., Any]:
    """gunicorn factory: the WSGI app behind realip's middleware."""
    return WSGIRealIP(_wsgi_inner, _resolver())
