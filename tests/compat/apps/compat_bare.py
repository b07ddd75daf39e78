"""A Starlette app WITHOUT realip: the control that shows the harness can see a wrong answer."""

from __future__ import annotations

from compat_common import body, call
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def ip(request: Request) -> Response:
    notes: list = []
    host = call(lambda: request.client.host if request.client else None, notes, "client")
    return Response(body(host, {"request.client.host": host}, notes), media_type="application/json")


async def ready(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/ip/{kind}", ip), Route("/ready", ready)])
