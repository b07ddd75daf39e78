"""realip's ASGI middleware in Litestar, through DefineMiddleware and as a raw ASGI wrapper."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware

from realip.asgi import RealIPMiddleware


@get("/")
async def index() -> str:
    """A handler."""
    return "ok"


app = Litestar(
    route_handlers=[index],
    middleware=[DefineMiddleware(RealIPMiddleware, trusted_proxies=["10.0.0.0/8"])],
)
outermost = RealIPMiddleware(app, trusted_proxies=["10.0.0.0/8"])
