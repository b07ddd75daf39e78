"""Flask with realip's WSGI middleware around ``app.wsgi_app``, as the README shows it."""

from __future__ import annotations

from compat_common import body, call, record_wsgi
from flask import Flask, Response, request

import realip
from realip.wsgi import RealIPMiddleware

app = Flask(__name__)
app.wsgi_app = RealIPMiddleware(app.wsgi_app)  # type: ignore[method-assign]


@app.get("/ip/<kind>")
def ip(kind: str) -> Response:
    notes: list = []
    app_ip = call(lambda: realip.get_client_ip(request), notes, "realip.get_client_ip(request)")
    accessors = {
        "request.remote_addr": call(lambda: request.remote_addr, notes, "request.remote_addr"),
        "request.access_route[0]": call(
            lambda: request.access_route[0], notes, "request.access_route"
        ),
    }
    return Response(body(app_ip, accessors, notes), mimetype="application/json")


@app.get("/ready")
def ready() -> str:
    return "ok"


wrapped = record_wsgi(app)  # what the server runs: records the header first
