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

from typing import Any, Dict, Optional, Union

from realip._proxy_header import (
    DEFAULT_MAX_SIZE,
    LOCAL,
    PROXY,
    SIGNATURE_V1,
    SIGNATURE_V2,
    TLV,
    V1_MAX_SIZE,
    LocalProtocolError,
    ProxyHeader,
    ProxyProtocolError,
    RemoteProtocolError,
    SSLInfo,
)

# The TLV type numbers are public names of this module too, outside __all__ as they always
# were: the redundant alias re-exports them explicitly (mypy --strict, ruff F401).
from realip._proxy_header import PP2_SUBTYPE_SSL_CIPHER as PP2_SUBTYPE_SSL_CIPHER
from realip._proxy_header import PP2_SUBTYPE_SSL_CN as PP2_SUBTYPE_SSL_CN
from realip._proxy_header import PP2_SUBTYPE_SSL_KEY_ALG as PP2_SUBTYPE_SSL_KEY_ALG
from realip._proxy_header import PP2_SUBTYPE_SSL_SIG_ALG as PP2_SUBTYPE_SSL_SIG_ALG
from realip._proxy_header import PP2_SUBTYPE_SSL_VERSION as PP2_SUBTYPE_SSL_VERSION
from realip._proxy_header import PP2_TYPE_ALPN as PP2_TYPE_ALPN
from realip._proxy_header import PP2_TYPE_AUTHORITY as PP2_TYPE_AUTHORITY
from realip._proxy_header import PP2_TYPE_AWS as PP2_TYPE_AWS
from realip._proxy_header import PP2_TYPE_AZURE as PP2_TYPE_AZURE
from realip._proxy_header import PP2_TYPE_CRC32C as PP2_TYPE_CRC32C
from realip._proxy_header import PP2_TYPE_GCP as PP2_TYPE_GCP
from realip._proxy_header import PP2_TYPE_NETNS as PP2_TYPE_NETNS
from realip._proxy_header import PP2_TYPE_NOOP as PP2_TYPE_NOOP
from realip._proxy_header import PP2_TYPE_SSL as PP2_TYPE_SSL
from realip._proxy_header import PP2_TYPE_UNIQUE_ID as PP2_TYPE_UNIQUE_ID
from realip._proxy_v1 import encode_v1, parse_v1
from realip._proxy_v2 import V2_HEAD, crc32c, encode_v2, parse_v2

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

# The errors live in _proxy_header, below the parsers that raise them, but this module is their
# public home: a traceback or a log line names realip.proxy_protocol.RemoteProtocolError, as it
# did before the split. (The named tuples keep their own module: typing.get_type_hints resolves
# their annotations there.)
for _error in (ProxyProtocolError, RemoteProtocolError, LocalProtocolError):
    _error.__module__ = __name__
del _error


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
    length: int = V2_HEAD.unpack_from(data)[3]
    return V2_HEAD.size + length - size


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
        return parse_v1(data)
    if version == 2:
        return parse_v2(data, max_size)
    raise RemoteProtocolError(
        f"not a PROXY protocol header: the connection starts with {data[:16]!r}"
    )


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
        data = encode_v1(header) if header.version == 1 else encode_v2(header)
    except LocalProtocolError:
        raise
    except (OSError, ValueError, TypeError, OverflowError) as exc:
        raise LocalProtocolError(f"{header!r} cannot be written: {exc}") from None
    if header.version == 1:
        try:
            parse_v1(data)  # a v1 line is text: check what was formatted into it
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"{header!r} cannot be written: {exc}") from None
    return data


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
