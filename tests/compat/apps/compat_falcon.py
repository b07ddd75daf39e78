"""Falcon, WSGI (``wsgi_app``) and ASGI (``asgi_app``), each wrapped in realip's middleware."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from compat_common import body, call, record_asgi, record_wsgi

import realip
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.wsgi import RealIPMiddleware as WSGIMiddleware


def _answer(req: Any, resp: Any) -> None:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(req), notes, "realip.get_client_ip(req)")
    accessors = {
        "req.remote_addr": call(lambda: req.remote_addr, notes, "req.remote_addr"),
        "req.access_route[0]": call(lambda: req.access_route[0], notes, "req.access_route"),
    }
    resp.content_type = "application/json"
    resp.data = body(app_ip, accessors, notes)


class SyncIP:
    def on_get(self, req: Any, resp: Any, kind: str) -> None:
        _answer(req, resp)


class SyncReady:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.text = "ok"


class AsyncIP:
    async def on_get(self, req: Any, resp: Any, kind: str) -> None:
        _answer(req, resp)


class AsyncReady:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.text = "ok"


_wsgi = falcon.App()
_wsgi.add_route("/ip/{kind}", SyncIP())
_wsgi.add_route("/ready", SyncReady())
wsgi_app = record_wsgi(WSGIMiddleware(_wsgi))

_asgi = falcon.asgi.App()
_asgi.add_route("/ip/{kind}", AsyncIP())
_asgi.add_route("/ready", AsyncReady())
asgi_app = record_asgi(ASGIMiddleware(_asgi))
