"""A Service's front: how requests reach its pods, and what kube-proxy does to the client address.

:class:`Front` is what every provider's judge returns: the client-address verdict, the topology
(the names of :data:`realip.TOPOLOGIES`), the findings and the settings that fit. This module
holds what all providers share: the topology and placeholder names, the front kinds, the findings
about SNAT and PROXY protocol, :func:`apply_etp` (externalTrafficPolicy, applied once for every
provider), Cilium's DSR, and the builders of a node-port load balancer's front that the providers
in :mod:`realip._doctor._cloud_others` assemble theirs from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from realip._doctor._objects import Obj, d, etp, lst, s, service_type
from realip._doctor._report import (
    BAD,
    ERROR,
    INFO,
    LOST,
    PRESERVED,
    UNKNOWN,
    WARNING,
    Finding,
    howto,
)
from realip._topologies import TOPOLOGY_SPECS


def _topology(name: str) -> str:
    # The names come from the core's table; a rename there fails here at import, not silently.
    return TOPOLOGY_SPECS[name].name


POD_TO_POD = _topology("pod-to-pod")
NODEPORT_LOCAL = _topology("nodeport-local")
NODEPORT_CLUSTER = _topology("nodeport-cluster")
LB_TCP = _topology("lb-tcp")
LB_TCP_PROXY = _topology("lb-tcp-proxy")
LB_HTTP = _topology("lb-http")
INGRESS = _topology("ingress")
CLOUDFLARE = _topology("cloudflare")

POD_CIDR = "<your pod CIDR>"
NODE_CIDR = "<your node CIDR>"
VPC_CIDR = "<your VPC CIDR>"
LB_RANGE = "<the load balancer's address range>"


# Front kinds: how a request reaches the pods behind a Service.
INTERNAL = "internal"  # ClusterIP: from other pods
DIRECT = "direct"  # the peer is the client
SNAT = "snat"  # the peer is a node: the client is gone
PROXIED = "proxied"  # an L4 proxy opened its own connection: the client is gone
HTTP = "http"  # an L7 load balancer: peer = LB, client in X-Forwarded-For
PROXY_PROTOCOL = "proxy-protocol"  # a PROXY header carries the client
UNKNOWN_LB = "unknown-lb"  # a load balancer doctor cannot read

SVC = "service.beta.kubernetes.io/"


@dataclass
class Front:
    """How requests reach the pods of one Service, and what that does to the client address."""

    kind: str
    topology: str
    findings: List[Finding] = field(default_factory=list)
    lb_cidrs: Optional[str] = None
    provider: Optional[str] = None
    how_to_check: Optional[str] = None
    via_nodes: bool = False
    """True under externalTrafficPolicy: Cluster: a node address may be the peer."""
    node_peer: bool = False
    """True when a SNAT'ed node, not the load balancer, is the peer of an HTTP listener's
    requests: realip flags them (snat) rather than trust a node to forward the header."""
    unread_lb: bool = False
    kube_proxy: bool = False
    """True when kube-proxy delivers this traffic to the pods (node targets, node ports): the
    dispatcher (:func:`service_front`) then applies externalTrafficPolicy, once."""
    etp_applied: bool = False
    """True for a TCP load balancer of which doctor can't tell whether it passes the client
    through or proxies, and nothing says it carries a header or a PROXY line: either way it
    hands kube-proxy a packet whose source is not the client's once SNAT'ed."""

    @property
    def client_ip(self) -> str:
        """The verdict for an app that reads this Service's traffic directly."""
        if self.kind in (SNAT, PROXIED):
            return LOST
        if self.kind == UNKNOWN_LB or self.node_peer:
            # node_peer: the client is in X-Forwarded-For, but whether it can be read safely
            # depends on who can reach the NodePort, which no manifest says.
            return UNKNOWN
        return PRESERVED

    def app_settings(self) -> Dict[str, str]:
        """The ``REALIP_*`` settings for an app that takes this Service's traffic itself."""
        out = settings(self.topology, self.lb_cidrs)
        if (self.topology == LB_TCP_PROXY and self.via_nodes) or self.node_peer:
            # lb-tcp-proxy's spec: PROXY headers are accepted from node_cidrs under Cluster;
            # lb-http flags a node peer as SNAT (never trusts it) when given node_cidrs.
            out["REALIP_NODE_CIDRS"] = NODE_CIDR
        return out


