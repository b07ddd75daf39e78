"""realip's ASGI middleware with asgiref's TypedDict-based ASGI types, both directions."""

from __future__ import annotations

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope

from realip.asgi import RealIPMiddleware


async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """An app typed with asgiref's types."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": [], "trailers": False})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


wrapped = RealIPMiddleware(app, trusted_proxies=["10.0.0.0/8"])
typed: ASGI3Application = wrapped  # realip's middleware where an asgiref app is expected
twice = RealIPMiddleware(typed, trusted_proxies=["10.0.0.0/8"])
