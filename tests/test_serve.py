"""``realip serve``: a real server on 127.0.0.1, real HTTP requests, hostile clients."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from support.sockets import exchange

from realip import Resolver, _serve
from realip._explain import explain
from realip._serve import is_proxy_header, make_server, observe, suggest, wants_html

# The ingress topology with the loopback range as "pod CIDR": requests from the test client
# (127.0.0.1) then count as coming from an ingress pod, so X-Forwarded-For is honoured.
INGRESS_VIA_LOOPBACK = Resolver.for_topology("ingress", pod_cidrs=["127.0.0.0/8"])


class Running:
    def __init__(self, resolver: Resolver, **kw: Any) -> None:
        self.log = io.StringIO()
        self.server = make_server("127.0.0.1", 0, resolver, log=self.log, **kw)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Optional[List[Tuple[str, str]]] = None,
        body: Optional[bytes] = None,
    ) -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.putrequest(method, path)
            for name, value in headers or []:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def raw(self, data: bytes, wait: float = 5.0) -> bytes:
        return exchange("127.0.0.1", self.port, data, timeout=wait)

    def log_lines(self) -> List[str]:
        return [line for line in self.log.getvalue().splitlines() if line]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def srv() -> Iterator[Running]:
    running = Running(INGRESS_VIA_LOOPBACK, timeout=1.0)
    yield running
    running.stop()


def test_json_answer_shows_peer_headers_resolution_and_suggestions(srv: Running) -> None:
    status, headers, body = srv.request(
        headers=[
            ("X-Forwarded-For", "198.51.100.7, 203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
            ("X-Request-Id", "abc"),
        ]
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    report = json.loads(body)
    assert set(report) == {
        "realip",
        "peer",
        "request",
        "proxy_headers",
        "configuration",
        "resolution",
        "suggestions",
    }
    assert report["peer"]["address"] == "127.0.0.1"
    assert isinstance(report["peer"]["port"], int)
    assert report["request"] == {
        "method": "GET",
        "path": "/",
        "version": "HTTP/1.1",
        "host": f"127.0.0.1:{srv.port}",
    }
    # As received: original case, order, and only the proxy-related headers.
    assert report["proxy_headers"] == [
        {"name": "X-Forwarded-For", "value": "198.51.100.7, 203.0.113.9"},
        {"name": "X-Forwarded-Proto", "value": "https"},
    ]
    res = report["resolution"]
    assert res["client_ip"] == "203.0.113.9"
    assert res["source"] == "x-forwarded-for"
    assert res["proxies"] == ["127.0.0.1"]
    assert res["steps"][0].startswith("configuration: topology ingress")
    assert any("203.0.113.9" in step for step in res["steps"])
    # The entry left of the client was written by the client: explain warns about it.
    assert len(res["warnings"]) == 1 and "x-forwarded-for" in res["warnings"][0]
    assert report["configuration"].startswith("topology ingress")
    assert any("loopback" in s for s in report["suggestions"])


def test_every_path_and_method_is_answered(srv: Running) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, _, body = srv.request(method, "/some/where?x=1")
        assert status == 200, method
        report = json.loads(body)
        assert report["request"]["method"] == method
        assert report["request"]["path"] == "/some/where?x=1"


def test_repeated_headers_are_kept_apart_and_combined_in_order(srv: Running) -> None:
    _, _, body = srv.request(
        headers=[("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "203.0.113.5")]
    )
    report = json.loads(body)
    assert [h["value"] for h in report["proxy_headers"]] == ["192.0.2.1", "203.0.113.5"]
    assert report["resolution"]["client_ip"] == "203.0.113.5"
    assert any("arrived 2 times" in s for s in report["suggestions"])


def test_head_sends_headers_only(srv: Running) -> None:
    status, headers, body = srv.request("HEAD")
    assert status == 200
    assert body == b""
    assert int(headers["content-length"]) > 100


def test_healthz(srv: Running) -> None:
    status, headers, body = srv.request(path="/healthz")
    assert (status, body) == (200, b"ok\n")
    assert headers["content-type"].startswith("text/plain")


def test_html_page_escapes_a_hostile_header(srv: Running) -> None:
    payload = '<script>alert("x")</script>, 203.0.113.9'
    reply = srv.raw(
        b"GET /?<b>q</b> HTTP/1.1\r\nHost: <i>h</i>\r\nAccept: text/html\r\nConnection: close\r\n"
        b"X-Forwarded-For: " + payload.encode() + b"\r\n"
        b"X-Forwarded-<svg/onload=alert(1)>: 1\r\n\r\n"
    )
    head, _, page = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Type: text/html; charset=utf-8" in head
    assert b"Content-Security-Policy: default-src 'none'" in head
    text = page.decode()
    assert "<script" not in text and "<svg" not in text and "<b>" not in text
    assert "<i>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "X-Forwarded-&lt;svg/onload=alert(1)&gt;" in text
    assert "203.0.113.9" in text  # the resolution, shown as the client IP


@pytest.mark.parametrize(
    ("accept", "query", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", True),  # browser
        ("*/*", "", False),  # curl
        (None, "", False),
        ("application/json", "", False),
        ("text/html;q=0.5, application/json", "", False),
        ("application/json;q=0.1, text/html", "", True),
        ("text/html;q=bogus, application/json;q=0.2", "", False),
        ("*/*", "format=html", True),
        ("text/html", "format=json", False),
    ],
)
def test_content_negotiation(accept: Optional[str], query: str, html: bool) -> None:
    assert wants_html(accept, query) is html


def test_format_query_switches_to_html(srv: Running) -> None:
    status, headers, body = srv.request(path="/?format=html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")


def test_malformed_request_line_gets_400_and_server_lives_on(srv: Running) -> None:
    tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
    for garbage in (
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9 extra words\r\n\r\n",
        tls_hello,
        b"GET / HTTP/1.x\r\n\r\n",
    ):
        reply = srv.raw(garbage)
        assert reply.startswith(b"HTTP/1.1 400"), (garbage, reply[:80])
    assert srv.request()[0] == 200


def test_proxy_protocol_preamble_is_named(srv: Running) -> None:
    reply = srv.raw(b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 80\r\nGET / HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"PROXY protocol" in reply
    assert srv.request()[0] == 200


def test_64_kib_header_is_refused_without_harm(srv: Running) -> None:
    big = b"1.2.3.4, " * (65536 // 9 + 1)
    reply = srv.raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + big + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431")
    # Just under the per-line limit is fine, and answered in full.
    value = "10.1.2.3, " * 6000 + "203.0.113.9"
    status, _, body = srv.request(headers=[("X-Forwarded-For", value)])
    assert status == 200
    assert json.loads(body)["proxy_headers"][0]["value"] == value
    assert srv.request()[0] == 200


def test_too_many_headers_are_refused(srv: Running) -> None:
    lines = b"".join(b"X-Filler-%d: v\r\n" % i for i in range(150))
    reply = srv.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
    assert reply.startswith(b"HTTP/1.1 431")
    assert srv.request()[0] == 200


def test_silent_and_slow_clients_do_not_block_others() -> None:
    # A 3 s timeout leaves a loaded CI machine room to answer well before it: a server that
    # waited for the stalled clients would answer only after it.
    srv = Running(INGRESS_VIA_LOOPBACK, timeout=3.0)
    silent = socket.create_connection(("127.0.0.1", srv.port))
    partial = socket.create_connection(("127.0.0.1", srv.port))
    partial.sendall(b"GET / HTTP/1.1\r\nHost: slow")  # and then nothing
    try:
        started = time.monotonic()
        assert srv.request()[0] == 200
        assert time.monotonic() - started < 2.0
        # After the timeout the server hangs up on both.
        for sock in (silent, partial):
            sock.settimeout(10)
            started = time.monotonic()
            while sock.recv(65536):
                pass
            assert time.monotonic() - started < 8
        assert srv.request()[0] == 200
    finally:
        silent.close()
        partial.close()
        srv.stop()


def test_request_body_is_never_parsed_as_a_request(srv: Running) -> None:
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = srv.raw(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled
    )
    assert reply.count(b"HTTP/1.1 ") == 1
    assert b"Connection: close" in reply
    assert b"/smuggled" not in reply


def test_one_log_line_per_request(srv: Running) -> None:
    srv.request(path="/a", headers=[("X-Forwarded-For", "203.0.113.9")])
    srv.request(path="/healthz")
    srv.raw(b"GARBAGE\r\n\r\n")
    lines = srv.log_lines()
    assert len(lines) == 3, lines
    assert '"GET /a HTTP/1.1" 200 client=203.0.113.9 source=x-forwarded-for' in lines[0]
    assert '"GET /healthz HTTP/1.1" 200' in lines[1]
    assert '"GARBAGE" 400' in lines[2]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1:\d+ ", lines[0])


def test_log_line_escapes_control_characters(srv: Running) -> None:
    srv.raw(b"GET /\x1b[31mred HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    line = srv.log_lines()[-1]
    assert "\x1b" not in line and "\\x1b[31mred" in line


def test_an_internal_error_answers_500_and_the_server_survives(
    srv: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kw: Any) -> Dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(_serve, "observe", boom)
    status, _, body = srv.request()
    assert status == 500 and json.loads(body) == {"error": "internal error"}
    assert "internal error: RuntimeError: boom" in srv.log_lines()[-1]
    assert "Traceback" not in srv.log.getvalue()
    monkeypatch.undo()
    assert srv.request()[0] == 200


_GET = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def test_connection_cap_refuses_with_503_when_every_slot_is_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered, release = threading.Event(), threading.Event()
    real_observe = _serve.observe

    def held(*args: Any, **kwargs: Any) -> Dict[str, Any]:
        entered.set()
        release.wait(10)
        return real_observe(*args, **kwargs)

    monkeypatch.setattr(_serve, "observe", held)
    running = Running(Resolver(), timeout=5.0, max_connections=1)
    try:
        busy = threading.Thread(target=running.request, daemon=True)
        busy.start()
        assert entered.wait(5)
        reply = running.raw(_GET)
        assert reply.startswith(b"HTTP/1.1 503") and b"realip serve: " in reply, reply
        release.set()
        busy.join(5)
        # The client has its whole answer before the server's thread frees its slot (the thread
        # still reads the closed keep-alive and ends): wait for the slot, not for the client.
        slots = running.server._slots  # type: ignore[attr-defined]
        assert slots.acquire(timeout=5)
        slots.release()
        assert running.raw(_GET).startswith(b"HTTP/1.1 200")
    finally:
        release.set()
        running.stop()


def test_a_connection_still_waiting_for_its_header_gives_way_to_a_new_one() -> None:
    # Before: a silent connection held the only slot and the honest request got a 503.
    running = Running(Resolver(), timeout=5.0, max_connections=1)
    try:
        hog = socket.create_connection(("127.0.0.1", running.port))
        try:
            time.sleep(0.2)  # let the server take the first connection
            assert running.raw(_GET).startswith(b"HTTP/1.1 200")
            hog.settimeout(5)
            assert hog.recv(1) == b""  # closed to make room
        finally:
            hog.close()
    finally:
        running.stop()


def test_the_whole_request_header_has_a_deadline_not_each_byte() -> None:
    # One byte every 0.3 s never lets a 1.5 s per-read timeout expire; the header's deadline
    # closes the connection anyway (before: it stayed open as long as the client trickled).
    running = Running(Resolver(), timeout=1.5)
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            started = time.monotonic()
            closed = False
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"y" * 60:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.3)
                sock.settimeout(0.01)
                try:
                    if sock.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
            elapsed = time.monotonic() - started
        assert closed and elapsed < 6, elapsed
    finally:
        running.stop()


def test_trickling_clients_do_not_starve_an_honest_request() -> None:
    # Twice as many slow clients as slots, each sending a byte every 0.5 s and coming back
    # when closed (issue 20: 256 such clients turned every honest request into a 503).
    running = Running(Resolver(), timeout=10.0, max_connections=8)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
                    for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100:
                        if stop.wait(0.5):
                            return
                        sock.sendall(bytes([byte]))
            except OSError:
                stop.wait(0.1)

    tricklers = [threading.Thread(target=trickle, daemon=True) for _ in range(16)]
    try:
        for thread in tricklers:
            thread.start()
        time.sleep(1.5)  # every slot taken by now
        statuses = []
        for _ in range(5):
            statuses.append(running.request()[0])
            time.sleep(0.2)
        assert statuses == [200] * 5
    finally:
        stop.set()
        for thread in tricklers:
            thread.join(5)
        running.stop()


def test_idle_untrusted_proxy_connections_cost_no_cpu() -> None:
    # Issue 20: with --proxy-protocol, 200 untrusted connections that sent one byte kept ~140%
    # CPU busy (MSG_PEEK and 5 ms sleeps). Untrusted peers go straight to HTTP now, and the
    # trusted one waits on readiness: CPU time over 2 s of such idling stays far below that.
    from realip.proxy_server import ProxyPolicy

    resolver = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=["127.0.0.2/32"])
    running = Running(resolver, timeout=30.0, proxy_policy=ProxyPolicy(resolver, timeout=30.0))
    socks: List[socket.socket] = []
    try:
        for i in range(200):
            sock = socket.create_connection(
                ("127.0.0.1", running.port), timeout=5, source_address=(f"127.0.1.{i % 250 + 1}", 0)
            )
            sock.sendall(b"P")
            socks.append(sock)
        # The trusted load balancer with half a signature, waiting on readiness too.
        lb = socket.create_connection(
            ("127.0.0.1", running.port), timeout=5, source_address=("127.0.0.2", 0)
        )
        lb.sendall(b"PRO")
        socks.append(lb)
        time.sleep(0.5)  # every connection accepted and waiting
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(2.0)
        used = time.process_time() - cpu
        assert used < 0.25 * (time.monotonic() - wall), used
        # Still answering, and the forged header gets its 400 once it is whole.
        socks[0].sendall(b"ROXY TCP4 6.6.6.6 10.0.0.1 1 2\r\n" + _GET)
        socks[0].settimeout(5)
        assert socks[0].recv(65536).startswith(b"HTTP/1.1 400")
    finally:
        for sock in socks:
            sock.close()
        running.stop()


def test_a_proxy_request_without_proxy_protocol_gets_a_whole_answer() -> None:
    # curl --haproxy-protocol against a server without --proxy-protocol: the answer was cut short
    # ("transfer closed with 536 bytes remaining") by an AttributeError ('command').
    running = Running(Resolver(), timeout=5.0)
    try:
        for header in (
            b"PROXY TCP4 203.0.113.9 127.0.0.1 51234 8080\r\n",
            b"PROXY TCP6 2001:db8::9 ::1 51234 8080\r\n",
            b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + bytes(12),
        ):
            reply = running.raw(header + _GET)
            head, _, body = reply.partition(b"\r\n\r\n")
            match = re.search(rb"Content-Length: (\d+)", head)
            assert head.startswith(b"HTTP/1.1 400") and match, reply[:300]
            assert len(body) == int(match.group(1)), reply
            assert body.startswith(b"realip serve: 400 Bad Request: PROXY protocol header received")
            assert b"--proxy-protocol" in body and b"<html" not in body.lower()
        assert "AttributeError" not in running.log.getvalue()
        assert "Error code explanation" not in running.log.getvalue()
    finally:
        running.stop()


def test_errors_use_realips_words_not_pythons_stock_page(srv: Running) -> None:
    reply = srv.raw(b"GARBAGE\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and body.startswith(b"realip serve: 400 Bad Request: ")
    assert b"Error response" not in body and b"<html" not in body.lower()


# -- suggestions (pure) -----------------------------------------------------------------

UNCONFIGURED = Resolver()


def _suggest(resolver: Resolver, peer: Optional[str], headers: List[Tuple[str, str]]) -> str:
    result = explain(resolver, peer, headers).result
    return "\n".join(suggest(peer, headers, resolver, result))


def test_suggests_ingress_for_a_private_peer_with_xff() -> None:
    text = _suggest(UNCONFIGURED, "10.244.3.7", [("X-Forwarded-For", "203.0.113.9")])
    assert "realip runs unconfigured" in text
    assert "the peer 10.244.3.7 is a private address and X-Forwarded-For is present" in text
    assert "REALIP_TOPOLOGY=ingress" in text and "contains 10.244.3.7" in text


def test_says_so_when_the_ingress_configuration_already_fits() -> None:
    resolver = Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"])
    text = _suggest(resolver, "10.244.3.7", [("X-Forwarded-For", "203.0.113.9")])
    assert "already reads it that way" in text
    assert "unconfigured" not in text


def test_suggests_lb_http_for_alibaba_slb_range() -> None:
    text = _suggest(UNCONFIGURED, "100.117.12.4", [("X-Forwarded-For", "203.0.113.9")])
    assert "REALIP_TOPOLOGY=lb-http and REALIP_LB_CIDRS=100.64.0.0/10" in text


def test_private_peer_without_headers_is_pod_to_pod_or_snat() -> None:
    text = _suggest(UNCONFIGURED, "192.168.4.21", [("Host", "x")])
    assert "pod-to-pod" in text and "externalTrafficPolicy: Local" in text
    assert "nodeport-cluster" in text


def test_public_peer_without_headers_is_a_direct_client() -> None:
    text = _suggest(UNCONFIGURED, "203.0.113.9", [])
    assert "nodeport-local or lb-tcp" in text


def test_public_peer_with_xff_is_a_spoof_or_a_public_proxy() -> None:
    text = _suggest(UNCONFIGURED, "198.51.100.20", [("X-Forwarded-For", "10.0.0.1")])
    assert "spoofing attempt" in text


def test_cloudflare_headers_are_checked_against_cloudflare_ranges() -> None:
    edge = _suggest(UNCONFIGURED, "172.64.1.1", [("CF-Connecting-IP", "203.0.113.9")])
    assert "is a Cloudflare edge address: set REALIP_TOPOLOGY=cloudflare" in edge
    other = _suggest(UNCONFIGURED, "198.51.100.20", [("CF-Connecting-IP", "203.0.113.9")])
    assert "not in Cloudflare's published ranges" in other


def test_single_ip_header_from_a_private_peer() -> None:
    text = _suggest(UNCONFIGURED, "10.0.0.8", [("X-Real-IP", "203.0.113.9")])
    assert "REALIP_HEADER=x-real-ip" in text


def test_unix_socket_peer() -> None:
    assert "REALIP_TRUSTED_PROXIES=unix" in _suggest(UNCONFIGURED, None, [])


def test_failed_resolution_is_reported() -> None:
    resolver = Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"])
    text = _suggest(resolver, "10.244.3.7", [("X-Forwarded-For", "not-an-ip")])
    assert text.startswith("realip found no client IP:")


def test_observe_is_json_serialisable_for_odd_input() -> None:
    headers = [("X-Forwarded-For", "\u00ff\u0000, 203.0.113.9"), ("Forwarded", 'for="[::1')]
    report = observe(INGRESS_VIA_LOOPBACK, "::ffff:127.0.0.1", headers, peer_port=1)
    json.dumps(report)
    assert [h["name"] for h in report["proxy_headers"]] == ["X-Forwarded-For", "Forwarded"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("X-Forwarded-For", True),
        ("x-forwarded-host", True),
        ("X-Forwarded", True),
        ("Forwarded", True),
        ("X-Real-IP", True),
        ("CF-Connecting-IP", True),
        ("True-Client-IP", True),
        ("Fly-Client-IP", True),
        ("Fastly-Client-IP", True),
        ("X-Client-IP", True),
        ("X-Cluster-Client-IP", True),
        ("X-Original-Forwarded-For", True),
        ("X-Envoy-External-Address", True),
        ("Via", True),
        ("Host", False),
        ("User-Agent", False),
        ("X-Request-Id", False),
        ("Cookie", False),
    ],
)
def test_proxy_header_selection(name: str, expected: bool) -> None:
    assert is_proxy_header(name) is expected


# -- the command line -------------------------------------------------------------------

PYTHON = sys.executable


def test_cli_help_shows_an_example() -> None:
    out = subprocess.run(
        [PYTHON, "-m", "realip", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert "realip serve --topology ingress --pod-cidrs" in out.stdout
    for option in (
        "--host",
        "--port",
        "--timeout",
        "--topology",
        "--trusted-proxies",
        "--pod-cidrs",
        "--lb-cidrs",
    ):
        assert option in out.stdout


def test_cli_serves_and_stops_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    env["REALIP_TOPOLOGY"] = "lb-http"
    env["REALIP_LB_CIDRS"] = "127.0.0.0/8"
    # The with block closes the stderr pipe too (an open one is a ResourceWarning at exit).
    with subprocess.Popen(
        [PYTHON, "-m", "realip", "serve", "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/ \(topology lb-http", first)
            assert match, first
            conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=5)
            conn.request("GET", "/", headers={"X-Forwarded-For": "203.0.113.9"})
            report = json.loads(conn.getresponse().read())
            conn.close()
            assert report["resolution"]["client_ip"] == "203.0.113.9"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            rest = proc.stderr.read()
            assert '"GET / HTTP/1.1" 200 client=203.0.113.9' in rest
            assert "stopped" in rest and "Traceback" not in rest
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_cli_configuration_error_exits_2() -> None:
    out = subprocess.run(
        [PYTHON, "-m", "realip", "serve", "--topology", "ingress"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("REALIP_")},
    )
    assert out.returncode == 2
    assert "pod_cidrs" in out.stderr.lower() or "pod-cidrs" in out.stderr.lower()
    assert "Traceback" not in out.stderr


def test_switches_are_not_described_as_taking_a_value() -> None:
    # --require-header takes no value; its help said "(true/false)" (issue 23).
    done = subprocess.run(
        [sys.executable, "-m", "realip", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = " ".join(done.stdout.split())
    assert "--require-header fail closed when a trusted proxy sends no forwarding header" in text
    assert "(true/false)" not in text and "[REALIP_REQUIRE_HEADER=true/false]" in text


def test_serve_does_not_import_the_command_that_imports_it() -> None:
    # Issue 24: cli imported _serve, which imported cli back (behind a function-level import).
    import ast
    from pathlib import Path

    tree = ast.parse(Path(_serve.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert "realip.cli" not in imported and "realip" not in imported, imported
