"""A Flask app behind realip's WSGI middleware, served by gunicorn in the end-to-end tests.

Configured the way the README shows: ``app.wsgi_app = RealIPMiddleware(app.wsgi_app, resolver)``,
with the resolver built from the REALIP_* variables the test harness sets.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

import realip
from realip.wsgi import RealIPMiddleware

app = Flask(__name__)


@app.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@app.get("/ip")
def ip() -> dict[str, Any]:
    result = realip.get_result(request)
    return {
        "client": request.remote_addr,
        "get_client_ip": realip.get_client_ip(request),
        "source": result.source,
        "reason": result.reason,
        "original_client": request.environ.get("realip.original_remote_addr"),
        "scheme": request.scheme,
        "xff": request.headers.get("X-Forwarded-For"),
        "n": request.args.get("n"),
    }


app.wsgi_app = RealIPMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, realip.Resolver.from_env(), forwarded_proto=True
)
