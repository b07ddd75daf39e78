"""A wrong configuration is caught before it ships.

Configurations that work but are probably a mistake emit one ``RealIPWarning`` at construction
(and keep it in ``Resolver.warnings`` for ``realip explain``); configurations that mean nothing
raise ``ConfigError`` naming the bad value.
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import Any, Dict, List, Optional

import pytest

from realip import ConfigError, RealIPWarning, Resolver
from realip._explain import explain
from realip._topologies import TOPOLOGY_SPECS


def build(**kwargs: Any) -> List[str]:
    """The RealIPWarning messages emitted while building ``Resolver(**kwargs)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver = Resolver(**kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, RealIPWarning)]
    assert list(resolver.warnings) == messages
    return messages


def test_realip_warning_is_a_user_warning() -> None:
    assert issubclass(RealIPWarning, UserWarning)
    assert issubclass(ConfigError, ValueError)


# -- trusting everything -----------------------------------------------------------------


@pytest.mark.parametrize("header", ["x-forwarded-for", "forwarded", "x-real-ip"])
@pytest.mark.parametrize("everything", ["0.0.0.0/0", "::/0", ipaddress.ip_network("::/0")])
def test_trusting_every_address_warns_once(header: str, everything: Any) -> None:
    messages = build(
        trusted_proxies=[everything, "10.0.0.0/8"] if header != "x-real-ip" else [everything],
        header=header,
    )
    trust_all = [m for m in messages if str(everything) in m and "every peer is trusted" in m]
    assert len(trust_all) == 1, messages
    assert "leftmost" in trust_all[0] and header in trust_all[0]


def test_trusting_both_families_names_both_in_one_warning() -> None:
    messages = build(trusted_proxies=["0.0.0.0/0", "::/0"])
    assert len(messages) == 1
    assert "0.0.0.0/0" in messages[0] and "::/0" in messages[0]


def test_trusting_everything_without_a_header_is_not_a_header_lint() -> None:
    assert not any("leftmost" in m for m in build(trusted_proxies=["0.0.0.0/0"], header=None))


# -- a header named while nothing is trusted ---------------------------------------------


@pytest.mark.parametrize(
    "header", ["x-forwarded-for", "X-Forwarded-For", "forwarded", "x-real-ip", "cf-connecting-ip"]
)
def test_header_named_without_trusted_proxies_warns(header: str) -> None:
    messages = build(header=header)
    assert len(messages) == 1, messages
    assert header.lower() in messages[0] and "no proxy is trusted" in messages[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-arguments"),
        pytest.param({"header": None}, id="header-none"),
        pytest.param({"trusted_proxies": ["10.0.0.0/8"]}, id="trusted-default-header"),
        pytest.param(
            {
                "trusted_proxies": ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "unix"],
                "header": "forwarded",
            },
            id="disjoint-ranges",
        ),
        pytest.param({"trusted_proxies": ["10.0.0.0/9", "10.128.0.0/9"]}, id="adjacent-ranges"),
        pytest.param({"trusted_proxies": ["loopback", "cgnat", "link-local"]}, id="presets"),
    ],
)
def test_sound_configurations_are_silent(kwargs: Dict[str, Any]) -> None:
    assert build(**kwargs) == []


@pytest.mark.parametrize(
    "name", ["pod-to-pod", "nodeport-local", "lb-tcp", "lb-http", "ingress", "nodeport-cluster"]
)
def test_topology_presets_with_distinct_ranges_are_silent(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RealIPWarning)
        ranges = {
            "pod_cidrs": ["10.244.0.0/16"],
            "node_cidrs": ["192.168.0.0/24"],
            "lb_cidrs": ["100.64.0.0/10"],
        }
        used = TOPOLOGY_SPECS[name].options
        resolver = Resolver.for_topology(name, **{k: v for k, v in ranges.items() if k in used})
    assert resolver.warnings == ()


def test_cloudflare_single_header_through_the_cluster_warns() -> None:
    """CF-Connecting-IP forwarded by an ingress pod is whatever a CDN-bypassing client wrote."""
    messages = build_topology("cloudflare", pod_cidrs=["10.244.0.0/16"])
    assert len(messages) == 1 and "header='x-forwarded-for'" in messages[0], messages
    assert build_topology("cloudflare") == []
    assert build_topology("cloudflare", pod_cidrs=["10.244.0.0/16"], header="x-forwarded-for") == []


