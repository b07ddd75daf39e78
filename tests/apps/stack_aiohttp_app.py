"""An aiohttp app behind realip.aiohttp.middleware on aiohttp's own server, access log on stdout.

Run as ``python stack_aiohttp_app.py HOST PORT TRUSTED`` (tests/test_real_servers.py).
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from realip import get_result
from realip.aiohttp import middleware


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"ready": True})


async def ip(request: web.Request) -> web.Response:
    result = get_result(request)
    return web.json_response(
        {"remote": request.remote, "client_ip": result.client_ip, "reason": result.reason}
    )


def main() -> None:
    host, port, trusted = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
    app = web.Application(middlewares=[middleware(trusted_proxies=[trusted])])
    app.router.add_get("/ready", ready)
    app.router.add_get("/ip", ip)
    web.run_app(app, host=host, port=port, print=None, access_log_format='ACCESS %a "%r" %s')


if __name__ == "__main__":
    main()
