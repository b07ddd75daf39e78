"""Properties of the resolver, the parsers and the network set, checked with hypothesis.

In CI (``CI`` set) every property runs 2,000 examples (the ``ci`` profile in tests/conftest.py).
The invariants of a single resolution are shared with the fuzzers (``fuzz_targets``).
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import Any, List, Optional, Tuple, Union

import pytest
from fuzz_targets import RESOLVERS, check_address, check_result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from security_support import (
    adapter_asgi,
    adapter_django,
    adapter_wsgi,
    hop_resolver,
)

from realip import ConfigError, RealIPWarning, Resolver
from realip._addresses import format_address, parse_address
from realip._forwarded import forwarded_params
from realip._networks import NetworkSet, parse_networks

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Net = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

HEADER_NAMES = [
    "X-Forwarded-For",
    "x-forwarded-for",
    "X-FORWARDED-FOR",
    "Forwarded",
    "forwarded",
    "X-Real-IP",
    "x-real-ip",
    "CF-Connecting-IP",
    "True-Client-IP",
    "HTTP_X_FORWARDED_FOR",
    "Host",
    "x_forwarded_for",
]
# Characters that matter to the grammars, so random text hits the interesting branches often.
GRAMMAR = st.sampled_from(
    [*' \t,;="\\[]:%._-/\x00\x7f\xff', "for=", "::ffff:", "1.2.3.4", "10.0.0.1", "2001:db8::1"]
)
SPICY_TEXT = st.lists(st.one_of(GRAMMAR, st.text(max_size=4)), max_size=12).map("".join)
TEXT = st.one_of(SPICY_TEXT, st.text(max_size=40))
RAW = st.one_of(TEXT, st.binary(max_size=40), TEXT.map(lambda t: t.encode("utf-8", "replace")))
PEERS = st.one_of(
    st.none(),
    TEXT,
    st.binary(max_size=20),
    st.integers(),
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses().map(str), st.integers(0, 65535)),
    st.sampled_from(["", "/run/app.sock", "unix:/tmp/x", "10.0.0.1", "[fd00::1]:80"]),
)
NAMES = st.one_of(st.sampled_from(HEADER_NAMES), TEXT)


def _text(value: Any) -> Optional[str]:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


HEADERS = st.one_of(
    st.none(),
    st.dictionaries(NAMES, TEXT, max_size=6),
    st.dictionaries(NAMES.map(lambda n: n.encode("utf-8")), st.binary(max_size=40), max_size=6),
    st.lists(st.tuples(st.one_of(NAMES, NAMES.map(lambda n: n.encode("utf-8"))), RAW), max_size=8),
)


# -- resolve never raises, and only answers with an address of the request ---------------


@given(peer=PEERS, headers=HEADERS)
def test_resolve_never_raises_and_answers_from_the_input(peer: Any, headers: Any) -> None:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    values = [_text(v) for _, v in items]
    for resolver in RESOLVERS.values():
        result = resolver.resolve(peer, headers)
        check_result(result, resolver, peer, values)
        # Shared and warm (whatever it caches) or not, a resolver gives one answer.
        assert resolver.resolve(peer, headers) == result


LINES = st.lists(st.tuples(st.sampled_from(HEADER_NAMES[:9]), TEXT), max_size=6)
LATIN1_LINES = LINES.map(
    lambda lines: [(n, v.encode("utf-8", "replace").decode("latin-1")) for n, v in lines]
)
MIDDLEWARES = {"wsgi": adapter_wsgi, "asgi": adapter_asgi, "django": adapter_django}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    resolver=st.sampled_from(sorted(RESOLVERS)),
    middleware=st.sampled_from(sorted(MIDDLEWARES)),
    peer=st.one_of(
        st.none(),
        st.ip_addresses().map(str),
        SPICY_TEXT,
        st.sampled_from(["10.0.0.1", "10.244.3.4", "100.64.0.7", "/run/a.sock"]),
    ),
    lines=LATIN1_LINES,
)
def test_middlewares_never_raise(
    resolver: str, middleware: str, peer: Optional[str], lines: List[Tuple[str, str]]
) -> None:
    r = RESOLVERS[resolver]
    observed = MIDDLEWARES[middleware](r, peer, tuple(lines))
    check_result(observed.result, r, peer, [v for _, v in lines])
    if observed.result.client_ip is not None:
        assert observed.app_ip == observed.result.client_ip


# -- honest chains: appended trusted hops and prepended attacker text change nothing -----

TRUSTED_NETS = ["10.0.0.0/8", "172.16.0.0/12", "fd00::/8", "100.64.0.0/10"]
_TRUSTED = [ipaddress.ip_network(n) for n in TRUSTED_NETS]
CIDR_XFF = Resolver(trusted_proxies=TRUSTED_NETS)
CIDR_FWD = Resolver(trusted_proxies=TRUSTED_NETS, header="forwarded")


def _unmapped(ip: IP) -> IP:
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


@st.composite
def trusted_addresses(draw: Any) -> IP:
    net = draw(st.sampled_from(_TRUSTED))
    offset = draw(st.integers(0, net.num_addresses - 1))
    return ipaddress.ip_address(int(net.network_address) + offset)


def _is_client(ip: IP) -> bool:
    ip = _unmapped(ip)
    return int(ip) != 0 and not any(ip in net for net in _TRUSTED if net.version == ip.version)


CLIENTS = st.ip_addresses().filter(_is_client)
HOPS = st.lists(trusted_addresses(), min_size=1, max_size=6)
ATTACKER = st.lists(TEXT, max_size=3)


def _xff_node(ip: IP, style: int) -> str:
    """How a proxy writes an address into X-Forwarded-For (styles seen in the wild)."""
    text = str(ip)
    if style == 1:
        return f"[{text}]:4711" if ip.version == 6 else f"{text}:4711"
    if style == 2 and ip.version == 6:
        return ip.exploded.upper()
    return text


def _fwd_node(ip: IP, style: int) -> str:
    if ip.version == 6:
        return f'for="[{ip}]:4711"' if style == 1 else f'For="[{ip}]";proto=https'
    return f'for="{ip}:4711"' if style == 1 else f"for={ip};by=_proxy"


@given(
    client=CLIENTS,
    hops=HOPS,
    extra=st.lists(trusted_addresses(), max_size=6),
    attacker=ATTACKER,
    style=st.integers(0, 2),
    forwarded=st.booleans(),
)
def test_appending_trusted_hops_never_changes_the_answer(
    client: IP,
    hops: List[IP],
    extra: List[IP],
    attacker: List[str],
    style: int,
    forwarded: bool,
) -> None:
    resolver, node = (CIDR_FWD, _fwd_node) if forwarded else (CIDR_XFF, _xff_node)
    name = "Forwarded" if forwarded else "X-Forwarded-For"
    answers = []
    for path in (hops, hops + extra):
        # client -> path[0] -> ... -> path[-1] -> app: each proxy appends who it saw.
        value = ", ".join([*attacker, *(node(ip, style) for ip in [client, *path[:-1]])])
        result = resolver.resolve(str(path[-1]), {name: value})
        assert len(result.proxies) == len(path)
        answers.append(result.client_ip)
    assert answers == [str(_unmapped(client))] * 2


@given(
    client=CLIENTS,
    hops=HOPS,
    attacker=ATTACKER,
    lines=st.lists(TEXT, max_size=3),
    style=st.integers(0, 2),
    forwarded=st.booleans(),
)
def test_prepending_attacker_entries_never_changes_the_answer(
    client: IP,
    hops: List[IP],
    attacker: List[str],
    lines: List[str],
    style: int,
    forwarded: bool,
) -> None:
    resolver, node = (CIDR_FWD, _fwd_node) if forwarded else (CIDR_XFF, _xff_node)
    name = "Forwarded" if forwarded else "X-Forwarded-For"
    honest = ", ".join(node(ip, style) for ip in [client, *hops[:-1]])
    peer = str(hops[-1])
    # The attacker's text sits left of the honest part: inside the proxies' line after a comma,
    # and as header lines of its own before it.
    value = ",".join([*attacker, honest])
    headers = [(name, text) for text in lines] + [(name, value)]
    result = resolver.resolve(peer, headers)
    assert result.client_ip == str(_unmapped(client)), result
    assert result.proxies == tuple(str(_unmapped(h)) for h in reversed(hops))


HOP_RESOLVERS = {
    "xff-1": hop_resolver("x-forwarded-for", 1),
    "xff-2": hop_resolver("x-forwarded-for", 2),
    "xff-3": hop_resolver("x-forwarded-for", 3),
    "forwarded-2": hop_resolver("forwarded", 2),
}


@given(
    client=CLIENTS,
    attacker=ATTACKER,
    key=st.sampled_from(sorted(HOP_RESOLVERS)),
    hop_ips=st.lists(st.ip_addresses(), min_size=3, max_size=3),
    style=st.integers(0, 2),
)
def test_hop_mode_ignores_prepended_attacker_entries(
    client: IP, attacker: List[str], key: str, hop_ips: List[IP], style: int
) -> None:
    resolver = HOP_RESOLVERS[key]
    hops = resolver.trusted_hops
    assert hops is not None
    forwarded = resolver.header == "forwarded"
    node = _fwd_node if forwarded else _xff_node
    proxies = [ip for ip in hop_ips if int(_unmapped(ip)) != 0][:hops]
    assume(len(proxies) == hops)
    value = ", ".join([*attacker, *(node(ip, style) for ip in [client, *proxies[:-1]])])
    result = resolver.resolve(str(proxies[-1]), {resolver.header: value})
    assert result.client_ip == str(_unmapped(client)), result


@given(client=CLIENTS, before=st.lists(TEXT, max_size=3))
def test_single_ip_header_last_value_wins(client: IP, before: List[str]) -> None:
    resolver = RESOLVERS["x-real-ip"]
    headers = [("X-Real-IP", text) for text in before] + [("x-real-ip", str(client))]
    assert resolver.resolve("10.9.8.7", headers).client_ip == str(_unmapped(client))


# -- parsers ----------------------------------------------------------------------------


@given(ip=st.ip_addresses())
def test_canonical_form_round_trips_with_ipaddress(ip: IP) -> None:
    expected = None if int(_unmapped(ip)) == 0 else _unmapped(ip)
    for text in {str(ip), ip.exploded, ip.exploded.upper(), f" {ip}\t"}:
        address = parse_address(text)
        if expected is None:
            assert address is None, text
            continue
        assert address == (expected.version, int(expected)), text
        assert format_address(address) == str(expected)
        check_address(text)
    if expected is not None:
        bracketed = f"[{ip}]:65535" if ip.version == 6 else f"{ip}:65535"
        assert parse_address(bracketed) == (expected.version, int(expected))


@given(text=st.one_of(TEXT, st.ip_addresses().map(str).map(lambda s: s + "%eth0")))
def test_address_parser_agrees_with_ipaddress_on_any_text(text: str) -> None:
    check_address(text)


TOKENS = st.text("!#$%&'*+.^_`|~0123456789ABCXYZabcxyz-", min_size=1, max_size=8)
QUOTABLE = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=12)


@given(
    pairs=st.lists(st.tuples(TOKENS, QUOTABLE), min_size=1, max_size=5),
    ows=st.sampled_from(["", " ", "\t", " \t "]),
)
def test_forwarded_pairs_round_trip(pairs: List[Tuple[str, str]], ows: str) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    element = f"{ows};{ows}".join(f"{k}{ows}={ows}{quote(v)}" for k, v in pairs)
    assume("," not in element)  # a comma always ends an element, quoted or not
    assert forwarded_params(element) == [(k.lower(), v) for k, v in pairs]


# -- the network set agrees with ipaddress ----------------------------------------------


@st.composite
def networks(draw: Any) -> Net:
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefix = draw(
        st.one_of(
            st.sampled_from(
                [0, bits, bits - 1, 8, 16, 24, 64, 96] if version == 6 else [0, bits, 8, 16, 24, 31]
            ),
            st.integers(0, bits),
        )
    )
    value = draw(st.integers(0, (1 << bits) - 1))
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)
    return ipaddress.ip_network((value & mask, prefix))


_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def _is_mapped_range(net: Net) -> bool:
    return net.version == 6 and net.prefixlen >= 96 and net.subnet_of(_MAPPED)  # type: ignore[arg-type]


@st.composite
def probes(draw: Any, nets: List[Net]) -> IP:
    """Addresses near the interesting spots: network edges, and anything, mapped or not."""
    choice = draw(st.integers(0, 3))
    if choice == 0 or not nets:
        return draw(st.ip_addresses())
    net = draw(st.sampled_from(nets))
    bits = net.max_prefixlen
    edge = draw(st.sampled_from([int(net.network_address), int(net.broadcast_address)]))
    value = min(max(edge + draw(st.integers(-1, 1)), 0), (1 << bits) - 1)
    ip = ipaddress.ip_address(value) if bits == 32 else ipaddress.IPv6Address(value)
    if choice == 2 and ip.version == 4:
        return ipaddress.IPv6Address((0xFFFF << 32) | int(ip))  # the same address, mapped
    return ip


@given(data=st.data(), nets=st.lists(networks(), max_size=5))
def test_network_set_agrees_with_ipaddress(data: Any, nets: List[Net]) -> None:
    nets = [n for n in nets if not _is_mapped_range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        resolver = Resolver(trusted_proxies=[str(n) for n in nets])
    network_set = resolver.networks
    assert isinstance(network_set, NetworkSet)
    for ip in data.draw(st.lists(probes(nets), min_size=1, max_size=6)):
        plain = _unmapped(ip)
        expected = any(plain in n for n in nets if n.version == plain.version)
        assert ((plain.version, int(plain)) in network_set) is expected, (ip, nets)
        if int(plain) == 0:
            assert parse_address(str(ip)) is None
            continue
        parsed = parse_address(str(ip))
        assert parsed is not None and (parsed in network_set) is expected, (ip, nets)
        # The resolver trusts exactly these networks: a trusted peer hands over to the header.
        result = resolver.resolve(str(ip), {"X-Forwarded-For": "203.0.113.250"})
        assert result.client_ip == ("203.0.113.250" if expected else str(plain)), result


@given(net=networks().filter(lambda n: n.version == 4))
def test_mapped_cidrs_are_refused_naming_the_ipv4_form(net: ipaddress.IPv4Network) -> None:
    mapped = ipaddress.IPv6Network(((0xFFFF << 32) | int(net.network_address), 96 + net.prefixlen))
    with pytest.raises(ConfigError) as info:
        parse_networks([str(mapped)])
    ipv4_form = str(net.network_address) if net.prefixlen == 32 else str(net)
    assert repr(ipv4_form) in str(info.value)


# -- the memo of trusted addresses never changes an answer ------------------------------


def _memo_factories() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        return {
            "xff": lambda: Resolver(trusted_proxies=TRUSTED_NETS),
            "forwarded": lambda: Resolver(trusted_proxies=TRUSTED_NETS, header="forwarded"),
            "x-real-ip": lambda: Resolver(trusted_proxies=TRUSTED_NETS, header="x-real-ip"),
            "unix-xff": lambda: Resolver(trusted_proxies=["unix", "10.0.0.0/8"]),
            "ingress": lambda: Resolver.for_topology(
                "ingress", pod_cidrs=["10.0.0.0/8"], lb_cidrs=["100.64.0.0/10"]
            ),
        }


MEMO_FACTORIES = _memo_factories()
# Shared for the whole session, so their memos fill up with whatever earlier examples sent.
WARM = {name: make() for name, make in MEMO_FACTORIES.items()}
TRUSTED_TEXT = st.sampled_from(
    [
        "10.0.0.1",
        "10.0.0.1:80",
        "for=10.0.0.1",
        "100.64.0.7",
        "for=10.0.0.1;proto=https",
        "[fd00::1]:80",
        'for="[fd00::1]"',
        "fd00::1",
    ]
)
MEMO_LINES = st.lists(
    st.tuples(
        st.sampled_from(["X-Forwarded-For", "Forwarded", "X-Real-IP"]),
        st.lists(st.one_of(TRUSTED_TEXT, TEXT), max_size=4).map(", ".join),
    ),
    max_size=4,
)


@given(
    requests=st.lists(st.tuples(st.one_of(PEERS, TRUSTED_TEXT), MEMO_LINES), min_size=1, max_size=4)
)
def test_memo_never_changes_an_answer(requests: List[Tuple[Any, List[Tuple[str, str]]]]) -> None:
    """A resolver that has seen many requests answers exactly as a brand-new one does."""
    for name, make in MEMO_FACTORIES.items():
        fresh = make()
        for peer, lines in requests:
            as_bytes = [(n.lower().encode(), v.encode("utf-8", "replace")) for n, v in lines]
            for headers in (lines, as_bytes):
                assert WARM[name].resolve(peer, headers) == fresh.resolve(peer, headers)
                assert WARM[name].resolve(peer, headers) == make().resolve(peer, headers)
