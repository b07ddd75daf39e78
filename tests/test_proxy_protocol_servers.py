"""The lb-tcp-proxy topology through realip's own tools and server glue, in-process.

``explain`` and ``describe`` name the PROXY header and who may send it; ``realip serve
--proxy-protocol`` decodes it on a real socket; the uvicorn classes and the gunicorn hook behave
as documented. tests/e2e/test_e2e_haproxy.py runs the same servers behind a real haproxy.
"""

from __future__ import annotations

import http.client
import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from support.cli import run_realip
from support.sockets import exchange

from realip import ConfigError, Resolver
from realip._explain import describe, explain
from realip._serve import make_server
from realip.proxy_protocol import LOCAL, PROXY, TLV, ProxyHeader, encode
from realip.proxy_server import ProxyPolicy

LB = "127.0.0.2"
CLIENT = "203.0.113.9"
RESOLVER = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=[f"{LB}/32"])


def test_the_topology_trusts_only_its_senders_and_reads_no_header() -> None:
    resolver = Resolver.for_topology(
        "lb-tcp-proxy", lb_cidrs=["cgnat"], node_cidrs=["192.168.0.0/24"]
    )
    assert resolver.header is None
    assert resolver.trusts("100.64.0.7") and resolver.trusts("192.168.0.9")
    assert not resolver.trusts(CLIENT)
    result = resolver.resolve(CLIENT, {"X-Forwarded-For": "6.6.6.6"})
    assert (result.client_ip, result.source) == (CLIENT, "remote_addr")
    with pytest.raises(ConfigError, match="needs lb_cidrs"):
        Resolver.for_topology("lb-tcp-proxy", node_cidrs=["192.168.0.0/24"])
    with pytest.raises(ConfigError, match="does not apply"):
        Resolver.for_topology("lb-tcp-proxy", lb_cidrs=["cgnat"], header="x-real-ip")
    from_env = Resolver.from_env(
        {"REALIP_TOPOLOGY": "lb-tcp-proxy", "REALIP_LB_CIDRS": "100.64.0.0/10"}
    )
    assert from_env.trusts("100.64.1.1") and from_env.topology == "lb-tcp-proxy"


def test_describe_and_explain_name_the_proxy_header() -> None:
    assert "PROXY protocol header's source" in describe(RESOLVER)
    assert f"only [{LB}/32] may send that header" in describe(RESOLVER)
    decoded = explain(RESOLVER, CLIENT, [])
    assert decoded.result.client_ip == CLIENT and decoded.warnings == []
    undecoded = explain(RESOLVER, LB, [])
    assert any("did not decode the header" in w for w in undecoded.warnings), undecoded.warnings
    # Other topologies keep their wording.
    assert "PROXY" not in describe(Resolver.for_topology("lb-tcp"))


def test_cli_explain_mentions_proxy_for_the_topology() -> None:
    done = run_realip(
        [
            "explain",
            "--topology",
            "lb-tcp-proxy",
            "--lb-cidrs",
            "100.64.0.0/10",
            "--remote-addr",
            "100.64.0.5",
        ]
    )
    assert done.returncode == 0, done.stderr
    assert "PROXY protocol header's source" in done.stdout
    assert "the server did not decode the header" in done.stdout


# -- realip serve --proxy-protocol, in-process ------------------------------------------------


class Serving:
    def __init__(self, policy: ProxyPolicy) -> None:
        self.log = io.StringIO()
        self.server = make_server(
            "127.0.0.1", 0, policy.resolver, log=self.log, proxy_policy=policy, timeout=5
        )
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def raw(self, source: str, data: bytes) -> bytes:
        return exchange("127.0.0.1", self.port, data, source=source)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serving() -> Iterator[Serving]:
    running = Serving(ProxyPolicy(RESOLVER, timeout=2))
    try:
        yield running
    finally:
        running.stop()


def _report(answer: bytes) -> Dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    report: Dict[str, Any] = json.loads(body)
    return report


