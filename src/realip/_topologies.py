"""Deployment topologies (from the Kubernetes source-IP write-up) as named configurations."""

# No `from __future__ import annotations` here: NamedTuple would turn each string annotation
# into a ForwardRef, compiling it at import (about 1 ms of `import realip`).

from typing import Dict, NamedTuple, Optional, Tuple

from realip._errors import ConfigError

# Cloudflare's published edge ranges (https://www.cloudflare.com/ips-v4 and /ips-v6).
CLOUDFLARE_RANGES_DATE = "2026-11-25"
CLOUDFLARE_RANGES: Tuple[str, ...] = (
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
)
"""Snapshot of Cloudflare's edge ranges, taken on :data:`CLOUDFLARE_RANGES_DATE`."""

_WHERE = {
    "pod_cidrs": (
        "the cluster's pod CIDR, where the ingress pods "
        "live; find it with `kubectl cluster-info dump | grep -m1 cluster-cidr`, "
        "`kubectl get nodes -o jsonpath='{.items[*].spec.podCIDR}'` or your CNI config"
    ),
    "node_cidrs": (
        "the addresses a request SNAT'ed by a node carries: with cloud VPC CNIs (AWS VPC CNI, "
        "Alibaba Terway, GKE, AKS) the nodes' InternalIP range (`kubectl get nodes -o wide`); "
        "with flannel or Calico the node's own pod-network address (cni0 / flannel.1 / tunl0, "
        "inside the pod CIDR) - give the pod CIDR or those /32s too"
    ),
    "lb_cidrs": (
        "the range your load balancer forwards from; Alibaba Cloud SLB uses 100.64.0.0/10 (the "
        "'cgnat' preset, also used by Tencent and Volcengine load balancers and some EKS pod "
        "ranges), others document theirs"
    ),
}


class TopologySpec(NamedTuple):
    """How one topology maps to a resolver configuration."""

    name: str
    description: str
    header: Optional[str]
    trusts: Tuple[str, ...] = ()
    requires: Tuple[str, ...] = ()
    trusted_extra: Tuple[str, ...] = ()
    snat_service: str = ""
    """Which Service's externalTrafficPolicy: Cluster SNATs a request to a node address before
    realip's client is chosen ("" when no node hop lies in the path): node_cidrs flag it."""
    proxy_protocol: bool = False
    """True when the load balancer sends a PROXY protocol header that realip decodes: the
    ``trusts`` ranges are then who may send that header, and the decoded source is the peer."""

    @property
    def flags_snat(self) -> bool:
        """Whether ``node_cidrs`` flag SNAT'ed clients in this topology."""
        return bool(self.snat_service)

    @property
    def options(self) -> Tuple[str, ...]:
        """The CIDR options this topology uses; any other one is refused."""
        used = [*self.trusts, *self.requires, *(("node_cidrs",) if self.snat_service else ())]
        return tuple(dict.fromkeys(used))

    def missing_message(self, option: str) -> str:
        """The ConfigError detail for a required CIDR option that was not given."""
        return f"topology {self.name!r} needs ${option}: {_WHERE[option]}"

    def unused_message(self, option: str) -> str:
        """The ConfigError detail for a CIDR option this topology has no use for."""
        uses = ", ".join(f"${o}" for o in self.options) or "none of the CIDR options"
        return (
            f"topology {self.name!r} does not use ${option}, so it would be ignored; this "
            f"topology uses {uses}"
        )


_SPECS: Tuple[TopologySpec, ...] = (
    TopologySpec(
        "pod-to-pod",
        "internal request from another pod: the peer address; headers ignored",
        None,
    ),
    TopologySpec(
        "nodeport-local",
        "NodePort Service with externalTrafficPolicy: Local: the peer address (node_cidrs, if "
        "given, flag a peer that was SNAT'ed after all)",
        None,
        snat_service="the app's Service",
    ),
    TopologySpec(
        "nodeport-cluster",
        "NodePort Service with externalTrafficPolicy: Cluster: the peer address, flagging "
        "peers in node_cidrs as SNAT (client IP lost)",
        None,
        requires=("node_cidrs",),
        snat_service="the app's Service",
    ),
    TopologySpec(
        "lb-tcp",
        "LoadBalancer Service (Local) with a TCP listener: the peer address (node_cidrs flag "
        "a peer SNAT'ed under Cluster)",
        None,
        snat_service="the app's Service",
    ),
    TopologySpec(
        "lb-tcp-proxy",
        "LoadBalancer Service with a TCP listener sending PROXY protocol (any policy): the "
        "PROXY header's source, accepted only from lb_cidrs (and node_cidrs under Cluster)",
        None,
        trusts=("lb_cidrs", "node_cidrs"),
        requires=("lb_cidrs",),
        proxy_protocol=True,
    ),
    TopologySpec(
        "lb-http",
        "LoadBalancer Service (Local) with an HTTP listener: X-Forwarded-For, trusting lb_cidrs "
        "(node_cidrs flag a peer SNAT'ed under Cluster)",
        "x-forwarded-for",
        trusts=("lb_cidrs",),
        requires=("lb_cidrs",),
        snat_service="the load balancer's backend Service",
    ),
    TopologySpec(
        "ingress",
        "client -> LB -> ingress controller pod -> app: X-Forwarded-For, trusting pod_cidrs "
        "and lb_cidrs (node_cidrs flag a client SNAT'ed before the ingress)",
        "x-forwarded-for",
        trusts=("pod_cidrs", "lb_cidrs"),
        requires=("pod_cidrs",),
        snat_service="the ingress controller's Service",
    ),
    TopologySpec(
        "cloudflare",
        "behind Cloudflare: CF-Connecting-IP, trusting Cloudflare's ranges plus the given CIDRs",
        "cf-connecting-ip",
        trusts=("pod_cidrs", "node_cidrs", "lb_cidrs"),
        trusted_extra=CLOUDFLARE_RANGES,
    ),
)

TOPOLOGY_SPECS: Dict[str, TopologySpec] = {spec.name: spec for spec in _SPECS}
"""Every known topology by name."""

TOPOLOGIES: Dict[str, str] = {spec.name: spec.description for spec in _SPECS}
"""Topology name -> one-line description, for :meth:`realip.Resolver.for_topology`."""


def topology_spec(name: str) -> TopologySpec:
    """The spec of topology ``name``; ConfigError naming the known ones if there is none."""
    key = name.strip().lower() if isinstance(name, str) else name
    spec = TOPOLOGY_SPECS.get(key) if isinstance(key, str) else None
    if spec is None:
        raise ConfigError(
            f"unknown topology {name!r}; known topologies: {', '.join(TOPOLOGY_SPECS)}",
            "topology",
        )
    return spec
