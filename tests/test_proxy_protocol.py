"""realip.proxy_protocol: every field and every error of v1 and v2, as tables, plus properties.

The byte strings are written out by hand from haproxy's proxy-protocol.txt (not produced by
``encode``), so the parser is checked against the specification, not against itself; the
round-trip properties then cover ``encode`` and the parser together.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, List, Optional, Tuple

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from realip.proxy_protocol import (
    LOCAL,
    PROXY,
    SIGNATURE_V2,
    TLV,
    ProxyHeader,
    ProxyProtocolError,
    SSLInfo,
    crc32c,
    detect,
    encode,
    parse,
)

SIG = SIGNATURE_V2


def v2(ver_cmd: int, fam: int, body: bytes, length: Optional[int] = None) -> bytes:
    """A v2 header by hand: signature, version/command, family/transport, length, body."""
    return (
        SIG
        + bytes((ver_cmd, fam))
        + struct.pack("!H", len(body) if length is None else length)
        + body
    )


V4_BODY = bytes([203, 0, 113, 9, 10, 0, 0, 5]) + struct.pack("!HH", 51234, 443)
V6_BODY = (
    bytes.fromhex("20010db8000000000000000000000009")
    + bytes.fromhex("00000000000000000000000000000001")
    + struct.pack("!HH", 1, 65535)
)
UNIX_BODY = b"/run/lb.sock".ljust(108, b"\x00") + b"/run/app.sock".ljust(108, b"\x00")


def tlv(kind: int, value: bytes) -> bytes:
    return bytes((kind,)) + struct.pack("!H", len(value)) + value


def with_crc(
    ver_cmd: int, fam: int, addresses: bytes, before: bytes = b"", after: bytes = b""
) -> bytes:
    """A v2 header whose CRC32C TLV holds the right checksum (computed as the spec says)."""
    body = addresses + before + tlv(0x03, b"\0\0\0\0") + after
    raw = bytearray(v2(ver_cmd, fam, body))
    at = 16 + len(addresses) + len(before) + 3
    raw[at : at + 4] = struct.pack("!I", crc32c(bytes(raw)))
    return bytes(raw)


# -- v1: fields ---------------------------------------------------------------------------

V1_VALID: List[Tuple[bytes, Tuple[Any, ...]]] = [
    # (line, (family, source, source_port, destination, destination_port, size))
    (
        b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\r\n",
        ("INET", "203.0.113.9", 51234, "10.0.0.5", 443, 43),
    ),
    (
        b"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
        ("INET", "0.0.0.0", 0, "255.255.255.255", 65535, 44),
    ),
    (b"PROXY TCP6 2001:db8::9 ::1 1 65535\r\n", ("INET6", "2001:db8::9", 1, "::1", 65535, 36)),
    # Upper case and uncompressed IPv6 are valid; the result is canonical.
    (
        b"PROXY TCP6 2001:DB8:0:0:0:0:0:9 0:0:0:0:0:0:0:1 80 443\r\n",
        ("INET6", "2001:db8::9", 80, "::1", 443, 56),
    ),
    (
        b"PROXY TCP6 ::ffff:192.0.2.1 ::1 80 443\r\n",
        ("INET6", "::ffff:192.0.2.1", 80, "::1", 443, 40),
    ),
    # UNKNOWN: short form, and with (ignored) addresses up to the 107-byte worst case.
    (b"PROXY UNKNOWN\r\n", ("UNSPEC", None, None, None, None, 15)),
    (
        b"PROXY UNKNOWN " + b"f" * 39 + b" " + b"f" * 39 + b" 65535 65535\r\n",
        ("UNSPEC", None, None, None, None, 107),
    ),
    (b"PROXY UNKNOWN whatever\xff\x00 here\r\n", ("UNSPEC", None, None, None, None, 31)),
]


@pytest.mark.parametrize(("line", "fields"), V1_VALID, ids=[repr(c[0][:30]) for c in V1_VALID])
def test_v1_fields(line: bytes, fields: Tuple[Any, ...]) -> None:
    header = parse(line + b"GET / HTTP/1.1\r\n\r\n")
    assert header is not None
    family, source, sport, destination, dport, size = fields
    assert header == ProxyHeader(
        1,
        PROXY,
        family,
        "STREAM" if source else "UNSPEC",
        source,
        sport,
        destination,
        dport,
        (),
        size,
    )
    assert header.size == len(line)
    assert header.client == ((source, sport) if source else None)


V1_ERRORS = [
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\n", "bare LF"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\rX\n", "must end in CRLF"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\r\r\n", "bare CR"),
    (b"PROXY TCP4  203.0.113.9 10.0.0.5 51234 443\r\n", "single spaces"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443 \r\n", "single spaces"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 51234\r\n", "single spaces"),
    (b"PROXY TCP5 203.0.113.9 10.0.0.5 51234 443\r\n", "unknown v1 protocol"),
    (b"PROXY tcp4 203.0.113.9 10.0.0.5 51234 443\r\n", "unknown v1 protocol"),
    (b"PROXY UDP4 203.0.113.9 10.0.0.5 51234 443\r\n", "unknown v1 protocol"),
    (b"PROXY UNKNOWNX\r\n", "single spaces"),
    (b"PROXY TCP4 203.0.113.09 10.0.0.5 51234 443\r\n", "invalid IPv4"),
    (b"PROXY TCP4 203.0.113 10.0.0.5 51234 443\r\n", "invalid IPv4"),
    (b"PROXY TCP4 203.0.113.256 10.0.0.5 51234 443\r\n", "invalid IPv4"),
    (b"PROXY TCP4 2001:db8::1 10.0.0.5 51234 443\r\n", "invalid IPv4"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.05 51234 443\r\n", "invalid IPv4"),
    (b"PROXY TCP6 203.0.113.9 ::1 51234 443\r\n", "invalid IPv6"),
    (b"PROXY TCP6 fe80::1%eth0 ::1 51234 443\r\n", "invalid IPv6"),
    (b"PROXY TCP6 2001:db8:::1 ::1 51234 443\r\n", "invalid IPv6"),
    (b"PROXY TCP6 2001:db8::1 ::1\xff 51234 443\r\n", "invalid IPv6"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 051234 443\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 00 443\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 65536 443\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 -1 443\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 +1 443\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 1 4430000\r\n", "invalid port"),
    (b"PROXY TCP4 203.0.113.9 10.0.0.5 \xd9\xa1 443\r\n", "invalid port"),
    (b"PROXY " + b"A" * 101, "no CRLF in the first 107"),
    (
        b"PROXY UNKNOWN " + b"f" * 39 + b" " + b"f" * 39 + b" 65535 655355\r\n",
        "no CRLF in the first 107",
    ),
    (b"PROXYTCP4 203.0.113.9 10.0.0.5 51234 443\r\n", "not a PROXY protocol header"),
    (b"GET / HTTP/1.1\r\n\r\n", "not a PROXY protocol header"),
    (b"proxy TCP4 203.0.113.9 10.0.0.5 1 2\r\n", "not a PROXY protocol header"),
]


@pytest.mark.parametrize(("data", "message"), V1_ERRORS, ids=[repr(c[0][:40]) for c in V1_ERRORS])
def test_v1_errors(data: bytes, message: str) -> None:
    with pytest.raises(ProxyProtocolError, match=message):
        parse(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"P",
        b"PROXY",
        b"PROXY ",
        b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443",
        b"PROXY TCP4 1\r",
    ],
)
def test_v1_needs_more(data: bytes) -> None:
    assert parse(data) is None


# -- v2: fields ---------------------------------------------------------------------------

V2_VALID: List[Tuple[str, bytes, ProxyHeader]] = [
    (
        "tcp4",
        v2(0x21, 0x11, V4_BODY),
        ProxyHeader(2, PROXY, "INET", "STREAM", "203.0.113.9", 51234, "10.0.0.5", 443, (), 28),
    ),
    (
        "udp4",
        v2(0x21, 0x12, V4_BODY),
        ProxyHeader(2, PROXY, "INET", "DGRAM", "203.0.113.9", 51234, "10.0.0.5", 443, (), 28),
    ),
    (
        "tcp6",
        v2(0x21, 0x21, V6_BODY),
        ProxyHeader(2, PROXY, "INET6", "STREAM", "2001:db8::9", 1, "::1", 65535, (), 52),
    ),
    (
        "udp6",
        v2(0x21, 0x22, V6_BODY),
        ProxyHeader(2, PROXY, "INET6", "DGRAM", "2001:db8::9", 1, "::1", 65535, (), 52),
    ),
    (
        "unix-stream",
        v2(0x21, 0x31, UNIX_BODY),
        ProxyHeader(
            2, PROXY, "UNIX", "STREAM", "/run/lb.sock", None, "/run/app.sock", None, (), 232
        ),
    ),
    (
        "unix-dgram",
        v2(0x21, 0x32, UNIX_BODY),
        ProxyHeader(
            2, PROXY, "UNIX", "DGRAM", "/run/lb.sock", None, "/run/app.sock", None, (), 232
        ),
    ),
    # LOCAL: the block (family included) is skipped whatever it holds; len must still be honoured.
    ("local", v2(0x20, 0x00, b""), ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC", size=16)),
    (
        "local-with-block",
        v2(0x20, 0x11, V4_BODY),
        ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC", size=28),
    ),
    (
        "local-bad-family",
        v2(0x20, 0xFF, b"junk"),
        ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC", size=20),
    ),
    # PROXY with UNSPEC: address information ignored.
    (
        "proxy-unspec",
        v2(0x21, 0x00, b"ignored"),
        ProxyHeader(2, PROXY, "UNSPEC", "UNSPEC", size=23),
    ),
    # Extra address bytes are TLVs; a longer-than-needed body with TLVs.
    (
        "tcp4-tlvs",
        v2(
            0x21,
            0x11,
            V4_BODY
            + tlv(0x01, b"h2")
            + tlv(0x02, b"example.com")
            + tlv(0x04, b"")
            + tlv(0x05, b"id-1"),
        ),
        ProxyHeader(
            2,
            PROXY,
            "INET",
            "STREAM",
            "203.0.113.9",
            51234,
            "10.0.0.5",
            443,
            (TLV(1, b"h2"), TLV(2, b"example.com"), TLV(4, b""), TLV(5, b"id-1")),
            28 + 5 + 14 + 3 + 7,
        ),
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), V2_VALID, ids=[c[0] for c in V2_VALID])
def test_v2_fields(name: str, data: bytes, expected: ProxyHeader) -> None:
    assert parse(data + b"GET / HTTP/1.1\r\n") == expected
    assert parse(data) == expected
    for cut in range(len(data)):
        assert parse(data[:cut]) is None, cut


def test_v2_client_is_only_for_relayed_ip_connections() -> None:
    assert parse(V2_VALID[0][1]).client == ("203.0.113.9", 51234)  # type: ignore[union-attr]
    assert parse(V2_VALID[2][1]).client == ("2001:db8::9", 1)  # type: ignore[union-attr]
    for name in ("unix-stream", "local", "proxy-unspec"):
        data = next(c[1] for c in V2_VALID if c[0] == name)
        assert parse(data).client is None, name  # type: ignore[union-attr]


def test_v2_named_tlvs() -> None:
    ssl = (
        bytes((0x07,)) + struct.pack("!I", 0) + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"client.example")
    )
    ssl += tlv(0x23, b"TLS_AES_128_GCM_SHA256") + tlv(0x24, b"SHA256") + tlv(0x25, b"RSA2048")
    body = (
        V4_BODY
        + tlv(0x01, b"h2")
        + tlv(0x02, b"app.example.com")
        + tlv(0x05, b"\x00\x01uid")
        + tlv(0x20, ssl)
        + tlv(0x30, b"blue")
        + tlv(0xEA, b"\x01vpce-0123456789abcdef0")
        + tlv(0xEE, b"\x01" + struct.pack("<I", 0x12345678))
        + tlv(0xE0, struct.pack("!Q", 2**63 + 5))
    )
    header = parse(v2(0x21, 0x11, body))
    assert header is not None
    assert header.alpn == b"h2"
    assert header.authority == "app.example.com"
    assert header.unique_id == b"\x00\x01uid"
    assert header.netns == "blue"
    assert header.aws_vpce_id == "vpce-0123456789abcdef0"
    assert header.azure_link_id == 0x12345678
    assert header.gcp_psc_id == 2**63 + 5
    assert header.crc32c is None
    assert header.ssl == SSLInfo(
        7,
        0,
        (
            TLV(0x21, b"TLSv1.3"),
            TLV(0x22, b"client.example"),
            TLV(0x23, b"TLS_AES_128_GCM_SHA256"),
            TLV(0x24, b"SHA256"),
            TLV(0x25, b"RSA2048"),
        ),
    )
    info = header.ssl
    assert info is not None
    assert (info.ssl, info.cert_verified, info.version, info.cn, info.cipher) == (
        True,
        True,
        "TLSv1.3",
        "client.example",
        "TLS_AES_128_GCM_SHA256",
    )
    assert (info.sig_alg, info.key_alg) == ("SHA256", "RSA2048")
    assert [t.name for t in header.tlvs] == [
        "ALPN",
        "AUTHORITY",
        "UNIQUE_ID",
        "SSL",
        "NETNS",
        "AWS",
        "AZURE",
        "GCP",
    ]
    assert TLV(0xF3, b"x").name == "0xF3"


def test_v2_absent_and_malformed_vendor_tlvs_read_as_none() -> None:
    body = V4_BODY + tlv(0xEA, b"\x02other") + tlv(0xEE, b"\x01\x00") + tlv(0xE0, b"short")
    header = parse(v2(0x21, 0x11, body))
    assert header is not None
    assert (header.aws_vpce_id, header.azure_link_id, header.gcp_psc_id) == (None, None, None)
    assert (header.alpn, header.authority, header.ssl, header.unique_id) == (None, None, None, None)
    unverified = SSLInfo(0x03, 1)
    assert (unverified.ssl, unverified.cert_verified, unverified.version) == (True, False, None)


def test_crc32c_known_values() -> None:
    # RFC 3720 B.4 / the usual check value of CRC-32C.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283
    assert crc32c(bytes(range(256)) * 3 + b"\x01\x02") == _bitwise_crc32c(
        bytes(range(256)) * 3 + b"\x01\x02"
    )


def _bitwise_crc32c(data: bytes) -> int:
    """CRC32C one bit at a time, straight from the definition (reflected 0x1EDC6F41)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


