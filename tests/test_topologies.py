"""Kubernetes topologies: every seed scenario resolves, every spoofing attempt fails."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from realip import TOPOLOGIES, ConfigError, Resolver
from realip._demo import SAMPLES, demo_resolver
from realip._topologies import CLOUDFLARE_RANGES, CLOUDFLARE_RANGES_DATE, TOPOLOGY_SPECS

PODS = ["10.244.0.0/16"]
NODES = ["192.168.0.0/24"]
LBS = ["100.64.0.0/10"]


def topo(name: str, **kw: Any) -> Resolver:
    used = TOPOLOGY_SPECS[name].options
    ranges = {"pod_cidrs": PODS, "node_cidrs": NODES, "lb_cidrs": LBS}
    return Resolver.for_topology(name, **{k: v for k, v in ranges.items() if k in used}, **kw)


def test_topology_names() -> None:
    assert set(TOPOLOGIES) >= {
        "pod-to-pod",
        "nodeport-local",
        "nodeport-cluster",
        "lb-tcp",
        "lb-http",
        "ingress",
        "cloudflare",
    }
    assert all(isinstance(d, str) and d for d in TOPOLOGIES.values())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.topology}:{s.note}")
def test_seed_samples(sample: Any) -> None:
    result = demo_resolver(sample.topology).resolve(sample.peer, sample.headers)
    assert result.client_ip == sample.expected
    if sample.spoof:
        assert result.client_ip != "6.6.6.6"


@pytest.mark.parametrize(
    ("name", "peer", "headers", "expected"),
    [
        ("pod-to-pod", "10.244.3.3", {"X-Forwarded-For": "1.1.1.1"}, "10.244.3.3"),
        ("nodeport-local", "203.0.113.9", {"Forwarded": "for=1.1.1.1"}, "203.0.113.9"),
        ("lb-tcp", "203.0.113.9", {"X-Real-IP": "1.1.1.1"}, "203.0.113.9"),
        ("lb-http", "100.100.1.1", {"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"),
        ("lb-http", "10.244.3.3", {"X-Forwarded-For": "203.0.113.9"}, "10.244.3.3"),
        ("ingress", "10.244.3.3", {"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"),
        (
            "ingress",
            "10.244.3.3",
            {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 100.64.0.9"},
            "203.0.113.9",
        ),
        ("ingress", "192.168.0.7", {"X-Forwarded-For": "6.6.6.6"}, "192.168.0.7"),
        ("cloudflare", "2400:cb00::1", {"CF-Connecting-IP": "2001:db8::9"}, "2001:db8::9"),
        ("cloudflare", "10.244.3.3", {"CF-Connecting-IP": "203.0.113.9"}, "203.0.113.9"),
        ("cloudflare", "203.0.113.50", {"CF-Connecting-IP": "6.6.6.6"}, "203.0.113.50"),
        ("cloudflare", "104.16.0.1", {"X-Forwarded-For": "6.6.6.6"}, "104.16.0.1"),
    ],
)
def test_topology_resolution(name: str, peer: str, headers: Any, expected: Optional[str]) -> None:
    assert topo(name).resolve(peer, headers).client_ip == expected


def test_nodeport_cluster_flags_snat_with_the_fix() -> None:
    res = topo("nodeport-cluster").resolve("192.168.0.12", {})
    assert res.snat is True and res.client_ip == "192.168.0.12"
    assert "externalTrafficPolicy: Local" in res.reason
    other = topo("nodeport-cluster").resolve("203.0.113.9", {})
    assert other.snat is False and other.client_ip == "203.0.113.9"
    # Under Local no node should stand between client and pod: a node peer means the policy
    # is not what the topology says, and node_cidrs flag it the same way.
    local = topo("nodeport-local").resolve("192.168.0.12", {})
    assert local.snat is True and "the app's Service" in local.reason


def test_header_override() -> None:
    r = topo("ingress", header="x-real-ip")
    assert r.header == "x-real-ip"
    assert r.resolve("10.244.3.3", {"X-Real-IP": "203.0.113.9"}).client_ip == "203.0.113.9"
    assert topo("cloudflare", header="true-client-ip").header == "true-client-ip"
    with pytest.raises(ConfigError, match="lb-tcp"):
        topo("lb-tcp", header="x-forwarded-for")


@pytest.mark.parametrize(
    ("name", "missing", "hint"),
    [
        ("ingress", "pod_cidrs", "cluster-cidr"),
        ("lb-http", "lb_cidrs", "100.64.0.0/10"),
        ("nodeport-cluster", "node_cidrs", "kubectl get nodes -o wide"),
    ],
)
def test_missing_cidrs_say_what_to_set(name: str, missing: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        Resolver.for_topology(name)
    assert missing in str(info.value) and hint in str(info.value)


def test_unknown_topology_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="known topologies: pod-to-pod"):
        Resolver.for_topology("ingres")


def test_bad_cidr_in_topology_is_named() -> None:
    with pytest.raises(ConfigError, match=r"10\.244\.0\.1/16"):
        Resolver.for_topology("ingress", pod_cidrs=["10.244.0.1/16"])


def test_peer_topologies_need_nothing() -> None:
    for name in ("pod-to-pod", "nodeport-local", "lb-tcp", "cloudflare"):
        assert Resolver.for_topology(name).topology == name


def test_cloudflare_snapshot_is_dated_and_valid() -> None:
    assert CLOUDFLARE_RANGES_DATE[:4].isdigit()
    assert len(CLOUDFLARE_RANGES) >= 20
    Resolver(trusted_proxies=CLOUDFLARE_RANGES, header="cf-connecting-ip")
