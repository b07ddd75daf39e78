"""The shared test helpers in tests/support behave like the servers they stand in for."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.asgi import asgi_scope, run_asgi_app
from support.environment import HARNESS_PREFIX, realip_settings
from support.sockets import exchange
from support.wsgi import run_wsgi_app, wsgi_environ

from realip import Resolver
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

TRUST = Resolver(trusted_proxies=["10.0.0.0/8"])
LINES = [("X-Forwarded-For", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")]


def test_clean_up_clears_realip_settings_but_not_harness_knobs() -> None:
    names = ["REALIP_TOPOLOGY", "REALIP_TRUSTED_PROXIES", "RIP_TEST_NGINX", "PATH", "XREALIP_A"]
    assert realip_settings(names) == ["REALIP_TOPOLOGY", "REALIP_TRUSTED_PROXIES"]
    assert realip_settings([HARNESS_PREFIX + "ANYTHING"]) == []


def test_harness_knobs_survive_the_autouse_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set in the shell, RIP_TEST_NGINX reaches the e2e fixtures; nothing named REALIP_* does.
    assert not [name for name in os.environ if name.startswith("REALIP_")]
    monkeypatch.setenv("RIP_TEST_NGINX", "/nonexistent/nginx")
    assert realip_settings(os.environ) == []


def test_wsgi_environ_joins_repeated_headers_like_a_server() -> None:
    environ = wsgi_environ("10.0.0.1", LINES, SERVER_NAME="x")
    assert environ["HTTP_X_FORWARDED_FOR"] == "6.6.6.6,203.0.113.9"
    assert (environ["REMOTE_ADDR"], environ["SERVER_NAME"]) == ("10.0.0.1", "x")
    assert "REMOTE_ADDR" not in wsgi_environ(None, [])


def test_asgi_scope_keeps_lines_apart_as_lower_case_bytes() -> None:
    scope = asgi_scope("10.0.0.1", LINES, "websocket", path="/ip")
    assert scope["headers"] == [
        (b"x-forwarded-for", b"6.6.6.6"),
        (b"x-forwarded-for", b"203.0.113.9"),
    ]
    assert (scope["type"], scope["scheme"], scope["raw_path"]) == ("websocket", "ws", b"/ip")
    assert asgi_scope(None, [])["client"] is None
    assert asgi_scope("10.0.0.1", [("X-A", "\u2603")])["headers"] == [(b"x-a", "\u2603".encode())]


def test_drivers_return_what_the_middleware_made_of_the_request() -> None:
    def wsgi_app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return [environ["REMOTE_ADDR"].encode()]

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": scope["client"][0].encode()})

    wsgi = run_wsgi_app(WSGIMiddleware(wsgi_app, TRUST), wsgi_environ("10.0.0.1", LINES))
    asgi = run_asgi_app(ASGIMiddleware(asgi_app, TRUST), asgi_scope("10.0.0.1", LINES))
    assert wsgi == ("200 OK", b"203.0.113.9")
    assert asgi == (201, b"203.0.113.9")


def test_no_test_file_edits_sys_path() -> None:
    """Helpers are found through pytest's ``pythonpath`` (pyproject.toml), never sys.path edits."""
    tests = Path(__file__).parent
    offenders = [
        f"{path.relative_to(tests)}:{number}"
        for path in sorted(tests.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bsys\.path\b\s*(\.\s*(insert|append|extend)|\[|\+?=)", line)
    ]
    assert offenders == []


@pytest.mark.parametrize("closes", [True, False], ids=["server-closes", "server-stays-open"])
def test_exchange_reads_until_close_and_never_hangs(closes: bool) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"one ")
            conn.sendall(b"two")
            if not closes:
                time.sleep(3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        assert exchange("127.0.0.1", port, b"hello", timeout=1.0) == b"one two"
    finally:
        listener.close()
    assert time.monotonic() - started < (2.5 if not closes else 1.0)
