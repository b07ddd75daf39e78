"""A node address wherever realip chooses a client means SNAT (issue 17): every topology x
(node address as the peer, as the client's header entry, as a trusted hop's entry)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from realip import ConfigError, Resolver
from realip._topologies import TOPOLOGY_SPECS

# cloudflare trusts both ranges, so the cni0 /32 inside the pod CIDR is (rightly) linted.
pytestmark = pytest.mark.filterwarnings("ignore:trusted proxy .* is redundant")

PODS = ["10.244.0.0/16"]
NODES = ["192.168.0.0/24", "10.244.9.1/32"]  # an InternalIP range and a flannel cni0 address
LBS = ["100.64.0.0/10"]
NODE = "192.168.0.12"
CNI0 = "10.244.9.1"  # inside the pod CIDR that ingress pods are trusted by
INGRESS_POD = "10.244.2.15"
LB = "100.64.0.5"
CLIENT = "203.0.113.9"


def resolver(name: str) -> Resolver:
    ranges: Dict[str, List[str]] = {"pod_cidrs": PODS, "node_cidrs": NODES, "lb_cidrs": LBS}
    used = TOPOLOGY_SPECS[name].options
    return Resolver.for_topology(name, **{k: v for k, v in ranges.items() if k in used})


# topology, peer, headers, expected client, snat, service named in the reason (or None)
CASES = [
    # -- the node address is the peer
    ("nodeport-local", NODE, {}, NODE, True, "the app's Service"),
    ("nodeport-cluster", NODE, {}, NODE, True, "the app's Service"),
    ("nodeport-cluster", CNI0, {"X-Forwarded-For": "6.6.6.6"}, CNI0, True, "the app's Service"),
    ("lb-tcp", NODE, {}, NODE, True, "the app's Service"),
    ("lb-http", NODE, {"X-Forwarded-For": CLIENT}, NODE, True, "backend Service"),
    ("ingress", NODE, {"X-Forwarded-For": "6.6.6.6"}, NODE, True, "ingress controller"),
    ("ingress", CNI0, {"X-Forwarded-For": "6.6.6.6"}, CNI0, True, "ingress controller"),
    # -- the node address is the client's entry, written by a trusted proxy
    ("ingress", INGRESS_POD, {"X-Forwarded-For": NODE}, NODE, True, "ingress controller"),
    ("ingress", INGRESS_POD, {"X-Forwarded-For": f"6.6.6.6, {NODE}"}, NODE, True, "ingress"),
    ("ingress", INGRESS_POD, {"X-Forwarded-For": f"6.6.6.6, {CNI0}"}, CNI0, True, "ingress"),
    ("ingress", INGRESS_POD, {"X-Forwarded-For": f"{NODE}, {LB}"}, NODE, True, "ingress"),
    ("lb-http", LB, {"X-Forwarded-For": NODE}, NODE, True, "backend Service"),
    # -- the node address sits right of the client as a would-be hop: never walked past
    ("ingress", INGRESS_POD, {"X-Forwarded-For": f"{CLIENT}, {CNI0}"}, CNI0, True, "ingress"),
    ("lb-http", LB, {"X-Forwarded-For": f"{CLIENT}, {NODE}"}, NODE, True, "backend Service"),
    # -- lb-tcp-proxy trusts node addresses as PROXY senders; cloudflare as proxies
    ("lb-tcp-proxy", CLIENT, {}, CLIENT, False, None),
    ("cloudflare", NODE, {"CF-Connecting-IP": CLIENT}, CLIENT, False, None),
    # -- controls: no node address anywhere
    ("ingress", INGRESS_POD, {"X-Forwarded-For": f"6.6.6.6, {CLIENT}"}, CLIENT, False, None),
    ("lb-http", LB, {"X-Forwarded-For": CLIENT}, CLIENT, False, None),
    ("nodeport-cluster", CLIENT, {}, CLIENT, False, None),
]


@pytest.mark.parametrize(
    ("topology", "peer", "headers", "expected", "snat", "service"),
    CASES,
    ids=[f"{c[0]}:{c[1]}:{'+'.join(c[2].values()) or '-'}" for c in CASES],
)
def test_node_address_flags_snat(
    topology: str,
    peer: str,
    headers: Dict[str, str],
    expected: str,
    snat: bool,
    service: Optional[str],
) -> None:
    result = resolver(topology).resolve(peer, headers)
    assert result.client_ip == expected, result.reason
    assert result.snat is snat, result.reason
    if service is not None:
        assert service in result.reason
        assert "externalTrafficPolicy: Local" in result.reason


def test_lb_http_with_a_node_peer_explains_both_fixes() -> None:
    result = resolver("lb-http").resolve(NODE, {"X-Forwarded-For": CLIENT})
    assert "restrict who can reach the NodePort" in result.reason


def test_every_topology_with_a_node_hop_accepts_node_cidrs_and_the_rest_refuse() -> None:
    for name, spec in TOPOLOGY_SPECS.items():
        kwargs: Dict[str, Any] = {"pod_cidrs": PODS, "lb_cidrs": LBS, "node_cidrs": NODES}
        if "node_cidrs" in spec.options:
            Resolver.for_topology(name, **kwargs)
        else:
            with pytest.raises(ConfigError) as info:
                Resolver.for_topology(name, **kwargs)
            assert info.value.option == "node_cidrs"


def test_node_ranges_inside_a_trusted_range_are_cut_out_of_the_trust() -> None:
    ingress = resolver("ingress")
    assert ingress.trusts(INGRESS_POD) and not ingress.trusts(CNI0)


def test_lb_tcp_proxy_marks_the_load_balancer_as_its_own_answer() -> None:
    # The LB as the peer means no PROXY header was decoded (a LOCAL health check, or a server
    # without PROXY support): marked, and refused with require_header.
    lenient = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=LBS)
    assert lenient.resolve(LB).proxy_as_client is True
    assert lenient.resolve(CLIENT).proxy_as_client is False
    strict = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=LBS, require_header=True)
    result = strict.resolve(LB)
    assert result.client_ip is None and "PROXY" in result.reason
    assert strict.resolve(CLIENT).client_ip == CLIENT
