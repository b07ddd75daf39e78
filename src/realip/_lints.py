"""Configuration lints: settings that work but are probably a mistake.

Each lint returns the sentences a :class:`~realip.RealIPWarning` carries; the resolver emits
them once, at construction. Trust is judged by the merged ranges, never by their spelling:
``0.0.0.0/0``, two ``/1`` halves and ``64:ff9b::/96`` (every IPv4 address, NAT64-embedded) are
the same trust, whether it decides who may write a header or who may send a PROXY header.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from realip._addresses import V6_OFFSET
from realip._networks import NetworkSet, intersect_bounds, subtract_bounds

# Public IPv4 space: everything but "this network", private, CGNAT, loopback, link-local and
# the multicast/reserved top eighth (224.0.0.0/3). As [start, end) boundaries over keys.
_NOT_PUBLIC_V4 = [
    (0x00000000, 0x01000000),  # 0.0.0.0/8
    (0x0A000000, 0x0B000000),  # 10.0.0.0/8
    (0x64400000, 0x64800000),  # 100.64.0.0/10
    (0x7F000000, 0x80000000),  # 127.0.0.0/8
    (0xA9FE0000, 0xA9FF0000),  # 169.254.0.0/16
    (0xAC100000, 0xAC200000),  # 172.16.0.0/12
    (0xC0A80000, 0xC0A90000),  # 192.168.0.0/16
    (0xE0000000, 0x100000000),  # 224.0.0.0/3
]

_V4_ALL = 1 << 32
_GLOBAL_UNICAST = (V6_OFFSET + (0x2000 << 112), V6_OFFSET + (0x4000 << 112))  # 2000::/3
_NAT64 = V6_OFFSET + (0x0064FF9B << 96)  # 64:ff9b::/96 (RFC 6052): IPv4 in the low 32 bits
_SIX_TO_FOUR = V6_OFFSET + (0x2002 << 112)  # 2002::/16 (RFC 3056): IPv4 in bits 80-111

TOO_WIDE_V4 = 1 << 24
"""Public IPv4 addresses (a /8's worth) above which a trusted set is flagged as too wide."""
TOO_WIDE_V6 = 1 << 112
"""Global unicast IPv6 addresses (a /16's worth) above which a trusted set is too wide."""


def lint(
    networks: NetworkSet,
    header: Optional[str],
    hops: Optional[int],
    explicit_header: bool,
    topology: Optional[str],
) -> List[str]:
    """The warnings a configuration deserves (empty for a sound one)."""
    found: List[str] = []
    where = "trusted_proxies" if topology is None else f"the ranges topology {topology!r} trusts"
    if hops is None:
        found += _trust_everything(networks, header, where)
        found += _too_wide(networks, where)
        if header is not None and networks.empty and explicit_header:
            found.append(
                f"header {header!r} is configured but no proxy is trusted, so it is never read; "
                "set trusted_proxies (or a topology) or drop the header"
            )
    for outer, inner in networks.overlaps():
        if outer == inner:
            found.append(f"trusted proxy {outer} is listed twice")
        else:
            found.append(f"trusted proxy {inner} is redundant: {outer} already contains it")
    if hops is not None:
        found.append(
            f"trusted_hops={hops}: hop counting is only safe when every path to the app "
            f"crosses exactly {hops} prox{'y' if hops == 1 else 'ies'}"
        )
    return found


def _trust_everything(networks: NetworkSet, header: Optional[str], where: str) -> List[str]:
    everything = networks.trusts_everything()
    if not everything:
        return []
    if header is not None:
        return [
            f"{where} contains {', '.join(everything)}: every peer is trusted, so the leftmost "
            f"{header} entry - which the client chooses - wins"
        ]
    # No header is read, but the trusted ranges still decide who may send a PROXY protocol
    # header (realip.uvicorn, realip.gunicorn, serve --proxy-protocol all ask Resolver.trusts).
    return [
        f"{where} contains {', '.join(everything)}: every peer may send a PROXY protocol header, "
        "so any client names its own address with one line; trust only your load balancers' "
        "ranges"
    ]


def _too_wide(networks: NetworkSet, where: str) -> List[str]:
    bounds = networks.bounds
    covered = [label for label, _ in networks.entries]
    found: List[str] = []
    whole_v4 = any(m.startswith("every IPv4") for m in networks.trusts_everything())
    whole_v6 = any(m.startswith("every IPv6") for m in networks.trusts_everything())
    views: List[Tuple[str, List[Tuple[int, int]]]] = []
    if not whole_v4:
        views.append(("", intersect_bounds(bounds, 0, _V4_ALL)))
    if whole_v6:
        # "every IPv6 address" already said it, embedded IPv4 included.
        views = views[:1]
    else:
        views += _embedded_views(bounds)
    for how, ranges in views:
        public = _public_v4(ranges)
        if public > TOO_WIDE_V4:
            share = f"{public / _V4_ALL:.0%}" if public / _V4_ALL >= 0.01 else "over a /8"
            found.append(
                f"{where} ({', '.join(covered)}) trusts {share} of the IPv4 address space{how}: "
                "any client in it can choose its own address; trust only your proxies' ranges"
            )
    if not whole_v6:
        wide = sum(
            end - start
            for start, end in subtract_ranges(
                intersect_bounds(bounds, *_GLOBAL_UNICAST),
                [(_SIX_TO_FOUR, _SIX_TO_FOUR + (1 << 112))],
            )
        )
        if wide > TOO_WIDE_V6:
            found.append(
                f"{where} ({', '.join(covered)}) trusts more than a /16 of global IPv6 "
                "addresses: any client in it can choose its own address; trust only your "
                "proxies' ranges"
            )
    return found


def _embedded_views(bounds: Sequence[int]) -> List[Tuple[str, List[Tuple[int, int]]]]:
    return [
        (
            " through NAT64 addresses (64:ff9b::/96 embeds IPv4, RFC 6052: a NAT64/SIIT "
            "translator gives each IPv4 client one)",
            _embedded(bounds, _NAT64, 1 << 96, 0),
        ),
        (
            " through 6to4 addresses (2002::/16 embeds IPv4, RFC 3056: every IPv4 host owns "
            "one /48)",
            _embedded(bounds, _SIX_TO_FOUR, 1 << 112, 80),
        ),
    ]


def _embedded(bounds: Sequence[int], base: int, size: int, shift: int) -> List[Tuple[int, int]]:
    # The IPv4 addresses whose embedded form lies in a trusted range inside [base, base+size).
    return [
        ((start - base) >> shift & 0xFFFFFFFF, ((end - 1 - base) >> shift & 0xFFFFFFFF) + 1)
        for start, end in intersect_bounds(bounds, base, base + size)
    ]


def _public_v4(ranges: List[Tuple[int, int]]) -> int:
    return sum(end - start for start, end in subtract_ranges(ranges, _NOT_PUBLIC_V4))


def subtract_ranges(
    ranges: List[Tuple[int, int]], removed: List[Tuple[int, int]]
) -> List[Tuple[int, int]]:
    """``[start, end)`` ranges minus ``removed`` ones, after merging overlaps."""
    merged: List[int] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1]:
            merged[-1] = max(merged[-1], end)
        else:
            merged += (start, end)
    cut = subtract_bounds(merged, [edge for pair in sorted(removed) for edge in pair])
    return list(zip(cut[::2], cut[1::2]))
