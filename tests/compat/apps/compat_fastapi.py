"""FastAPI with realip's ASGI middleware, as the README shows it."""

from __future__ import annotations

from compat_common import body, call, record_asgi
from fastapi import FastAPI, Request, Response

import realip
from realip.asgi import RealIPMiddleware

app = FastAPI()
app.add_middleware(RealIPMiddleware)


@app.get("/ip/{kind}")
def ip(kind: str, request: Request) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    host = call(lambda: request.client.host if request.client else None, notes, "client")
    return Response(
        body(app_ip, {"request.client.host": host}, notes), media_type="application/json"
    )


@app.get("/ready")
def ready() -> Response:
    return Response("ok")


wrapped = record_asgi(app)  # what the server runs: records the header first
