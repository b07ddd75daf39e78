"""Trusted networks: parsing CIDRs and presets, errors at configuration, membership."""

from __future__ import annotations

import ipaddress

import pytest

from realip import ConfigError
from realip._addresses import parse_address
from realip._networks import NetworkSet, parse_networks


def nset(*entries: object) -> NetworkSet:
    return NetworkSet(parse_networks(entries))


@pytest.mark.parametrize(
    ("entries", "inside", "outside"),
    [
        (["10.0.0.0/8"], ["10.0.0.1", "10.255.255.255"], ["11.0.0.0", "9.255.255.255"]),
        (["10.0.0.1"], ["10.0.0.1"], ["10.0.0.2"]),
        (["2001:db8::/32"], ["2001:db8::1", "2001:db8:ffff::"], ["2001:db9::", "10.0.0.1"]),
        (["loopback"], ["127.0.0.1", "127.255.0.1", "::1"], ["128.0.0.1", "::2"]),
        (
            ["private"],
            ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fd00::1"],
            ["172.32.0.1", "192.169.0.1", "8.8.8.8", "fe80::1"],
        ),
        (["link-local"], ["169.254.1.1", "fe80::1"], ["169.253.1.1", "fec0::1"]),
        (["cgnat"], ["100.64.0.1", "100.127.255.255"], ["100.128.0.0", "100.63.255.255"]),
        (["0.0.0.0/0"], ["1.2.3.4", "255.255.255.255"], ["2001:db8::1"]),
        (["::/0"], ["2001:db8::1", "::1"], ["1.2.3.4"]),
        (
            [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_address("192.0.2.1")],
            ["10.9.9.9", "192.0.2.1"],
            ["192.0.2.2"],
        ),
        (
            ["10.0.0.0/8, 192.168.0.0/16 cgnat"],
            ["10.0.0.1", "192.168.3.3", "100.64.1.1"],
            ["8.8.8.8"],
        ),
        (["10.0.0.0/16", "10.0.1.0/24", "10.1.0.0/16"], ["10.0.200.1", "10.1.0.1"], ["10.2.0.1"]),
    ],
    ids=lambda v: ",".join(map(str, v)) if isinstance(v, list) else None,
)
def test_membership(entries: list, inside: list, outside: list) -> None:
    networks = nset(*entries)
    for text in inside:
        assert parse_address(text) in networks, text
    for text in outside:
        assert parse_address(text) not in networks, text


def test_ipv4_mapped_address_is_checked_as_ipv4() -> None:
    networks = nset("10.0.0.0/8")
    assert parse_address("::ffff:10.1.2.3") in networks


def test_unix_preset_is_a_flag_not_a_range() -> None:
    networks = nset("unix")
    assert networks.unix and not networks.empty
    assert parse_address("127.0.0.1") not in networks


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.0.0.1/8", "did you mean '10.0.0.0/8'"),
        ("10.0.0.0/33", "'10.0.0.0/33'"),
        ("2001:db8::/129", "'2001:db8::/129'"),
        ("10.0.0.0/8x", "'10.0.0.0/8x'"),
        ("privte", "presets are: cgnat, link-local, loopback, private, unix"),
        ("::ffff:10.0.0.0/104", "write '10.0.0.0/8' instead"),
        ("::ffff:10.0.0.1", "write '10.0.0.1' instead"),
        ("fe80::1%eth0", "'fe80::1%eth0'"),
        (b"10.0.0.0/8", "bytes"),
        (10, "(int)"),
    ],
)
def test_bad_entries_raise_config_error_naming_them(entry: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        parse_networks([entry])
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_mapped_network_object_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"10\.0\.0\.0/24"):
        parse_networks([ipaddress.ip_network("::ffff:10.0.0.0/120")])


def test_many_cidrs_are_merged_into_few_ranges() -> None:
    entries = [f"10.{i}.0.0/16" for i in range(256)]
    networks = nset(*entries)
    assert networks == nset("10.0.0.0/8")
    assert parse_address("10.200.1.1") in networks


def test_overlaps_are_reported() -> None:
    assert nset("10.0.0.0/8", "10.1.0.0/16").overlaps() == [("10.0.0.0/8", "10.1.0.0/16")]
    assert nset("10.0.0.0/8", "10.0.0.0/8").overlaps() == [("10.0.0.0/8", "10.0.0.0/8")]
    assert nset("10.0.0.0/8", "11.0.0.0/8", "private").overlaps() == [
        ("10.0.0.0/8", "10.0.0.0/8 (private)")
    ]
    assert nset("10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32").overlaps() == []


def test_matches_names_every_entry_containing_the_address() -> None:
    networks = nset("10.0.0.0/8", "private", "10.1.0.0/16")
    address = parse_address("10.1.2.3")
    assert address is not None
    assert networks.matches(address) == ["10.0.0.0/8", "private", "10.1.0.0/16"]
