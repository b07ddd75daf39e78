"""Rule 1: parsing one address (ports, brackets, zones, IPv4-mapped, canonical form)."""

from __future__ import annotations

import ipaddress

import pytest

from realip._addresses import canonical, format_address, parse_address

VALID = [
    ("1.2.3.4", "1.2.3.4"),
    (" 1.2.3.4\t", "1.2.3.4"),
    ("1.2.3.4:80", "1.2.3.4"),
    ("1.2.3.4:65535", "1.2.3.4"),
    ("1.2.3.4:0", "1.2.3.4"),
    ("255.255.255.255", "255.255.255.255"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("[2001:db8::1]:4711", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("[fe80::2222%eth0]:4848", "fe80::2222"),
    ("::ffff:1.2.3.4", "1.2.3.4"),
    ("[::ffff:172.21.0.6]:4747", "172.21.0.6"),
    ("0:0:0:0:0:ffff:bc15:0006", "188.21.0.6"),
    ("::1", "::1"),
    ("::1.2.3.4", "::102:304"),  # IPv4-compatible (deprecated) is not mapped: stays IPv6
    ("64:ff9b::188.0.2.128", "64:ff9b::bc00:280"),
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
]

INVALID = [
    "",
    " ",
    "unknown",
    "_hidden",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.4.5",
    "256.1.1.1",
    "example.com",
    "1.2.3.4:",
    "1.2.3.4:65536",
    "1.2.3.4:123456",
    "1.2.3.4:\uff18\uff10",  # fullwidth digits are not ASCII digits
    "1.2.3.4:-1",
    "[1.2.3.4]",
    "[1.2.3.4]:80",
    "[2001:db8::1",
    "[2001:db8::1]x",
    "[2001:db8::1]:",
    "2001:db8::1:80:zz",
    "1::2::3",
    "fe80::1%",
    "fe80::1%eth 0",
    "0.0.0.0",
    "::",
    "[::]:80",
    "::ffff:0.0.0.0",
    "1.2.3.4\x00",
    "\uff11.\uff12.\uff13.\uff14",
    "\udcff",
    "1.2.3.4 5.6.7.8",
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid_addresses_are_canonicalised(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize("text", INVALID, ids=[repr(v) for v in INVALID])
def test_non_addresses_are_rejected(text: str) -> None:
    assert parse_address(text) is None


def test_mapped_and_plain_ipv4_are_the_same_address() -> None:
    assert parse_address("::ffff:10.0.0.1") == parse_address("10.0.0.1") == (4, 0x0A000001)


@pytest.mark.parametrize(
    "text", ["2001:db8::1", "::1", "1.2.3.4", "2001:db8:0:0:1::1", "::102:304", "1:0:0:1::"]
)
def test_format_matches_ipaddress(text: str) -> None:
    address = parse_address(text)
    assert address is not None
    assert format_address(address) == str(ipaddress.ip_address(text))
