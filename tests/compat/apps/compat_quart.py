"""Quart with realip's ASGI middleware around ``app.asgi_app``."""

from __future__ import annotations

from compat_common import body, call, record_asgi
from quart import Quart, Response, request

import realip
from realip.asgi import RealIPMiddleware

app = Quart(__name__)
app.asgi_app = RealIPMiddleware(app.asgi_app)  # type: ignore[method-assign]


@app.get("/ip/<kind>")
async def ip(kind: str) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    remote = call(lambda: request.remote_addr, notes, "request.remote_addr")
    return Response(
        body(app_ip, {"request.remote_addr": remote}, notes), mimetype="application/json"
    )


@app.get("/ready")
async def ready() -> str:
    return "ok"


wrapped = record_asgi(app)  # what the server runs: records the header first
