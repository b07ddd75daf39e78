"""The PROXY protocol v2 header: the binary layout, parsed strictly and written back; its CRC32C.

A 16-byte head (signature, version and command, family and transport, length), the address
block its family needs, then TLVs, as haproxy's ``proxy-protocol.txt`` section 2.2 defines them.
:func:`parse_v2` checks every nibble, that the address block fits the declared length, that the
TLVs are well formed and, when a CRC32C TLV is present, the checksum (:func:`crc32c`, table
driven); :func:`encode_v2` writes a header and fills in its checksum.
"""

from __future__ import annotations

from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from struct import Struct, unpack_from
from typing import List, Optional, Tuple

from realip._proxy_header import (
    LOCAL,
    PP2_TYPE_CRC32C,
    PP2_TYPE_SSL,
    PP2_TYPE_UNIQUE_ID,
    PROXY,
    SIGNATURE_V2,
    TLV,
    V2_TLV,
    LocalProtocolError,
    ProxyHeader,
    RemoteProtocolError,
    parse_tlvs,
    ssl_info,
)

_V2_HARD_MAX = 16 + 0xFFFF  # the 16-bit length field's own limit


_UNIQUE_ID_MAX = 128


_FAMILIES = ("UNSPEC", "INET", "INET6", "UNIX")
_TRANSPORTS = ("UNSPEC", "STREAM", "DGRAM")
# The v2 layout (proxy-protocol.txt section 2.2), network byte order throughout.
V2_HEAD = Struct("!12sBBH")
"""signature, version << 4 | command, family << 4 | transport, length of what follows."""
_V2_INET = Struct("!4s4sHH")
"""source address, destination address, source port, destination port."""
_V2_INET6 = Struct("!16s16sHH")
"""The same for IPv6."""
_UNIX_PATH = 108
_V2_UNIX = Struct(f"!{_UNIX_PATH}s{_UNIX_PATH}s")
"""source path, destination path (NUL-padded)."""


_V2_ADDRESSES = {1: _V2_INET, 2: _V2_INET6, 3: _V2_UNIX}
_ADDRESS_SIZES = {family: layout.size for family, layout in _V2_ADDRESSES.items()}


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


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "backslashreplace")


def parse_v2(data: bytes, max_size: int) -> Optional[ProxyHeader]:
    if len(data) > 12 and data[12] >> 4 != 2:
        raise RemoteProtocolError(f"unsupported PROXY protocol version {data[12] >> 4} (not 2)")
    if len(data) > 12 and data[12] & 0x0F > 1:
        raise RemoteProtocolError(f"unknown v2 command 0x{data[12] & 0x0F:X}")
    if len(data) < 16:
        return None
    _, version_command, family_transport, length = V2_HEAD.unpack_from(data)
    size = V2_HEAD.size + length
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
    body = V2_HEAD.size
    ports: Tuple[Optional[int], Optional[int]] = (None, None)
    if family == 3:
        source_path, destination_path = _V2_UNIX.unpack_from(data, body)
        source, destination = _unix_path(source_path), _unix_path(destination_path)
    else:
        af = AF_INET if family == 1 else AF_INET6
        raw_source, raw_destination, *port_pair = _V2_ADDRESSES[family].unpack_from(data, body)
        source, destination = inet_ntop(af, raw_source), inet_ntop(af, raw_destination)
        ports = (port_pair[0], port_pair[1])
    tlvs = parse_tlvs(data, body + needed, size, "v2")
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
            ssl_info(tlv.value)
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
    pos = V2_HEAD.size + _ADDRESS_SIZES[data[13] >> 4]
    while True:
        kind, length = V2_TLV.unpack_from(data, pos)
        if kind == PP2_TYPE_CRC32C:
            return pos + V2_TLV.size
        pos += V2_TLV.size + length


def encode_v2(h: ProxyHeader) -> bytes:
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
            crc_at = V2_HEAD.size + len(block) + V2_TLV.size
            block += V2_TLV.pack(PP2_TYPE_CRC32C, 4) + bytes(4)
        else:
            block += V2_TLV.pack(tlv.type, len(tlv.value)) + tlv.value
    if len(block) > 0xFFFF:
        raise LocalProtocolError(f"a v2 header holds at most 65535 bytes, not {len(block)}")
    out = V2_HEAD.pack(SIGNATURE_V2, 0x21, family << 4 | transport, len(block)) + block
    if crc_at >= 0:
        out = out[:crc_at] + crc32c(out).to_bytes(4, "big") + out[crc_at + 4 :]
    return out
