"""A FastAPI app behind realip's ASGI middleware, served by uvicorn in the end-to-end tests.

Its resolver comes from the environment (REALIP_* variables set by the test harness): the
middleware is given no resolver, so the process default, ``Resolver.from_env()``, is used.
"""

from __future__ import annotations

from typing import Any, Union

from fastapi import FastAPI, Request, WebSocket

import realip
from realip.asgi import RealIPMiddleware

api = FastAPI()


def describe(conn: Union[Request, WebSocket]) -> dict[str, Any]:
    """What the app sees of the connection, as JSON."""
    result = realip.get_result(conn)
    original = conn.scope.get("realip.original_client")
    return {
        "client": conn.client.host if conn.client else None,
        "get_client_ip": realip.get_client_ip(conn),
        "source": result.source,
        "reason": result.reason,
        "original_client": original[0] if original else None,  # the host; the port is not compared
        "scheme": conn.url.scheme,
        "xff": conn.headers.get("x-forwarded-for"),
        "n": conn.query_params.get("n"),
    }


@api.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@api.get("/ip")
def ip(request: Request) -> dict[str, Any]:
    return describe(request)


@api.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(describe(websocket))
    await websocket.close()


app = RealIPMiddleware(api, forwarded_proto=True)
