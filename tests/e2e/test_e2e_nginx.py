"""Real client, real nginx, real uvicorn and gunicorn, each on its own loopback address.

The apps trust only nginx's upstream address (127.0.0.3). Whatever a client writes into
X-Forwarded-For, Forwarded or X-Real-IP, the app must see the address the client connected from.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets.sync.client
from e2e_harness import (
    APP_IP,
    CLIENT_IP,
    NGINX_IP,
    NGINX_SOURCE_IP,
    REQUEST_TIMEOUT,
    connected_socket,
    insecure_tls_context,
    request_json,
)

pytestmark = pytest.mark.e2e

SERVERS = [
    pytest.param("uvicorn", id="fastapi-on-uvicorn"),
    pytest.param("gunicorn", id="flask-on-gunicorn"),
]

# What a client may send to try to choose its own address.
SPOOFS = [
    pytest.param([], id="no-header"),
    pytest.param([("X-Forwarded-For", "6.6.6.6")], id="xff"),
    pytest.param([("X-Forwarded-For", "6.6.6.6, 127.0.0.3")], id="xff-ending-in-trusted-proxy"),
    pytest.param([("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "7.7.7.7")], id="xff-twice"),
    pytest.param([("X-Forwarded-For", "127.0.0.3,,")], id="xff-trailing-commas"),
    pytest.param([("Forwarded", "for=6.6.6.6;proto=https")], id="forwarded"),
    pytest.param([("X-Real-IP", "6.6.6.6")], id="x-real-ip"),
    pytest.param(
        [
            ("X-Forwarded-For", "6.6.6.6"),
            ("Forwarded", 'for="[2001:db8::6]"'),
            ("X-Real-IP", "6.6.6.6"),
        ],
        id="all-three",
    ),
]


def app_port(apps: Any, server: str) -> int:
    return int(getattr(apps, f"{server}_port"))


def assert_ok(status: int, body: Any) -> dict[str, Any]:
    assert status == 200, body
    assert isinstance(body, dict), body
    return body


@pytest.mark.parametrize("spoof", SPOOFS)
@pytest.mark.parametrize("server", SERVERS)
def test_through_nginx_the_app_sees_the_client(nginx: Any, server: str, spoof: list[Any]) -> None:
    body = assert_ok(*request_json(NGINX_IP, nginx.port(server), headers=spoof))
    assert body["client"] == CLIENT_IP
    assert body["get_client_ip"] == CLIENT_IP
    # The answer really came from nginx's header, with nginx as the peer.
    assert body["source"] == "x-forwarded-for"
    assert body["original_client"] == NGINX_SOURCE_IP
    assert body["xff"].replace(" ", "").endswith(f",{CLIENT_IP}") or body["xff"] == CLIENT_IP


@pytest.mark.parametrize("spoof", SPOOFS)
@pytest.mark.parametrize("server", SERVERS)
def test_bypassing_nginx_the_headers_are_ignored(apps: Any, server: str, spoof: list[Any]) -> None:
    body = assert_ok(*request_json(APP_IP, app_port(apps, server), headers=spoof))
    assert body["client"] == CLIENT_IP
    assert body["get_client_ip"] == CLIENT_IP
    assert body["source"] == "remote_addr"
    assert body["original_client"] == CLIENT_IP


@pytest.mark.parametrize("server", SERVERS)
def test_the_trusted_address_is_honoured(apps: Any, server: str) -> None:
    """Control: the header is read when the peer is the trusted address, so the tests above bite."""
    headers = [("X-Forwarded-For", "203.0.113.7")]
    body = assert_ok(
        *request_json(APP_IP, app_port(apps, server), source=NGINX_SOURCE_IP, headers=headers)
    )
    assert body["client"] == "203.0.113.7"
    assert body["get_client_ip"] == "203.0.113.7"
    assert body["original_client"] == NGINX_SOURCE_IP


@pytest.mark.parametrize("server", SERVERS)
def test_scheme_from_tls_terminating_nginx(nginx: Any, server: str) -> None:
    body = assert_ok(*request_json(NGINX_IP, nginx.port(server, tls=True), tls=True))
    assert body["scheme"] == "https"
    assert body["client"] == CLIENT_IP


@pytest.mark.parametrize("server", SERVERS)
def test_scheme_over_plain_nginx_ignores_client_proto(nginx: Any, server: str) -> None:
    headers = [("X-Forwarded-Proto", "https"), ("Forwarded", "proto=https")]
    body = assert_ok(*request_json(NGINX_IP, nginx.port(server), headers=headers))
    assert body["scheme"] == "http"


@pytest.mark.parametrize("server", SERVERS)
def test_scheme_bypassing_nginx_ignores_client_proto(apps: Any, server: str) -> None:
    headers = [("X-Forwarded-Proto", "https"), ("Forwarded", "proto=https")]
    body = assert_ok(*request_json(APP_IP, app_port(apps, server), headers=headers))
    assert body["scheme"] == "http"


def websocket_json(host: str, port: int, *, tls: bool, headers: list[tuple[str, str]]) -> Any:
    uri = f"{'wss' if tls else 'ws'}://{host}:{port}/ws"
    sock = connected_socket(host, port, CLIENT_IP)
    with websockets.sync.client.connect(
        uri,
        sock=sock,
        ssl=insecure_tls_context() if tls else None,
        additional_headers=headers,
        open_timeout=REQUEST_TIMEOUT,
        close_timeout=2,
    ) as ws:
        return json.loads(ws.recv(timeout=REQUEST_TIMEOUT))


@pytest.mark.parametrize("tls", [pytest.param(False, id="ws"), pytest.param(True, id="wss")])
def test_websocket_through_nginx_sees_the_client(nginx: Any, tls: bool) -> None:
    port = nginx.port("uvicorn", tls=tls)
    body = websocket_json(NGINX_IP, port, tls=tls, headers=[("X-Forwarded-For", "6.6.6.6")])
    assert body["client"] == CLIENT_IP
    assert body["get_client_ip"] == CLIENT_IP
    assert body["original_client"] == NGINX_SOURCE_IP
    assert body["scheme"] == ("wss" if tls else "ws")


def test_websocket_bypassing_nginx_ignores_headers(apps: Any) -> None:
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https")]
    body = websocket_json(APP_IP, apps.uvicorn_port, tls=False, headers=headers)
    assert body["client"] == CLIENT_IP
    assert body["source"] == "remote_addr"
    assert body["scheme"] == "ws"
