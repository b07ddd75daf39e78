"""A WSGI server that rewrote REMOTE_ADDR from X-Forwarded-For is detected, as in ASGI (issue
21.4): realip fails closed with a one-time warning naming the server setting.

The real case: waitress with ``trusted_proxy="*"`` and ``trusted_proxy_headers=
{"x-forwarded-for"}`` copies the header's entry into REMOTE_ADDR before any middleware runs,
so every client picks its own address. The in-process cases pin the rule: the peer is an
X-Forwarded-For entry.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from realip import RealIPWarning, Resolver
from realip.wsgi import RealIPMiddleware

APP = """
import json
import sys
import waitress

from realip.wsgi import RealIPMiddleware


def inner(environ, start_response):
    result = environ["realip.result"]
    body = json.dumps(
        {"client": result.client_ip, "reason": result.reason, "remote": environ["REMOTE_ADDR"]}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


app = RealIPMiddleware(inner, trusted_proxies=["10.0.0.0/8"])
options = json.loads(sys.argv[2])
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), **options)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, xff: str) -> Dict[str, Any]:
    request = f"GET / HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: {xff}\r\nConnection: close\r\n\r\n"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(request.encode())
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    return dict(json.loads(body))


def _serve(tmp_path: Path, options: Dict[str, Any]) -> Any:
    (tmp_path / "waitress_app.py").write_text(textwrap.dedent(APP))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "waitress_app.py"), str(port), json.dumps(options)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc, port


def _stop(proc: Any) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    return str(out.decode(errors="replace"))


def test_waitress_trusting_every_peer_is_detected_and_fails_closed(tmp_path: Path) -> None:
    pytest.importorskip("waitress")
    proc, port = _serve(
        tmp_path, {"trusted_proxy": "*", "trusted_proxy_headers": ["x-forwarded-for"]}
    )
    try:
        forged = _get(port, "6.6.6.6")
        trusted_name = _get(port, "10.9.9.9")  # a client naming an address realip trusts
    finally:
        output = _stop(proc)
    # waitress put the client's choice into REMOTE_ADDR; realip refuses to answer from it.
    assert forged["remote"] == "6.6.6.6"
    assert forged["client"] is None
    assert "rewrote the peer" in forged["reason"]
    # Only an untrusted REMOTE_ADDR is judged: a trusted one as the rightmost entry is also what a
    # client on the proxy's own host produces, and under WSGI the two look the same (the threat
    # model lists this gap). So a client naming a trusted address gets it; the warning the
    # untrusted request raised is what tells the operator to turn the server's proxy trust off.
    assert trusted_name["remote"] == "10.9.9.9"
    assert trusted_name["client"] == "10.9.9.9"
    # One warning per process, naming the setting to change.
    warned = [line for line in output.splitlines() if "RealIPWarning: realip: REMOTE_ADDR" in line]
    assert len(warned) == 1 and "trusted_proxy" in warned[0], output


def test_waitress_without_proxy_trust_is_served_as_usual(tmp_path: Path) -> None:
    pytest.importorskip("waitress")
    proc, port = _serve(tmp_path, {})
    try:
        direct = _get(port, "6.6.6.6")
    finally:
        output = _stop(proc)
    # The peer 127.0.0.1 is untrusted: it is the client, and no warning is given.
    assert direct["client"] == "127.0.0.1"
    assert "rewritten" not in output


def _run(environ: Dict[str, Any]) -> Optional[str]:
    seen: Dict[str, Any] = {}

    def app(env: Dict[str, Any], start_response: Any) -> Any:
        seen.update(env)
        return []

    RealIPMiddleware(app, Resolver(trusted_proxies=["10.0.0.0/8"]))(environ, lambda *a: None)
    result = seen["realip.result"]
    return None if result.client_ip is None else str(result.client_ip)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    import realip._adapters  # the one-time warning's memory

    monkeypatch.setattr(realip._adapters, "_warned", set())


@pytest.mark.parametrize(
    ("environ", "client"),
    [
        # waitress's rewrite: the entry is the peer, the header keeps only that entry
        (
            {"REMOTE_ADDR": "6.6.6.6", "REMOTE_PORT": "51000", "HTTP_X_FORWARDED_FOR": "6.6.6.6"},
            None,
        ),
        # a trusted peer as the rightmost entry is a client on the proxy's own host (curl to a
        # local nginx): not judged a rewrite, since without the port the two look the same
        (
            {"REMOTE_ADDR": "10.0.0.5", "REMOTE_PORT": "51000", "HTTP_X_FORWARDED_FOR": "10.0.0.5"},
            "10.0.0.5",
        ),
        ({"REMOTE_ADDR": "2001:db8::6", "HTTP_X_FORWARDED_FOR": "[2001:db8::6]"}, None),
        # an entry with a port: waitress splits it off
        ({"REMOTE_ADDR": "6.6.6.6", "HTTP_X_FORWARDED_FOR": "6.6.6.6:4711"}, None),
        ({"REMOTE_ADDR": "2001:db8::6", "HTTP_X_FORWARDED_FOR": "[2001:db8::6]:4711"}, None),
        # the proxy's own address written by the client, left of what the proxy appended: the
        # client can't make an honest proxy's request fail closed this way
        (
            {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 10.0.0.5, 203.0.113.9"},
            "203.0.113.9",
        ),
        (
            {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "10.0.0.5,, 203.0.113.9"},
            "203.0.113.9",
        ),
        # not a rewrite: a proxy's peer and the client it forwards, or a lookalike substring
        ({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "203.0.113.9"),
        (
            {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "10.0.0.55, 203.0.113.9"},
            "203.0.113.9",
        ),
        ({"REMOTE_ADDR": "203.0.113.9", "REMOTE_PORT": "0"}, "203.0.113.9"),
    ],
)
def test_rule(environ: Dict[str, Any], client: Optional[str]) -> None:
    if client is None:
        with pytest.warns(RealIPWarning, match="REMOTE_ADDR looks rewritten"):
            assert _run(dict(environ)) is None
    else:
        assert _run(dict(environ)) == client
