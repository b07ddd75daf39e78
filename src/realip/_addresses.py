"""Parse one address as it appears in a peer address or a proxy header.

The hot path of every request goes through :func:`parse_address`, so it works on
``socket.inet_pton`` and integers; ``ipaddress`` objects are only built on demand.
An address is returned as ``(version, value)``: ``version`` is 4 or 6 and ``value``
the address as an integer. IPv4-mapped IPv6 addresses come back as IPv4, because the
same client must look the same whether it arrived over a dual-stack socket or not.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Optional, Tuple, Union

Address = Tuple[int, int]
"""``(version, integer value)`` of a parsed address."""

_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6
_inet_pton = socket.inet_pton
_inet_ntop = socket.inet_ntop
_from_bytes = int.from_bytes

_MAPPED_PREFIX = 0xFFFF << 32  # ::ffff:0:0/96
_MAPPED_MASK = ~0xFFFFFFFF & ((1 << 128) - 1)
_BLANKS = " \t"
_ZONE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def _port_ok(port: str) -> bool:
    # str.isdigit() accepts non-ASCII digits such as Arabic-Indic ones; a port is 1-5 ASCII digits.
    return 0 < len(port) <= 5 and port.isascii() and port.isdigit() and int(port) <= 65535


def _v6(text: str) -> Optional[Address]:
    zone = text.find("%")
    if zone >= 0:
        rest = text[zone + 1 :]
        if not rest or not _ZONE_CHARS.issuperset(rest):
            return None
        text = text[:zone]
    try:
        value = _from_bytes(_inet_pton(_AF_INET6, text), "big")
    except (OSError, ValueError):
        return None
    if value & _MAPPED_MASK == _MAPPED_PREFIX:
        value &= 0xFFFFFFFF
        return (4, value) if value else None
    return (6, value) if value else None


def parse_address(text: str) -> Optional[Address]:
    """Parse ``ip``, ``ip:port``, ``[v6]``, ``[v6]:port`` or ``v6%zone``; None if not an address.

    Never raises. Unspecified addresses (``0.0.0.0``, ``::``) are not addresses of a client.
    """
    if ":" not in text:
        # The common case: a bare IPv4 address.
        try:
            value = _from_bytes(_inet_pton(_AF_INET, text), "big")
        except (OSError, ValueError):
            stripped = text.strip(_BLANKS)
            if stripped == text:
                return None
            try:
                value = _from_bytes(_inet_pton(_AF_INET, stripped), "big")
            except (OSError, ValueError):
                return None
        return (4, value) if value else None
    text = text.strip(_BLANKS)
    if text[:1] == "[":
        close = text.find("]")
        if close < 0:
            return None
        tail = text[close + 1 :]
        if tail and (tail[0] != ":" or not _port_ok(tail[1:])):
            return None
        inner = text[1:close]
        # Brackets hold an IPv6 address only; "[1.2.3.4]" is not a form anyone sends honestly.
        return _v6(inner) if ":" in inner else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _port_ok(port):
            return None
        try:
            value = _from_bytes(_inet_pton(_AF_INET, host), "big")
        except (OSError, ValueError):
            return None
        return (4, value) if value else None
    return _v6(text)


def format_address(address: Address) -> str:
    """Canonical text of a parsed address: dotted quad, or compressed lower-case IPv6."""
    version, value = address
    if version == 4:
        return _inet_ntop(_AF_INET, value.to_bytes(4, "big"))
    text = _inet_ntop(_AF_INET6, value.to_bytes(16, "big"))
    if "." in text:
        # glibc writes ::a.b.c.d for IPv4-compatible addresses; ipaddress (and RFC 5952) use hex.
        return str(ipaddress.IPv6Address(value))
    return text


def canonical(text: str) -> Optional[str]:
    """Canonical form of ``text`` if it is an address (port, brackets, zone dropped), or None."""
    address = parse_address(text)
    return None if address is None else format_address(address)


def to_ip_address(text: str) -> Union[ipaddress.IPv4Address, ipaddress.IPv6Address]:
    """The ``ipaddress`` object of a canonical address string."""
    return ipaddress.ip_address(text)
