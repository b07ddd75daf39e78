"""Starlette with realip's ASGI middleware."""

from __future__ import annotations

from compat_common import body, call, record_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import realip
from realip.asgi import RealIPMiddleware


async def ip(request: Request) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    host = call(lambda: request.client.host if request.client else None, notes, "client")
    return Response(
        body(app_ip, {"request.client.host": host}, notes), media_type="application/json"
    )


async def ready(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/ip/{kind}", ip), Route("/ready", ready)])
app.add_middleware(RealIPMiddleware)
wrapped = record_asgi(app)  # what the server runs: records the header first