def build_topology(name: str, **kwargs: Any) -> List[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver = Resolver.for_topology(name, **kwargs)
    messages = [str(w.message) for w in caught if w.category is RealIPWarning]
    assert list(resolver.warnings) == messages
    return messages


# -- overlapping and redundant CIDRs -----------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "redundant", "container"),
    [
        pytest.param(["10.0.0.0/8", "10.1.0.0/16"], "10.1.0.0/16", "10.0.0.0/8", id="nested"),
        pytest.param(["10.1.0.0/16", "10.0.0.0/8"], "10.1.0.0/16", "10.0.0.0/8", id="nested-rev"),
        pytest.param(["10.0.0.0/8", "10.9.8.7"], "10.9.8.7/32", "10.0.0.0/8", id="single-address"),
        pytest.param(["fd00::/8", "fd00:1::/32"], "fd00:1::/32", "fd00::/8", id="ipv6"),
        pytest.param(
            ["private", "192.168.1.0/24"], "192.168.1.0/24", "192.168.0.0/16", id="inside-preset"
        ),
        pytest.param(
            ["100.64.0.0/10", "cgnat"], "100.64.0.0/10", "100.64.0.0/10", id="same-as-preset"
        ),
        pytest.param(
            ["100.64.0.0/10", "100.64.0.0/16"], "100.64.0.0/16", "100.64.0.0/10", id="same-start"
        ),
        pytest.param(
            ["100.64.0.0/16", "100.64.0.0/10"],
            "100.64.0.0/16",
            "100.64.0.0/10",
            id="same-start-rev",
        ),
    ],
)
def test_redundant_cidrs_warn_naming_the_redundant_one(
    entries: List[str], redundant: str, container: str
) -> None:
    messages = build(trusted_proxies=entries)
    assert len(messages) == 1, messages
    message = messages[0]
    assert redundant in message and container in message
    if redundant != container:
        # "X is redundant: Y already contains it" - never the other way round.
        assert message.index(redundant) < message.index("redundant")
        assert message.index(container) > message.index("redundant")


def test_a_cidr_listed_twice_warns_once() -> None:
    messages = build(trusted_proxies=["10.0.0.0/8", "10.0.0.0/8"])
    assert len(messages) == 1 and "10.0.0.0/8" in messages[0], messages


def test_lint_warnings_point_at_the_line_that_built_the_resolver() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Resolver(trusted_proxies=["0.0.0.0/0"])
        line = _line() - 1
        Resolver.for_topology("lb-http", lb_cidrs=["100.64.0.0/10", "100.64.1.0/24"])
        topology_line = _line() - 1
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line), (__file__, topology_line)]


def _line() -> int:
    import inspect

    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def test_warnings_come_once_at_construction_never_per_request() -> None:
    with pytest.warns(RealIPWarning) as record:
        resolver = Resolver(trusted_proxies=["0.0.0.0/0"])
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            resolver.resolve("10.0.0.1", {"X-Forwarded-For": "1.2.3.4, 5.6.7.8"})


def test_lints_can_be_made_fatal_and_are_shown_by_explain() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RealIPWarning)
        with pytest.raises(RealIPWarning, match=r"0\.0\.0\.0/0"):
            Resolver(trusted_proxies=["0.0.0.0/0"])
    with pytest.warns(RealIPWarning):
        resolver = Resolver(trusted_proxies=["::/0"], header="forwarded")
    shown = explain(resolver, "10.0.0.1", {"Forwarded": "for=1.2.3.4"}).warnings
    assert any("::/0" in w for w in shown)


def test_hop_mode_warns_that_it_needs_a_fixed_path() -> None:
    messages = build(header="x-forwarded-for", trusted_hops=2)
    assert len(messages) == 1 and "trusted_hops=2" in messages[0]


