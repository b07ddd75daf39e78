"""Resolver.from_env: the REALIP_* variables."""

from __future__ import annotations

import warnings
from typing import Dict

import pytest

from realip import ConfigError, RealIPWarning, Resolver
from realip.resolver import ENV_VARS


def test_nothing_set_trusts_nothing() -> None:
    r = Resolver.from_env({})
    assert r == Resolver() and r.header is None
    assert r.resolve("10.0.0.1", {"X-Forwarded-For": "1.1.1.1"}).client_ip == "10.0.0.1"


def test_empty_values_count_as_unset() -> None:
    assert Resolver.from_env({v: " " for v in ENV_VARS}) == Resolver()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"REALIP_TRUSTED_PROXIES": "10.0.0.0/8, cgnat"},
            Resolver(trusted_proxies=["10.0.0.0/8", "cgnat"]),
        ),
        (
            {"REALIP_TRUSTED_PROXIES": "10.0.0.0/8 192.168.0.0/16", "REALIP_HEADER": "X-Real-IP"},
            Resolver(trusted_proxies=["10.0.0.0/8", "192.168.0.0/16"], header="x-real-ip"),
        ),
        ({"REALIP_TRUSTED_HOPS": "2"}, None),
        (
            {
                "REALIP_TOPOLOGY": "ingress",
                "REALIP_POD_CIDRS": "10.244.0.0/16",
                "REALIP_LB_CIDRS": "100.64.0.0/10",
            },
            Resolver.for_topology(
                "ingress", pod_cidrs=["10.244.0.0/16"], lb_cidrs=["100.64.0.0/10"]
            ),
        ),
        (
            {
                "REALIP_TOPOLOGY": "nodeport-cluster",
                "REALIP_NODE_CIDRS": "192.168.0.0/24",
                "REALIP_POD_CIDRS": "10.244.0.0/16",
            },
            Resolver.for_topology("nodeport-cluster", node_cidrs=["192.168.0.0/24"]),
        ),
        (
            {"REALIP_TOPOLOGY": "Cloudflare", "REALIP_HEADER": "true-client-ip"},
            Resolver.for_topology("cloudflare", header="true-client-ip"),
        ),
    ],
)
def test_round_trips_with_constructors(env: Dict[str, str], expected: Resolver) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        if expected is None:
            expected = Resolver(header="x-forwarded-for", trusted_hops=2)
        assert Resolver.from_env(env) == expected


@pytest.mark.parametrize(
    ("env", "var"),
    [
        ({"REALIP_TRUSTED_PROXIES": "10.0.0.1/8"}, "REALIP_TRUSTED_PROXIES"),
        ({"REALIP_TRUSTED_HOPS": "two"}, "REALIP_TRUSTED_HOPS"),
        ({"REALIP_TRUSTED_HOPS": "0"}, "REALIP_TRUSTED_HOPS"),
        ({"REALIP_TOPOLOGY": "ingres"}, "REALIP_TOPOLOGY"),
        ({"REALIP_TOPOLOGY": "ingress"}, "REALIP_POD_CIDRS"),
        ({"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "10.244.0.0/33"}, "REALIP_POD_CIDRS"),
        ({"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "slb"}, "REALIP_LB_CIDRS"),
        ({"REALIP_TOPOLOGY": "lb-tcp", "REALIP_HEADER": "x-real-ip"}, "REALIP_HEADER"),
        ({"REALIP_TRUSTED_PROXIES": "10.0.0.0/8", "REALIP_HEADER": "bad header"}, "REALIP_HEADER"),
        ({"REALIP_POD_CIDRS": "10.244.0.0/16"}, "REALIP_TOPOLOGY"),
        ({"REALIP_TOPOLOGY": "ingress", "REALIP_TRUSTED_PROXIES": "10.0.0.0/8"}, "REALIP_TOPOLOGY"),
    ],
)
def test_invalid_values_name_the_variable(env: Dict[str, str], var: str) -> None:
    with pytest.raises(ConfigError) as info:
        Resolver.from_env(env)
    assert var in str(info.value)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALIP_TRUSTED_PROXIES", "10.0.0.0/8")
    assert Resolver.from_env() == Resolver(trusted_proxies=["10.0.0.0/8"])


def test_env_var_list_is_complete() -> None:
    assert set(ENV_VARS) == {
        "REALIP_TOPOLOGY",
        "REALIP_TRUSTED_PROXIES",
        "REALIP_HEADER",
        "REALIP_TRUSTED_HOPS",
        "REALIP_POD_CIDRS",
        "REALIP_NODE_CIDRS",
        "REALIP_LB_CIDRS",
        "REALIP_REQUIRE_HEADER",
    }