@given(st.binary(max_size=64), st.binary(max_size=9))
def test_crc32c_matches_the_bitwise_definition(data: bytes, more: bytes) -> None:
    assert crc32c(data) == _bitwise_crc32c(data)
    assert crc32c(more, crc32c(data)) == _bitwise_crc32c(data + more)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_v2_crc32c_is_verified(where: str) -> None:
    """Every bit of the header is covered; dropping the CRC TLV altogether cannot be detected
    (the spec makes the checksum optional), which is why trust comes from the peer address."""
    before = b"" if where == "first" else tlv(0x02, b"example.com")
    after = b"" if where == "last" else tlv(0x05, b"id")
    data = with_crc(0x21, 0x11, V4_BODY, before, after)
    header = parse(data)
    assert header is not None and header.crc32c is not None
    assert header.authority == ("example.com" if before else None)
    crc_type_at = 16 + len(V4_BODY) + len(before)
    for i in range(len(data)):  # any flipped bit anywhere in the header is caught...
        if i == crc_type_at:
            continue  # ...except in the CRC TLV's own type byte: then there is no checksum
        damaged = bytearray(data)
        damaged[i] ^= 0x10
        try:
            result = parse(bytes(damaged))
        except ProxyProtocolError:
            continue
        # A longer declared length waits for bytes that will not come; never a header.
        assert result is None, f"byte {i} flipped and still parsed: {result}"


