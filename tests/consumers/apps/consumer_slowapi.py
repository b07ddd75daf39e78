"""slowapi on FastAPI, as docs/how-to/rate-limiting.md wires it: realip outermost.

``app``: realip wraps the whole FastAPI app, so ``SlowAPIMiddleware`` (and everything else added
with ``add_middleware``) sees the verified client. ``inner``: the wiring to avoid,
``add_middleware(RealIPMiddleware)`` before ``add_middleware(SlowAPIMiddleware)``: Starlette runs
the middleware added last first, so slowapi keys the request before realip has run.
``CONSUMER_KEY_FUNC`` picks slowapi's key function (``get_remote_address`` or ``get_ipaddr``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Tuple

from consumer_common import counts
from fastapi import FastAPI, Request
from slowapi import Limiter
from slowapi.middleware import SlowAPIMiddleware
from slowapi.util import get_ipaddr, get_remote_address

from realip.asgi import RealIPMiddleware

KEY_FUNCS = {"get_remote_address": get_remote_address, "get_ipaddr": get_ipaddr}


def build(realip_inside: bool) -> Tuple[FastAPI, Limiter]:
    key_func = KEY_FUNCS[os.environ.get("CONSUMER_KEY_FUNC", "get_remote_address")]
    limiter = Limiter(key_func=key_func, default_limits=["1000/minute"])
    api = FastAPI()
    api.state.limiter = limiter
    if realip_inside:
        api.add_middleware(RealIPMiddleware)  # configured by REALIP_TRUSTED_PROXIES
    api.add_middleware(SlowAPIMiddleware)

    @api.get("/hit/{kind}")
    def hit(kind: str, request: Request) -> Dict[str, Any]:
        # The limiter's own counters (limits' memory storage): key -> hits.
        return {"counts": counts(limiter._storage.storage)}

    @api.get("/ready")
    @limiter.exempt
    def ready(request: Request) -> str:
        return "ok"

    return api, limiter


api, _ = build(realip_inside=False)
app = RealIPMiddleware(api)  # what the server runs: realip outermost
inner, _ = build(realip_inside=True)
