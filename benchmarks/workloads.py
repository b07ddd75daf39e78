"""The benchmark's requests: eight workloads, built deterministically before anything is timed.

Every workload is a pool of logical requests (peer address, peer port, header pairs and the
client a correct implementation must return). The pool holds more distinct clients than
uvicorn's 4,096-entry trust cache, and it is walked in order, so no per-address cache can
serve a repeat within one cycle.
"""

from __future__ import annotations

import ipaddress
import random
from bisect import bisect_right, insort
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Optional, Tuple

SEED = 20240607
POOL = 5000
"""Distinct requests per workload (> 4096, the size of uvicorn's LRU trust cache)."""

PEER = "10.0.2.9"
PROXY4 = "10.0.1.5"
PROXY6 = "fd12:3456::1:5"
BASE_TRUST = ["10.0.0.0/8"]
TRUST_V6 = ["10.0.0.0/8", "fd12:3456::/32"]
HOSTILE_BYTES = 8192
COMMON_HEADERS: Tuple[Tuple[str, str], ...] = (
    ("host", "app.example"),
    ("user-agent", "bench/1.0"),
    ("accept", "*/*"),
)


class Req(NamedTuple):
    """One logical request and its correct answer."""

    peer: str
    port: int
    headers: Tuple[Tuple[str, str], ...]
    expected: str


