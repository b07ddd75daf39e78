"""The resolution rules of the core, one table per rule (numbers refer to the core issue)."""

from __future__ import annotations

import ipaddress
import warnings
from typing import Any, List, Optional, Tuple

import pytest

from realip import ConfigError, RealIPWarning, Resolver, Result
from realip.resolver import MAX_ITEMS

XFF = "X-Forwarded-For"
TRUST_10 = Resolver(trusted_proxies=["10.0.0.0/8"])
TRUST_10_UNIX = Resolver(trusted_proxies=["10.0.0.0/8", "unix"])
FWD = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
REAL = Resolver(trusted_proxies=["10.0.0.0/8"], header="x-real-ip")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RealIPWarning)  # hop mode warns by design
    HOPS2 = Resolver(header="x-forwarded-for", trusted_hops=2)
    HOPS1_FWD = Resolver(header="forwarded", trusted_hops=1)
PEER_ONLY = Resolver(header=None)
DEFAULT = Resolver()

Case = Tuple[str, Resolver, Any, Any, Optional[str]]


def cases(*rows: Case) -> Any:
    return pytest.mark.parametrize(
        ("resolver", "remote_addr", "headers", "expected"),
        [pytest.param(r, a, h, e, id=i) for i, r, a, h, e in rows],
    )


def test_issue_example() -> None:
    r = Resolver(trusted_proxies=["10.0.0.0/8", "100.64.0.0/10"], header="x-forwarded-for")
    res = r.resolve("10.0.3.4", {"X-Forwarded-For": "203.0.113.9, 10.0.1.2"})
    assert res.client_ip == "203.0.113.9"
    assert res.source == "x-forwarded-for"
    assert res.proxies == ("10.0.3.4", "10.0.1.2")
    assert res.snat is False
    assert res.ip_address == ipaddress.ip_address("203.0.113.9")
    assert "rightmost untrusted x-forwarded-for entry" in res.reason


