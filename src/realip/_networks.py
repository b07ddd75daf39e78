"""The trusted-network set: CIDRs and named presets, parsed once, checked in O(log n).

Configuration goes through ``ipaddress`` (clear errors, strict host-bit checks). At request
time membership is a single ``bisect`` over sorted, merged integer ranges, so trusting a
cloud provider's thousand published ranges costs the same as trusting one.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from realip._addresses import Address
from realip._errors import ConfigError

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
NetworkInput = Union[
    str,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
]

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

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def _parse_one(entry: str) -> Network:
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
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96 and (
        network.subnet_of(_MAPPED)
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
                        parsed.append((UNIX, _MAPPED))
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


def _merge(ranges: List[Tuple[int, int]]) -> Tuple[List[int], List[int]]:
    starts: List[int] = []
    ends: List[int] = []
    for start, end in sorted(ranges):
        if ends and start <= ends[-1] + 1:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


class NetworkSet:
    """An immutable set of trusted networks with integer-range membership tests."""

    __slots__ = ("_ends4", "_ends6", "_entries", "_starts4", "_starts6", "empty", "unix")

    def __init__(self, entries: Sequence[Tuple[str, Network]]) -> None:
        self._entries = tuple(entries)
        self.unix = any(label == UNIX for label, _ in entries)
        v4: List[Tuple[int, int]] = []
        v6: List[Tuple[int, int]] = []
        for label, net in entries:
            if label == UNIX:
                continue
            span = (int(net.network_address), int(net.broadcast_address))
            (v4 if net.version == 4 else v6).append(span)
        self._starts4, self._ends4 = _merge(v4)
        self._starts6, self._ends6 = _merge(v6)
        self.empty = not (v4 or v6 or self.unix)

    def __contains__(self, address: Address) -> bool:
        version, value = address
        if version == 4:
            i = bisect_right(self._starts4, value) - 1
            return i >= 0 and value <= self._ends4[i]
        i = bisect_right(self._starts6, value) - 1
        return i >= 0 and value <= self._ends6[i]

    @property
    def entries(self) -> Tuple[Tuple[str, Network], ...]:
        """The configured ``(label, network)`` pairs, in configuration order."""
        return self._entries

    def matches(self, address: Address) -> List[str]:
        """Labels of every configured entry that contains ``address`` (for explanations)."""
        version, value = address
        ip: Union[ipaddress.IPv4Address, ipaddress.IPv6Address] = (
            ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)
        )
        found: List[str] = []
        for label, net in self._entries:
            if label != UNIX and net.version == version and ip in net and label not in found:
                found.append(label)
        return found

    def trusts_everything(self) -> List[str]:
        """Labels of entries that cover a whole address family (``0.0.0.0/0``, ``::/0``)."""
        return [label for label, net in self._entries if label != UNIX and net.prefixlen == 0]

    def overlaps(self) -> List[Tuple[str, str]]:
        """Pairs ``(outer, inner)`` of configured entries where one contains the other."""

        def name(label: str, net: Network) -> str:
            return f"{net} ({label})" if label in PRESETS else str(net)

        nets = sorted(
            ((net.version, int(net.network_address), -net.prefixlen, name(label, net), net)
             for label, net in self._entries if label != UNIX),
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
        return (self.unix, self._starts4, self._ends4, self._starts6, self._ends6) == (
            other.unix, other._starts4, other._ends4, other._starts6, other._ends6
        )

    def __hash__(self) -> int:
        return hash((self.unix, tuple(self._starts4), tuple(self._starts6)))

    def __repr__(self) -> str:
        return f"NetworkSet({[label for label, _ in self._entries]!r})"


def lookup_label(labels: Sequence[str]) -> Optional[str]:
    """First label of a match list, for one-line explanations."""
    return labels[0] if labels else None
