"""PROXY protocol v1 and v2: a sans-IO parser for the header a TCP load balancer sends first.

A load balancer with PROXY protocol on (AWS NLB, haproxy ``send-proxy``/``send-proxy-v2``,
nginx ``proxy_protocol``, Alibaba Cloud CLB/NLB, DigitalOcean, Scaleway, Hetzner) writes one
header at the start of every TCP connection, before the first HTTP byte, saying whom it
accepted the connection from. Feed the first bytes of a connection to :func:`parse`::

    >>> from realip.proxy_protocol import parse
    >>> header = parse(b"PROXY TCP4 203.0.113.9 10.0.0.5 51234 443\\r\\nGET / HTTP/1.1\\r\\n")
    >>> header.client, header.size
    (('203.0.113.9', 51234), 43)
    >>> parse(b"PROXY TCP4 203.0.1") is None  # need more bytes
    True

It returns ``None`` while more bytes are needed, a :class:`ProxyHeader` (whose ``size`` is the
number of bytes the header took; the HTTP request starts right after it), or raises
:class:`ProxyProtocolError` (:class:`RemoteProtocolError` for bad bytes,
:class:`LocalProtocolError` for an input that is not bytes), and nothing else, whatever the input. Parsing follows haproxy's
``proxy-protocol.txt`` strictly: a v1 line of at most 107 bytes ending in CRLF, canonical
addresses, ports without leading zeros; a v2 header with the right version, command, family
and transport nibbles, an address block that fits its declared length, well-formed TLVs and,
when a CRC32C TLV is present, a matching checksum. A malformed header is never half-accepted.

Whether to *believe* a header is another matter: only a peer you trust as the load balancer
may send one. :mod:`realip.proxy_server` decides that per connection.
"""

from __future__ import annotations

from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from struct import Struct, unpack_from
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

__all__ = [
    "DEFAULT_MAX_SIZE",
    "LOCAL",
    "PROXY",
    "SIGNATURE_V1",
    "SIGNATURE_V2",
    "TLV",
    "V1_MAX_SIZE",
    "ProxyHeader",
    "LocalProtocolError",
    "ProxyProtocolError",
    "RemoteProtocolError",
    "SSLInfo",
    "bytes_needed",
    "crc32c",
    "detect",
    "encode",
    "header_report",
    "parse",
]

SIGNATURE_V1 = b"PROXY "
"""The first bytes of a version 1 header ("PROXY" and exactly one space)."""
SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"
"""The 12-byte signature that starts a version 2 header."""
V1_MAX_SIZE = 107
"""The longest v1 line, CRLF included (proxy-protocol.txt section 2.1)."""
DEFAULT_MAX_SIZE = 16384
"""The largest v2 header :func:`parse` accepts by default (haproxy's default buffer size)."""
_V2_HARD_MAX = 16 + 0xFFFF  # the 16-bit length field's own limit

LOCAL = "LOCAL"
"""v2 command of a connection the proxy made itself (a health check): use the real peer."""
PROXY = "PROXY"
"""v2 command of a relayed connection (and every v1 header): the header names the client."""

# v2 TLV types (proto-protocol.txt section 2.2) and the cloud providers' custom ones.
PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_NOOP = 0x04
PP2_TYPE_UNIQUE_ID = 0x05
PP2_TYPE_SSL = 0x20
PP2_SUBTYPE_SSL_VERSION = 0x21
PP2_SUBTYPE_SSL_CN = 0x22
PP2_SUBTYPE_SSL_CIPHER = 0x23
PP2_SUBTYPE_SSL_SIG_ALG = 0x24
PP2_SUBTYPE_SSL_KEY_ALG = 0x25
PP2_TYPE_NETNS = 0x30
# Google Cloud Private Service Connect: the PSC connection ID, an unsigned 64-bit integer in
# network byte order (cloud.google.com/vpc/docs/about-vpc-hosted-services#proxy-protocol).
PP2_TYPE_GCP = 0xE0
# AWS NLB / PrivateLink: subtype 0x01 then the VPC endpoint ID as ASCII
# (docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html).
PP2_TYPE_AWS = 0xEA
# Azure Private Link service: subtype 0x01 then the private endpoint's LINKID, a 32-bit
# unsigned integer, little-endian (learn.microsoft.com/azure/private-link/private-link-service-overview).
PP2_TYPE_AZURE = 0xEE
_UNIQUE_ID_MAX = 128

