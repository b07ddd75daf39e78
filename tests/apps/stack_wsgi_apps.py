"""Bottle, Pyramid and Falcon behind realip's WSGI middleware, each asked through its own
accessor (tests/test_real_servers.py); one WSGI callable dispatches on the first path segment.

The resolver comes from the REALIP_* environment the test sets.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable

import bottle
import falcon
from pyramid.config import Configurator
from pyramid.request import Request as PyramidRequest
from pyramid.response import Response

from realip.wsgi import RealIPMiddleware

bottle_app = bottle.Bottle()


@bottle_app.get("/bottle/ip")
def bottle_ip() -> Dict[str, Any]:
    return {"accessor": bottle.request.remote_addr, "route": bottle.request.remote_route}


def pyramid_ip(request: PyramidRequest) -> Response:
    return Response(json_body={"accessor": request.client_addr, "remote_addr": request.remote_addr})


with Configurator() as config:
    config.add_route("ip", "/pyramid/ip")
    config.add_view(pyramid_ip, route_name="ip")
    pyramid_app = config.make_wsgi_app()


class FalconIP:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"accessor": req.access_route[0], "route": req.access_route}


falcon_app = falcon.App()
falcon_app.add_route("/falcon/ip", FalconIP())

APPS: Dict[str, Callable[..., Iterable[bytes]]] = {
    "bottle": bottle_app,
    "pyramid": pyramid_app,
    "falcon": falcon_app,
}


def dispatch(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    first = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
    if first == "ready":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"ready": True}).encode()]
    return APPS[first](environ, start_response)


app = RealIPMiddleware(dispatch)