V2_ERRORS = [
    ("version-1", SIG + b"\x11\x11\x00\x0c" + V4_BODY, "version 1"),
    ("version-3", SIG + b"\x31\x11\x00\x0c" + V4_BODY, "version 3"),
    ("command-2", v2(0x22, 0x11, V4_BODY), "command 0x2"),
    ("command-f", v2(0x2F, 0x11, V4_BODY), "command 0xF"),
    ("family-4", v2(0x21, 0x41, V4_BODY), "family/transport byte 0x41"),
    ("transport-3", v2(0x21, 0x13, V4_BODY), "family/transport byte 0x13"),
    ("inet-unspec-transport", v2(0x21, 0x10, V4_BODY), "mixes UNSPEC"),
    ("unspec-stream", v2(0x21, 0x01, V4_BODY), "mixes UNSPEC"),
    ("inet-too-short", v2(0x21, 0x11, V4_BODY[:11]), "11 address bytes, INET needs 12"),
    ("inet6-too-short", v2(0x21, 0x21, V6_BODY[:35]), "INET6 needs 36"),
    ("unix-too-short", v2(0x21, 0x31, UNIX_BODY[:215]), "UNIX needs 216"),
    ("stray-tlv-bytes", v2(0x21, 0x11, V4_BODY + b"\x01\x00"), "2 stray byte"),
    ("tlv-overruns", v2(0x21, 0x11, V4_BODY + b"\x02\x00\x05abc"), "declares 5 bytes but only 3"),
    ("unique-id-129", v2(0x21, 0x11, V4_BODY + tlv(0x05, b"u" * 129)), "UNIQUE_ID TLV has 129"),
    ("ssl-too-short", v2(0x21, 0x11, V4_BODY + tlv(0x20, b"\x01\x00\x00")), "at least 5 bytes"),
    (
        "ssl-bad-sub",
        v2(0x21, 0x11, V4_BODY + tlv(0x20, b"\x01\x00\x00\x00\x00\x21\x00\x09TLS")),
        "SSL sub- TLV",
    ),
    ("crc-3-bytes", v2(0x21, 0x11, V4_BODY + tlv(0x03, b"abc")), "3 bytes, not 4"),
    ("crc-wrong", v2(0x21, 0x11, V4_BODY + tlv(0x03, b"\0\0\0\0")), "CRC32C mismatch"),
    (
        "crc-twice",
        v2(0x21, 0x11, V4_BODY + tlv(0x03, b"\0\0\0\0") + tlv(0x03, b"\0\0\0\0")),
        "more than one CRC32C",
    ),
    ("too-long", SIG + b"\x21\x11\x40\x00", "declares 16400 bytes"),
    ("bad-signature", b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x00", "not a PROXY protocol header"),
]


@pytest.mark.parametrize(("name", "data", "message"), V2_ERRORS, ids=[c[0] for c in V2_ERRORS])
def test_v2_errors(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ProxyProtocolError, match=message):
        parse(data + b"\x00" * 64)


def test_v2_errors_are_raised_before_the_whole_header_arrives_when_they_can_be() -> None:
    # Version, command and a too-large length are known from the fixed 16 bytes: no waiting.
    with pytest.raises(ProxyProtocolError, match="version"):
        parse(SIG + b"\x11")
    with pytest.raises(ProxyProtocolError, match="command"):
        parse(SIG + b"\x2a")
    with pytest.raises(ProxyProtocolError, match="declares 65551 bytes"):
        parse(SIG + b"\x21\x11\xff\xff")


def test_max_size_bounds_v2() -> None:
    data = v2(0x21, 0x11, V4_BODY + tlv(0xE5, b"x" * 100))
    assert parse(data, max_size=len(data)) is not None
    with pytest.raises(ProxyProtocolError, match=f"more than the {len(data) - 1} accepted"):
        parse(data, max_size=len(data) - 1)
    big = v2(0x21, 0x11, V4_BODY + tlv(0xE5, b"x" * (0xFFFF - 15)))
    assert parse(big, max_size=16 + 0xFFFF) is not None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", None),
        (b"PROX", None),
        (b"PROXY ", 1),
        (b"PROXY TCP4", 1),
        (b"\r\n\r\n", None),
        (SIG, 2),
        (SIG + b"\x21", 2),
        (b"GET /", 0),
        (b"PROXYX", 0),
        (b"\r\n\r\nX", 0),
        (b"\x16\x03\x01", 0),  # a TLS ClientHello
    ],
)
def test_detect(data: bytes, expected: Optional[int]) -> None:
    assert detect(data) == expected


