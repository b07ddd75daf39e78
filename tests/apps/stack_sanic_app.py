"""docs/how-to/sanic.md's app on Sanic's own server (tests/test_real_servers.py)."""

from __future__ import annotations

import os

from sanic import Sanic
from sanic.response import json

from realip import Resolver, get_result

resolver = Resolver(trusted_proxies=[os.environ["REALIP_E2E_TRUSTED"]])
app = Sanic("realip_e2e")


@app.on_request
async def realip(request):  # type: ignore[no-untyped-def]
    result = get_result(request, resolver)
    request.ctx.realip = result
    request.ctx.client_ip = result.client_ip


@app.get("/ready")
async def ready(request):  # type: ignore[no-untyped-def]
    return json({"ready": True})


@app.get("/ip")
async def ip(request):  # type: ignore[no-untyped-def]
    return json({"client_ip": request.ctx.client_ip, "reason": request.ctx.realip.reason})


if __name__ == "__main__":
    import sys

    app.run(host=sys.argv[1], port=int(sys.argv[2]), single_process=True, motd=False)
