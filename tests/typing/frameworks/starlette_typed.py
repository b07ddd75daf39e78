"""realip's ASGI middleware in Starlette/FastAPI: add_middleware and wrapping the app."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware

from realip.asgi import RealIPMiddleware

api = FastAPI()
api.add_middleware(RealIPMiddleware, trusted_proxies=["10.0.0.0/8"])
outermost = RealIPMiddleware(api, trusted_proxies=["10.0.0.0/8"])
site = Starlette(middleware=[Middleware(RealIPMiddleware, trusted_proxies=["10.0.0.0/8"])])