def test_non_bytes_input_is_a_proxy_protocol_error() -> None:
    for wrong in ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 10**12, None, [80, 82]):
        with pytest.raises(ProxyProtocolError, match="not bytes"):
            parse(wrong)  # type: ignore[arg-type]
    assert parse(bytearray(b"PROXY UNKNOWN\r\n")) == ProxyHeader(
        1, PROXY, "UNSPEC", "UNSPEC", size=15
    )
    assert parse(memoryview(b"PROXY UNKNOWN\r\n")) is not None  # type: ignore[arg-type]


def test_reprs_are_precise() -> None:
    header = parse(v2(0x21, 0x11, V4_BODY + tlv(0x02, b"a.example")))
    assert repr(header) == (
        "ProxyHeader(version=2, command='PROXY', family='INET', transport='STREAM', "
        "source='203.0.113.9', source_port=51234, destination='10.0.0.5', destination_port=443, "
        "tlvs=(TLV(type=0x02, value=b'a.example'),), size=40)"
    )
    assert eval(repr(header), {"ProxyHeader": ProxyHeader, "TLV": TLV}) == header
    assert repr(SSLInfo(1, 0)) == "SSLInfo(client=1, verify=0, tlvs=())"


def test_values_are_immutable() -> None:
    header = parse(b"PROXY UNKNOWN\r\n")
    with pytest.raises(AttributeError):
        header.source = "6.6.6.6"  # type: ignore[misc,union-attr]


