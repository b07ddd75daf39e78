"""realip's ASGI middleware served by hypercorn.asyncio.serve (TypedDict-based types)."""

from __future__ import annotations

import asyncio

# hypercorn types its WSGI alternative with bare dicts: pyright strict calls that "partially
# unknown", which is about hypercorn, not about what is passed to it.
from hypercorn.asyncio import serve  # pyright: ignore[reportUnknownVariableType]
from hypercorn.config import Config
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from realip.asgi import RealIPMiddleware


async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """An app typed with hypercorn's types."""


def main() -> None:
    """Serve the wrapped app (not run by the tests: type-checked only)."""
    config = Config()
    config.bind = ["127.0.0.1:8000"]
    asyncio.run(serve(RealIPMiddleware(app, trusted_proxies=["10.0.0.0/8"]), config))
