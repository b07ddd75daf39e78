"""A bare ASGI and WSGI app behind realip, for the servers' own claims (access and log lines).

``asgi``: answers HTTP with the client and accepts websockets; ``wsgi``: the same for HTTP.
Both log ``hit`` on the ``app`` logger, so a log configuration can be checked too.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable

from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.wsgi import RealIPMiddleware as WSGIRealIP

log = logging.getLogger("app")


async def _asgi(
    scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": str(scope["client"][0])})
        await send({"type": "websocket.close", "code": 1000})
        return
    log.info("hit")
    body = str(scope["client"][0]).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    log.info("hit")
    body = str(environ.get("REMOTE_ADDR")).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


asgi = ASGIRealIP(_asgi)
wsgi = WSGIRealIP(wsgi_app)