# -- encode -------------------------------------------------------------------------------


def test_encode_matches_the_hand_written_bytes() -> None:
    assert encode(V2_VALID[0][2]) == V2_VALID[0][1]
    assert encode(V2_VALID[2][2]) == V2_VALID[2][1]
    assert encode(V2_VALID[4][2]) == V2_VALID[4][1]
    assert encode(ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC")) == v2(0x20, 0x00, b"")
    assert encode(ProxyHeader(2, PROXY, "UNSPEC", "UNSPEC")) == v2(0x21, 0x00, b"")
    assert encode(V1_VALID_HEADER) == b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\r\n"
    assert encode(ProxyHeader(1, PROXY, "UNSPEC", "UNSPEC")) == b"PROXY UNKNOWN\r\n"
    crc = encode(
        ProxyHeader(
            2, PROXY, "INET", "STREAM", "203.0.113.9", 51234, "10.0.0.5", 443, (TLV(3, b""),)
        )
    )
    assert crc == with_crc(0x21, 0x11, V4_BODY)


V1_VALID_HEADER = ProxyHeader(1, PROXY, "INET", "STREAM", "203.0.113.9", 51234, "10.0.0.5", 443)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (ProxyHeader(1, LOCAL, "UNSPEC", "UNSPEC"), "no LOCAL"),
        (ProxyHeader(1, PROXY, "UNIX", "STREAM", "/a", None, "/b", None), "only TCP"),
        (V1_VALID_HEADER._replace(transport="DGRAM"), "only TCP"),
        (ProxyHeader(3, PROXY, "UNSPEC", "UNSPEC"), "unknown PROXY protocol version"),
        (ProxyHeader(2, PROXY, "IPX", "STREAM"), "unknown family"),
        (V1_VALID_HEADER._replace(version=2, source="nope"), "cannot be written"),
        (V1_VALID_HEADER._replace(version=2, tlvs=(TLV(0xE1, b"x" * 0xFFFF),)), "at most 65535"),
    ],
)
def test_encode_errors(header: ProxyHeader, message: str) -> None:
    with pytest.raises(ProxyProtocolError, match=message):
        encode(header)