def settings(topology: str, lb_cidrs: Optional[str] = None) -> Dict[str, str]:
    """The ``REALIP_*`` environment for a topology, with placeholders to fill in."""
    out = {"REALIP_TOPOLOGY": topology}
    spec = TOPOLOGY_SPECS[topology]
    if "node_cidrs" in spec.requires:
        out["REALIP_NODE_CIDRS"] = NODE_CIDR
    if "pod_cidrs" in spec.requires:
        out["REALIP_POD_CIDRS"] = POD_CIDR
    if "lb_cidrs" in spec.trusts and (lb_cidrs is not None or "lb_cidrs" in spec.requires):
        out["REALIP_LB_CIDRS"] = lb_cidrs or LB_RANGE
    return out


def snat_finding(who: str, after: str) -> Finding:
    """The SNAT error, worded like the resolver's own warning about a SNAT'ed request."""
    # kubernetes.io "Using Source IP" tutorial: with the Cluster policy "packets sent to
    # Services with Type=NodePort are source NAT'd by default", and Local "only proxies requests
    # to local endpoints, never forwards traffic to other nodes and thereby preserves the
    # original source IP address".
    return Finding(
        ERROR,
        "snat",
        f"externalTrafficPolicy: Cluster SNATs a request to a node address before {who} "
        "Service whenever kube-proxy forwards it to a pod on another node, so the app sees that "
        "node's IP instead of the client's; which requests keep their client IP depends on the "
        f"node they hit ({howto('how-to/nodeport.md')})",
        "set externalTrafficPolicy: Local on that Service to keep the client IP (only nodes "
        "running a pod then take traffic)"
        # realip runs behind an ingress controller, not in it: no topology for its Service.
        + ("" if who == "the ingress controller" else f"; then use REALIP_TOPOLOGY={after}"),
    )


def proxy_protocol_finding(what: str) -> Finding:
    """The LB sends PROXY headers: something must decode them before the app."""
    return Finding(
        WARNING,
        "proxy-protocol",
        f"{what}. A plain HTTP server answers such connections with 400; realip decodes the "
        "header itself with REALIP_TOPOLOGY=lb-tcp-proxy (PROXY headers accepted only from "
        "REALIP_LB_CIDRS), or a proxy in front of the app must decode it",
        "decode it in the app's server with REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS="
        "<the load balancer's source range> (plus REALIP_NODE_CIDRS under externalTrafficPolicy: "
        "Cluster): uvicorn --http realip.uvicorn:H11ProxyProtocol, gunicorn --proxy-protocol via "
        "-c python:realip.gunicorn, realip serve --proxy-protocol; or decode it in front of the "
        "app (nginx `listen ... proxy_protocol` with `real_ip_header proxy_protocol`, HAProxy "
        "`accept-proxy`) and use that hop's topology; or turn PROXY protocol off",
    )


def proxy_protocol_mismatch(
    receiver: str, setting: str, lb_sends: bool, where: str = ""
) -> Finding:
    """The one wording of a PROXY-protocol mismatch between a load balancer and its receiver.

    The fix is always on the receiver's side: it never changes what the load balancer sends.
    """
    where = f" ({where})" if where else ""
    if lb_sends:
        return Finding(
            ERROR,
            "proxy-protocol-mismatch",
            f"the load balancer sends PROXY protocol but {receiver}{where} does not expect it: it "
            "reads the PROXY line as a broken request, so every request fails",
            f"set {setting}",
        )
    return Finding(
        ERROR,
        "proxy-protocol-mismatch",
        f"{receiver}{where} expects PROXY protocol ({setting}) but the load balancer does not "
        "send it: it waits for a PROXY line and rejects every request",
        f"turn that setting off ({setting} is not wanted: the load balancer sends none); or, if "
        "the load balancer should send PROXY protocol, enable it there first",
    )


def _dsr_covers(svc: Obj, dsr: Tuple[str, str]) -> bool:
    if dsr[0] == "dsr":
        return True
    protocols = {s(d(p).get("protocol")).upper() or "TCP" for p in lst(svc.spec.get("ports"))}
    return protocols == {"TCP"}


def cilium_dsr(configmaps: List[Obj]) -> Optional[Tuple[str, str]]:
    """``(mode, where)`` when Cilium replaces kube-proxy in DSR or hybrid mode, else None."""
    # Cilium's Helm chart writes kube-proxy-replacement and bpf-lb-mode (snat by default) into
    # the cilium-config ConfigMap.
    for cm in configmaps:
        if cm.name != "cilium-config":
            continue
        kpr = cm.data.get("kube-proxy-replacement", "").strip().lower()
        mode = cm.data.get("bpf-lb-mode", "").strip().lower()
        if kpr in ("true", "strict") and mode in ("dsr", "hybrid"):
            return mode, f"ConfigMap {cm.ref} says so"
    return None


