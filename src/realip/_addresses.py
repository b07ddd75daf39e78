"""Parse one address as it appears in a peer address or a proxy header.

The hot path of every request goes through :func:`parse_ip`, so it works on
``socket.inet_pton`` and integers; ``ipaddress`` objects are only built on demand.

An address is one integer *key*: an IPv4 address is its 32-bit value, an IPv6 address is
its 128-bit value plus ``2**32``. The two families never collide, so one sorted list of
range boundaries answers "is it trusted" for both (see :mod:`realip._networks`).
IPv4-mapped IPv6 addresses come back as IPv4, because the same client must look the same
whether it arrived over a dual-stack socket or not.
"""

from __future__ import annotations

# The C module behind ``socket``: the same functions, without the ~2 ms that importing
# ``socket`` (selectors, enum) adds to ``import realip``.
from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Optional, Tuple

V6_OFFSET = 1 << 32
"""Added to an IPv6 address's value to make its key."""

Address = Tuple[int, int]
"""``(version, integer value)`` of a parsed address."""

_AF_INET = AF_INET
_AF_INET6 = AF_INET6
_inet_pton = inet_pton
_inet_ntop = inet_ntop
_from_bytes = int.from_bytes

_MAPPED_PREFIX = 0xFFFF << 32  # ::ffff:0:0/96
_MAPPED_MASK = ~0xFFFFFFFF & ((1 << 128) - 1)
_BLANKS = " \t"
_ZONE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def _port_ok(port: str) -> bool:
    # str.isdigit() accepts non-ASCII digits (Arabic-Indic ones, say); a port is 1-5 ASCII digits.
    return 0 < len(port) <= 5 and port.isascii() and port.isdigit() and int(port) <= 65535


def _v4(text: str) -> Optional[Tuple[int, str]]:
    try:
        key = _from_bytes(_inet_pton(_AF_INET, text), "big")
    except (OSError, ValueError):
        return None
    # glibc's inet_pton takes only four decimal parts without leading zeros: the text is
    # already canonical.
    return (key, text) if key else None


def _v6(text: str) -> Optional[Tuple[int, str]]:
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
        return (value, _inet_ntop(_AF_INET, value.to_bytes(4, "big"))) if value else None
    if not value:
        return None
    return value + V6_OFFSET, key_text(value + V6_OFFSET)


def parse_ip(text: str) -> Optional[Tuple[int, str]]:
    """``(key, canonical text)`` of ``ip``, ``ip:port``, ``[v6]``, ``[v6]:port``, ``v6%zone``.

    None if ``text`` is not an address. Never raises. Unspecified addresses (``0.0.0.0``,
    ``::``) are not addresses of anyone.
    """
    if ":" not in text:
        # The common case: a bare IPv4 address, tried before anything is copied.
        try:
            key = _from_bytes(_inet_pton(_AF_INET, text), "big")
        except (OSError, ValueError):
            stripped = text.strip(_BLANKS)
            return _v4(stripped) if stripped != text else None
        return (key, text) if key else None
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
        return _v4(host) if _port_ok(port) else None
    return _v6(text)


def key_text(key: int) -> str:
    """Canonical text of an address key: dotted quad, or compressed lower-case IPv6."""
    if key < V6_OFFSET:
        return _inet_ntop(_AF_INET, key.to_bytes(4, "big"))
    value = key - V6_OFFSET
    text = _inet_ntop(_AF_INET6, value.to_bytes(16, "big"))
    if "." in text:
        # glibc writes ::a.b.c.d for IPv4-compatible addresses; ipaddress (and RFC 5952) use hex.
        # Rare enough to import ipaddress here rather than at ``import realip``.
        import ipaddress

        return str(ipaddress.IPv6Address(value))
    return text


def to_key(address: Address) -> int:
    """The key of a ``(version, value)`` pair."""
    version, value = address
    return value if version == 4 else value + V6_OFFSET


def parse_address(text: str) -> Optional[Address]:
    """``(version, integer value)`` of an address, or None (see :func:`parse_ip`)."""
    parsed = parse_ip(text)
    if parsed is None:
        return None
    key = parsed[0]
    return (4, key) if key < V6_OFFSET else (6, key - V6_OFFSET)


def format_address(address: Address) -> str:
    """Canonical text of a ``(version, value)`` address."""
    return key_text(to_key(address))


def canonical(text: str) -> Optional[str]:
    """Canonical form of ``text`` if it is an address (port, brackets, zone dropped), or None."""
    parsed = parse_ip(text)
    return None if parsed is None else parsed[1]