def test_serve_decodes_v2_with_tlvs_and_keeps_it_for_keep_alive(serving: Serving) -> None:
    header = encode(
        ProxyHeader(
            2,
            PROXY,
            "INET",
            "STREAM",
            CLIENT,
            5555,
            "10.0.0.1",
            443,
            (TLV(2, b"app.example"), TLV(0xEA, b"\x01vpce-42"), TLV(3, b"")),
        )
    )
    conn = http.client.HTTPConnection("127.0.0.1", serving.port, timeout=5, source_address=(LB, 0))
    conn.connect()
    assert conn.sock is not None
    conn.sock.sendall(header)
    try:
        for _ in range(2):
            conn.request("GET", "/?format=json")
            report = json.loads(conn.getresponse().read())
            assert report["peer"] == {"address": CLIENT, "port": 5555}
            assert report["resolution"]["client_ip"] == CLIENT
            pp = report["proxy_protocol"]
            assert (pp["authority"], pp["aws_vpce_id"], pp["version"]) == (
                "app.example",
                "vpce-42",
                2,
            )
            assert pp["crc32c"].startswith("0x")
    finally:
        conn.close()
    assert f"{CLIENT}:5555" in serving.log.getvalue()


_STAMPED = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


def test_serve_refusals_are_answered_and_logged(serving: Serving) -> None:
    # Each refusal gets a whole answer in realip's words that says why (before: an untrusted
    # sender's connection was closed without a byte), and one timestamped log line.
    import re

    request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    v1 = f"PROXY TCP4 {CLIENT} 10.0.0.1 1 2\r\n".encode()
    v2 = encode(ProxyHeader(2, PROXY, "INET", "STREAM", CLIENT, 1, "10.0.0.1", 2))
    for source, data, fragment in (
        ("127.0.0.3", v1 + request, "peer 127.0.0.3 sent a PROXY header but is not a trusted"),
        ("127.0.0.3", v2 + request, "peer 127.0.0.3 sent a PROXY header but is not a trusted"),
        (LB, request, f"peer {LB} is a trusted load balancer but sent no PROXY header"),
        (LB, b"PROXY TCP4 1.2.3.04 10.0.0.1 1 2\r\n" + request, "invalid IPv4 address"),
    ):
        answer = serving.raw(source, data)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (source, answer[:200])
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        assert (
            len(body) == length
            and body.startswith(b"realip serve: ")
            and (fragment.encode() in body)
        ), body
        assert b"<html" not in answer.lower()
        lines = [line for line in serving.log.getvalue().splitlines() if fragment in line]
        assert lines and all(re.match(_STAMPED, line) for line in lines), lines
    # A LOCAL header keeps the load balancer; an untrusted direct client is itself.
    local = _report(serving.raw(LB, encode(ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC")) + request))
    assert local["peer"]["address"] == LB and local["proxy_protocol"]["command"] == "LOCAL"
    direct = _report(serving.raw("127.0.0.3", request))
    assert direct["peer"]["address"] == "127.0.0.3" and direct["proxy_protocol"] is None


def test_serve_answers_a_load_balancer_too_slow_with_its_header(serving: Serving) -> None:
    # Half a signature, then silence: the wait is bounded (policy timeout 2 s) and answered.
    import time

    started = time.monotonic()
    answer = serving.raw(LB, b"PROXY TCP4 203.0")
    assert answer.startswith(b"HTTP/1.1 408") and b"sent nothing decisive in time" in answer
    assert time.monotonic() - started < 4.5


def test_serve_cli_needs_a_trusted_sender() -> None:
    done = run_realip(["serve", "--proxy-protocol", "--port", "0"])
    assert done.returncode == 2
    assert "PROXY protocol needs the load balancer's addresses to be trusted" in done.stderr
    # In the command line's own terms, not the Python API's.
    assert "pass --topology lb-tcp-proxy --lb-cidrs" in done.stderr
    assert "Resolver.for_topology" not in done.stderr


# -- uvicorn and gunicorn glue ---------------------------------------------------------------


def test_uvicorn_protocol_classes() -> None:
    pytest.importorskip("uvicorn")
    from uvicorn.protocols.http.h11_impl import H11Protocol

    import realip.uvicorn as ru

    cls = ru.proxy_protocol_class(RESOLVER)
    assert cls.proxy_policy.resolver is RESOLVER and issubclass(cls, H11Protocol)
    assert cls.__name__ == "H11ProxyProtocol"
    optional = ru.proxy_protocol_class(RESOLVER, "h11", required=False, untrusted="refuse")
    assert (optional.proxy_policy.required, optional.proxy_policy.untrusted) == (False, "refuse")
    with pytest.raises(ConfigError, match="http='h2'"):
        ru.proxy_protocol_class(RESOLVER, "h2")
    with pytest.raises(ConfigError, match="trusts nothing"):
        ru.proxy_protocol_class(Resolver())
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ru.Nope  # noqa: B018
    if importlib.util.find_spec("httptools") is not None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        assert issubclass(ru.proxy_protocol_class(RESOLVER, "httptools"), HttpToolsProtocol)


_CLASS_FROM_ENV = (
    "import realip.uvicorn as u; "
    "print(u.H11ProxyProtocol.proxy_policy.describe()); "
    "print(u.HttpToolsProxyProtocol.__name__, u.H11ProxyProtocol is u.H11ProxyProtocol)"
)


def test_uvicorn_cli_classes_read_the_environment_when_uvicorn_loads_them(tmp_path: Path) -> None:
    pytest.importorskip("httptools")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    configured = {**env, "REALIP_TOPOLOGY": "lb-tcp-proxy", "REALIP_LB_CIDRS": "10.0.0.0/16"}
    done = subprocess.run(
        [sys.executable, "-c", _CLASS_FROM_ENV],
        env=configured,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "PROXY protocol required from [10.0.0.0/16], other peers served as themselves",
        "HttpToolsProxyProtocol True",
    ]
    # Nothing trusted: the lookup itself fails, so uvicorn stops at start-up with the reason.
    done = subprocess.run(
        [sys.executable, "-c", _CLASS_FROM_ENV], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "ConfigError" in done.stderr and "trusts nothing" in done.stderr
    # In the terms of the environment it reads, not the Python API's.
    assert "set REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS" in done.stderr
    (tmp_path / "tiny.py").write_text("async def app(scope, receive, send):\n    pass\n")
    uvicorn_run = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tiny:app",
            "--app-dir",
            str(tmp_path),
            "--http",
            "realip.uvicorn:H11ProxyProtocol",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert uvicorn_run.returncode != 0 and "trusts nothing" in uvicorn_run.stderr


def test_doctor_points_proxy_protocol_load_balancers_at_lb_tcp_proxy() -> None:
    data = Path(__file__).parent / "data" / "doctor" / "lb-proxy-protocol-alibaba.json"
    done = subprocess.run(
        [sys.executable, "-m", "realip", "doctor", "--json", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("REALIP_")},
    )
    report = json.loads(done.stdout)
    findings = [
        f for e in report["entries"] for f in e["findings"] if f["code"] == "proxy-protocol"
    ]
    assert findings, report
    assert "REALIP_TOPOLOGY=lb-tcp-proxy" in findings[0]["fix"]
    assert "realip.uvicorn:H11ProxyProtocol" in findings[0]["fix"]
    assert "cannot see the PROXY header" not in findings[0]["message"]


def test_every_proxy_front_end_shows_the_resolvers_lints(tmp_path: Path) -> None:
    # One lint path: whatever the resolver warns about its trust (here a redundant range; the
    # trust-everything lint goes the same way) reaches the user of every PROXY front end.
    # realip.gunicorn's start-up is checked in tests/integration/test_gunicorn_proxy_protocol.py.
    from realip import RealIPWarning

    cidrs = f"{LB}, 127.0.0.0/24"
    expected = f"trusted proxy {LB}/32 is redundant: 127.0.0.0/24 already contains it"
    with pytest.warns(RealIPWarning, match="is redundant"):
        resolver = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=cidrs.split(", "))
    assert expected in ProxyPolicy(resolver).warnings
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    env.update(REALIP_TOPOLOGY="lb-tcp-proxy", REALIP_LB_CIDRS=cidrs)
    (tmp_path / "tiny.py").write_text("async def app(scope, receive, send):\n    pass\n")
    commands = {
        "uvicorn": [
            sys.executable, "-m", "uvicorn", "tiny:app", "--app-dir", str(tmp_path),
            "--http", "realip.uvicorn:H11ProxyProtocol", "--host", "127.0.0.1", "--port", "0",
        ],
        "serve": [sys.executable, "-m", "realip", "serve", "--proxy-protocol", "--port", "0"],
    }  # fmt: skip
    for name, argv in commands.items():
        proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if expected in line or len(seen) > 40:
                    break
            assert any(expected in line for line in seen), (name, seen)
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