# -- meaningless configurations -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"trusted_proxies": ["10.0.0.1/8"]}, "'10.0.0.0/8'"),
        ({"trusted_proxies": ["fd00::1/8"]}, "'fd00::/8'"),
        ({"trusted_proxies": ["::ffff:10.0.0.0/104"]}, "'10.0.0.0/8'"),
        ({"trusted_proxies": ["::ffff:10.1.2.3"]}, "'10.1.2.3'"),
        ({"trusted_proxies": [ipaddress.ip_network("::ffff:0:0/96")]}, "'0.0.0.0/0'"),
        ({"trusted_proxies": ["privat"]}, "'privat'"),
        ({"trusted_proxies": ["10.0.0.0/33"]}, "'10.0.0.0/33'"),
        ({"trusted_proxies": ["fd00::/129"]}, "'fd00::/129'"),
        ({"trusted_proxies": ["10.0.0.256"]}, "'10.0.0.256'"),
        ({"trusted_proxies": ["10.0.0.0/8", "10.0.0.0/8/8"]}, "'10.0.0.0/8/8'"),
        ({"trusted_proxies": [b"10.0.0.0/8"]}, "b'10.0.0.0/8'"),
        ({"trusted_proxies": [42]}, "42"),
        ({"trusted_proxies": ["10.0.0.0/8"], "trusted_hops": 1}, "trusted_hops"),
        ({"header": "x-real-ip", "trusted_hops": 1}, "x-real-ip"),
        ({"header": "cf-connecting-ip", "trusted_hops": 2}, "cf-connecting-ip"),
        ({"header": None, "trusted_hops": 1}, "trusted_hops"),
        ({"trusted_hops": 0}, "0"),
        ({"trusted_hops": -1}, "-1"),
        ({"trusted_hops": True}, "True"),
        ({"trusted_hops": "2"}, "'2'"),
        ({"header": "X Forwarded For"}, "'X Forwarded For'"),
        ({"header": "HTTP_X_FORWARDED_FOR"}, "'x-forwarded-for'"),
    ],
)
def test_meaningless_configurations_raise_config_error(kwargs: Dict[str, Any], named: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        with pytest.raises(ConfigError) as info:
            Resolver(**kwargs)
    assert named in str(info.value)


def test_mapped_cidr_error_names_the_ipv4_form_to_write() -> None:
    with pytest.raises(ConfigError, match=r"::ffff:10\.0\.0\.0/104.*'10\.0\.0\.0/8'"):
        Resolver(trusted_proxies=["::ffff:10.0.0.0/104"])


@pytest.mark.parametrize(
    ("name", "kwargs", "named"),
    [
        ("ingres", {}, "'ingres'"),
        ("", {}, "''"),
        ("ingress", {}, "pod_cidrs"),
        ("lb-http", {}, "lb_cidrs"),
        ("nodeport-cluster", {}, "node_cidrs"),
        ("ingress", {"pod_cidrs": ["10.244.0.1/16"]}, "'10.244.0.0/16'"),
        ("pod-to-pod", {"header": "x-forwarded-for"}, "pod-to-pod"),
    ],
)
def test_unknown_or_incomplete_topologies_raise(
    name: str, kwargs: Dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Resolver.for_topology(name, **kwargs)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REALIP_TRUSTED_PROXIES": "10.0.0.1/8"}, "REALIP_TRUSTED_PROXIES"),
        ({"REALIP_TRUSTED_HOPS": "two"}, "REALIP_TRUSTED_HOPS"),
        ({"REALIP_TOPOLOGY": "ingres"}, "REALIP_TOPOLOGY"),
        ({"REALIP_TRUSTED_PROXIES": "10.0.0.0/8", "REALIP_TRUSTED_HOPS": "1"}, "REALIP_"),
    ],
)
def test_environment_errors_name_the_variable(env: Dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Resolver.from_env(env)


# -- trust that lets a client choose: PROXY senders, half the internet, embedded IPv4 -----


def _topology_messages(name: str, **kwargs: Any) -> List[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver = Resolver.for_topology(name, **kwargs)
    messages = [str(w.message) for w in caught if w.category is RealIPWarning]
    assert list(resolver.warnings) == messages
    return messages


EVERYTHING_SPELLINGS = [
    pytest.param(["0.0.0.0/0"], "every IPv4 address", id="v4"),
    pytest.param(["::/0"], "every IPv6 address", id="v6"),
    pytest.param(["0.0.0.0/1", "128.0.0.0/1"], "every IPv4 address", id="v4-halves"),
    pytest.param(["::/1", "8000::/1"], "every IPv6 address", id="v6-halves"),
]


@pytest.mark.parametrize(("ranges", "family"), EVERYTHING_SPELLINGS)
@pytest.mark.parametrize("option", ["lb_cidrs", "node_cidrs"])
def test_trusting_every_proxy_protocol_sender_warns(
    ranges: List[str], family: str, option: str
) -> None:
    """lb-tcp-proxy's ranges decide who may send a PROXY header (issue 20.3)."""
    kwargs: Dict[str, Any] = {"lb_cidrs": ["100.64.0.0/10"], option: ranges}
    messages = _topology_messages("lb-tcp-proxy", **kwargs)
    proxy = [m for m in messages if family in m and "PROXY protocol header" in m]
    assert len(proxy) == 1, messages
    assert "lb-tcp-proxy" in proxy[0] and "leftmost" not in proxy[0]


@pytest.mark.parametrize(("ranges", "family"), EVERYTHING_SPELLINGS)
def test_trusting_everything_with_no_header_warns_about_proxy_senders(
    ranges: List[str], family: str
) -> None:
    messages = build(trusted_proxies=ranges, header=None)
    assert len(messages) == 1, messages
    assert family in messages[0] and "PROXY protocol header" in messages[0]
    assert messages[0].startswith("trusted_proxies contains")


@pytest.mark.parametrize(
    ("ranges", "needle"),
    [
        pytest.param(["0.0.0.0/1"], "49% of the IPv4 address space:", id="half-of-ipv4"),
        pytest.param(["128.0.0.0/2"], "25% of the IPv4 address space:", id="quarter"),
        pytest.param(["16.0.0.0/4"], "6% of the IPv4 address space:", id="a-sixteenth"),
        pytest.param(["64:ff9b::/96"], "NAT64", id="nat64"),
        pytest.param(["64:ff9b::/97"], "NAT64", id="nat64-half"),
        pytest.param(["2002::/16"], "6to4", id="6to4"),
        pytest.param(["2002:8000::/17"], "6to4", id="6to4-half"),
        pytest.param(["2000::/3"], "global IPv6", id="global-unicast"),
        pytest.param(["::/1"], "global IPv6", id="v6-half"),
    ],
)
@pytest.mark.parametrize("header", ["x-forwarded-for", None])
def test_trusting_a_large_share_of_public_addresses_warns(
    ranges: List[str], needle: str, header: Optional[str]
) -> None:
    messages = build(trusted_proxies=ranges, header=header)
    wide = [m for m in messages if needle in m]
    assert len(wide) == 1, messages
    assert ranges[0] in wide[0] and "choose its own address" in wide[0]
    assert "every peer" not in wide[0]


@pytest.mark.parametrize(
    "ranges",
    [
        pytest.param(["17.0.0.0/8"], id="one-public-slash-8"),
        pytest.param(["64:ff9b::a00:1/128"], id="one-nat64-proxy"),
        pytest.param(["64:ff9b::a00:0/104"], id="nat64-of-a-private-range"),
        pytest.param(["2002:0a00::/24"], id="6to4-of-a-private-range"),
        pytest.param(["2600:1f00::/24"], id="a-cloud-ipv6-range"),
        pytest.param(["private", "loopback", "cgnat", "link-local"], id="presets"),
    ],
)
def test_narrow_or_non_public_trust_stays_silent(ranges: List[str]) -> None:
    assert build(trusted_proxies=ranges) == []
    assert build(trusted_proxies=ranges, header=None) == []


def test_cloudflare_ranges_are_not_too_wide() -> None:
    assert _topology_messages("cloudflare") == []


@pytest.mark.parametrize(
    "header",
    ["host", "Host", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "via"],
)
def test_headers_that_never_hold_an_address_are_refused(header: str) -> None:
    with pytest.raises(ConfigError, match="never holds the client's address") as info:
        Resolver(trusted_proxies=["10.0.0.0/8"], header=header)
    assert info.value.option == "header" and repr(header) in str(info.value)
    with pytest.raises(ConfigError, match="REALIP_HEADER"):
        Resolver.from_env({"REALIP_TRUSTED_PROXIES": "10.0.0.0/8", "REALIP_HEADER": header})