# -- properties ---------------------------------------------------------------------------

ports = st.integers(0, 0xFFFF)
v4 = st.ip_addresses(v=4).map(str)
# The parser answers inet_ntop's canonical text (which writes ::ffff:0:0 as ::ffff:0.0.0.0).
v6 = st.ip_addresses(v=6).map(lambda a: socket.inet_ntop(socket.AF_INET6, a.packed))
custom_tlvs = st.lists(
    st.builds(
        TLV,
        st.sampled_from([0x01, 0x02, 0x04, 0x05, 0x30, 0xE0, 0xE5, 0xEA, 0xEE, 0xF0, 0xFF]),
        st.binary(max_size=40),
    ),
    max_size=5,
)


@st.composite
def headers(draw: Any) -> ProxyHeader:
    version = draw(st.sampled_from([1, 2]))
    family = draw(st.sampled_from(["INET", "INET6"]))
    address = v4 if family == "INET" else v6
    transport = "STREAM" if version == 1 else draw(st.sampled_from(["STREAM", "DGRAM"]))
    tlvs: Tuple[TLV, ...] = ()
    if version == 2:
        tlvs = tuple(t for t in draw(custom_tlvs) if not (t.type == 5 and len(t.value) > 128))
        if draw(st.booleans()):
            at = draw(st.integers(0, len(tlvs)))
            tlvs = (*tlvs[:at], TLV(3, b""), *tlvs[at:])
    return ProxyHeader(
        version,
        PROXY,
        family,
        transport,
        draw(address),
        draw(ports),
        draw(address),
        draw(ports),
        tlvs,
    )


