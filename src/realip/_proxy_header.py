"""What a PROXY protocol header holds: :class:`ProxyHeader`, its TLVs, the constants and the errors.

The value types that :mod:`realip.proxy_protocol` re-exports (import them from there), the
signatures and size limits, the registered and cloud-specific TLV type numbers, and the
reading of a TLV list (the v2 header's and its SSL TLV's own), which both the v2 parser and
:attr:`ProxyHeader.ssl` need. No parsing of the header itself: that is :mod:`realip._proxy_v1`
and :mod:`realip._proxy_v2`.
"""

from __future__ import annotations

from struct import Struct
from typing import List, NamedTuple, Optional, Tuple

SIGNATURE_V1 = b"PROXY "
"""The first bytes of a version 1 header ("PROXY" and exactly one space)."""
SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"
"""The 12-byte signature that starts a version 2 header."""
V1_MAX_SIZE = 107
"""The longest v1 line, CRLF included (proxy-protocol.txt section 2.1)."""
DEFAULT_MAX_SIZE = 16384
"""The largest v2 header :func:`parse` accepts by default (haproxy's default buffer size)."""


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


V2_TLV = Struct("!BH")
"""type, length of the value that follows."""


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
        return None if value is None else ssl_info(value)

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


def parse_tlvs(data: bytes, start: int, end: int, where: str) -> List[TLV]:
    tlvs: List[TLV] = []
    pos = start
    while pos < end:
        if end - pos < 3:
            raise RemoteProtocolError(f"{end - pos} stray byte(s) where a {where} TLV should start")
        kind, length = V2_TLV.unpack_from(data, pos)
        stop = pos + V2_TLV.size + length
        if stop > end:
            raise RemoteProtocolError(
                f"{where} TLV 0x{kind:02X} declares {length} bytes but only {end - pos - 3} remain"
            )
        tlvs.append(TLV(kind, data[pos + V2_TLV.size : stop]))
        pos = stop
    return tlvs


def ssl_info(value: bytes) -> SSLInfo:
    if len(value) < 5:
        raise RemoteProtocolError(f"the SSL TLV needs at least 5 bytes, got {len(value)}")
    subs = parse_tlvs(value, 5, len(value), "SSL sub-")
    return SSLInfo(value[0], int.from_bytes(value[1:5], "big"), tuple(subs))