_TLV_NAMES = {
    PP2_TYPE_ALPN: "ALPN",
    PP2_TYPE_AUTHORITY: "AUTHORITY",
    PP2_TYPE_CRC32C: "CRC32C",
    PP2_TYPE_NOOP: "NOOP",
    PP2_TYPE_UNIQUE_ID: "UNIQUE_ID",
    PP2_TYPE_SSL: "SSL",
    PP2_TYPE_NETNS: "NETNS",
    PP2_TYPE_GCP: "GCP",
    PP2_TYPE_AWS: "AWS",
    PP2_TYPE_AZURE: "AZURE",
    PP2_SUBTYPE_SSL_VERSION: "SSL_VERSION",
    PP2_SUBTYPE_SSL_CN: "SSL_CN",
    PP2_SUBTYPE_SSL_CIPHER: "SSL_CIPHER",
    PP2_SUBTYPE_SSL_SIG_ALG: "SSL_SIG_ALG",
    PP2_SUBTYPE_SSL_KEY_ALG: "SSL_KEY_ALG",
}

_FAMILIES = ("UNSPEC", "INET", "INET6", "UNIX")
_TRANSPORTS = ("UNSPEC", "STREAM", "DGRAM")
# The v2 layout (proxy-protocol.txt section 2.2), network byte order throughout.
_V2_HEAD = Struct("!12sBBH")
"""signature, version << 4 | command, family << 4 | transport, length of what follows."""
_V2_INET = Struct("!4s4sHH")
"""source address, destination address, source port, destination port."""
_V2_INET6 = Struct("!16s16sHH")
"""The same for IPv6."""
_UNIX_PATH = 108
_V2_UNIX = Struct(f"!{_UNIX_PATH}s{_UNIX_PATH}s")
"""source path, destination path (NUL-padded)."""
_V2_TLV = Struct("!BH")
"""type, length of the value that follows."""
_V2_ADDRESSES = {1: _V2_INET, 2: _V2_INET6, 3: _V2_UNIX}
_ADDRESS_SIZES = {family: layout.size for family, layout in _V2_ADDRESSES.items()}


class ProxyProtocolError(ValueError):
    """Something is wrong with a PROXY protocol header; catches both kinds below.

    :func:`parse` raises it (as :class:`RemoteProtocolError`) for bytes that are not a valid
    header, as it always has: ``except ProxyProtocolError`` keeps working.
    """


class RemoteProtocolError(ProxyProtocolError):
    """The peer sent bytes that are not a valid PROXY header: drop the connection."""


class LocalProtocolError(ProxyProtocolError):
    """The caller misused the API: :func:`parse` given something that is not bytes, or
    :func:`encode` given a header that cannot be written."""


class TLV(NamedTuple):
    """One type-length-value field of a v2 header (or of its SSL TLV)."""

    type: int
    value: bytes

    @property
    def name(self) -> str:
        """The registered name of :attr:`type` (``"AUTHORITY"``), or its hex value."""
        return _TLV_NAMES.get(self.type, f"0x{self.type:02X}")

    def __repr__(self) -> str:
        return f"TLV(type=0x{self.type:02X}, value={self.value!r})"


def _first(tlvs: Tuple[TLV, ...], kind: int) -> Optional[bytes]:
    for tlv in tlvs:
        if tlv.type == kind:
            return tlv.value
    return None


