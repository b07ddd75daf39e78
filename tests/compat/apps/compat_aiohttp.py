"""aiohttp with ``realip.aiohttp``'s middleware when this realip has it; ``make_app`` for
``python -m aiohttp.web``.

Without the adapter the app still answers, with a note saying so: the table then shows what
aiohttp's own server and accessors do with realip's ``get_client_ip`` alone.
"""

from __future__ import annotations

from typing import Any, List

from aiohttp import web
from compat_common import body, call, record_headers

import realip

try:
    from realip import aiohttp as adapter
except ImportError:
    adapter = None  # type: ignore[assignment]


async def ip(request: web.Request) -> web.Response:
    notes: List[str] = [] if adapter is not None else ["realip.aiohttp is missing"]
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    remote = call(lambda: request.remote, notes, "request.remote")
    return web.Response(
        body=body(app_ip, {"request.remote": remote}, notes), content_type="application/json"
    )


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@web.middleware
async def record(request: web.Request, handler: Any) -> web.StreamResponse:
    """Record the header as aiohttp parsed it, before realip's middleware runs."""
    record_headers(request.headers.getall("X-Forwarded-For", []))
    return await handler(request)


def make_app(argv: Any = None) -> web.Application:
    """The application; realip's middleware first (after the recorder) when the adapter exists."""
    middlewares: list = [record]
    if adapter is not None:
        middlewares.append(adapter.middleware())
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/ip/{kind}", ip)
    app.router.add_get("/ready", ready)
    return app