# Rule 2: header=None, and peers without an IP.
@cases(
    ("peer-ipv4", PEER_ONLY, "192.0.2.1", {XFF: "1.1.1.1"}, "192.0.2.1"),
    ("peer-with-port", PEER_ONLY, "192.0.2.1:5555", {}, "192.0.2.1"),
    ("peer-v6-port", PEER_ONLY, "[2001:DB8::1]:443", {}, "2001:db8::1"),
    ("peer-tuple", PEER_ONLY, ("192.0.2.1", 5555), {}, "192.0.2.1"),
    ("peer-list", PEER_ONLY, ["192.0.2.1", 5555], {}, "192.0.2.1"),
    ("peer-mapped", PEER_ONLY, "::ffff:192.0.2.1", {}, "192.0.2.1"),
    ("peer-none", PEER_ONLY, None, {}, None),
    ("peer-empty", PEER_ONLY, "", {}, None),
    ("peer-unix-path", PEER_ONLY, "/run/app.sock", {}, None),
    ("peer-unix-scheme", PEER_ONLY, "unix:/run/app.sock", {}, None),
    ("peer-garbage", PEER_ONLY, "not-an-ip", {}, None),
    ("peer-unspecified", PEER_ONLY, "0.0.0.0", {}, None),
    ("peer-int", PEER_ONLY, 12345, {}, None),
    ("peer-empty-tuple", PEER_ONLY, (), {}, None),
    ("default-ignores-headers", DEFAULT, "192.0.2.1", {XFF: "1.1.1.1"}, "192.0.2.1"),
    ("unix-peer-trusted", TRUST_10_UNIX, "/run/app.sock", {XFF: "203.0.113.9"}, "203.0.113.9"),
    ("unix-peer-none-trusted", TRUST_10_UNIX, None, {XFF: "203.0.113.9"}, "203.0.113.9"),
    ("unix-peer-not-trusted", TRUST_10, "/run/app.sock", {XFF: "203.0.113.9"}, None),
    ("unix-peer-trusted-no-header", TRUST_10_UNIX, None, {}, None),
    ("unix-peer-walk-hits-unix-peer", TRUST_10_UNIX, None, {XFF: "10.0.0.1"}, "10.0.0.1"),
)
def test_rule2_peer(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


# Rule 3: an untrusted peer is the client; headers ignored.
@cases(
    ("untrusted-peer", TRUST_10, "203.0.113.9", {XFF: "1.1.1.1"}, "203.0.113.9"),
    ("untrusted-peer-forwarded", FWD, "203.0.113.9", {"Forwarded": "for=1.1.1.1"}, "203.0.113.9"),
    ("untrusted-peer-real-ip", REAL, "203.0.113.9", {"X-Real-IP": "1.1.1.1"}, "203.0.113.9"),
    ("untrusted-peer-garbage-header", TRUST_10, "203.0.113.9", {XFF: '"\x00'}, "203.0.113.9"),
    ("garbage-peer-never-trusted", TRUST_10, "10.0.0.1x", {XFF: "1.1.1.1"}, None),
)
def test_rule3_untrusted_peer(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


# Rule 4: walk the list from the right.
@cases(
    ("one-hop", TRUST_10, "10.0.0.2", {XFF: "203.0.113.9"}, "203.0.113.9"),
    ("skip-trusted", TRUST_10, "10.0.0.2", {XFF: "203.0.113.9, 10.0.0.5, 10.1.1.1"}, "203.0.113.9"),
    (
        "spoofed-prefix",
        TRUST_10,
        "10.0.0.2",
        {XFF: "6.6.6.6, 203.0.113.9, 10.0.0.5"},
        "203.0.113.9",
    ),
    ("all-trusted-leftmost", TRUST_10, "10.0.0.2", {XFF: "10.9.9.9, 10.0.0.5"}, "10.9.9.9"),
    ("invalid-before-client", TRUST_10, "10.0.0.2", {XFF: "203.0.113.9, garbage, 10.0.0.5"}, None),
    ("invalid-left-of-client", TRUST_10, "10.0.0.2", {XFF: "garbage, 203.0.113.9"}, "203.0.113.9"),
    ("unknown-entry", TRUST_10, "10.0.0.2", {XFF: "unknown"}, None),
    ("empty-elements-ignored", TRUST_10, "10.0.0.2", {XFF: "1.2.3.4,, 10.0.0.7"}, "1.2.3.4"),
    ("trailing-comma", TRUST_10, "10.0.0.2", {XFF: "1.2.3.4, 10.0.0.7, "}, "1.2.3.4"),
    ("absent-header", TRUST_10, "10.0.0.2", {}, "10.0.0.2"),
    ("only-empty-elements", TRUST_10, "10.0.0.2", {XFF: " , ,, "}, "10.0.0.2"),
    ("empty-header", TRUST_10, "10.0.0.2", {XFF: ""}, "10.0.0.2"),
    (
        "ports-dropped",
        TRUST_10,
        "10.0.0.2:3333",
        {XFF: "203.0.113.9:4444, 10.0.0.5:80"},
        "203.0.113.9",
    ),
    ("ipv6-entry", TRUST_10, "10.0.0.2", {XFF: "[2001:DB8::9]:1234"}, "2001:db8::9"),
    (
        "mapped-trusted-hop",
        TRUST_10,
        "10.0.0.2",
        {XFF: "203.0.113.9, ::ffff:10.0.0.5"},
        "203.0.113.9",
    ),
    ("mapped-peer-trusted", TRUST_10, "::ffff:10.0.0.2", {XFF: "203.0.113.9"}, "203.0.113.9"),
    ("unspecified-entry", TRUST_10, "10.0.0.2", {XFF: "0.0.0.0"}, None),
    (
        "quotes-mean-nothing-in-xff",
        TRUST_10,
        "10.0.0.2",
        {XFF: '"1.2.3.4", 203.0.113.9'},
        "203.0.113.9",
    ),
    ("quoted-xff-entry-invalid", TRUST_10, "10.0.0.2", {XFF: '"1.2.3.4"'}, None),
    (
        "repeated-headers-combined",
        TRUST_10,
        "10.0.0.2",
        [("X-Forwarded-For", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9, 10.0.0.3")],
        "203.0.113.9",
    ),
    ("bytes-pairs", TRUST_10, "10.0.0.2", [(b"x-forwarded-for", b"203.0.113.9")], "203.0.113.9"),
    (
        "wsgi-environ",
        TRUST_10,
        "10.0.0.2",
        {"wsgi.version": (1, 0), "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.5"},
        "203.0.113.9",
    ),
    (
        "client-headers-posing-as-an-environ",
        TRUST_10,
        "10.0.0.2",
        {"REQUEST_METHOD": "GET", "wsgi.version": "(1, 0)", "HTTP_X_FORWARDED_FOR": "6.6.6.6"},
        "10.0.0.2",
    ),
    (
        "wsgi-key-in-plain-headers-is-not-the-header",
        TRUST_10,
        "10.0.0.2",
        {"HTTP_X_FORWARDED_FOR": "6.6.6.6"},
        "10.0.0.2",
    ),
    (
        "underscore-name-is-not-the-header",
        TRUST_10,
        "10.0.0.2",
        [("X-Forwarded-For", "203.0.113.9"), ("HTTP_X_FORWARDED_FOR", "6.6.6.6")],
        "203.0.113.9",
    ),
    (
        "many-empty-elements-do-not-count",
        TRUST_10,
        "10.0.0.2",
        {XFF: "203.0.113.9" + "," * 500 + " 10.0.0.5,,,"},
        "203.0.113.9",
    ),
)
def test_rule4_list_walk(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


def test_rule4_fail_closed_names_the_entry() -> None:
    res = TRUST_10.resolve("10.0.0.2", {XFF: "203.0.113.9, garbage, 10.0.0.5"})
    assert res.client_ip is None
    assert "'garbage'" in res.reason and "fail closed" in res.reason
    assert res.proxies == ("10.0.0.2", "10.0.0.5")


def test_rule4_all_trusted_leftmost_is_not_listed_as_a_proxy() -> None:
    res = TRUST_10.resolve("10.0.0.2", {XFF: "10.9.9.9, 10.0.0.5"})
    assert res.proxies == ("10.0.0.2", "10.0.0.5")
    assert "leftmost" in res.reason


# Rule 5: single-IP headers.
@cases(
    ("single", REAL, "10.0.0.2", {"X-Real-IP": "203.0.113.9"}, "203.0.113.9"),
    ("single-port", REAL, "10.0.0.2", {"X-Real-IP": "203.0.113.9:4321"}, "203.0.113.9"),
    ("single-v6-port", REAL, "10.0.0.2", {"X-Real-IP": "[2001:db8::9]:1"}, "2001:db8::9"),
    (
        "repeated-last-wins",
        REAL,
        "10.0.0.2",
        [("X-Real-IP", "6.6.6.6"), ("X-Real-IP", "203.0.113.9")],
        "203.0.113.9",
    ),
    (
        "comma-list-last-wins",
        REAL,
        "10.0.0.2",
        {"X-Real-IP": "6.6.6.6, 203.0.113.9"},
        "203.0.113.9",
    ),
    (
        "client-cannot-sabotage",
        REAL,
        "10.0.0.2",
        [("X-Real-IP", "garbage"), ("X-Real-IP", "203.0.113.9")],
        "203.0.113.9",
    ),
    ("absent", REAL, "10.0.0.2", {}, "10.0.0.2"),
    ("only-empty", REAL, "10.0.0.2", {"X-Real-IP": " , "}, "10.0.0.2"),
    ("not-an-address", REAL, "10.0.0.2", {"X-Real-IP": "nope"}, None),
    ("two-in-one-value", REAL, "10.0.0.2", {"X-Real-IP": "1.2.3.4 5.6.7.8"}, None),
    ("trusted-address-still-answer", REAL, "10.0.0.2", {"X-Real-IP": "10.0.0.9"}, "10.0.0.9"),
    (
        "case-insensitive-name",
        Resolver(trusted_proxies=["10.0.0.0/8"], header="CF-Connecting-IP"),
        "10.0.0.2",
        {"cf-connecting-ip": "203.0.113.9"},
        "203.0.113.9",
    ),
)
def test_rule5_single_ip_header(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


# Rule 6: hop counting.
@cases(
    ("hops-exact", HOPS2, "198.51.100.1", {XFF: "203.0.113.9, 10.0.0.5"}, "203.0.113.9"),
    (
        "hops-spoofed-prefix",
        HOPS2,
        "198.51.100.1",
        {XFF: "6.6.6.6, 203.0.113.9, 10.0.0.5"},
        "203.0.113.9",
    ),
    ("hops-too-few", HOPS2, "198.51.100.1", {XFF: "10.0.0.5"}, None),
    # In hop mode the peer is a proxy by assumption: a missing or empty header is a chain
    # shorter than the hop count, like "hops-too-few", never the proxy as the client.
    ("hops-absent", HOPS2, "198.51.100.1", {}, None),
    ("hops-only-empty", HOPS2, "198.51.100.1", {XFF: ", ,"}, None),
    (
        "hops-empties-do-not-count",
        HOPS2,
        "198.51.100.1",
        {XFF: "203.0.113.9,, ,10.0.0.5,"},
        "203.0.113.9",
    ),
    ("hops-invalid-target", HOPS2, "198.51.100.1", {XFF: "junk, 10.0.0.5"}, None),
    (
        "hops-invalid-skipped-entry",
        HOPS2,
        "198.51.100.1",
        {XFF: "203.0.113.9, junk"},
        "203.0.113.9",
    ),
    (
        "hops-forwarded",
        HOPS1_FWD,
        "198.51.100.1",
        {"Forwarded": "for=6.6.6.6, for=203.0.113.9"},
        "203.0.113.9",
    ),
)
def test_rule6_hops(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


# Rule 7: RFC 7239 Forwarded.
F = "Forwarded"


@cases(
    ("basic", FWD, "10.0.0.2", {F: "for=203.0.113.9"}, "203.0.113.9"),
    ("quoted-v6-port", FWD, "10.0.0.2", {F: 'for="[2001:db8::1]:4711"'}, "2001:db8::1"),
    (
        "several-elements",
        FWD,
        "10.0.0.2",
        {F: "for=6.6.6.6, for=203.0.113.9;proto=https, for=10.0.0.7"},
        "203.0.113.9",
    ),
    (
        "several-headers",
        FWD,
        "10.0.0.2",
        [(F, "for=6.6.6.6"), (F, "for=203.0.113.9")],
        "203.0.113.9",
    ),
    ("ows-and-case", FWD, "10.0.0.2", {F: "proto=https ; For = 203.0.113.9"}, "203.0.113.9"),
    ("escapes", FWD, "10.0.0.2", {F: 'for="203.0.113.\\9"'}, "203.0.113.9"),
    (
        "sabotage-unbalanced-quote",
        FWD,
        "10.0.0.2",
        {F: 'for="6.6.6.6, for=203.0.113.9, for=10.0.0.7'},
        "203.0.113.9",
    ),
    (
        "sabotage-quoted-comma-in-client-part",
        FWD,
        "10.0.0.2",
        {F: 'for="1.1.1.1, for=2.2.2.2", for=203.0.113.9'},
        "203.0.113.9",
    ),
    ("quoted-comma-breaks-own-element", FWD, "10.0.0.2", {F: 'for="203.0.113.9, x"'}, None),
    ("no-for", FWD, "10.0.0.2", {F: "proto=https"}, None),
    ("two-fors", FWD, "10.0.0.2", {F: "for=1.1.1.1;for=203.0.113.9"}, None),
    ("junk-after-quote", FWD, "10.0.0.2", {F: 'for="203.0.113.9"junk'}, None),
    ("unknown", FWD, "10.0.0.2", {F: "for=unknown"}, None),
    ("obfuscated", FWD, "10.0.0.2", {F: "for=_abc"}, None),
    ("obfuscated-left-of-client", FWD, "10.0.0.2", {F: "for=_abc, for=203.0.113.9"}, "203.0.113.9"),
    (
        "trusted-obfuscated-hop-fails-closed",
        FWD,
        "10.0.0.2",
        {F: "for=203.0.113.9, for=_proxy"},
        None,
    ),
    ("all-trusted", FWD, "10.0.0.2", {F: "for=10.1.1.1, for=10.0.0.7"}, "10.1.1.1"),
    ("xff-ignored-by-forwarded-resolver", FWD, "10.0.0.2", {XFF: "6.6.6.6"}, "10.0.0.2"),
)
def test_rule7_forwarded(
    resolver: Resolver, remote_addr: Any, headers: Any, expected: Optional[str]
) -> None:
    assert resolver.resolve(remote_addr, headers).client_ip == expected


# Rule 8: bounded work, never raises.
def test_rule8_long_header_is_walked_only_as_far_as_needed() -> None:
    padded = ", ".join(["6.6.6.6"] * 10_000) + ", 203.0.113.9, 10.0.0.5"
    assert TRUST_10.resolve("10.0.0.2", {XFF: padded}).client_ip == "203.0.113.9"


def test_rule8_too_many_trusted_hops_fail_closed() -> None:
    chain = ", ".join(["10.0.0.9"] * (MAX_ITEMS + 5))
    res = TRUST_10.resolve("10.0.0.2", {XFF: chain})
    assert res.client_ip is None and str(MAX_ITEMS) in res.reason
    # Empty items don't count, but skipping them is bounded: a run longer than MAX_EMPTY_RUN
    # characters is padding, and the walk fails closed rather than scanning it.
    from realip._headers import MAX_EMPTY_RUN

    res = TRUST_10.resolve("10.0.0.2", {XFF: "," * (MAX_EMPTY_RUN - 10)})
    assert res.client_ip == "10.0.0.2" and "empty" in res.reason
    res = TRUST_10.resolve("10.0.0.2", {XFF: "203.0.113.9" + "," * 70_000})
    assert res.client_ip is None and "fail closed" in res.reason
    res = TRUST_10.resolve("10.0.0.2", {XFF: "6.6.6.6" + "," * 70_000 + "203.0.113.9, 10.0.0.5"})
    assert res.client_ip == "203.0.113.9"  # padding left of the client is never reached
    res = REAL.resolve("10.0.0.2", {"X-Real-IP": "203.0.113.9" + "," * 70_000})
    assert res.client_ip is None and "fail closed" in res.reason


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        [],
        {XFF: "\x00\xff\ud800"},
        [(b"x-forwarded-for", b"\xff\xfe\x00")],
        {XFF: None},  # "not set", as some frameworks and mocks spell it
    ],
)
@pytest.mark.parametrize("resolver", [TRUST_10, FWD, REAL, HOPS2, PEER_ONLY])
def test_rule8_hostile_input_never_raises(resolver: Resolver, headers: Any) -> None:
    res = resolver.resolve("10.0.0.2", headers)
    assert isinstance(res, Result) and res.reason


@pytest.mark.parametrize(
    "headers",
    [
        [("x-forwarded-for",)],
        42,
        "not headers",
        [(None, None)],
        [(XFF, "203.0.113.9"), ("broken",)],
    ],
)
@pytest.mark.parametrize("resolver", [TRUST_10, FWD, REAL, HOPS2])
def test_rule8_a_container_realip_cannot_read_is_a_type_error(
    resolver: Resolver, headers: Any
) -> None:
    # The container comes from the program, not the client: answering with the proxy's own
    # address because the headers could not be read would hide the bug (and misattribute
    # every request), so it is a TypeError that names the container.
    with pytest.raises(TypeError, match=r"headers|header names|value of header"):
        resolver.resolve("10.0.0.2", headers)


def test_reason_explains_untrusted_peer() -> None:
    res = TRUST_10.resolve("203.0.113.9", {XFF: "1.1.1.1"})
    assert res.source == "remote_addr" and res.proxies == ()
    assert "not a trusted proxy" in res.reason


# Configuration.
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trusted_proxies": ["10.0.0.0/8"], "trusted_hops": 1}, "combined with trusted_proxies"),
        ({"header": "x-real-ip", "trusted_hops": 1}, "needs a list header"),
        ({"header": None, "trusted_hops": 1}, "needs a list header"),
        ({"trusted_hops": 0}, "trusted_hops: 0"),
        ({"trusted_hops": True}, "trusted_hops: True"),
        ({"trusted_hops": "2"}, "trusted_hops: '2'"),
        ({"header": "X_Forwarded_For"}, "'x-forwarded-for'"),
        ({"header": "x_real_ip"}, "underscore"),
        ({"require_header": "yes"}, "require_header: 'yes'"),
        ({"trusted_hops": MAX_ITEMS + 1}, f"between 1 and {MAX_ITEMS}"),
        ({"header": "X Forwarded For"}, "'X Forwarded For'"),
        ({"header": ""}, "''"),
        ({"header": "HTTP_X_REAL_IP"}, "'x-real-ip'"),
        ({"header": 5}, "5"),
        ({"trusted_proxies": ["10.0.0.1/8"]}, "'10.0.0.1/8'"),
    ],
)
def test_config_errors_name_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Resolver(**kwargs)
    assert message in str(info.value)
    assert info.value.option in kwargs  # the option at fault, for front ends to respell


def test_constructor_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        Resolver(["10.0.0.0/8"])  # type: ignore[misc]


def test_default_resolver_is_quiet() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Resolver().warnings == ()
        assert Resolver(trusted_proxies=["10.0.0.0/8"]).warnings == ()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"trusted_proxies": ["0.0.0.0/0"]}, "leftmost"),
        ({"trusted_proxies": ["::/0"], "header": "forwarded"}, "leftmost"),
        ({"header": "x-real-ip"}, "never read"),
        ({"header": "x-forwarded-for"}, "never read"),
        ({"trusted_proxies": ["10.0.0.0/8", "10.1.0.0/16"]}, "redundant"),
        ({"header": "x-forwarded-for", "trusted_hops": 1}, "hop counting"),
    ],
)
def test_lints_warn_once_at_construction(kwargs: dict, needle: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolver = Resolver(**kwargs)
        resolver.resolve("10.0.0.2", {XFF: "1.2.3.4"})
    messages: List[str] = [str(w.message) for w in caught if w.category is RealIPWarning]
    assert len(messages) == 1 and needle in messages[0]
    assert resolver.warnings == tuple(messages)


def test_resolver_equality_and_repr() -> None:
    assert Resolver(trusted_proxies=["10.0.0.0/8"]) == Resolver(trusted_proxies="10.0.0.0/8")
    assert Resolver(trusted_proxies=["10.0.0.0/8"]) != Resolver(trusted_proxies=["10.0.0.0/9"])
    assert "10.0.0.0/8" in repr(TRUST_10)
    assert TRUST_10.header == "x-forwarded-for" and DEFAULT.header is None


def test_result_is_immutable() -> None:
    res = TRUST_10.resolve("10.0.0.2", {XFF: "203.0.113.9"})
    with pytest.raises(AttributeError):
        res.client_ip = "1.1.1.1"  # type: ignore[misc]
    assert res.peer == "10.0.0.2" and res.via_proxies
    assert DEFAULT.resolve(None, {}).ip_address is None


def test_memo_of_trusted_addresses_is_bounded_and_never_changes_an_answer() -> None:
    from realip.resolver import _MEMO_SIZE

    r = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
    fresh = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
    for i in range(3 * _MEMO_SIZE):
        hop = f"10.{i % 256}.{i // 256}.1"
        headers = {"Forwarded": f"for=203.0.113.9, for={hop};proto=https"}
        first = r.resolve(f"10.0.{i % 256}.2", headers)
        assert r.resolve(f"10.0.{i % 256}.2", headers) == first  # a memo hit, same answer
        assert first.client_ip == "203.0.113.9" and first.proxies[-1] == hop
    assert len(r._memo) == _MEMO_SIZE and len(r._peer_memo) <= _MEMO_SIZE
    # Untrusted texts never go in, whatever a client sends.
    for i in range(100):
        r.resolve("10.0.0.2", {"Forwarded": f"for=198.51.{i}.7"})
    assert "for=198.51.0.7" not in r._memo and "198.51.0.7" not in r._memo
    assert r.resolve("10.9.9.9", {"Forwarded": "for=10.1.1.1"}) == fresh.resolve(
        "10.9.9.9", {"Forwarded": "for=10.1.1.1"}
    )
    # A trusted peer's text is not a trusted Forwarded element: "10.0.0.2" without for= is
    # malformed in the header whether or not the same text was seen as a peer.
    r2 = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
    r2.resolve("10.0.0.2", {})
    res = r2.resolve("10.0.0.3", {"Forwarded": "for=6.6.6.6, 10.0.0.2"})
    assert res.client_ip is None and "well-formed" in res.reason
