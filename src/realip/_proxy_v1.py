"""The PROXY protocol v1 header: one text line, parsed strictly and written back.

``PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>\\r\\n`` (or ``PROXY
UNKNOWN``), at most 107 bytes, as haproxy's ``proxy-protocol.txt`` section 2.1 defines it:
single spaces, canonical addresses, ports without leading zeros, CRLF and nothing else.
:func:`parse_v1` never half-accepts a line; :func:`encode_v1` writes one.
"""

from __future__ import annotations

from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Optional

from realip._proxy_header import (
    PROXY,
    SIGNATURE_V1,
    V1_MAX_SIZE,
    LocalProtocolError,
    ProxyHeader,
    RemoteProtocolError,
)


def _v4_text(raw: bytes) -> str:
    try:
        text = raw.decode("ascii")
        # Canonical only: inet_ntop gives back the same text iff there are no leading zeros
        # (proxy-protocol.txt: "Heading zeroes are not permitted").
        if inet_ntop(AF_INET, inet_pton(AF_INET, text)) == text:
            return text
    except (UnicodeDecodeError, OSError, ValueError):
        pass
    raise RemoteProtocolError(f"invalid IPv4 address {raw[:48]!r} in a v1 header")


def _v6_text(raw: bytes) -> str:
    try:
        return inet_ntop(AF_INET6, inet_pton(AF_INET6, raw.decode("ascii")))
    except (UnicodeDecodeError, OSError, ValueError):
        raise RemoteProtocolError(f"invalid IPv6 address {raw[:48]!r} in a v1 header") from None


def _port(raw: bytes) -> int:
    # bytes.isdigit() is ASCII-only; no sign, no spaces, no leading zero ("0" itself is fine).
    if 0 < len(raw) <= 5 and raw.isdigit() and (raw == b"0" or raw[:1] != b"0"):
        port = int(raw)
        if port <= 0xFFFF:
            return port
    raise RemoteProtocolError(f"invalid port {raw[:8]!r} in a v1 header")


def parse_v1(data: bytes) -> Optional[ProxyHeader]:
    window = data[:V1_MAX_SIZE]
    end = window.find(b"\r\n")
    stray = window.find(b"\n")
    if stray != -1 and stray != end + 1:
        raise RemoteProtocolError("a v1 header line must end in CRLF, not a bare LF")
    cr = window.find(b"\r")
    if cr != -1 and cr != end and cr != len(window) - 1:
        raise RemoteProtocolError("a v1 header line must end in CRLF, not a bare CR")
    if end == -1:
        if len(data) >= V1_MAX_SIZE:
            raise RemoteProtocolError(f"no CRLF in the first {V1_MAX_SIZE} bytes of a v1 header")
        return None
    size = end + 2
    line = window[len(SIGNATURE_V1) : end]
    if line == b"UNKNOWN" or line.startswith(b"UNKNOWN "):
        # "the receiver must ignore anything presented before the CRLF is found"
        return ProxyHeader(version=1, command=PROXY, family="UNSPEC", transport="UNSPEC", size=size)
    parts = line.split(b" ")
    if len(parts) != 5:
        raise RemoteProtocolError(
            f"a v1 header needs protocol, two addresses and two ports separated by single "
            f"spaces: {window[:end]!r}"
        )
    proto, src, dst, sport, dport = parts
    if proto == b"TCP4":
        family, source, destination = "INET", _v4_text(src), _v4_text(dst)
    elif proto == b"TCP6":
        family, source, destination = "INET6", _v6_text(src), _v6_text(dst)
    else:
        raise RemoteProtocolError(
            f"unknown v1 protocol {proto[:16]!r}; expected TCP4, TCP6 or UNKNOWN"
        )
    return ProxyHeader(
        version=1,
        command=PROXY,
        family=family,
        transport="STREAM",
        source=source,
        source_port=_port(sport),
        destination=destination,
        destination_port=_port(dport),
        size=size,
    )


def encode_v1(h: ProxyHeader) -> bytes:
    if h.command != PROXY:
        raise LocalProtocolError("v1 has no LOCAL command")
    if h.family == "UNSPEC":
        return b"PROXY UNKNOWN\r\n"
    proto = {"INET": "TCP4", "INET6": "TCP6"}.get(h.family)
    if proto is None or h.transport != "STREAM":
        raise LocalProtocolError(f"v1 carries only TCP over INET/INET6, not {h.family}")
    line = f"PROXY {proto} {h.source} {h.destination} {h.source_port} {h.destination_port}\r\n"
    return line.encode("ascii")
