"""Sanic: ``app`` for Sanic's own server, ``asgi_app`` (realip's ASGI middleware) for ASGI servers.

Under Sanic's own server there is no ASGI scope to wrap: the app asks
``realip.get_client_ip(request)`` once per request in an ``on_request`` hook, as a how-to would.
"""

from __future__ import annotations

from typing import Any

from compat_common import ACCESSOR_ERROR, body, call, record_asgi, record_headers
from sanic import Sanic
from sanic.response import raw, text

import realip
from realip.asgi import RealIPMiddleware

app = Sanic("realip_compat")


@app.on_request
async def resolve(request: Any) -> None:
    notes: list = []
    request.ctx.notes = notes
    if not request.app.asgi:  # under an ASGI server, record_asgi saw the header first
        record_headers(request.headers.getall("x-forwarded-for", []))
    request.ctx.client_ip = call(
        lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)"
    )


@app.get("/ip/<kind>")
async def ip(request: Any, kind: str) -> Any:
    notes = request.ctx.notes
    # Sanic's client accessor (``request.ip`` is the socket peer by definition).
    accessors = {"request.client_ip": call(lambda: request.client_ip, notes, "request.client_ip")}
    app_ip = request.ctx.client_ip
    return raw(
        body(app_ip if app_ip != ACCESSOR_ERROR else ACCESSOR_ERROR, accessors, notes),
        content_type="application/json",
    )


@app.get("/ready")
async def ready(request: Any) -> Any:
    return text("ok")


asgi_app = record_asgi(RealIPMiddleware(app))
