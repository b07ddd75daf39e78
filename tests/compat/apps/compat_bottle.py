"""Bottle with realip's WSGI middleware around the app."""

from __future__ import annotations

import bottle
from compat_common import body, call, record_wsgi

import realip
from realip.wsgi import RealIPMiddleware

_app = bottle.Bottle()


@_app.get("/ip/<kind>")
def ip(kind: str) -> bytes:
    request = bottle.request
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    remote = call(lambda: request.remote_addr, notes, "request.remote_addr")
    bottle.response.content_type = "application/json"
    return body(app_ip, {"request.remote_addr": remote}, notes)


@_app.get("/ready")
def ready() -> str:
    return "ok"


app = record_wsgi(RealIPMiddleware(_app))
