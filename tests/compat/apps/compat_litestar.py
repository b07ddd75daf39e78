"""Litestar with realip's ASGI middleware through ``DefineMiddleware``."""

from __future__ import annotations

from compat_common import body, call, record_asgi
from litestar import Litestar, Request, Response, get
from litestar.middleware import DefineMiddleware

import realip
from realip.asgi import RealIPMiddleware


@get("/ip/{kind:str}", sync_to_thread=False)
def ip(kind: str, request: Request) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    host = call(lambda: request.client.host if request.client else None, notes, "client")
    return Response(
        body(app_ip, {"request.client.host": host}, notes), media_type="application/json"
    )


@get("/ready", sync_to_thread=False)
def ready() -> str:
    return "ok"


app = Litestar(route_handlers=[ip, ready], middleware=[DefineMiddleware(RealIPMiddleware)])
wrapped = record_asgi(app)  # what the server runs: records the header first