def apply_etp(
    svc: Obj, front: Front, who: str = "the app", dsr: Optional[Tuple[str, str]] = None
) -> None:
    """Apply externalTrafficPolicy to a front that goes through kube-proxy (once).

    Only :func:`service_front` calls it for a provider's front; a provider that must compare two
    readings first (AWS without a stated controller) calls it on them, and the flag keeps the
    dispatcher from applying it again.
    """
    if front.etp_applied:
        return
    front.etp_applied = True
    node_port = front.topology == NODEPORT_LOCAL
    if etp(svc) != "Local" and dsr is not None and _dsr_covers(svc, dsr):
        # Cilium docs (Kubernetes without kube-proxy, "Direct Server Return"): in DSR mode the
        # backend "sees the original client IP" and replies directly, for Cluster as for Local;
        # in hybrid mode only TCP is DSR (UDP is SNAT'ed).
        front.findings.append(
            Finding(
                INFO,
                "dsr-dataplane",
                f"externalTrafficPolicy is Cluster, but {dsr[1]} (Cilium replacing kube-proxy "
                f"with bpf-lb-mode {dsr[0]}): a node forwarding to a pod elsewhere keeps the "
                "client's address (direct server return), so there is no SNAT to lose it",
            )
        )
        return
    if etp(svc) == "Local":
        what = "NodePort" if service_type(svc) == "NodePort" else "externalIPs"
        front.findings.append(
            Finding(
                INFO,
                "etp-local",
                f"{what} with externalTrafficPolicy: Local: clients must hit a node running "
                "a pod of this Service, and that node delivers the packet with the client's "
                "address as the peer"
                if node_port
                else "externalTrafficPolicy: Local: only nodes running a pod of this Service take "
                "traffic and they deliver it without SNAT, so the source address is kept",
            )
        )
        return
    if node_port:
        front.findings.append(snat_finding(who, NODEPORT_LOCAL))
        front.kind, front.topology = SNAT, NODEPORT_CLUSTER
        return
    front.via_nodes = True
    if front.kind == PROXY_PROTOCOL:
        # The PROXY header is inside the TCP stream: kube-proxy's SNAT changes the packet
        # source, not the payload, so lb-tcp-proxy is right under Cluster (its spec says so).
        front.findings.append(
            Finding(
                INFO,
                "etp-cluster-proxy-protocol",
                "externalTrafficPolicy is Cluster, so kube-proxy may SNAT the connection to a "
                "node address, but the client's address travels inside the PROXY header and "
                "survives (trust the node CIDR as a PROXY sender too)",
            )
        )
        return
    if front.kind == HTTP:
        # The client is in X-Forwarded-For, but the peer changes from the LB to a node. Trusting
        # node addresses to read it would trust any client that reaches the NodePort directly:
        # kube-proxy SNATs that client to a node address too (the topology lab shows the spoof).
        if front.lb_cidrs == VPC_CIDR:
            # AWS instance mode: the documented setup; the VPC range already holds the nodes.
            front.findings.append(
                Finding(
                    INFO,
                    "etp-cluster-http",
                    "externalTrafficPolicy is Cluster: kube-proxy may SNAT the load balancer's "
                    "connection to a node address inside the VPC range, and the client stays in "
                    "X-Forwarded-For; keep the NodePort reachable only from the load balancer "
                    "(security groups), since trusting the VPC range trusts the nodes too",
                )
            )
            return
        front.node_peer = True
        front.findings.append(
            Finding(
                WARNING,
                "etp-cluster-http",
                "externalTrafficPolicy is Cluster: kube-proxy SNATs the load balancer's "
                "connection to a node address before the load balancer's backend Service. The "
                "client is still in X-Forwarded-For, but realip does not read it from a node: a "
                "client that reaches the NodePort directly is SNAT'ed to a node address too and "
                "could write its own. With REALIP_NODE_CIDRS realip flags these requests "
                "(snat=True). Whether the header can be trusted depends on who can reach the "
                "NodePort, which the manifests don't say: check your firewall or security groups",
                "set externalTrafficPolicy: Local on this Service; or, only if the NodePort is "
                "reachable from the load balancer alone (firewall or security group), trust the "
                "node addresses as well (REALIP_LB_CIDRS=<load balancer range>,<node addresses>), "
                "knowing that this trust rests on that rule",
            )
        )
        return
    if front.kind == DIRECT:
        front.findings.append(snat_finding(who, front.topology))
        front.kind = SNAT
    elif front.kind == UNKNOWN_LB and front.unread_lb:
        # kubernetes.io "Using Source IP" (Type=LoadBalancer): under Cluster "the source IP
        # is the node's, not the client's" whatever the provider, because kube-proxy's SNAT
        # is on the node. A pass-through load balancer is SNAT'ed, a proxy replaced the
        # address already; only a header or a PROXY line (neither said here) would survive.
        # The warning about the load balancer itself stays: Local fixes kube-proxy's SNAT, not
        # a load balancer that proxies the connection.
        front.findings.append(unread_lb_snat_finding(who, front.topology))
        front.kind = SNAT
    elif front.kind == UNKNOWN_LB:
        front.findings.append(
            Finding(
                WARNING,
                "etp-cluster-unknown-lb",
                "externalTrafficPolicy is Cluster: if this load balancer passes the client "
                "address through, kube-proxy still SNATs requests that it forwards to another "
                f"node; {snat_finding(who, front.topology).fix}",
            )
        )