@given(headers(), st.binary(max_size=64))
@settings(max_examples=400)
def test_any_valid_header_round_trips(header: ProxyHeader, tail: bytes) -> None:
    data = encode(header)
    parsed = parse(data + tail, max_size=16 + 0xFFFF)
    assert parsed is not None
    assert parsed.size == len(data)
    crc = parsed.crc32c
    expected_tlvs = tuple(
        TLV(3, crc.to_bytes(4, "big")) if t.type == 3 and crc is not None else t
        for t in header.tlvs
    )
    assert parsed == header._replace(tlvs=expected_tlvs, size=len(data))
    # The bytes after the header were not read: any tail gives the same answer.
    assert parse(data + b"\xff" * 8, max_size=16 + 0xFFFF) == parsed
    for cut in range(len(data)):
        assert parse(data[:cut], max_size=16 + 0xFFFF) is None


def _outcome(data: bytes) -> Tuple[str, Any]:
    try:
        header = parse(data)
    except ProxyProtocolError as exc:
        assert str(exc)
        return ("error", None)
    return ("none", None) if header is None else ("header", header)


@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: b"PROXY " + b),
        st.binary(max_size=300).map(lambda b: SIGNATURE_V2 + b),
        st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300)).map(
            lambda t: SIGNATURE_V2 + bytes(t[:2]) + len(t[2]).to_bytes(2, "big") + t[2]
        ),
    )
)
@example(SIGNATURE_V2 + b"\x21\x11\x00\x0f" + V4_BODY + b"\x03\x00")
@example(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")
@settings(max_examples=1500)
def test_any_bytes_parse_need_more_or_error(data: bytes) -> None:
    kind, header = _outcome(data)
    if kind == "header":
        # Never read past the declared length: what follows the header changes nothing.
        assert 0 < header.size <= len(data)
        assert _outcome(data[: header.size] + b"\x00garbage") == ("header", header)
        assert _outcome(data[: header.size]) == ("header", header)
    elif kind == "none":
        # "Need more" is only ever said of a strict prefix of something that could still parse.
        assert len(data) < 16 + 0xFFFF


@given(st.binary(min_size=1, max_size=120))
def test_a_prefix_never_errors_where_the_whole_header_parses(suffix: bytes) -> None:
    data = b"PROXY TCP6 2001:db8::1 2001:db8::2 65535 1\r\n" + suffix
    header = parse(data)
    assert header is not None and header.size == 44
    for cut in range(44):
        assert parse(data[:cut]) is None


def test_errors_say_whose_fault_it_is() -> None:
    # As h11 splits RemoteProtocolError from LocalProtocolError; ProxyProtocolError catches both.
    from realip.proxy_protocol import LocalProtocolError, RemoteProtocolError

    with pytest.raises(RemoteProtocolError, match="invalid port"):
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")
    with pytest.raises(RemoteProtocolError, match="not a PROXY protocol header"):
        parse(b"GET / HTTP/1.1\r\n")
    with pytest.raises(LocalProtocolError, match="not bytes"):
        parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="no LOCAL"):
        encode(ProxyHeader(version=1, command=LOCAL, family="UNSPEC", transport="UNSPEC"))
    with pytest.raises(LocalProtocolError, match="cannot be written"):
        encode(
            ProxyHeader(
                version=1,
                command=PROXY,
                family="INET",
                transport="STREAM",
                source="1.2.3.4 evil",
                source_port=1,
                destination="5.6.7.8",
                destination_port=2,
            )
        )
    assert issubclass(RemoteProtocolError, ProxyProtocolError)
    assert issubclass(LocalProtocolError, ProxyProtocolError)
    assert not issubclass(RemoteProtocolError, LocalProtocolError)
