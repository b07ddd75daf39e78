"""realip.proxy_server: who may send a PROXY header, as a table, and the socket/asyncio glue."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, List, Optional, Tuple

import pytest

from realip import ConfigError, Resolver
from realip.proxy_protocol import LOCAL, PROXY, TLV, ProxyHeader, encode
from realip.proxy_server import (
    ProxiedTransport,
    ProxyPolicy,
    ProxyProtocolMixin,
    accept_socket,
    header_report,
)

LB = "100.64.0.7"
NODE = "192.168.0.12"
CLIENT = "203.0.113.9"
STRANGER = "198.51.100.20"
RESOLVER = Resolver.for_topology(
    "lb-tcp-proxy", lb_cidrs=["100.64.0.0/10"], node_cidrs=[f"{NODE}/32"]
)
HTTP = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
V1 = f"PROXY TCP4 {CLIENT} 10.0.0.5 51234 443\r\n".encode()
V2 = encode(
    ProxyHeader(
        2, PROXY, "INET6", "STREAM", "2001:db8::9", 4000, "2001:db8::1", 443, (TLV(3, b""),)
    )
)
V2_LOCAL = encode(ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC"))
V1_UNKNOWN = b"PROXY UNKNOWN\r\n"
BROKEN = b"PROXY TCP4 203.0.113.9 10.0.0.5 051234 443\r\n"

# (peer, stream, required, untrusted) -> (accepted, reported peer host, reason fragment)
TABLE: List[Tuple[str, str, bytes, bool, str, Tuple[bool, Optional[str], str]]] = [
    ("lb-v1", LB, V1 + HTTP, True, "direct", (True, CLIENT, "PROXY v1")),
    ("lb-v2", LB, V2 + HTTP, True, "direct", (True, "2001:db8::9", "PROXY v2")),
    ("snat-node-v2", NODE, V2 + HTTP, True, "direct", (True, "2001:db8::9", "PROXY v2")),
    ("lb-local", LB, V2_LOCAL + HTTP, True, "direct", (True, LB, "LOCAL header")),
    (
        "lb-unknown",
        LB,
        V1_UNKNOWN + HTTP,
        True,
        "direct",
        (True, LB, "without a client: peer kept"),
    ),
    ("lb-no-header-required", LB, HTTP, True, "direct", (False, None, "sent no PROXY header")),
    ("lb-no-header-optional", LB, HTTP, False, "direct", (True, LB, "trusted, no PROXY header")),
    ("lb-malformed", LB, BROKEN + HTTP, True, "direct", (False, None, "invalid PROXY header")),
    ("lb-malformed-optional", LB, BROKEN + HTTP, False, "direct", (False, None, "invalid port")),
    ("stranger-forges-v1", STRANGER, V1 + HTTP, True, "direct", (False, None, "not a trusted")),
    ("stranger-forges-v2", STRANGER, V2 + HTTP, False, "direct", (False, None, "not a trusted")),
    ("stranger-direct", STRANGER, HTTP, True, "direct", (True, STRANGER, "not a load balancer")),
    ("stranger-refused", STRANGER, HTTP, True, "refuse", (False, None, "untrusted='refuse'")),
    ("lb-with-refuse", LB, V1 + HTTP, True, "refuse", (True, CLIENT, "PROXY v1")),
    ("client-forges-behind-lb", LB, V1 + V1 + HTTP, True, "direct", (True, CLIENT, "PROXY v1")),
]


@pytest.mark.parametrize(
    ("name", "peer", "stream", "required", "untrusted", "expected"),
    TABLE,
    ids=[t[0] for t in TABLE],
)
def test_policy_table(
    name: str,
    peer: str,
    stream: bytes,
    required: bool,
    untrusted: str,
    expected: Tuple[bool, Optional[str], str],
) -> None:
    policy = ProxyPolicy(RESOLVER, required=required, untrusted=untrusted)
    accepted, host, reason = expected
    whole = policy.connection((peer, 40000)).feed(stream)
    # Byte by byte gives the same decision (servers get data in arbitrary pieces).
    conn = policy.connection((peer, 40000))
    decisions = [conn.feed(stream[i : i + 1]) for i in range(len(stream))]
    first = next((d for d in decisions if d is not None), conn.decision)
    for decision in (whole, first):
        assert decision is not None
        assert decision.accepted is accepted, decision
        assert reason in decision.reason, decision.reason
        if accepted:
            assert decision.peer is not None and decision.peer[0] == host
    assert whole is not None
    if accepted:
        # Exactly the header is consumed: the HTTP parser gets everything after it.
        size = whole.header.size if whole.header is not None else 0
        assert whole.rest == stream[size:]
        assert whole.rest.endswith(HTTP)
    else:
        assert whole.rest == b""


def test_a_forged_header_behind_the_lb_reaches_http_as_garbage_not_as_a_client() -> None:
    decision = (
        ProxyPolicy(RESOLVER)
        .connection((LB, 1))
        .feed(V1 + b"PROXY TCP4 6.6.6.6 1.1.1.1 1 2\r\n" + HTTP)
    )
    assert decision is not None and decision.peer == (CLIENT, 51234)
    assert decision.rest.startswith(b"PROXY TCP4 6.6.6.6")  # the HTTP parser rejects this line


def test_untrusted_refuse_is_decided_at_connection_time() -> None:
    conn = ProxyPolicy(RESOLVER, untrusted="refuse").connection((STRANGER, 1))
    assert conn.decision is not None and not conn.decision.accepted
    assert ProxyPolicy(RESOLVER).connection((STRANGER, 1)).decision is None


def test_ipv4_mapped_peer_and_unix_peer() -> None:
    policy = ProxyPolicy(RESOLVER)
    decision = policy.connection((f"::ffff:{LB}", 1, 0, 0)).feed(V1 + HTTP)
    assert decision is not None and decision.accepted and decision.peer == (CLIENT, 51234)
    unix = policy.connection(None).feed(V1 + HTTP)
    assert unix is not None and not unix.accepted and "unix socket" in unix.reason
    trusting_unix = ProxyPolicy(Resolver(trusted_proxies=["unix"], header=None))
    ok = trusting_unix.connection("").feed(V1 + HTTP)
    assert ok is not None and ok.accepted and ok.peer == (CLIENT, 51234)


def test_need_more_until_decided() -> None:
    conn = ProxyPolicy(RESOLVER).connection((LB, 1))
    assert conn.feed(b"") is None
    assert conn.feed(V1[:10]) is None
    decision = conn.feed(V1[10:])
    assert decision is not None and decision.accepted and decision.rest == b""
    assert conn.feed(b"more") is decision  # decided once


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"untrusted": "maybe"}, "untrusted='maybe'"),
        ({"max_size": 10}, "max_size=10"),
        ({"max_size": 70000}, "max_size=70000"),
        ({"timeout": 0}, "timeout=0"),
        ({"timeout": "1"}, "timeout='1'"),
    ],
)
def test_policy_config_errors(kwargs: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ProxyPolicy(RESOLVER, **kwargs)


def test_policy_needs_a_trusted_load_balancer() -> None:
    with pytest.raises(ConfigError, match="trusts nothing"):
        ProxyPolicy(Resolver())
    with pytest.raises(ConfigError, match="lb_cidrs"):
        Resolver.for_topology("lb-tcp-proxy")


def test_policy_describe_and_repr() -> None:
    policy = ProxyPolicy(RESOLVER, required=False, untrusted="refuse")
    assert policy.describe() == (
        "PROXY protocol optional from [100.64.0.0/10, 192.168.0.12/32], other peers refused"
    )
    assert repr(policy).startswith("ProxyPolicy(Resolver(topology='lb-tcp-proxy'")


def test_header_report() -> None:
    assert header_report(None) is None
    header = ProxyHeader(
        2,
        PROXY,
        "INET",
        "STREAM",
        CLIENT,
        1,
        "10.0.0.5",
        443,
        (TLV(2, b"app.example"), TLV(5, b"uid-1"), TLV(0xEA, b"\x01vpce-1")),
        60,
    )
    report = header_report(header)
    assert report is not None
    assert (report["source"], report["authority"], report["unique_id"], report["aws_vpce_id"]) == (
        CLIENT,
        "app.example",
        "uid-1",
        "vpce-1",
    )
    assert report["tlvs"][0] == {"type": "0x02", "name": "AUTHORITY", "hex": b"app.example".hex()}
    assert "crc32c" not in report and "ssl" not in report


# -- blocking sockets (realip serve) --------------------------------------------------------


def _pair(peer: str) -> Tuple[socket.socket, socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=5)
    server, _ = listener.accept()
    listener.close()
    return client, server


@pytest.mark.parametrize("chunks", [[V1 + HTTP], [V1[:7], V1[7:30], V1[30:] + HTTP], [V2 + HTTP]])
def test_accept_socket_consumes_exactly_the_header(chunks: List[bytes]) -> None:
    client, server = _pair(LB)
    try:

        def send() -> None:
            for chunk in chunks:
                client.sendall(chunk)
                threading.Event().wait(0.02)

        sender = threading.Thread(target=send)
        sender.start()
        decision = accept_socket(server, ProxyPolicy(RESOLVER, timeout=5), (LB, 1234))
        sender.join()
        assert decision.accepted and decision.header is not None
        server.settimeout(5)
        rest = b""
        while len(rest) < len(HTTP):
            rest += server.recv(1024)
        assert rest == HTTP
    finally:
        client.close()
        server.close()


def test_accept_socket_refuses_silence_and_early_close() -> None:
    client, server = _pair(LB)
    try:
        decision = accept_socket(server, ProxyPolicy(RESOLVER, timeout=0.2), (LB, 1))
        assert not decision.accepted and "in time" in decision.reason
        client.close()
        decision = accept_socket(server, ProxyPolicy(RESOLVER, timeout=2), (LB, 1))
        assert not decision.accepted and "closed" in decision.reason
    finally:
        server.close()


# -- asyncio --------------------------------------------------------------------------------


class _Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Any = None
        self.data = b""
        self.lost = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost = True


class _Proxied(ProxyProtocolMixin, _Recorder):
    proxy_policy = ProxyPolicy(RESOLVER, timeout=0.5)


class _FakeTransport:
    def __init__(self, peer: Tuple[str, int]) -> None:
        self.peer = peer
        self.aborted = False
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("10.0.0.5", 443)}.get(name, default)

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.aborted or self.closed


def _drive(peer: str, pieces: List[bytes]) -> Tuple[_Proxied, _FakeTransport]:
    async def run() -> Tuple[_Proxied, _FakeTransport]:
        proto, transport = _Proxied(), _FakeTransport((peer, 5000))
        proto.connection_made(transport)
        for piece in pieces:
            proto.data_received(piece)
        return proto, transport

    return asyncio.run(run())


def test_mixin_hands_the_wrapped_protocol_a_proxied_transport() -> None:
    proto, _ = _drive(LB, [V1[:5], V1[5:] + HTTP[:4], HTTP[4:]])
    assert isinstance(proto.transport, ProxiedTransport)
    assert proto.data == HTTP
    assert proto.transport.get_extra_info("peername") == (CLIENT, 51234)
    assert proto.transport.get_extra_info("sockname") == ("10.0.0.5", 443)
    assert proto.transport.get_extra_info("realip.lb_peername") == (LB, 5000)
    assert proto.transport.get_extra_info("proxy_protocol").source == CLIENT
    assert proto.transport.get_extra_info("socket") is None  # the fake has none
    assert proto.transport.is_closing() is False  # everything else is the real transport's
    assert "ProxiedTransport peer=('203.0.113.9', 51234)" in repr(proto.transport)
    proto.connection_lost(None)
    assert proto.lost


def test_mixin_leaves_a_direct_peer_untouched() -> None:
    proto, transport = _drive(STRANGER, [HTTP])
    assert proto.transport is transport and proto.data == HTTP


def test_mixin_refuses_without_telling_the_wrapped_protocol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proto, transport = _drive(STRANGER, [V1 + HTTP, b"more"])
    assert transport.aborted and proto.transport is None and proto.data == b""
    proto.connection_lost(None)
    assert not proto.lost
    assert "not a trusted load balancer" in caplog.text


def test_mixin_times_out_a_silent_connection() -> None:
    async def run() -> Tuple[_Proxied, _FakeTransport]:
        proto, transport = _Proxied(), _FakeTransport((LB, 5000))
        proto.connection_made(transport)
        proto.data_received(V1[:3])
        await asyncio.sleep(0.8)
        return proto, transport

    proto, transport = asyncio.run(run())
    assert transport.aborted and proto.transport is None


def test_proxied_socket_view_answers_the_client() -> None:
    client, server = _pair(LB)
    try:

        class Real(_FakeTransport):
            def get_extra_info(self, name: str, default: Any = None) -> Any:
                return server if name == "socket" else super().get_extra_info(name, default)

        view = ProxiedTransport(Real((LB, 1)), (CLIENT, 7), None).get_extra_info("socket")
        assert view.getpeername() == (CLIENT, 7)
        assert view.getsockname() == server.getsockname()
        assert view.fileno() == server.fileno()
    finally:
        client.close()
        server.close()


def test_feeding_a_header_a_byte_at_a_time_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 20: feed re-copied its buffer and re-parsed on every call, so a header dribbled one
    # byte per call cost quadratic work. Count the work: the parser is asked a bounded number of
    # times and reads a bounded multiple of the header, whatever its size.
    import realip._proxy_policy as policy_module
    from realip.proxy_protocol import V1_MAX_SIZE, parse

    seen: List[int] = []

    def counting_parse(data: bytes, **kwargs: Any) -> Any:
        seen.append(len(data))
        return parse(data, **kwargs)

    monkeypatch.setattr(policy_module, "parse", counting_parse)
    policy = ProxyPolicy(RESOLVER, max_size=16 + 0xFFFF)
    for header in (
        V1,
        encode(ProxyHeader(2, PROXY, "INET", "STREAM", CLIENT, 1, LB, 2, (TLV(0xE1, bytes(100)),))),
        encode(
            ProxyHeader(2, PROXY, "INET", "STREAM", CLIENT, 1, LB, 2, (TLV(0xE1, bytes(60000)),))
        ),
    ):
        seen.clear()
        state = policy.connection((LB, 1))
        stream = header + HTTP
        decision = None
        for i in range(len(stream)):
            decision = state.feed(stream[i : i + 1])
            if decision is not None:
                break
        assert (
            decision is not None
            and decision.accepted
            and decision.peer == (CLIENT, 1 if header is not V1 else 51234)
        )
        if header is V1:  # a line of at most 107 bytes: bounded whatever happens
            assert sum(seen) <= V1_MAX_SIZE**2, seen
        else:  # at the signature, at the fixed part, and once whole
            assert len(seen) <= 3 and sum(seen) <= len(header) + 32, (len(header), seen[:5])
        assert state.needed == 0


def test_the_connection_says_how_many_bytes_it_needs() -> None:
    # What a socket server waits for before it reads: never more than the header itself.
    policy = ProxyPolicy(RESOLVER)
    for header in (V1, V2, V2_LOCAL, V1_UNKNOWN):
        state = policy.connection((LB, 1))
        fed = 0
        while state.decision is None:
            need = state.needed
            assert need > 0 and fed + need <= len(header), (header, fed, need)
            state.feed(header[fed : fed + need])
            fed += need
        assert state.decision.accepted and fed == len(header)
