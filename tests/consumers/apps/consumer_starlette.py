"""A Starlette app traced by OpenTelemetry's ASGI middleware, realip outside it."""

from __future__ import annotations

from consumer_common import setup_tracing
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from realip.asgi import RealIPMiddleware

setup_tracing()


async def hit(request: Request) -> JSONResponse:
    return JSONResponse({"counts": {}})


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


starlette_app = Starlette(routes=[Route("/hit/{kind}", hit), Route("/ready", ready)])
app = RealIPMiddleware(OpenTelemetryMiddleware(starlette_app))  # realip outermost
