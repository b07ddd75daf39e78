"""Many clients at once: every response must name its own client, never a neighbour's.

200 requests over 16 threads from 50 distinct loopback source addresses, each with a spoofed
X-Forwarded-For, both straight to uvicorn (which trusts only nginx) and through nginx.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import pytest
from e2e_harness import APP_IP, NGINX_IP, request_json

pytestmark = pytest.mark.e2e

REQUESTS = 200
SOURCES = [f"127.0.1.{i}" for i in range(1, 51)]


def one_request(host: str, port: int, n: int) -> Optional[str]:
    """Send request ``n``; return a description of what went wrong, or None."""
    source = SOURCES[n % len(SOURCES)]
    spoof = f"6.6.{n // 256}.{n % 256}"
    status, body = request_json(
        host, port, f"/ip?n={n}", source=source, headers=[("X-Forwarded-For", spoof)]
    )
    if status != 200 or not isinstance(body, dict):
        return f"request {n} from {source}: HTTP {status} {body!r}"
    seen = (body["n"], body["client"], body["get_client_ip"])
    if seen != (str(n), source, source):
        return f"request {n} from {source}: got n/client/get_client_ip {seen}"
    return None


@pytest.mark.parametrize("route", ["direct-to-uvicorn", "through-nginx"])
def test_concurrent_clients_each_see_their_own_address(apps: Any, route: str, request: Any) -> None:
    if route == "through-nginx":
        host, port = NGINX_IP, request.getfixturevalue("nginx").port("uvicorn")
    else:
        host, port = APP_IP, apps.uvicorn_port
    with ThreadPoolExecutor(max_workers=16) as pool:
        problems: list[Any] = [
            p for p in pool.map(lambda n: one_request(host, port, n), range(REQUESTS)) if p
        ]
    assert problems == []
