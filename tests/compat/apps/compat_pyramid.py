"""Pyramid with realip's WSGI middleware around the app."""

from __future__ import annotations

from typing import Any

from compat_common import body, call, record_wsgi
from pyramid.config import Configurator
from pyramid.response import Response

import realip
from realip.wsgi import RealIPMiddleware


def ip(request: Any) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    accessors = {
        "request.remote_addr": call(lambda: request.remote_addr, notes, "request.remote_addr"),
        "request.client_addr": call(lambda: request.client_addr, notes, "request.client_addr"),
    }
    return Response(body(app_ip, accessors, notes), content_type="application/json")


def ready(request: Any) -> Response:
    return Response("ok")


with Configurator() as config:
    config.add_route("ip", "/ip/{kind}")
    config.add_view(ip, route_name="ip")
    config.add_route("ready", "/ready")
    config.add_view(ready, route_name="ready")
    _app = config.make_wsgi_app()

app = record_wsgi(RealIPMiddleware(_app))
