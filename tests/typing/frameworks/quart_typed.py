"""realip's ASGI middleware wrapping Quart's ``app.asgi_app`` (TypedDict-based types)."""

from __future__ import annotations

from quart import Quart

from realip.asgi import RealIPMiddleware

app = Quart(__name__)
# Quart documents this assignment; mypy flags any assignment to a method, whatever its type.
app.asgi_app = RealIPMiddleware(app.asgi_app, trusted_proxies=["10.0.0.0/8"])  # type: ignore[method-assign]
