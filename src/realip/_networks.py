"""The trusted-network set: CIDRs and named presets, parsed once, checked in O(log n).

Configuration goes through ``ipaddress`` (clear errors, strict host-bit checks). At request
time membership is a single ``bisect`` over the boundaries of sorted, merged integer ranges,
so trusting a cloud provider's thousand published ranges costs about the same as trusting one.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Dict, Iterable, List, Sequence, Tuple, Union

from realip._addresses import V6_OFFSET, Address, to_key
from realip._errors import ConfigError

if TYPE_CHECKING:
    # ipaddress is imported where configuration is parsed, not by ``import realip``: requests
    # never need it.
    import ipaddress

    Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

UNIX = "unix"
"""Preset that trusts peers on a Unix socket (they have no IP address)."""

PRESETS: Dict[str, Tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
    "link-local": ("169.254.0.0/16", "fe80::/10"),
    "cgnat": ("100.64.0.0/10",),
    UNIX: (),
}
"""Named groups of CIDRs accepted in ``trusted_proxies``."""


def _mapped() -> ipaddress.IPv6Network:
    # ::ffff:0:0/96; also the placeholder network of the 'unix' preset, which has no range.
    import ipaddress

    return ipaddress.IPv6Network("::ffff:0:0/96")


def _parse_one(entry: str) -> Network:
    import ipaddress

    text = entry.strip()
    if "%" in text:
        raise ConfigError(
            f"trusted proxy {entry!r} has a zone id; trust is by address, so drop the %zone part"
        )
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=True)
        return ipaddress.ip_network(ipaddress.ip_address(text))
    except ValueError as exc:
        message = str(exc)
        if "host bits set" in message:
            fixed = ipaddress.ip_network(text, strict=False)
            raise ConfigError(
                f"trusted proxy {entry!r} has host bits set; did you mean {str(fixed)!r}?"
            ) from None
        presets = ", ".join(sorted(PRESETS))
        raise ConfigError(
            f"trusted proxy {entry!r} is not an IP address, a CIDR or a preset "
            f"({message}); presets are: {presets}"
        ) from None


def _check_mapped(entry: object, network: Network) -> None:
    import ipaddress

    if (
        isinstance(network, ipaddress.IPv6Network)
        and network.prefixlen >= 96
        and (network.subnet_of(_mapped()))
    ):
        v4 = ipaddress.IPv4Network(
            (int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96)
        )
        form = str(v4.network_address) if v4.prefixlen == 32 else str(v4)
        raise ConfigError(
            f"trusted proxy {str(entry)!r} is an IPv4-mapped IPv6 range; realip unmaps "
            f"::ffff: addresses before checking trust, so write {form!r} instead"
        )


def parse_networks(entries: Iterable[object]) -> Tuple[Tuple[str, Network], ...]:
    """Parse ``trusted_proxies`` into ``(label, network)`` pairs; presets expand with their name.

    A string may hold several entries separated by commas or whitespace. Raises
    :class:`ConfigError` naming the first bad entry.
    """
    import ipaddress

    if isinstance(entries, (str, bytes)):
        entries = [entries]
    parsed: List[Tuple[str, Network]] = []
    for entry in entries:
        if isinstance(entry, bytes):
            raise ConfigError(f"trusted proxy {entry!r} is bytes; give a str")
        if isinstance(entry, str):
            for word in entry.replace(",", " ").split():
                name = word.lower()
                if name in PRESETS:
                    if name == UNIX:
                        parsed.append((UNIX, _mapped()))
                    else:
                        parsed.extend((name, ipaddress.ip_network(c)) for c in PRESETS[name])
                    continue
                network = _parse_one(word)
                _check_mapped(word, network)
                parsed.append((str(network), network))
        elif isinstance(entry, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            network = ipaddress.ip_network(entry)
            _check_mapped(entry, network)
            parsed.append((str(network), network))
        elif isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            _check_mapped(entry, entry)
            parsed.append((str(entry), entry))
        else:
            raise ConfigError(
                f"trusted proxy {entry!r} ({type(entry).__name__}) is not a str or an ipaddress "
                "address or network"
            )
    return tuple(parsed)


def _boundaries(ranges: List[Tuple[int, int]]) -> List[int]:
    # Merge overlapping and adjacent ranges, then flatten them to [start, end + 1, ...]: an
    # address is inside exactly when bisect_right puts it after an odd number of boundaries.
    bounds: List[int] = []
    for start, end in sorted(ranges):
        if bounds and start <= bounds[-1]:
            bounds[-1] = max(bounds[-1], end + 1)
        else:
            bounds += (start, end + 1)
    return bounds


def subtract_bounds(bounds: List[int], removed: List[int]) -> List[int]:
    """Range boundaries (as :attr:`NetworkSet.bounds`) of ``bounds`` minus ``removed``."""
    out: List[int] = []
    cuts = list(zip(removed[::2], removed[1::2]))
    for start, end in zip(bounds[::2], bounds[1::2]):
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= end:
                continue
            if cut_start > start:
                out += (start, cut_start)
            start = max(start, cut_end)
            if start >= end:
                break
        if start < end:
            out += (start, end)
    return out


def intersect_bounds(bounds: Sequence[int], low: int, high: int) -> List[Tuple[int, int]]:
    """The ranges ``[start, end)`` of ``bounds`` (as :attr:`NetworkSet.bounds`) inside
    ``[low, high)``."""
    out: List[Tuple[int, int]] = []
    for start, end in zip(bounds[::2], bounds[1::2]):
        start, end = max(start, low), min(end, high)
        if start < end:
            out.append((start, end))
    return out


def _key_range(net: Network) -> Tuple[int, int]:
    offset = 0 if net.version == 4 else V6_OFFSET
    return int(net.network_address) + offset, int(net.broadcast_address) + offset


class NetworkSet:
    """An immutable set of trusted networks; membership is one ``bisect`` on address keys."""

    __slots__ = ("_entries", "bounds", "empty", "unix")

    def __init__(self, entries: Sequence[Tuple[str, Network]]) -> None:
        self._entries = tuple(entries)
        self.unix = any(label == UNIX for label, _ in entries)
        self.bounds: List[int] = _boundaries(
            [_key_range(net) for label, net in entries if label != UNIX]
        )
        """Sorted range boundaries over address keys (see :mod:`realip._addresses`)."""
        self.empty = not (self.bounds or self.unix)

    def __contains__(self, address: Union[int, Address]) -> bool:
        key = address if isinstance(address, int) else to_key(address)
        return bool(bisect_right(self.bounds, key) & 1)

    @property
    def entries(self) -> Tuple[Tuple[str, Network], ...]:
        """The configured ``(label, network)`` pairs, in configuration order."""
        return self._entries

    def matches(self, address: Union[int, Address]) -> List[str]:
        """Labels of every configured entry that contains ``address`` (for explanations)."""
        key = address if isinstance(address, int) else to_key(address)
        found: List[str] = []
        for label, net in self._entries:
            if label != UNIX and label not in found:
                start, end = _key_range(net)
                if start <= key <= end:
                    found.append(label)
        return found

    def trusts_everything(self) -> List[str]:
        """The address families the set covers whole, however it is spelled.

        ``0.0.0.0/0``, but also ``0.0.0.0/1`` + ``128.0.0.0/1`` (or any ranges that together
        cover a family): the merged ranges are checked, not the spelling.
        """
        found: List[str] = []
        for family, start, end in (
            ("every IPv4 address", 0, V6_OFFSET),
            ("every IPv6 address", V6_OFFSET, V6_OFFSET + (1 << 128)),
        ):
            for low, high in zip(self.bounds[::2], self.bounds[1::2]):
                if low <= start and high >= end:
                    labels = [
                        label
                        for label, net in self._entries
                        if label != UNIX and (net.version == 4) == (start == 0)
                    ]
                    found.append(f"{family} ({', '.join(labels)})")
        return found

    def overlaps(self) -> List[Tuple[str, str]]:
        """Pairs ``(outer, inner)`` of configured entries where one contains the other."""

        def name(label: str, net: Network) -> str:
            return f"{net} ({label})" if label in PRESETS else str(net)

        nets = sorted(
            (
                (net.version, int(net.network_address), net.prefixlen, name(label, net), net)
                for label, net in self._entries
                if label != UNIX
            ),
            key=lambda item: item[:3],
        )
        found: List[Tuple[str, str]] = []
        # CIDRs are either nested or disjoint, so a sweep in address order with a stack of the
        # ranges still open finds every containment without comparing all pairs.
        open_: List[Tuple[int, int, str]] = []
        for version, start, _, text, net in nets:
            end = int(net.broadcast_address)
            while open_ and (open_[-1][0] != version or open_[-1][1] < start):
                open_.pop()
            if open_:
                found.append((open_[-1][2], text))
            open_.append((version, end, text))
        return found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkSet):
            return NotImplemented
        return (self.unix, self.bounds) == (other.unix, other.bounds)

    def __hash__(self) -> int:
        return hash((self.unix, tuple(self.bounds)))

    def __repr__(self) -> str:
        return f"NetworkSet({[label for label, _ in self._entries]!r})"