def unread_lb_snat_finding(who: str, after: str) -> Finding:
    """SNAT behind a load balancer doctor cannot read: lost whatever that load balancer is."""
    plain = snat_finding(who, after)
    return Finding(
        ERROR,
        "snat",
        "externalTrafficPolicy: Cluster: kube-proxy SNATs a request to a node address before "
        f"{who} Service whenever it forwards it to a pod on another node, whatever the load "
        "balancer in front is (doctor does not know this one: if it passes the client through, "
        "kube-proxy replaces it; if it proxies, the client was already gone). The exceptions are "
        "a load balancer that sends traffic straight to pod IPs (its annotations would say so) "
        "and a dataplane that replaces kube-proxy with direct server return (Cilium's DSR mode, "
        f"for example) ({howto('how-to/nodeport.md')})",
        plain.fix,
    )


# The builders of a cloud load balancer's front: each targets node ports, so kube-proxy (and
# with it externalTrafficPolicy) delivers what it sends.


def passthrough_front(provider: str, what: str, code: str) -> Front:
    return Front(DIRECT, LB_TCP, [Finding(INFO, code, what)], None, provider, kube_proxy=True)


def http_front(provider: str, what: str, code: str, lb_cidrs: str) -> Front:
    return Front(
        HTTP,
        LB_HTTP,
        [Finding(INFO, code, what + f" ({howto('how-to/load-balancer.md')})")],
        lb_cidrs,
        provider,
        kube_proxy=True,
    )


def unknown_proxy_front(provider: str, what: str, code: str, check: str) -> Front:
    return Front(
        UNKNOWN_LB,
        LB_TCP,
        [Finding(WARNING, code, f"{what}; {check}")],
        None,
        provider,
        check,
        unread_lb=True,
        kube_proxy=True,
    )


def pp_front(provider: str, what: str, lb_cidrs: str = LB_RANGE) -> Front:
    return Front(
        PROXY_PROTOCOL,
        LB_TCP_PROXY,
        [proxy_protocol_finding(what)],
        lb_cidrs,
        provider,
        kube_proxy=True,
    )


def controller_service_missing(name: str) -> Finding:
    """The controller's Service is not in the input: whether the client reaches it is unknown."""
    # kubernetes.io "Using Source IP": a LoadBalancer or NodePort Service is source-NAT'ed under
    # the default externalTrafficPolicy (Cluster), which is also what ingress-nginx's Helm chart
    # leaves it at. Assuming Local would call a common SNAT'ed install "preserved".
    return Finding(
        WARNING,
        "controller-service-not-found",
        f"the {name} Service is not in this input, so doctor can't tell whether the client's "
        "address reaches the controller: under externalTrafficPolicy: Cluster (a Service's "
        "default) kube-proxy replaces it with a node address. Include the controller's Service "
        "(`kubectl get svc -A -o json`); the app's settings below hold either way",
    )


def unknown_lb_front(svc: Obj, who: str) -> Front:
    """A LoadBalancer Service whose provider doctor cannot tell from the input."""
    # kubernetes.io "Using Source IP" tutorial, Type=LoadBalancer: some cloud providers' load
    # balancers are proxies, and then the source IP is the load balancer's, whatever the policy.
    check = (
        "check your provider's documentation for whether its load balancer passes the client "
        "address through, adds X-Forwarded-For, or can send PROXY protocol; or look at the peer "
        "address the app sees (`realip serve` prints it and the headers)"
    )
    return unknown_proxy_front(
        "unknown",
        "no load-balancer annotation doctor knows: it cannot tell whether this load balancer "
        "passes the client address through (REALIP_TOPOLOGY=lb-tcp), proxies the connection "
        "(the app then sees the load balancer's address), adds X-Forwarded-For "
        "(REALIP_TOPOLOGY=lb-http) or sends PROXY protocol (REALIP_TOPOLOGY=lb-tcp-proxy); the "
        "Kubernetes source-IP tutorial warns that some cloud load balancers are proxies",
        "lb-unknown",
        check,
    )


def is_bad(front: Front) -> bool:
    """True when the front loses the client address for certain."""
    return front.client_ip in BAD