@dataclass
class Workload:
    """A named request pool plus the trust each kind of implementation is given."""

    key: str
    title: str
    header: str
    """The header realip reads (lower-case)."""
    trusted: List[str]
    """CIDRs for implementations that take a trust list (realip, uvicorn)."""
    hops: int
    """Entries from the right for hop-count implementations (ProxyFix, hypercorn)."""
    positional: List[str]
    """python-ipware/django-ipware ``proxy_list``: one entry per proxy, right-aligned."""
    forwarded: bool = False
    reqs: List[Req] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Short column label, e.g. ``(b) xff 2``."""
        return f"({self.key}) {self.title}"


class _Ranges:
    """Disjoint integer ranges per IP version, for building non-overlapping test data."""

    def __init__(self) -> None:
        self._starts: Dict[int, List[int]] = {4: [], 6: []}
        self._ends: Dict[int, Dict[int, int]] = {4: {}, 6: {}}

    def overlaps(self, version: int, start: int, end: int) -> bool:
        starts = self._starts[version]
        i = bisect_right(starts, end) - 1
        return i >= 0 and self._ends[version][starts[i]] >= start

    def add(self, version: int, start: int, end: int) -> None:
        insort(self._starts[version], start)
        self._ends[version][start] = end

    def add_network(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
        start, end = int(net.network_address), int(net.broadcast_address)
        if self.overlaps(net.version, start, end):
            return False
        self.add(net.version, start, end)
        return True

    def covers(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        value = int(ip)
        return self.overlaps(ip.version, value, value)


_V4_PREFIXES = (12, 14, 16, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
_V6_PREFIXES = (24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 80, 96, 112, 120, 124, 127, 128)


def many_cidrs(rng: random.Random, total: int = 1000) -> Tuple[List[str], _Ranges]:
    """``total`` disjoint CIDRs (~70% IPv4, mixed prefix lengths) including the (c) trust list."""
    ranges = _Ranges()
    nets: List[str] = []
    for text in TRUST_V6:
        ranges.add_network(ipaddress.ip_network(text))
        nets.append(text)
    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    while len(nets) < total:
        if rng.random() < 0.7:
            plen = rng.choice(_V4_PREFIXES)
            value = rng.getrandbits(32) & ~((1 << (32 - plen)) - 1) & 0xFFFFFFFF
            net = ipaddress.IPv4Network((value, plen))
        else:
            plen = rng.choice(_V6_PREFIXES)
            value = ((0x2 << 124) | rng.getrandbits(125)) & ~((1 << (128 - plen)) - 1)
            net = ipaddress.IPv6Network((value, plen))
        if not net.network_address.is_global or net.network_address.is_multicast:
            continue
        if ranges.add_network(net):
            nets.append(str(net))
    rng.shuffle(nets)
    return nets, ranges


def _client_ok(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, avoid: _Ranges) -> bool:
    return ip.is_global and not ip.is_multicast and not ip.is_reserved and not avoid.covers(ip)


def clients_v4(rng: random.Random, count: int, avoid: _Ranges) -> List[str]:
    """``count`` distinct, globally routable IPv4 clients outside every trusted range."""
    seen: Dict[str, None] = {}
    while len(seen) < count:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if _client_ok(ip, avoid):
            seen[str(ip)] = None
    return list(seen)


def clients_v6(rng: random.Random, count: int, avoid: _Ranges) -> List[str]:
    """``count`` distinct, globally routable IPv6 clients (2000::/3) outside every trusted range."""
    seen: Dict[str, None] = {}
    while len(seen) < count:
        ip = ipaddress.IPv6Address((0x1 << 125) | rng.getrandbits(125))
        if _client_ok(ip, avoid):
            seen[str(ip)] = None
    return list(seen)


def hostile_prefix(rng: random.Random, size: int) -> str:
    """A client-written X-Forwarded-For prefix of ``size`` bytes: ~1,000 short entries."""
    junk = ("unknown", "_hidden", "1.2.3.4:80", "::1", "", "x", "[::1]:80", "10.0.0.1")
    parts: List[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.85:
            item = ".".join(str(rng.randint(1, 9)) for _ in range(4))
        elif roll < 0.95:
            item = ".".join([str(rng.randint(11, 99))] + [str(rng.randint(1, 9)) for _ in "123"])
        else:
            item = rng.choice(junk)
        parts.append(item)
        length += len(item) + 1
    text = ",".join(parts)
    return text[:size].rstrip(",").rsplit(",", 1)[0]


def build(pool: int = POOL, seed: int = SEED) -> Tuple[List[Workload], Dict[str, object]]:
    """All workloads, plus facts about them for the report."""
    rng = random.Random(seed)
    cidrs, ranges = many_cidrs(rng)
    v4 = clients_v4(rng, pool, ranges)
    v6 = clients_v6(rng, pool, ranges)
    ports = [rng.randint(1024, 65535) for _ in range(pool)]

    a = Workload("a", "direct", "x-forwarded-for", BASE_TRUST, 2, ["10.0.0.0/8"])
    b = Workload("b", "xff 2", "x-forwarded-for", BASE_TRUST, 2, ["10.0.0.0/8"])
    c = Workload("c", "3 hops v6", "x-forwarded-for", TRUST_V6, 3, ["10.0.0.0/8", "fd12:3456::/32"])
    d = Workload("d", "1000 CIDRs", "x-forwarded-for", cidrs, 3, ["10.0.0.0/8", "fd12:3456::/32"])
    e = Workload("e", "hostile 8K", "x-forwarded-for", BASE_TRUST, 2, ["10.0.0.0/8"])
    f = Workload("f", "Forwarded", "forwarded", BASE_TRUST, 2, ["10.0.0.0/8"], forwarded=True)
    # Production shapes: a few proxies repeat (8 ingress pods as peers, 4 load balancer
    # addresses in the header) while clients rotate; and everything rotates (every peer and
    # every proxy address new within a cycle of the pool, more than any memo holds).
    g = Workload("g", "proxies repeat", "x-forwarded-for", BASE_TRUST, 2, ["10.0.0.0/8"])
    h = Workload("h", "all rotate", "x-forwarded-for", BASE_TRUST, 2, ["10.0.0.0/8"])
    pods = [f"10.244.{i}.{10 + i}" for i in range(8)]
    lbs = [f"10.1.0.{5 + i}" for i in range(4)]

    # The tail every (e) request ends with: ", <client>, 10.0.1.5" (~23 bytes for IPv4).
    prefix = hostile_prefix(rng, HOSTILE_BYTES - 24)
    for i in range(pool):
        client, port, client6 = v4[i], ports[i], v6[i]
        a.reqs.append(Req(client, port, COMMON_HEADERS, client))
        xff2 = (("x-forwarded-for", f"{client}, {PROXY4}"),)
        b.reqs.append(Req(PEER, port, COMMON_HEADERS + xff2, client))
        # client -> 10.0.1.5 -> fd12:3456::1:5 -> peer 10.0.2.9 -> app
        xff3 = (("x-forwarded-for", f"{client}, {PROXY4}, {PROXY6}"),)
        c.reqs.append(Req(PEER, port, COMMON_HEADERS + xff3, client))
        d.reqs.append(Req(PEER, port, COMMON_HEADERS + xff3, client))
        hostile = (("x-forwarded-for", f"{prefix},{client}, {PROXY4}"),)
        e.reqs.append(Req(PEER, port, COMMON_HEADERS + hostile, client))
        fwd_value = f'for="[{client6}]:4711";proto=https, for="{PROXY4}:8443";proto=https'
        fwd = (("forwarded", fwd_value),)
        f.reqs.append(Req(PEER, port, COMMON_HEADERS + fwd, client6))
        xff_g = (("x-forwarded-for", f"{client}, {lbs[i % len(lbs)]}"),)
        g.reqs.append(Req(pods[i % len(pods)], port, COMMON_HEADERS + xff_g, client))
        n = i + 1  # distinct per request: 10.64.0.1, 10.64.0.2, ... and 10.128.0.1, ...
        xff_h = (
            ("x-forwarded-for", f"{client}, 10.{128 + n // 65536}.{n // 256 % 256}.{n % 256}"),
        )
        peer_h = f"10.{64 + n // 65536}.{n // 256 % 256}.{n % 256}"
        h.reqs.append(Req(peer_h, port, COMMON_HEADERS + xff_h, client))

    facts: Dict[str, object] = {
        "pool": pool,
        "seed": seed,
        "cidrs_v4": sum(1 for c_ in cidrs if ":" not in c_),
        "cidrs_v6": sum(1 for c_ in cidrs if ":" in c_),
        "cidr_prefix_lengths": sorted({int(c_.split("/")[1]) for c_ in cidrs}),
        "hostile_header_bytes": len(e.reqs[0].headers[-1][1]),
        "hostile_header_entries": e.reqs[0].headers[-1][1].count(",") + 1,
    }
    return [a, b, c, d, e, f, g, h], facts


def canonical(text: Optional[str]) -> Optional[str]:
    """Canonical text of an address, or None when ``text`` is not one."""
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
