"""The hot path against a slow, obviously-correct reference (issue 25).

``reference`` below is docs/reference/rules.md written plainly: ``ipaddress`` for addresses,
whole-string splits, a character-by-character ``Forwarded`` parser, no memo, no inlining, no
bytes. Hypothesis feeds both the same random configurations, peers and headers (as ``str``, as
ASGI ``bytes``, and as repeated header lines); the client must be the same every time, warm
memos included.
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realip import Resolver

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
MAX_ITEMS = 32  # rules.md section 9
MAX_PARAMS = 8
MAX_ELEMENT = 512
TOKEN = set("!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
ZONE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


# -- rules.md section 1: what counts as an address ---------------------------------------


def ref_port(text: str) -> bool:
    return 1 <= len(text) <= 5 and all(c in "0123456789" for c in text) and int(text) <= 65535


def ref_ip(text: str, version: int) -> Optional[IP]:
    try:
        ip: IP
        if version == 4:
            ip = ipaddress.IPv4Address(text)
        else:
            host, percent, zone = text.partition("%")
            if percent and not (zone and set(zone) <= ZONE):
                return None
            ip = ipaddress.IPv6Address(host)
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
    except ValueError:
        return None
    return None if ip.is_unspecified else ip


def ref_address(text: str) -> Optional[IP]:
    """ip, ip:port, [v6], [v6]:port, v6%zone; spaces and tabs trimmed."""
    text = text.strip(" \t")
    if text.startswith("["):
        inner, close, rest = text[1:].partition("]")
        if not close or ":" not in inner:
            return None
        if rest and not (rest[0] == ":" and ref_port(rest[1:])):
            return None
        return ref_ip(inner, 6)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return ref_ip(host, 4) if ref_port(port) else None
    if ":" in text:
        return ref_ip(text, 6)
    return ref_ip(text, 4)


# -- rules.md section 7: one Forwarded element -------------------------------------------


def ref_forwarded_for(element: str) -> Optional[str]:
    """The for= value of one element (split on every comma already), or None."""
    text = element.strip(" \t")
    if len(text) > MAX_ELEMENT:
        return None
    pos, found, params = 0, None, 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        start = pos
        while pos < len(text) and text[pos] in TOKEN:
            pos += 1
        name = text[start:pos].lower()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if not name or pos >= len(text) or text[pos] != "=":
            return None
        pos += 1
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == '"':
            pos += 1
            chars: List[str] = []
            while True:
                if pos >= len(text):
                    return None  # unbalanced quote
                c = text[pos]
                if c == '"':
                    pos += 1
                    break
                if c == "\\":
                    if pos + 1 >= len(text) or not _escapable(text[pos + 1]):
                        return None
                    chars.append(text[pos + 1])
                    pos += 2
                    continue
                if not _qdtext(c):
                    return None
                chars.append(c)
                pos += 1
            value = "".join(chars)
        else:
            start = pos
            while pos < len(text) and text[pos] not in '";, \t':
                pos += 1
            value = text[start:pos]
            if not value:
                return None
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text):
            if text[pos] != ";":
                return None  # junk after a value
            pos += 1
        params += 1
        if params > MAX_PARAMS:
            return None
        if name == "for":
            if found is not None:
                return None  # two for=
            found = value
    return found


def _qdtext(c: str) -> bool:
    o = ord(c)
    return c in "\t " or o == 0x21 or 0x23 <= o <= 0x5B or 0x5D <= o <= 0x7E or 0x80 <= o <= 0xFF


def _escapable(c: str) -> bool:
    o = ord(c)
    return c in "\t " or 0x21 <= o <= 0x7E or 0x80 <= o <= 0xFF


# -- rules.md sections 2-8: the walk -----------------------------------------------------


def reference(
    trusted: Sequence[str], header: Optional[str], hops: Optional[int], peer: Any, value: Any
) -> Optional[str]:
    """The client rules.md names for ``peer`` and the combined header ``value`` (or None)."""
    nets = [ipaddress.ip_network(n) for n in trusted if n != "unix"]
    unix_trusted = "unix" in trusted

    def is_trusted(ip: IP) -> bool:
        return hops is None and any(ip in net for net in nets)

    if isinstance(peer, (tuple, list)):
        peer = peer[0] if peer else None
    unix = peer is None or peer == "" or (isinstance(peer, str) and peer[:1] in ("/", "@"))
    unix = unix or (isinstance(peer, str) and peer.startswith("unix:"))
    peer_ip = ref_address(peer) if isinstance(peer, str) and peer else None
    if peer_ip is None and not unix:
        return None  # a peer that is not an address is never anyone
    peer_text = str(peer_ip) if peer_ip is not None else None
    reads = header is not None and (hops is not None or nets or unix_trusted)
    if not reads:
        return peer_text  # section 2: the peer
    peer_trusted = hops is not None or (unix_trusted if peer_ip is None else is_trusted(peer_ip))
    if not peer_trusted:
        return peer_text  # section 3
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    items = [item.strip(" \t") for item in value.split(",")] if value is not None else []
    items = [item for item in items if item]
    if hops is not None:  # section 6 (and 2: a missing or empty header fails closed)
        if len(items) < hops:
            return None
        entry: Optional[str] = items[-hops]
        if header == "forwarded":
            entry = ref_forwarded_for(entry) if entry is not None else None
        ip = ref_address(entry) if entry is not None else None
        return str(ip) if ip is not None else None
    if not items:
        return peer_text  # section 2: no or an empty header, the trusted peer
    if header not in ("x-forwarded-for", "forwarded"):  # section 5
        ip = ref_address(items[-1])
        return str(ip) if ip is not None else None
    walked: List[IP] = []
    for item in reversed(items):  # section 4
        if len(walked) == MAX_ITEMS:
            return None  # section 9: more than 32 items to walk
        entry = ref_forwarded_for(item) if header == "forwarded" else item
        ip = ref_address(entry) if entry is not None else None
        if ip is None:
            return None  # fail closed
        if not is_trusted(ip):
            return str(ip)
        walked.append(ip)
    return str(walked[-1])  # every entry trusted: the leftmost


# -- random inputs ------------------------------------------------------------------------

ADDRESSES = [
    "10.0.0.7", "10.1.2.3:8080", "192.168.1.5", "203.0.113.9", "203.0.113.9:443", "198.51.100.7",
    "6.6.6.6", "fd00::7", "[fd00::8]:80", "[fd00::9]", "2001:db8::1", "[2001:DB8::1]:4711",
    "fe80::1%eth0", "fd00::1%", "::ffff:10.0.0.9", "::ffff:6.6.6.6", "0.0.0.0", "::", "unknown",
    "_hidden", "01.2.3.4", "1.2.3", "[1.2.3.4]", "1.2.3.4:99999", "1.2.3.4:", " 10.0.0.5 ",
    "\t6.6.6.7", "::1.2.3.4", "fd00::1:2:3:4:5:6", "\u0661.\u0662.\u0663.\u0664", "10.0.0.7 10.0.0.8", "",
]  # fmt: skip
TRUSTED = ["10.0.0.0/8", "fd00::/8", "192.168.1.0/24", "unix", "203.0.113.0/24"]
PEERS = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            "/run/app.sock",
            "unix:/x",
            "@abstract",
            "10.0.0.1",
            "10.9.9.9:5000",
            "[fd00::1]:80",
            "fd00::2",
            "203.0.113.50",
            "198.51.100.1",
            "garbage",
            "::ffff:10.0.0.3",
        ]
    ),
    st.tuples(st.sampled_from(["10.0.0.1", "198.51.100.1", "fd00::3"]), st.integers(0, 65535)),
)


def _element(entry: str) -> st.SearchStrategy[str]:
    quoted = '"' + entry.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return st.sampled_from(
        [
            f"for={entry}",
            f"for={quoted}",
            f"For = {quoted} ; proto=https",
            f"proto=http;for={quoted};by=_x",
            f"for={quoted};for={quoted}",
            "proto=https",
            f'for="{entry}',
            f"for={quoted}x",
            f"for={quoted};" + "a=b;" * 7,
            f"for={quoted};" + "a=b;" * 6 + "c=d",
        ]
    )


ENTRIES = st.sampled_from(ADDRESSES)
XFF_ITEMS = st.one_of(ENTRIES, st.text(st.sampled_from(list('0123456789.:af[] \t"%')), max_size=12))
FWD_ITEMS = st.one_of(
    ENTRIES.flatmap(_element), st.text(st.sampled_from(list('for=;" \t\\10.:[]x')), max_size=20)
)


@st.composite
def cases(draw: st.DrawFn) -> Tuple[Tuple[str, ...], Optional[str], Optional[int], Any, List[str]]:
    header = draw(st.sampled_from(["x-forwarded-for", "forwarded", "x-real-ip", None]))
    hops = None
    trusted: Tuple[str, ...] = tuple(draw(st.sets(st.sampled_from(TRUSTED), max_size=3)))
    if header in ("x-forwarded-for", "forwarded") and draw(st.integers(0, 4)) == 0:
        hops, trusted = draw(st.integers(1, 3)), ()
    items = st.lists(FWD_ITEMS if header == "forwarded" else XFF_ITEMS, max_size=40)
    lines = draw(st.lists(items.map(", ".join), max_size=3))
    return trusted, header, hops, draw(PEERS), lines


def _resolver(trusted: Sequence[str], header: Optional[str], hops: Optional[int]) -> Resolver:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Resolver(trusted_proxies=list(trusted), header=header, trusted_hops=hops)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_hot_path_agrees_with_the_reference_walk(
    case: Tuple[Tuple[str, ...], Optional[str], Optional[int], Any, List[str]],
) -> None:
    trusted, header, hops, peer, lines = case
    resolver = _resolver(trusted, header, hops)
    combined = ",".join(lines) if lines else None
    expected = reference(trusted, header, hops, peer, combined)
    name = header or "x-forwarded-for"
    for _ in range(2):  # cold, then with whatever the memos kept
        assert resolver.resolve_value(peer, combined).client_ip == expected, combined
        raw = combined.encode("utf-8").decode("latin-1").encode("latin-1") if combined else None
        as_bytes = reference(trusted, header, hops, peer, raw)
        assert resolver.resolve_value(peer, raw).client_ip == as_bytes
        pairs = [(name, line) for line in lines]
        assert resolver.resolve(peer, pairs).client_ip == expected


@settings(max_examples=300)
@given(entries=st.lists(st.sampled_from(["10.0.0.7", "10.1.1.1", "fd00::5"]), min_size=30))
def test_the_walk_limit_agrees(entries: List[str]) -> None:
    resolver = _resolver(["10.0.0.0/8", "fd00::/8"], "x-forwarded-for", None)
    value = ", ".join(["203.0.113.9", *entries])
    expected = reference(["10.0.0.0/8", "fd00::/8"], "x-forwarded-for", None, "10.0.0.1", value)
    assert resolver.resolve_value("10.0.0.1", value).client_ip == expected
    assert (expected is None) == (len(entries) >= MAX_ITEMS)


def test_a_quoted_for_value_is_trimmed_in_the_walk_as_in_hop_mode() -> None:
    """Found by the property: the walk refused ``for=" 203.0.113.9 "``, hop mode and the
    rules (section 1: blanks around an entry are trimmed) accept it."""
    walk = _resolver(["10.0.0.0/8"], "forwarded", None)
    hops = _resolver([], "forwarded", 1)
    for value in ['for=" 203.0.113.9 "', 'for="\t203.0.113.9", for=" 10.0.0.5 "']:
        expected = reference(["10.0.0.0/8"], "forwarded", None, "10.0.0.1", value)
        assert expected == "203.0.113.9"
        assert walk.resolve_value("10.0.0.1", value).client_ip == expected
        assert walk.resolve_value("10.0.0.1", value.encode()).client_ip == expected
    assert hops.resolve_value("10.0.0.1", 'for=" 203.0.113.9 "').client_ip == "203.0.113.9"
