"""README's FastAPI example, served as users run it (tests/test_real_servers.py).

The middleware is configured with the keyword shortcut, from REALIP_E2E_TRUSTED (set by the
test), and the app logs one line per request through realip.log.ClientIPFilter.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from fastapi import FastAPI, Request

import realip
from realip.asgi import RealIPMiddleware
from realip.log import ClientIPFilter

handler = logging.StreamHandler(sys.stderr)
handler.addFilter(ClientIPFilter())
handler.setFormatter(logging.Formatter("APPLOG client=%(client_ip)s %(message)s"))
log = logging.getLogger("stack_app")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False

app = FastAPI()
app.add_middleware(RealIPMiddleware, trusted_proxies=[os.environ["REALIP_E2E_TRUSTED"]])


@app.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@app.get("/ip")
def ip(request: Request) -> dict[str, Any]:
    result = realip.get_result(request)
    log.info("handled %s", request.query_params.get("tag", "-"))
    return {
        "client": request.client.host if request.client else None,
        "client_ip": result.client_ip,
        "reason": result.reason,
        "xff": request.headers.get("x-forwarded-for"),
    }