def _text(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", "backslashreplace")


class SSLInfo(NamedTuple):
    """The v2 SSL TLV: how the client connected to the proxy (TLS version, cipher, client cert)."""

    client: int
    """Bit field: 0x01 client used TLS, 0x02 sent a certificate on this connection, 0x04 in
    this TLS session."""
    verify: int
    """0 when the client presented a certificate and the proxy verified it."""
    tlvs: Tuple[TLV, ...] = ()
    """The sub-TLVs (version, CN, cipher, signature and key algorithms)."""

    @property
    def ssl(self) -> bool:
        """The client connected over TLS."""
        return bool(self.client & 0x01)

    @property
    def cert_verified(self) -> bool:
        """The client sent a certificate and the proxy verified it."""
        return bool(self.client & 0x06) and self.verify == 0

    @property
    def version(self) -> Optional[str]:
        """TLS version, e.g. ``"TLSv1.3"``."""
        return _text(_first(self.tlvs, PP2_SUBTYPE_SSL_VERSION))

    @property
    def cn(self) -> Optional[str]:
        """Common Name of the client certificate."""
        return _text(_first(self.tlvs, PP2_SUBTYPE_SSL_CN))

    @property
    def cipher(self) -> Optional[str]:
        """Cipher name, e.g. ``"ECDHE-RSA-AES128-GCM-SHA256"``."""
        return _text(_first(self.tlvs, PP2_SUBTYPE_SSL_CIPHER))

    @property
    def sig_alg(self) -> Optional[str]:
        """Signature algorithm of the proxy's certificate."""
        return _text(_first(self.tlvs, PP2_SUBTYPE_SSL_SIG_ALG))

    @property
    def key_alg(self) -> Optional[str]:
        """Key algorithm of the proxy's certificate."""
        return _text(_first(self.tlvs, PP2_SUBTYPE_SSL_KEY_ALG))


class ProxyHeader(NamedTuple):
    """A parsed PROXY protocol header (v1 or v2)."""

    version: int
    """1 (text) or 2 (binary)."""
    command: str
    """:data:`PROXY` (relayed: the addresses are the client's) or :data:`LOCAL` (health check)."""
    family: str
    """``"INET"``, ``"INET6"``, ``"UNIX"`` or ``"UNSPEC"`` (v1 ``UNKNOWN``; addresses absent)."""
    transport: str
    """``"STREAM"`` (TCP), ``"DGRAM"`` (UDP) or ``"UNSPEC"``."""
    source: Optional[str] = None
    """The client's address as the proxy saw it (canonical text, or a Unix socket path)."""
    source_port: Optional[int] = None
    """The client's port (None for Unix sockets and UNSPEC)."""
    destination: Optional[str] = None
    """The address the client connected to (the load balancer's listener)."""
    destination_port: Optional[int] = None
    """The port the client connected to."""
    tlvs: Tuple[TLV, ...] = ()
    """v2 TLVs in the order received (empty for v1)."""
    size: int = 0
    """Bytes the header took on the wire; the connection's own data starts after them."""

    @property
    def client(self) -> Optional[Tuple[str, int]]:
        """``(address, port)`` of the client for a relayed TCP/UDP connection, else None.

        None means "use the real peer": LOCAL (a health check), v1 UNKNOWN, v2 UNSPEC, or a
        Unix socket.
        """
        if self.command != PROXY or self.source_port is None or self.source is None:
            return None
        return (self.source, self.source_port)

    def tlv(self, kind: int) -> Optional[bytes]:
        """The value of the first TLV of type ``kind``, or None."""
        return _first(self.tlvs, kind)

    @property
    def alpn(self) -> Optional[bytes]:
        """The ALPN protocol the client negotiated (e.g. ``b"h2"``)."""
        return self.tlv(PP2_TYPE_ALPN)

    @property
    def authority(self) -> Optional[str]:
        """The host name the client asked for (TLS SNI)."""
        return _text(self.tlv(PP2_TYPE_AUTHORITY))

    @property
    def crc32c(self) -> Optional[int]:
        """The header's CRC32C checksum when it carried one (already verified by parse)."""
        value = self.tlv(PP2_TYPE_CRC32C)
        return int.from_bytes(value, "big") if value is not None and len(value) == 4 else None

    @property
    def unique_id(self) -> Optional[bytes]:
        """The proxy's opaque unique ID of the connection (at most 128 bytes)."""
        return self.tlv(PP2_TYPE_UNIQUE_ID)

    @property
    def netns(self) -> Optional[str]:
        """The network namespace name the proxy accepted the connection in."""
        return _text(self.tlv(PP2_TYPE_NETNS))

    @property
    def ssl(self) -> Optional[SSLInfo]:
        """The SSL TLV decoded (parse has checked its structure), or None."""
        value = self.tlv(PP2_TYPE_SSL)
        return None if value is None else _ssl_info(value)

    @property
    def aws_vpce_id(self) -> Optional[str]:
        """AWS PrivateLink: the VPC endpoint ID (``"vpce-..."``) the client came through."""
        for tlv in self.tlvs:
            if tlv.type == PP2_TYPE_AWS and tlv.value[:1] == b"\x01":
                return tlv.value[1:].decode("ascii", "backslashreplace")
        return None

    @property
    def azure_link_id(self) -> Optional[int]:
        """Azure Private Link: the private endpoint's LINKID."""
        for tlv in self.tlvs:
            if tlv.type == PP2_TYPE_AZURE and len(tlv.value) == 5 and tlv.value[0] == 1:
                return int.from_bytes(tlv.value[1:], "little")
        return None

    @property
    def gcp_psc_id(self) -> Optional[int]:
        """Google Cloud Private Service Connect: the PSC connection ID."""
        value = self.tlv(PP2_TYPE_GCP)
        return int.from_bytes(value, "big") if value is not None and len(value) == 8 else None


# -- CRC32C (Castagnoli, RFC 4960 appendix B), table-driven, reflected -------------------------


def _crc_tables() -> Tuple[Tuple[int, ...], ...]:
    first = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        first.append(c)
    tables = [tuple(first)]
    # Slicing-by-4: table k advances a byte through k more zero bytes, so one step of the loop
    # below handles four bytes (twice as fast as a byte at a time, in pure Python).
    for _ in range(3):
        prev = tables[-1]
        tables.append(tuple((prev[i] >> 8) ^ first[prev[i] & 0xFF] for i in range(256)))
    return tuple(tables)


_T0, _T1, _T2, _T3 = _crc_tables()


def crc32c(data: bytes, crc: int = 0) -> int:
    """The CRC32C of ``data`` (continuing from ``crc``), as PROXY v2's checksum TLV uses it."""
    t0, t1, t2, t3 = _T0, _T1, _T2, _T3
    c = crc ^ 0xFFFFFFFF
    whole = len(data) - len(data) % 4
    for word in unpack_from(f"<{whole // 4}I", data):
        c ^= word
        c = t3[c & 0xFF] ^ t2[(c >> 8) & 0xFF] ^ t1[(c >> 16) & 0xFF] ^ t0[c >> 24]
    for byte in data[whole:]:
        c = t0[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# -- parsing ---------------------------------------------------------------------------------


def detect(data: Union[bytes, bytearray]) -> Optional[int]:
    """Which PROXY version ``data`` starts with: 1, 2, 0 (not a PROXY header) or None (too short).

    It only looks at the signature; :func:`parse` checks the rest.
    """
    for version, signature in ((1, SIGNATURE_V1), (2, SIGNATURE_V2)):
        n = min(len(data), len(signature))
        if data[:n] == signature[:n]:
            return version if n == len(signature) else None
    return 0


_V1_SHORTEST = len(b"PROXY UNKNOWN\r\n")


def bytes_needed(data: Union[bytes, bytearray], *, max_size: int = DEFAULT_MAX_SIZE) -> int:
    """How many more bytes :func:`parse` needs, at least, before it can answer for ``data``.

    0 when it can answer now (a header, or an error, or not a PROXY header at all). A server
    waits until that many more bytes are readable (one ``recv`` of exactly that size consumes
    none of the request behind the header), and a buffer calls :func:`parse` only then, so a
    header dribbled one byte at a time is parsed a bounded number of times, not once per byte.
    """
    try:
        if parse(data, max_size=max_size) is not None:
            return 0
    except ProxyProtocolError:
        return 0  # parse answers (with an error) already
    # parse needs more: how many at least, without reading past a header that could end sooner.
    size = len(data)
    version = detect(data)
    if not size:
        return 1  # one byte tells whether a header can follow at all
    if version is None:
        signature = SIGNATURE_V1 if data[:1] == SIGNATURE_V1[:1] else SIGNATURE_V2
        return len(signature) - size
    if version == 1:  # no line end yet: at least a CRLF, and the shortest line
        return max(1 if data[-1:] == b"\r" else 2, _V1_SHORTEST - size)
    if size < 16:
        return 16 - size
    length: int = _V2_HEAD.unpack_from(data)[3]
    return _V2_HEAD.size + length - size


def parse(
    data: Union[bytes, bytearray, memoryview], *, max_size: int = DEFAULT_MAX_SIZE
) -> Optional[ProxyHeader]:
    """Parse the PROXY header at the start of ``data``.

    Returns None when ``data`` is a valid beginning that needs more bytes, the header (its
    ``size`` says how many bytes it took) when complete, and raises
    :class:`ProxyProtocolError` otherwise, also for data that is not a PROXY header at all.
    Only the first ``header.size`` bytes are read. ``max_size`` bounds a v2 header (up to 65551).
    """
    if data.__class__ is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LocalProtocolError(f"the input is not bytes but {type(data).__name__}")
        data = bytes(data)
    version = detect(data)
    if version is None:
        return None
    if version == 1:
        return _parse_v1(data)
    if version == 2:
        return _parse_v2(data, max_size)
    raise RemoteProtocolError(
        f"not a PROXY protocol header: the connection starts with {data[:16]!r}"
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


def _parse_v1(data: bytes) -> Optional[ProxyHeader]:
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


def _parse_tlvs(data: bytes, start: int, end: int, where: str) -> List[TLV]:
    tlvs: List[TLV] = []
    pos = start
    while pos < end:
        if end - pos < 3:
            raise RemoteProtocolError(f"{end - pos} stray byte(s) where a {where} TLV should start")
        kind, length = _V2_TLV.unpack_from(data, pos)
        stop = pos + _V2_TLV.size + length
        if stop > end:
            raise RemoteProtocolError(
                f"{where} TLV 0x{kind:02X} declares {length} bytes but only {end - pos - 3} remain"
            )
        tlvs.append(TLV(kind, data[pos + _V2_TLV.size : stop]))
        pos = stop
    return tlvs


def _ssl_info(value: bytes) -> SSLInfo:
    if len(value) < 5:
        raise RemoteProtocolError(f"the SSL TLV needs at least 5 bytes, got {len(value)}")
    subs = _parse_tlvs(value, 5, len(value), "SSL sub-")
    return SSLInfo(value[0], int.from_bytes(value[1:5], "big"), tuple(subs))


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "backslashreplace")


def _parse_v2(data: bytes, max_size: int) -> Optional[ProxyHeader]:
    if len(data) > 12 and data[12] >> 4 != 2:
        raise RemoteProtocolError(f"unsupported PROXY protocol version {data[12] >> 4} (not 2)")
    if len(data) > 12 and data[12] & 0x0F > 1:
        raise RemoteProtocolError(f"unknown v2 command 0x{data[12] & 0x0F:X}")
    if len(data) < 16:
        return None
    _, version_command, family_transport, length = _V2_HEAD.unpack_from(data)
    size = _V2_HEAD.size + length
    if size > min(max_size, _V2_HARD_MAX):
        raise RemoteProtocolError(
            f"the v2 header declares {size} bytes, more than the {max_size} accepted"
        )
    if len(data) < size:
        return None
    if version_command & 0x0F == 0:
        # LOCAL: "must use the real connection endpoints and discard the protocol block
        # including the family which is ignored".
        return ProxyHeader(version=2, command=LOCAL, family="UNSPEC", transport="UNSPEC", size=size)
    family, transport = family_transport >> 4, family_transport & 0x0F
    if family > 3 or transport > 2:
        raise RemoteProtocolError(
            f"invalid v2 family/transport byte 0x{data[13]:02X} (must be rejected by receivers)"
        )
    if family == 0 and transport == 0:
        # UNSPEC: "the receiver should ignore address information": the whole block is skipped.
        return ProxyHeader(version=2, command=PROXY, family="UNSPEC", transport="UNSPEC", size=size)
    if family == 0 or transport == 0:
        raise RemoteProtocolError(
            f"v2 family/transport byte 0x{data[13]:02X} mixes UNSPEC with a real value"
        )
    needed = _ADDRESS_SIZES[family]
    if length < needed:
        raise RemoteProtocolError(
            f"the v2 header declares {length} address bytes, {_FAMILIES[family]} needs {needed}"
        )
    body = _V2_HEAD.size
    ports: Tuple[Optional[int], Optional[int]] = (None, None)
    if family == 3:
        source_path, destination_path = _V2_UNIX.unpack_from(data, body)
        source, destination = _unix_path(source_path), _unix_path(destination_path)
    else:
        af = AF_INET if family == 1 else AF_INET6
        raw_source, raw_destination, *port_pair = _V2_ADDRESSES[family].unpack_from(data, body)
        source, destination = inet_ntop(af, raw_source), inet_ntop(af, raw_destination)
        ports = (port_pair[0], port_pair[1])
    tlvs = _parse_tlvs(data, body + needed, size, "v2")
    _check_tlvs(data, size, tlvs)
    return ProxyHeader(
        version=2,
        command=PROXY,
        family=_FAMILIES[family],
        transport=_TRANSPORTS[transport],
        source=source,
        source_port=ports[0],
        destination=destination,
        destination_port=ports[1],
        tlvs=tuple(tlvs),
        size=size,
    )


def _check_tlvs(data: bytes, size: int, tlvs: List[TLV]) -> None:
    crcs = [tlv for tlv in tlvs if tlv.type == PP2_TYPE_CRC32C]
    if len(crcs) > 1:
        raise RemoteProtocolError("the v2 header carries more than one CRC32C TLV")
    for tlv in tlvs:
        if tlv.type == PP2_TYPE_UNIQUE_ID and len(tlv.value) > _UNIQUE_ID_MAX:
            raise RemoteProtocolError(
                f"the UNIQUE_ID TLV has {len(tlv.value)} bytes, more than {_UNIQUE_ID_MAX}"
            )
        if tlv.type == PP2_TYPE_SSL:
            _ssl_info(tlv.value)
    if crcs:
        value = crcs[0].value
        if len(value) != 4:
            raise RemoteProtocolError(f"the CRC32C TLV has {len(value)} bytes, not 4")
        # The checksum covers the whole header with the checksum field itself zeroed. Exactly
        # one CRC TLV exists, so its 4 value bytes are found by walking the TLVs again.
        at = _crc_offset(data, size)
        expected = crc32c(data[:at] + b"\x00\x00\x00\x00" + data[at + 4 : size])
        got = int.from_bytes(value, "big")
        if got != expected:
            raise RemoteProtocolError(
                f"CRC32C mismatch: the header says 0x{got:08X}, its bytes give 0x{expected:08X}"
            )


def _crc_offset(data: bytes, size: int) -> int:
    pos = _V2_HEAD.size + _ADDRESS_SIZES[data[13] >> 4]
    while True:
        kind, length = _V2_TLV.unpack_from(data, pos)
        if kind == PP2_TYPE_CRC32C:
            return pos + _V2_TLV.size
        pos += _V2_TLV.size + length


# -- encoding (for senders, tests and benchmarks) -------------------------------------------


def encode(header: ProxyHeader) -> bytes:
    """The wire bytes of ``header`` (its ``size`` is ignored).

    v1 needs a PROXY command with INET/INET6 STREAM addresses, or UNSPEC (``PROXY UNKNOWN``).
    For v2, a CRC32C TLV in ``header.tlvs`` gets its value computed (whatever it held).
    Raises :class:`LocalProtocolError` (a :class:`ProxyProtocolError`) for a header that
    cannot be written.
    """
    if header.version not in (1, 2):
        raise LocalProtocolError(f"unknown PROXY protocol version {header.version!r}")
    try:
        data = _encode_v1(header) if header.version == 1 else _encode_v2(header)
    except LocalProtocolError:
        raise
    except (OSError, ValueError, TypeError, OverflowError) as exc:
        raise LocalProtocolError(f"{header!r} cannot be written: {exc}") from None
    if header.version == 1:
        try:
            _parse_v1(data)  # a v1 line is text: check what was formatted into it
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"{header!r} cannot be written: {exc}") from None
    return data


def _encode_v1(h: ProxyHeader) -> bytes:
    if h.command != PROXY:
        raise LocalProtocolError("v1 has no LOCAL command")
    if h.family == "UNSPEC":
        return b"PROXY UNKNOWN\r\n"
    proto = {"INET": "TCP4", "INET6": "TCP6"}.get(h.family)
    if proto is None or h.transport != "STREAM":
        raise LocalProtocolError(f"v1 carries only TCP over INET/INET6, not {h.family}")
    line = f"PROXY {proto} {h.source} {h.destination} {h.source_port} {h.destination_port}\r\n"
    return line.encode("ascii")


def _encode_v2(h: ProxyHeader) -> bytes:
    if h.command == LOCAL:
        return SIGNATURE_V2 + b"\x20\x00\x00\x00"
    try:
        family = _FAMILIES.index(h.family)
        transport = _TRANSPORTS.index(h.transport)
    except ValueError:
        raise LocalProtocolError(f"unknown family/transport {h.family}/{h.transport}") from None
    ports = (int(h.source_port or 0), int(h.destination_port or 0))
    if family in (1, 2):
        af = AF_INET if family == 1 else AF_INET6
        addresses = (inet_pton(af, str(h.source)), inet_pton(af, str(h.destination)))
        block = _V2_ADDRESSES[family].pack(*addresses, *ports)
    elif family == 3:
        block = _V2_UNIX.pack(*(str(p or "").encode("utf-8") for p in (h.source, h.destination)))
    else:
        block = b""
    crc_at = -1
    for tlv in h.tlvs:
        if tlv.type == PP2_TYPE_CRC32C:
            crc_at = _V2_HEAD.size + len(block) + _V2_TLV.size
            block += _V2_TLV.pack(PP2_TYPE_CRC32C, 4) + bytes(4)
        else:
            block += _V2_TLV.pack(tlv.type, len(tlv.value)) + tlv.value
    if len(block) > 0xFFFF:
        raise LocalProtocolError(f"a v2 header holds at most 65535 bytes, not {len(block)}")
    out = _V2_HEAD.pack(SIGNATURE_V2, 0x21, family << 4 | transport, len(block)) + block
    if crc_at >= 0:
        out = out[:crc_at] + crc32c(out).to_bytes(4, "big") + out[crc_at + 4 :]
    return out


# -- reporting -------------------------------------------------------------------------------


def header_report(header: Optional[ProxyHeader]) -> Optional[Dict[str, Any]]:
    """A PROXY header as a JSON-ready dict (for ``realip serve``'s report), or None."""
    if header is None:
        return None
    out: Dict[str, Any] = {
        "version": header.version,
        "command": header.command,
        "family": header.family,
        "transport": header.transport,
        "source": header.source,
        "source_port": header.source_port,
        "destination": header.destination,
        "destination_port": header.destination_port,
        "size": header.size,
        "tlvs": [
            {"type": f"0x{t.type:02X}", "name": t.name, "hex": t.value[:256].hex()}
            for t in header.tlvs
        ],
    }
    named: Dict[str, Any] = {
        "alpn": header.alpn.decode("ascii", "backslashreplace") if header.alpn else None,
        "authority": header.authority,
        "crc32c": f"0x{header.crc32c:08X}" if header.crc32c is not None else None,
        "unique_id": header.unique_id.decode("ascii", "backslashreplace")
        if header.unique_id
        else None,
        "aws_vpce_id": header.aws_vpce_id,
        "azure_link_id": header.azure_link_id,
        "gcp_psc_id": header.gcp_psc_id,
        "netns": header.netns,
    }
    ssl = header.ssl
    if ssl is not None:
        named["ssl"] = {
            "client": ssl.client,
            "verify": ssl.verify,
            "version": ssl.version,
            "cipher": ssl.cipher,
            "cn": ssl.cn,
        }
    out.update({k: v for k, v in named.items() if v is not None})
    return out
