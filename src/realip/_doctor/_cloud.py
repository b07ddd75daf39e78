"""What a Service's own path does to the client address: kube-proxy and cloud load balancers.

Each provider function reads the annotations its cloud controller documents and returns a
:class:`Front`: how requests reach the pods behind the Service. A provider doctor does not know
gives an honest "unknown" with a way to find out, never a guess dressed as a verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from realip._doctor._objects import Obj, d, etp, external_ips, lst, parse_bool, s, service_type
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

# Alibaba Cloud SLB/CLB forwards from 100.64.0.0/10 (Alibaba Cloud CLB FAQ, "the CLB instance
# uses the 100.64.0.0/10 CIDR block to communicate with backend servers"; checked 2026-11-30,
# and a reserved block, RFC 6598, so it does not drift). The same shared
# address space is also used by Tencent Cloud and Volcengine load balancers and often by EKS pod
# ranges, so doctor never infers "Alibaba" from an address alone, only from annotations.
ALIBABA_SLB_RANGE = "100.64.0.0/10"

# Google Front End ranges. Source: Google Cloud load-balancing firewall-rules page ("Firewall
# rules" for external Application Load Balancers), checked 2026-11-30: requests come from
# 130.211.0.0/22 and 35.191.0.0/16, and for IPv6 traffic to the backends from 2600:2d00:1:1::/64;
# health checks from 35.191.0.0/16, 130.211.0.0/22 and 2600:2d00:1:b029::/64.
GOOGLE_FRONT_END_RANGES_DATE = "2026-11-30"
GOOGLE_FRONT_END_RANGES: Tuple[str, ...] = (
    "35.191.0.0/16",
    "130.211.0.0/22",
    "2600:2d00:1:1::/64",
    "2600:2d00:1:b029::/64",
)

# Front kinds: how a request reaches the pods behind a Service.
INTERNAL = "internal"  # ClusterIP: from other pods
DIRECT = "direct"  # the peer is the client
SNAT = "snat"  # the peer is a node: the client is gone
PROXIED = "proxied"  # an L4 proxy opened its own connection: the client is gone
HTTP = "http"  # an L7 load balancer: peer = LB, client in X-Forwarded-For
PROXY_PROTOCOL = "proxy-protocol"  # a PROXY header carries the client
UNKNOWN_LB = "unknown-lb"  # a load balancer doctor cannot read

_SVC = "service.beta.kubernetes.io/"
_ALI_PREFIXES = (_SVC + "alibaba-cloud-", _SVC + "alicloud-")
_ALI_NLB_CLASS = "alibabacloud.com/nlb"
_ALI_BACKEND_TYPES = (_SVC + "backend-type", _SVC + "alibaba-cloud-loadbalancer-backend-type")
_AWS_PREFIX = _SVC + "aws-load-balancer-"
_AWS_NLB_CLASS = "service.k8s.aws/nlb"
# Keys (after "aws-load-balancer-") in the AWS Load Balancer Controller's Service annotation
# reference that the in-tree controller has no counterpart for ("listener-attributes.*" too).
_AWS_LBC_ONLY = frozenset(
    (
        "nlb-target-type",
        "target-group-attributes",
        "scheme",
        "ip-address-type",
        "attributes",
        "name",
        "alpn-policy",
        "manage-backend-security-group-rules",
        "enable-prefix-for-ipv6-source-nat",
        "source-nat-ipv6-prefixes",
        "multi-cluster-target-group",
    )
)
_GCP_RBS = "cloud.google.com/l4-rbs"
_GCP_LB_TYPE = ("networking.gke.io/load-balancer-type", "cloud.google.com/load-balancer-type")
# GKE docs (LoadBalancer Service parameters): spec.loadBalancerClass picks GKE's passthrough
# Network Load Balancers too (GKE 1.33.1-gke.1779000 and later), in place of the annotations.
_GCP_L4_EXTERNAL_CLASS = "networking.gke.io/l4-regional-external"
_GCP_L4_INTERNAL_CLASS = "networking.gke.io/l4-regional-internal"
_GCP_L4_CLASSES = (_GCP_L4_EXTERNAL_CLASS, _GCP_L4_INTERNAL_CLASS)
_DO_PREFIX = _SVC + "do-loadbalancer-"
_SCW_PREFIX = _SVC + "scw-loadbalancer-"
_HCLOUD_PREFIX = "load-balancer.hetzner.cloud/"
_OCI_PREFIXES = (_SVC + "oci-load-balancer-", "oci.oraclecloud.com/", "oci-network-load-balancer.")
_AZURE_PREFIX = _SVC + "azure-"
# MetalLB's docs write "metallb.io/" (loadBalancerIPs, address-pool, allow-shared-ip) since
# v0.14; the older "metallb.universe.tf/" spelling is still read by MetalLB and still common.
_METALLB_PREFIXES = ("metallb.universe.tf/", "metallb.io/")


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


def _flag(value: Optional[str]) -> bool:
    """An on/off annotation: true, "*", a port list or "on" mean on."""
    if value is None:
        return False
    return value.strip().lower() not in ("", "false", "off", "0", "no")


# -- Alibaba Cloud --------------------------------------------------------------------------


def _ali(ann: Mapping[str, str], suffix: str) -> Optional[str]:
    for prefix in _ALI_PREFIXES:
        if prefix + suffix in ann:
            return ann[prefix + suffix]
    return None


def _parse_protocol_ports(text: str) -> Tuple[List[Tuple[str, str]], List[str]]:
    listeners: List[Tuple[str, str]] = []
    bad: List[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        proto, sep, port = item.partition(":")
        if not sep or not port.strip().isdigit() or not proto.strip():
            bad.append(item)
            continue
        listeners.append((proto.strip().lower(), port.strip()))
    return listeners, bad


_CLB_PROTOCOLS = ("http", "https", "tcp", "udp")


def _clb_listeners(svc: Obj, text: str) -> Tuple[List[Tuple[str, str]], Optional[str], List[str]]:
    """The CLB listener (protocol, port) for each Service port, read the way
    cloud-provider-alibaba-cloud's protocol() reads alibaba-cloud-loadbalancer-protocol-port:
    entries split on "," then ":", the protocol exactly one of http/https/tcp/udp (no case
    folding, no trimming), the port compared as text with the Service port; a port no entry
    names keeps its own protocol. Also the entry it would reject the Service on, and the
    entries that name no port of this Service (ignored)."""
    entries = text.split(",") if text else []
    ports = lst(svc.spec.get("ports")) or [
        # No ports in the input (a trimmed manifest): take the entries at their word.
        {"port": e.split(":")[1], "protocol": "TCP"}
        for e in entries
        if len(e.split(":")) >= 2
    ]
    numbers = [s(d(port).get("port")) for port in ports]
    listeners: List[Tuple[str, str]] = []
    for port in ports:
        number = s(d(port).get("port"))
        proto = (s(d(port).get("protocol")) or "TCP").lower()
        for entry in entries:
            pp = entry.split(":")
            if len(pp) < 2 or pp[0] not in _CLB_PROTOCOLS:
                return [], entry, []
            if pp[1] == number:
                proto = pp[0]
                break
        listeners.append((proto, number))
    unmatched = [e for e in entries if len(e.split(":")) < 2 or e.split(":")[1] not in numbers]
    return listeners, None, unmatched


def _is_alibaba(svc: Obj) -> bool:
    ann = svc.annotations
    return (
        s(svc.spec.get("loadBalancerClass")) == _ALI_NLB_CLASS
        or any(k.startswith(_ALI_PREFIXES) for k in ann)
        or any(k in ann for k in _ALI_BACKEND_TYPES)
    )


def alibaba_front(svc: Obj, who: str) -> Front:
    """Alibaba Cloud CLB (SLB) and NLB, from the cloud-provider-alibaba-cloud annotations."""
    ann = svc.annotations
    findings: List[Finding] = []
    nlb = s(svc.spec.get("loadBalancerClass")) == _ALI_NLB_CLASS
    product = "Alibaba Cloud NLB" if nlb else "Alibaba Cloud SLB (CLB)"
    # cloud-provider-alibaba-cloud docs/usage: "backend-type: eni" (or the prefixed form)
    # mounts pod ENIs as backends instead of nodes.
    eni = any(ann.get(k, "").strip().lower() == "eni" for k in _ALI_BACKEND_TYPES)
    # cloud-provider-alibaba-cloud (clbv1 and nlbv2 listeners): PROXY protocol is on only for
    # the value "on" -- compared exactly on a CLB, case-insensitively on an NLB.
    proxy_text = _ali(ann, "loadbalancer-proxy-protocol") or ""
    proxy = proxy_text.lower() == "on" if nlb else proxy_text == "on"
    if proxy_text and not proxy and proxy_text.strip().lower() != "off":
        findings.append(
            Finding(
                WARNING,
                "alibaba-proxy-protocol-value",
                f"alibaba-cloud-loadbalancer-proxy-protocol: {proxy_text!r}: the cloud controller "
                'turns PROXY protocol on only for "on"'
                + ("" if nlb else " (exactly, lower case)")
                + ", so the listeners send none; if the app or its proxy expects PROXY headers, "
                'write "on"',
            )
        )
    # ACK "Configure NLB instances by using annotations": the server-group annotation
    # alibaba-cloud-loadbalancer-preserve-client-ip (CCM >= 2.5.0) turns client IP
    # preservation on or off; nlbv2 server_groups.go sets it to (value equals "on", any case).
    preserve_text = _ali(ann, "loadbalancer-preserve-client-ip") or None
    listeners: List[Tuple[str, str]] = []
    protocol_port = _ali(ann, "loadbalancer-protocol-port")
    if nlb:
        if protocol_port is not None:
            listeners, bad = _parse_protocol_ports(protocol_port)
            if bad:
                findings.append(
                    Finding(
                        WARNING,
                        "alibaba-protocol-port-unreadable",
                        f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: cannot read "
                        f"{', '.join(repr(b) for b in bad)}; expected entries like 'TCP:80'",
                    )
                )
    else:
        listeners, rejected, unmatched = _clb_listeners(svc, protocol_port or "")
        if rejected is not None:
            check = (
                "run kubectl describe svc on it: the cloud controller's events show why it "
                "failed; write entries like 'http:80,https:443' (protocol http, https, tcp or "
                "udp in lower case, no spaces, the port a port of this Service)"
            )
            return Front(
                UNKNOWN_LB,
                LB_TCP,
                [
                    *findings,
                    Finding(
                        WARNING,
                        "alibaba-protocol-port-unreadable",
                        f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: the cloud "
                        f"controller rejects the entry {rejected!r}, so it does not build this "
                        f"Service's listeners and doctor can't say what they are; {check}",
                    ),
                ],
                None,
                "alibaba",
                check,
            )
        if unmatched:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-protocol-port-unmatched",
                    f"alibaba-cloud-loadbalancer-protocol-port: {', '.join(map(repr, unmatched))} "
                    "names no port of this Service, so the cloud controller ignores it; the "
                    "Service's other ports get listeners of their own protocol",
                )
            )
    # cloud-provider-alibaba-cloud docs/usage.md (annotation table, loadbalancer-id and
    # force-override-listeners): an existing load balancer keeps its listeners unless
    # force-override-listeners is "true" (annotation.go IsForceOverride compares exactly).
    lb_id = _ali(ann, "loadbalancer-id")
    if lb_id and _ali(ann, "loadbalancer-force-override-listeners") != "true":
        check = (
            f"look at the listeners of {lb_id} in the console (aliyun slb "
            "DescribeLoadBalancerAttribute): an HTTP/HTTPS listener adds X-Forwarded-For "
            "(REALIP_TOPOLOGY=lb-http), a TCP one passes the client through (lb-tcp) unless it "
            'sends PROXY protocol (lb-tcp-proxy); or set force-override-listeners: "true" so the '
            "annotations decide"
        )
        return Front(
            UNKNOWN_LB,
            LB_TCP,
            [
                *findings,
                Finding(
                    WARNING,
                    "alibaba-existing-lb-listeners",
                    f"alibaba-cloud-loadbalancer-id {lb_id!r} without force-override-listeners: "
                    '"true": the load balancer is reused and the cloud controller leaves the '
                    "listeners already on it alone, so their protocol is not in this input; "
                    f"{check}",
                ),
            ],
            None,
            "alibaba",
            check,
        )
    l7 = [f"{p}:{port}" for p, port in listeners if p in ("http", "https")]
    l4 = [f"{p}:{port}" for p, port in listeners if p not in ("http", "https")]
    if eni:
        findings.append(
            Finding(
                INFO,
                "alibaba-eni-backend",
                f"backend-type: eni: the {product} sends straight to the pods' ENI addresses "
                "(Terway), so kube-proxy and externalTrafficPolicy are not in the path",
            )
        )
    if l7 and not nlb:
        front = Front(HTTP, LB_HTTP, findings, ALIBABA_SLB_RANGE, "alibaba")
        findings.append(
            Finding(
                INFO,
                "alibaba-http-listener",
                f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: HTTP/HTTPS listener "
                f"({', '.join(l7)}): the SLB terminates HTTP, connects to the backends from "
                f"{ALIBABA_SLB_RANGE} and appends the client to X-Forwarded-For, so the app "
                f"reads X-Forwarded-For and trusts that range ({howto('how-to/load-balancer.md')})",
            )
        )
        if l4:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-mixed-listeners",
                    f"TCP/UDP listeners ({', '.join(l4)}) pass the client through as the peer; the "
                    f"lb-http settings still work for them because a client is never in "
                    f"{ALIBABA_SLB_RANGE}",
                )
            )
        if proxy:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-proxy-protocol-l4-only",
                    "alibaba-cloud-loadbalancer-proxy-protocol: on applies to the TCP/UDP "
                    "listeners only; the HTTP listeners still use X-Forwarded-For",
                )
            )
    elif proxy:
        front = Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, LB_RANGE, "alibaba")
        findings.append(
            proxy_protocol_finding(
                f"alibaba-cloud-loadbalancer-proxy-protocol: on: the {product} sends a PROXY "
                "protocol header with the client's address at the start of every TCP connection"
            )
        )
    elif nlb and preserve_text is not None and preserve_text.lower() != "on":
        front = Front(PROXIED, LB_TCP, findings, None, "alibaba")
        findings.append(
            Finding(
                ERROR,
                "alibaba-nlb-client-ip-not-preserved",
                f"alibaba-cloud-loadbalancer-preserve-client-ip: {preserve_text!r}: the "
                "NLB's server group does not keep the client address, so the pods see the NLB's "
                "and nothing carries the client's",
                'set alibaba-cloud-loadbalancer-preserve-client-ip: "on" (the only value the '
                "cloud controller reads as on), or enable "
                "PROXY protocol and use REALIP_TOPOLOGY=lb-tcp-proxy",
            )
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "alibaba")
        shown = f" ({', '.join(l4)})" if l4 else " (the default when no protocol-port is set)"
        findings.append(
            Finding(
                INFO,
                "alibaba-tcp-listener",
                f"{product} TCP listener{shown}: layer-4 pass-through, the client's address "
                "arrives as the peer and no header is added",
            )
        )
    if not eni:
        front.kube_proxy = True
    return front


# -- AWS ------------------------------------------------------------------------------------


def _aws_attributes(text: str) -> Dict[str, str]:
    attrs: Dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep:
            attrs[key.strip()] = value.strip().lower()
    return attrs


def _aws_port_protocols(svc: Obj) -> Tuple[List[str], List[str]]:
    """The Service's TCP-only ports, and its UDP ports (a TCP+UDP pair becomes TCP_UDP)."""
    tcp: List[str] = []
    udp: List[str] = []
    for port in lst(svc.spec.get("ports")):
        port = d(port)
        number = s(port.get("port"))
        (udp if (s(port.get("protocol")) or "TCP").upper() == "UDP" else tcp).append(number)
    return [p for p in tcp if p not in udp], udp


def _aws_lbc_front(
    svc: Obj, ann: Mapping[str, str], attrs: Mapping[str, str], proxy: bool, lb_type: str, who: str
) -> Front:
    """An NLB built by the AWS Load Balancer Controller."""
    findings: List[Finding] = []
    target = (
        "ip"
        if lb_type == "nlb-ip"
        else (ann.get(_AWS_PREFIX + "nlb-target-type", "").strip().lower() or "instance")
    )
    # ELB docs: client IP preservation is on by default for instance targets and off for
    # IP targets over TCP/TLS; preserve_client_ip.enabled overrides it.
    # The same page ("Edit target group attributes", client IP preservation): it is on, and
    # can't be turned off, for UDP and TCP_UDP target groups (a TCP and a UDP port with the
    # same number make one TCP_UDP listener); the attribute applies to TCP and TLS ones.
    tcp_only, _udp = _aws_port_protocols(svc)
    default_preserve = target != "ip"
    preserve_text = attrs.get("preserve_client_ip.enabled")
    if not tcp_only:
        preserve = True
    else:
        preserve = default_preserve if preserve_text is None else preserve_text == "true"
    how = "" if preserve_text is None else f" (preserve_client_ip.enabled={preserve_text})"
    findings.append(
        Finding(
            INFO,
            "aws-nlb",
            f"AWS Network Load Balancer from the AWS Load Balancer Controller, {target} targets"
            f"{how}: layer 4, no X-Forwarded-For",
        )
    )
    if proxy:
        front = Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, VPC_CIDR, "aws")
        findings.append(
            proxy_protocol_finding(
                'PROXY protocol v2 is on (aws-load-balancer-proxy-protocol: "*" or '
                "proxy_protocol_v2.enabled=true): the NLB prepends a PROXY header with the "
                "client's address to every connection"
            )
        )
    elif not preserve:
        front = Front(PROXIED, LB_TCP, findings, None, "aws")
        findings.append(
            Finding(
                ERROR,
                "aws-nlb-client-ip-not-preserved",
                f"client IP preservation is off for these {target} targets (AWS's default for "
                "IP targets over TCP/TLS): the pods see the NLB's private address, and nothing "
                "carries the client's",
                "add preserve_client_ip.enabled=true to service.beta.kubernetes.io/"
                "aws-load-balancer-target-group-attributes (then REALIP_TOPOLOGY=lb-tcp), or "
                "enable PROXY protocol and use REALIP_TOPOLOGY=lb-tcp-proxy",
            )
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "aws")
        family = ann.get(_AWS_PREFIX + "ip-address-type", "").strip().lower()
        if family.startswith("dualstack"):
            # ELB docs ("Edit target group attributes", client IP preservation tables): with
            # IPv4 targets an IPv6 client's requests arrive from the load balancer's IPv4
            # address; PROXY protocol v2 carries either family.
            findings.append(
                Finding(
                    WARNING,
                    "aws-nlb-ipv6-clients",
                    f"aws-load-balancer-ip-address-type: {family}: IPv6 clients reach IPv4 "
                    "targets from the NLB's own address, so only IPv4 clients keep theirs as the "
                    "peer; to keep IPv6 clients too, enable PROXY protocol v2 "
                    '(aws-load-balancer-proxy-protocol: "*") and use REALIP_TOPOLOGY=lb-tcp-proxy',
                )
            )
    if target == "ip":
        findings.append(
            Finding(
                INFO,
                "aws-ip-targets",
                "IP targets: the NLB sends straight to pod IPs, so kube-proxy and "
                "externalTrafficPolicy are not in the path",
            )
        )
    else:
        front.kube_proxy = True
    return front


def aws_front(svc: Obj, who: str) -> Front:
    """AWS NLB (in-tree or AWS Load Balancer Controller) and Classic ELB."""
    ann = svc.annotations
    lb_type = ann.get(_AWS_PREFIX + "type", "").strip().lower()
    lb_class = s(svc.spec.get("loadBalancerClass"))
    attrs = _aws_attributes(ann.get(_AWS_PREFIX + "target-group-attributes", ""))
    # AWS LBC docs (guide/service/annotations): aws-load-balancer-proxy-protocol: "*" is the
    # only value; target-group-attributes proxy_protocol_v2.enabled=true does the same per group.
    proxy = ann.get(_AWS_PREFIX + "proxy-protocol", "").strip() == "*" or (
        attrs.get("proxy_protocol_v2.enabled") == "true"
    )
    # aws-load-balancer-controller (v2.14+) pkg/service/model_build_target_group.go:
    # proxy-protocol-per-target-group lists Service ports; each listed port's target group gets
    # proxy_protocol_v2.enabled=true, the others false ("*" above still wins).
    listed = {
        p.strip() for p in ann.get(_AWS_PREFIX + "proxy-protocol-per-target-group", "").split(",")
    } - {""}
    ports = {s(d(p).get("port")) for p in lst(svc.spec.get("ports"))} - {""}
    partial: List[str] = []
    if listed and not proxy:
        if ports and ports <= listed:
            proxy = True
        elif listed & ports:
            partial = sorted(listed & ports)
    if lb_class == _AWS_NLB_CLASS or lb_type in ("external", "nlb-ip"):
        front = _aws_lbc_front(svc, ann, attrs, proxy, lb_type, who)
        if partial:
            # Some ports carry the client in a PROXY header, the others as they were judged: a
            # loss on those stays a loss; otherwise no one verdict is true of every request.
            if front.kind == DIRECT and etp(svc) == "Local":
                front.kind = UNKNOWN_LB
            front.findings.append(
                Finding(
                    WARNING,
                    "aws-nlb-proxy-protocol-some-ports",
                    "aws-load-balancer-proxy-protocol-per-target-group: PROXY protocol v2 on "
                    f"port(s) {', '.join(partial)} only: connections to those ports start with "
                    "a PROXY header, the others do not; serve them on separate listeners "
                    "(REALIP_TOPOLOGY=lb-tcp-proxy on the PROXY ports)",
                )
            )
        return front
    if lb_type == "nlb":
        return _aws_intree_nlb_front(svc, proxy, who)
    if not lb_type and not lb_class:
        lbc_only = sorted(k[len(_AWS_PREFIX) :] for k in ann if _is_lbc_only(k))
        if lbc_only:
            return _aws_unstated_controller_front(svc, ann, attrs, proxy, lbc_only, who)
    return _aws_classic_front(svc, proxy)


def _is_lbc_only(key: str) -> bool:
    if not key.startswith(_AWS_PREFIX):
        return False
    rest = key[len(_AWS_PREFIX) :]
    return rest in _AWS_LBC_ONLY or rest.startswith("listener-attributes.")


def _aws_unstated_controller_front(
    svc: Obj,
    ann: Mapping[str, str],
    attrs: Mapping[str, str],
    proxy: bool,
    lbc_only: List[str],
    who: str,
) -> Front:
    """No aws-load-balancer-type and no loadBalancerClass, but annotations only the AWS Load
    Balancer Controller reads: which controller builds the load balancer is not in the input."""
    # AWS LBC docs (guide/service/nlb, "Load Balancer Class"; deploy/configurations,
    # enable-service-mutator-webhook): from v2.5 the controller's webhook gives new
    # LoadBalancer Services loadBalancerClass service.k8s.aws/nlb unless it is turned off;
    # without the controller, the in-tree one builds a Classic ELB and ignores these keys.
    lbc = _aws_lbc_front(svc, ann, attrs, proxy, "external", who)
    # The two readings are compared as verdicts, so the policy is applied to the NLB's first
    # (the Classic ELB proxies: no policy changes it); the dispatcher won't apply it again.
    if lbc.kube_proxy:
        apply_etp(svc, lbc, who)
    elb = _aws_classic_front(svc, proxy)
    keys = ", ".join(f"aws-load-balancer-{k}" for k in lbc_only)
    check = (
        "run kubectl get svc -o jsonpath='{.spec.loadBalancerClass}' on it: "
        "service.k8s.aws/nlb means the AWS Load Balancer Controller built an NLB (the first "
        "reading below); empty means the in-tree controller built a Classic ELB. Writing "
        "service.beta.kubernetes.io/aws-load-balancer-type: external (on a new Service) makes "
        "it the AWS Load Balancer Controller's either way"
    )
    what = (
        f"{keys} without aws-load-balancer-type or loadBalancerClass: only the AWS Load "
        "Balancer Controller reads these, and it takes the Service only if its Service webhook "
        "(on by default from v2.5) set loadBalancerClass when the Service was created; the "
        "in-tree controller would build a Classic ELB and ignore them"
    )
    if lbc.client_ip == elb.client_ip and lbc.kind == elb.kind:
        lbc.findings.insert(
            0,
            Finding(
                INFO, "aws-controller-unstated", f"{what}; both give the same verdict. {check}"
            ),
        )
        return lbc
    findings = [Finding(WARNING, "aws-controller-unstated", f"{what}; {check}")]
    findings += [
        Finding(INFO, f.code, f"if the AWS Load Balancer Controller took it: {f.message}")
        for f in lbc.findings
    ]
    findings += [
        Finding(INFO, f.code, f"if the in-tree controller took it: {f.message}")
        for f in elb.findings
    ]
    return Front(UNKNOWN_LB, lbc.topology, findings, lbc.lb_cidrs, "aws", check)


def _aws_intree_nlb_front(svc: Obj, proxy: bool, who: str) -> Front:
    """An NLB built by the in-tree controller (aws-load-balancer-type: nlb)."""
    findings: List[Finding] = []
    findings.append(
        Finding(
            INFO,
            "aws-nlb",
            "AWS Network Load Balancer (in-tree controller, instance targets): layer-4 "
            "pass-through, the client's address arrives as the peer, no X-Forwarded-For",
        )
    )
    if proxy:
        # kubernetes/cloud-provider-aws #234 and kubernetes/kubernetes #101608: the in-tree
        # controller applies aws-load-balancer-proxy-protocol to Classic ELBs only, and
        # creates an NLB's target groups without proxy_protocol_v2.enabled (F5's and
        # ingress-nginx's NLB guides switch it on by hand). The AWS Load Balancer
        # Controller does apply it, and takes such a Service when its webhook set a
        # loadBalancerClass after the manifest was written. Which one it is, and what was
        # done by hand, is not in the input: neither "PROXY" nor "mismatch" would be honest.
        check = (
            "look at the target groups' proxy_protocol_v2.enabled attribute (aws elbv2 "
            "describe-target-group-attributes); to have it managed, give the Service "
            "loadBalancerClass: service.k8s.aws/nlb (or aws-load-balancer-type: external) so "
            "the AWS Load Balancer Controller applies the annotation"
        )
        front = Front(
            UNKNOWN_LB,
            LB_TCP,
            [
                *findings,
                Finding(
                    WARNING,
                    "aws-nlb-proxy-protocol-unverified",
                    'aws-load-balancer-proxy-protocol: "*" on an in-tree NLB (aws-load-'
                    "balancer-type: nlb): the in-tree controller applies it to Classic ELBs "
                    "only, so the NLB sends PROXY headers only if its target groups were "
                    "switched to proxy_protocol_v2 by hand or the AWS Load Balancer "
                    f"Controller manages this Service; {check}",
                ),
            ],
            None,
            "aws",
            check,
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "aws")
    front.kube_proxy = True
    return front


def _aws_classic_front(svc: Obj, proxy: bool) -> Front:
    """A Classic ELB: no aws-load-balancer-type annotation, built by the in-tree controller."""
    ann = svc.annotations
    findings: List[Finding] = []
    backend = ann.get(_AWS_PREFIX + "backend-protocol", "").strip().lower() or "tcp"
    if backend in ("http", "https"):
        findings.append(
            Finding(
                INFO,
                "aws-elb-http",
                f"Classic ELB with aws-load-balancer-backend-protocol: {backend}: the ELB "
                "terminates HTTP and appends the client to X-Forwarded-For; it connects from "
                "addresses in your VPC, and so do the nodes when kube-proxy forwards, so trust the "
                "VPC CIDR",
            )
        )
        return Front(HTTP, LB_HTTP, findings, VPC_CIDR, "aws")
    if proxy:
        findings.append(
            Finding(
                INFO,
                "aws-elb-tcp",
                f"Classic ELB with a {backend.upper()} listener: the ELB opens its own connection "
                "to the nodes",
            )
        )
        findings.append(
            proxy_protocol_finding(
                'aws-load-balancer-proxy-protocol: "*": the ELB prepends a PROXY protocol v1 '
                "header with the client's address to every connection"
            )
        )
        return Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, VPC_CIDR, "aws")
    findings.append(
        Finding(
            ERROR,
            "aws-elb-tcp",
            f"Classic ELB with a {backend.upper()} listener (no aws-load-balancer-type annotation, "
            "so the in-tree controller builds a Classic ELB): the ELB opens its own connection to "
            "the nodes, the app sees the ELB's address and nothing carries the client's",
            "keep the ELB and have it carry the client: enable "
            'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*" and decode it with '
            "REALIP_TOPOLOGY=lb-tcp-proxy (or in the proxy in front of the app)",
        )
    )
    return Front(PROXIED, LB_TCP, findings, None, "aws")


# -- Google Cloud ---------------------------------------------------------------------------


def gcp_front(svc: Obj, who: str) -> Front:
    """GKE passthrough Network Load Balancers (they are not proxies)."""
    ann = svc.annotations
    lb_class = s(svc.spec.get("loadBalancerClass"))
    internal = lb_class == _GCP_L4_INTERNAL_CLASS or (
        lb_class != _GCP_L4_EXTERNAL_CLASS
        and any(ann.get(key, "").strip().lower() == "internal" for key in _GCP_LB_TYPE)
    )
    if internal:
        what = "GKE internal passthrough Network Load Balancer"
    elif lb_class == _GCP_L4_EXTERNAL_CLASS:
        what = (
            "GKE backend service-based external passthrough Network Load Balancer "
            f"(loadBalancerClass: {lb_class})"
        )
    elif ann.get(_GCP_RBS, "").strip().lower() == "enabled":
        what = (
            "GKE backend service-based external passthrough Network Load Balancer "
            f"({_GCP_RBS}: enabled)"
        )
    else:
        what = "GKE passthrough Network Load Balancer"
    # GKE docs (LoadBalancer Service concepts): passthrough NLBs deliver packets with the
    # client's source address unchanged.
    return _passthrough_front(
        "gcp",
        f"{what}: not a proxy, packets keep the client's source address and no header is added",
        "gcp-passthrough",
    )


_GCP_NEG = "cloud.google.com/neg"


def gke_standalone_neg(svc: Obj) -> Optional[Finding]:
    """A Service whose ``cloud.google.com/neg`` annotation asks for standalone NEGs
    (``exposed_ports``): GKE docs (standalone zonal NEGs) say GKE then only creates the NEGs,
    and a load balancer built outside Kubernetes sends to the pod IPs in them; which one (an
    Application Load Balancer adding X-Forwarded-For, a proxy Network Load Balancer, perhaps with
    PROXY protocol) the input does not say."""
    try:
        value = json.loads(svc.annotations.get(_GCP_NEG, ""))
    except ValueError:
        return None
    ports = value.get("exposed_ports") if isinstance(value, dict) else None
    if not isinstance(ports, dict) or not ports:
        return None
    return Finding(
        WARNING,
        "gke-standalone-neg",
        f"{_GCP_NEG} exposes port(s) {', '.join(str(p) for p in ports)} as standalone NEGs: a "
        "Google Cloud load balancer set up outside Kubernetes sends straight to the pod IPs, "
        "so the app's peer is that load balancer, not the calling pod; find it (`gcloud compute "
        "backend-services list`, the NEG is its backend) and use REALIP_TOPOLOGY=lb-http with "
        "its ranges for an Application Load Balancer "
        f"({', '.join(GOOGLE_FRONT_END_RANGES)} for global external ones, the proxy-only "
        "subnet for regional and internal ones), or lb-tcp-proxy if it sends PROXY protocol",
    )


# -- DigitalOcean, Scaleway, Hetzner, OCI, Azure, MetalLB -------------------------------------


# The builders of a cloud load balancer's front: each targets node ports, so kube-proxy (and
# with it externalTrafficPolicy) delivers what it sends.


def _passthrough_front(provider: str, what: str, code: str) -> Front:
    return Front(DIRECT, LB_TCP, [Finding(INFO, code, what)], None, provider, kube_proxy=True)


def _http_front(provider: str, what: str, code: str, lb_cidrs: str) -> Front:
    return Front(
        HTTP,
        LB_HTTP,
        [Finding(INFO, code, what + f" ({howto('how-to/load-balancer.md')})")],
        lb_cidrs,
        provider,
        kube_proxy=True,
    )


def _unknown_proxy_front(provider: str, what: str, code: str, check: str) -> Front:
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


def _pp_front(provider: str, what: str, lb_cidrs: str = LB_RANGE) -> Front:
    return Front(
        PROXY_PROTOCOL,
        LB_TCP_PROXY,
        [proxy_protocol_finding(what)],
        lb_cidrs,
        provider,
        kube_proxy=True,
    )


def digitalocean_front(svc: Obj, who: str) -> Front:
    """DigitalOcean load balancers (digitalocean-cloud-controller-manager annotations)."""
    ann = svc.annotations
    # docs/controllers/services/annotations.md: do-loadbalancer-enable-proxy-protocol "true"
    # turns PROXY protocol on; do-loadbalancer-protocol is tcp (default), http, https, http2.
    pp = parse_bool(ann.get(_DO_PREFIX + "enable-proxy-protocol", "")) is True
    protocol = ann.get(_DO_PREFIX + "protocol", "").strip().lower() or "tcp"
    lb_type = ann.get(_DO_PREFIX + "type", "").strip().upper()
    if pp:
        front = _pp_front(
            "digitalocean",
            'do-loadbalancer-enable-proxy-protocol: "true": the DigitalOcean load balancer sends '
            "a PROXY protocol v1 header with the client's address",
        )
        if lb_type == "REGIONAL_NETWORK":
            front.findings.append(
                Finding(
                    WARNING,
                    "do-network-lb-ignores-proxy-protocol",
                    "do-loadbalancer-type: REGIONAL_NETWORK: network load balancers pass the "
                    "client address through and do not send PROXY headers, whatever "
                    "enable-proxy-protocol says; check the load balancer's settings in the "
                    "DigitalOcean control panel",
                )
            )
    elif protocol in ("http", "https", "http2", "http3"):
        # DigitalOcean docs: the load balancer adds X-Forwarded-For when entry and target
        # protocols are HTTP (or HTTPS with a certificate, not passthrough).
        front = _http_front(
            "digitalocean",
            f"do-loadbalancer-protocol: {protocol}: the DigitalOcean load balancer terminates "
            "HTTP and appends the client to X-Forwarded-For; it connects from addresses in your "
            "VPC",
            "do-http-listener",
            VPC_CIDR,
        )
    elif lb_type == "REGIONAL_NETWORK":
        front = _passthrough_front(
            "digitalocean",
            "do-loadbalancer-type: REGIONAL_NETWORK: a network load balancer, layer-4 "
            "pass-through; the client's address arrives as the peer",
            "do-network-lb",
        )
    else:
        front = _unknown_proxy_front(
            "digitalocean",
            "DigitalOcean load balancer with a TCP listener and no PROXY protocol: a regional "
            "(proxy) load balancer opens its own connection, so the pods see its address; a "
            "REGIONAL_NETWORK one passes the client through, and the default type depends on "
            "the DOKS version",
            "do-unknown-type",
            "check the load balancer's type in the DigitalOcean control panel, or set "
            'do-loadbalancer-enable-proxy-protocol: "true" and decode PROXY protocol',
        )
    return front


def scaleway_front(svc: Obj, who: str) -> Front:
    """Scaleway load balancers (scaleway-cloud-controller-manager annotations)."""
    ann = svc.annotations
    # docs/loadbalancer-annotations.md: scw-loadbalancer-proxy-protocol-v1/-v2 take "false",
    # "true", "*" or a comma-separated list of Service ports.
    for version in ("v2", "v1"):
        value = ann.get(_SCW_PREFIX + "proxy-protocol-" + version)
        if _flag(value):
            return _pp_front(
                "scaleway",
                f"scw-loadbalancer-proxy-protocol-{version}: {value!r}: the Scaleway load "
                f"balancer sends a PROXY protocol {version} header with the client's address",
            )
    return _unknown_proxy_front(
        "scaleway",
        "Scaleway load balancer without PROXY protocol: Scaleway load balancers proxy TCP "
        "connections, so the pods may see the load balancer's address",
        "scw-no-proxy-protocol",
        "look at the peer address the app logs (`realip serve` prints it), or set "
        'scw-loadbalancer-proxy-protocol-v2: "true" and decode PROXY protocol',
    )


def hetzner_front(svc: Obj, who: str) -> Front:
    """Hetzner Cloud load balancers (hcloud-cloud-controller-manager annotations)."""
    ann = svc.annotations
    # internal/annotation/load_balancer.go: LBSvcProxyProtocol "load-balancer.hetzner.cloud/
    # uses-proxyprotocol" ("Default: false"); LBSvcProtocol "load-balancer.hetzner.cloud/
    # protocol" is tcp, http or https.
    if parse_bool(ann.get(_HCLOUD_PREFIX + "uses-proxyprotocol", "")) is True:
        front = _pp_front(
            "hetzner",
            'load-balancer.hetzner.cloud/uses-proxyprotocol: "true": the Hetzner Cloud load '
            "balancer sends a PROXY protocol header with the client's address",
        )
    elif ann.get(_HCLOUD_PREFIX + "protocol", "").strip().lower() in ("http", "https"):
        front = _http_front(
            "hetzner",
            "load-balancer.hetzner.cloud/protocol: http(s): the Hetzner Cloud load balancer "
            "terminates HTTP and adds X-Forwarded-For; it connects from its private network "
            "address (use-private-ip) or its public one",
            "hetzner-http-listener",
            LB_RANGE,
        )
    else:
        front = _unknown_proxy_front(
            "hetzner",
            "Hetzner Cloud load balancer with a TCP service and no PROXY protocol: the load "
            "balancer opens its own connection to the nodes, so the pods may see its address",
            "hetzner-no-proxy-protocol",
            "look at the peer address the app logs (`realip serve` prints it), or set "
            'load-balancer.hetzner.cloud/uses-proxyprotocol: "true" and decode PROXY protocol',
        )
    return front


def oci_front(svc: Obj, who: str) -> Front:
    """Oracle Cloud (OCI) load balancers and network load balancers."""
    ann = svc.annotations
    # OCI docs ("Provisioning OCI Network Load Balancers for Kubernetes Services"): a network
    # load balancer, picked with oci.oraclecloud.com/load-balancer-type: "nlb", "is a non-proxy
    # load balancing solution"; its is-preserve-source annotation keeps the client address, but
    # "if externalTrafficPolicy is set to Cluster, client IP addresses are not preserved
    # regardless" (release note, 2022-08-17). The default type is the (proxy) Load Balancer.
    lb_type = ann.get("oci.oraclecloud.com/load-balancer-type", "").strip().lower()
    if lb_type == "nlb":
        # oracle/oci-cloud-controller-manager docs/load-balancer-annotations.md:
        # is-ppv2-enabled "to enable/disable PPv2 feature for the listeners of your NLB"
        # (default false), read with strconv.ParseBool.
        if parse_bool(ann.get("oci-network-load-balancer.oraclecloud.com/is-ppv2-enabled", "")):
            return _pp_front(
                "oci",
                'oci-network-load-balancer.oraclecloud.com/is-ppv2-enabled: "true": the OCI '
                "Network Load Balancer sends a PROXY protocol v2 header with the client's address",
            )
        # load_balancer_spec.go getPreserveSourceAnnotation: "default behavior is to enable
        # source destination preservation"; getPreserveSource keeps it only under Local (and the
        # controller refuses the annotation under Cluster).
        preserve = parse_bool(
            ann.get("oci-network-load-balancer.oraclecloud.com/is-preserve-source", "true")
        )
        if preserve is True:
            return _passthrough_front(
                "oci",
                "OCI Network Load Balancer with is-preserve-source (true unless set "
                "otherwise): a non-proxy load balancer, the client's address arrives as "
                "the peer",
                "oci-nlb",
            )
        if preserve is False:
            return Front(
                PROXIED,
                LB_TCP,
                [
                    Finding(
                        ERROR,
                        "oci-nlb-source-not-preserved",
                        'is-preserve-source: "false": the OCI Network Load Balancer replaces the '
                        "client address, and nothing carries it",
                        'set oci-network-load-balancer.oraclecloud.com/is-preserve-source: "true" '
                        "with externalTrafficPolicy: Local",
                    )
                ],
                None,
                "oci",
            )
        return _unknown_proxy_front(
            "oci",
            "OCI Network Load Balancer without is-preserve-source",
            "oci-nlb-preserve-unknown",
            'set oci-network-load-balancer.oraclecloud.com/is-preserve-source: "true" with '
            "externalTrafficPolicy: Local to keep the client address",
        )
    backend = ann.get(_SVC + "oci-load-balancer-backend-protocol", "").strip().upper()
    # load_balancer_spec.go getListenersOciLoadBalancer: connection-proxy-protocol-version
    # (strconv.Atoi) becomes the listeners' BackendTcpProxyProtocolVersion.
    pp_version = ann.get(_SVC + "oci-load-balancer-connection-proxy-protocol-version", "").strip()
    if pp_version in ("1", "2") and backend != "HTTP":
        return _pp_front(
            "oci",
            f'oci-load-balancer-connection-proxy-protocol-version: "{pp_version}": the OCI load '
            f"balancer sends a PROXY protocol v{pp_version} header with the client's address",
            "<the load balancer's subnet>",
        )
    if backend == "HTTP":
        return _http_front(
            "oci",
            "oci-load-balancer-backend-protocol: HTTP: the OCI load balancer terminates HTTP "
            "and adds X-Forwarded-For; it connects from its subnet",
            "oci-http-listener",
            "<the load balancer's subnet>",
        )
    front = Front(
        PROXIED,
        LB_TCP,
        [
            Finding(
                ERROR,
                "oci-lb-tcp-proxy",
                "OCI Load Balancer (the default type) with a TCP listener: it is a proxy that "
                "opens its own connection to the backends, so the app sees the load balancer's "
                "address and nothing carries the client's",
                "keep the load balancer and have it carry the client: "
                "service.beta.kubernetes.io/oci-load-balancer-connection-proxy-protocol-version: "
                '"2", decoded with REALIP_TOPOLOGY=lb-tcp-proxy (or by the proxy in front of the '
                "app)",
            )
        ],
        None,
        "oci",
    )
    return front


_AZURE_PLS_CREATE = _SVC + "azure-pls-create"
_AZURE_PLS_PP = _SVC + "azure-pls-proxy-protocol"
_AZURE_PLS_SUBNET = _SVC + "azure-pls-ip-configuration-subnet"


def _azure_pls_nat(ann: Mapping[str, str]) -> str:
    subnet = ann.get(_AZURE_PLS_SUBNET, "").strip()
    return f"<the PLS NAT subnet{f' ({subnet})' if subnet else ''}>"


def _azure_pls_front(svc: Obj, who: str) -> Front:
    """A Private Link Service in front of the Azure Load Balancer: two paths, not one."""
    # cloud-provider-azure pls-integration.md: azure-pls-proxy-protocol "pass[es] through
    # connection information, including the link ID and source IP address", and "the backend
    # service MUST support the PROXY protocol or the connections will fail". Azure's Private
    # Link docs: without it, consumer traffic appears to come from the PLS NAT addresses.
    ann = svc.annotations
    nat = _azure_pls_nat(ann)
    if parse_bool(ann.get(_AZURE_PLS_PP, "")):
        front = _pp_front(
            "azure",
            "Azure Private Link Service with azure-pls-proxy-protocol: connections through a "
            "private endpoint carry a PROXY v2 header from the PLS NAT addresses",
            nat,
        )
        front.findings.append(
            Finding(
                INFO,
                "azure-pls-direct",
                "clients that reach the load balancer directly (not through a private endpoint) "
                "send no PROXY header; realip accepts PROXY headers only from REALIP_LB_CIDRS and "
                "takes any other peer as the client, so set REALIP_LB_CIDRS to the PLS NAT subnet "
                "alone",
            )
        )
        if etp(svc) != "Local":
            front.findings.append(
                Finding(
                    WARNING,
                    "azure-pls-direct-snat",
                    "externalTrafficPolicy is Cluster: private-endpoint clients survive in the "
                    "PROXY header, but clients that reach the load balancer directly are SNAT'ed "
                    f"to a node address when kube-proxy forwards them; {snat_finding(who, LB_TCP_PROXY).fix}",
                )
            )
        return front
    front = _azure_direct_front(svc, who)
    pls = Finding(
        WARNING,
        "azure-pls-nat",
        "azure-pls-create: a Private Link Service fronts this load balancer. Clients that come "
        f"through a private endpoint arrive from {nat}, not from their own address; only "
        "clients that reach the load balancer directly keep it. Which clients use which path "
        "is not in the manifests",
        f'to keep private-endpoint clients\' addresses set {_AZURE_PLS_PP}: "true" and decode '
        f"it with REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS={nat} (direct clients, "
        "sending no header, are still taken as the peer)",
    )
    front.findings.append(pls)
    if front.kind == DIRECT and etp(svc) == "Local":
        # Local keeps the direct path; the private-endpoint path is NAT'ed: neither verdict is
        # true of every request, so say unknown rather than preserved.
        front.kind = UNKNOWN_LB
        front.how_to_check = pls.fix
    return front


def azure_front(svc: Obj, who: str) -> Front:
    """Azure Load Balancer (AKS): a layer-4 pass-through."""
    if parse_bool(svc.annotations.get(_AZURE_PLS_CREATE, "")):
        return _azure_pls_front(svc, who)
    return _azure_direct_front(svc, who)


def _azure_direct_front(svc: Obj, who: str) -> Front:
    # AKS docs ("Use a public standard load balancer"): Azure Load Balancer is layer 4 and
    # keeps the client source IP with externalTrafficPolicy: Local.
    return _passthrough_front(
        "azure",
        "Azure Load Balancer: layer-4 pass-through, the client's address arrives as "
        "the peer and no header is added",
        "azure-lb",
    )


_OPENSTACK_PREFIX = "loadbalancer.openstack.org/"


def openstack_front(svc: Obj, who: str) -> Front:
    """OpenStack Octavia load balancers (cloud-provider-openstack's Service annotations)."""
    ann = svc.annotations
    # kubernetes/cloud-provider-openstack docs/openstack-cloud-controller-manager/
    # expose-applications-using-loadbalancer-type-service.md: proxy-protocol "If 'true', the
    # loadbalancer pool protocol will be set as PROXY" (v1/v2 in later releases);
    # x-forwarded-for "If 'true', X-Forwarded-For is inserted into the HTTP headers which
    # contains the original client IP address" (an HTTP listener).
    proxy = ann.get(_OPENSTACK_PREFIX + "proxy-protocol", "").strip().lower()
    if parse_bool(proxy) or proxy in ("v1", "v2"):
        front = _pp_front(
            "openstack",
            f"loadbalancer.openstack.org/proxy-protocol: {proxy}: the Octavia load balancer's "
            "pool speaks PROXY protocol, with the client's address in the header",
            "<the load balancer's member subnet>",
        )
    elif parse_bool(ann.get(_OPENSTACK_PREFIX + "x-forwarded-for", "")):
        front = _http_front(
            "openstack",
            'loadbalancer.openstack.org/x-forwarded-for: "true": the Octavia load balancer '
            "terminates HTTP and inserts X-Forwarded-For with the client; it connects from its "
            "member subnet",
            "openstack-x-forwarded-for",
            "<the load balancer's member subnet>",
        )
    else:
        front = _unknown_proxy_front(
            "openstack",
            "Octavia load balancer with a TCP listener: the amphora provider proxies the "
            "connection (the pods see its address), the OVN provider passes the client through",
            "openstack-tcp-listener",
            "check which Octavia provider (loadbalancer.openstack.org/class or the cloud's "
            'default) builds it, or set loadbalancer.openstack.org/proxy-protocol: "true" and '
            "decode PROXY protocol",
        )
    return front


def kube_vip_front(svc: Obj, who: str) -> Front:
    """kube-vip: the address is announced by a node (ARP or BGP), no proxy in the path."""
    # kube-vip docs (usage, "externalTrafficPolicy"): with Local the VIP is announced only from
    # nodes running a pod and the source address is kept; Cluster goes through kube-proxy.
    return _passthrough_front(
        "kube-vip",
        "kube-vip: a node announces the address and kube-proxy delivers it; no proxy is "
        "in the path",
        "kube-vip",
    )


def metallb_front(svc: Obj, who: str) -> Front:
    """MetalLB (L2 or BGP): addresses routed to nodes, no proxy in the path."""
    # metallb.universe.tf docs ("Usage", traffic policies): with Local, "the client's source
    # IP address is preserved"; with Cluster it is SNAT'ed like a NodePort.
    return _passthrough_front(
        "metallb",
        "MetalLB: the address is routed to a node and kube-proxy delivers it; no proxy "
        "is in the path",
        "metallb",
    )


# -- providers whose only client-IP setting doctor knows is PROXY protocol ------------------


@dataclass(frozen=True)
class _PPProvider:
    """A load balancer whose controller documents a PROXY-protocol switch, and nothing about
    whether its other modes pass the client address through or add X-Forwarded-For."""

    code: str
    name: str
    prefix: str
    key: str
    on: Tuple[str, ...]
    """Values of ``prefix + key`` that turn PROXY protocol on (compared in lower case)."""
    hint: str


_PP_PROVIDERS = (
    # linode-cloud-controller-manager docs/configuration/annotations.md: default-proxy-protocol
    # "none, v1, v2" (the deprecated proxy-protocol key takes the same values).
    _PPProvider(
        "linode",
        "Linode/Akamai NodeBalancer",
        _SVC + "linode-loadbalancer-",
        "default-proxy-protocol",
        ("v1", "v2"),
        'service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol: "v2"',
    ),
    # vultr-cloud-controller-manager docs/load-balancers.md: proxy-protocol "true, false",
    # "Indicates whether Proxy protocol should be enabled".
    _PPProvider(
        "vultr",
        "Vultr load balancer",
        _SVC + "vultr-loadbalancer-",
        "proxy-protocol",
        ("true",),
        'service.beta.kubernetes.io/vultr-loadbalancer-proxy-protocol: "true"',
    ),
    # civo-cloud-controller-manager README: loadbalancer-enable-proxy-protocol "send-proxy,
    # send-proxy-v2": "a proxy-protocol header will be sent via the load balancer".
    _PPProvider(
        "civo",
        "Civo load balancer",
        "kubernetes.civo.com/",
        "loadbalancer-enable-proxy-protocol",
        ("send-proxy", "send-proxy-v2"),
        "kubernetes.civo.com/loadbalancer-enable-proxy-protocol: send-proxy-v2",
    ),
    # cloudscale-cloud-controller-manager examples/proxy-v2-protocol.yml: pool protocol
    # proxyv2 "in order to preserve the original source IP" (proxy is PROXY v1).
    _PPProvider(
        "cloudscale",
        "cloudscale.ch load balancer",
        "k8s.cloudscale.ch/",
        "loadbalancer-pool-protocol",
        ("proxy", "proxyv2"),
        "k8s.cloudscale.ch/loadbalancer-pool-protocol: proxyv2",
    ),
)


def _linode_port_pp(ann: Mapping[str, str]) -> List[str]:
    """Linode's per-port JSON (``linode-loadbalancer-port-<n>``) can turn PROXY protocol on."""
    ports = []
    prefix = _SVC + "linode-loadbalancer-port-"
    for key, value in ann.items():
        if not key.startswith(prefix):
            continue
        try:
            cfg = json.loads(value)
        except ValueError:
            continue
        if isinstance(cfg, dict) and str(cfg.get("proxy-protocol", "")).lower() in ("v1", "v2"):
            ports.append(key[len(prefix) :])
    return ports


def _pp_provider(svc: Obj) -> Optional[_PPProvider]:
    for p in _PP_PROVIDERS:
        if any(k.startswith(p.prefix) for k in svc.annotations):
            return p
    return None


def pp_provider_front(svc: Obj, p: _PPProvider, who: str) -> Front:
    """A provider from :data:`_PP_PROVIDERS`: PROXY protocol when switched on, else unknown."""
    ann = svc.annotations
    value = ann.get(p.prefix + p.key)
    if value is None and p.code == "linode":
        value = ann.get(p.prefix + "proxy-protocol")
    if value is not None and value.strip().lower() in p.on:
        front = _pp_front(
            p.code,
            f"{p.prefix}{p.key}: {value.strip()}: the {p.name} sends a PROXY protocol header "
            "with the client's address",
        )
    else:
        some = _linode_port_pp(ann) if p.code == "linode" else []
        what = (
            f"{p.name} with PROXY protocol on port(s) {', '.join(sorted(some))} only: "
            "requests on its other ports carry no PROXY header"
            if some
            else f"{p.name} without PROXY protocol: its documentation doctor read does not say "
            "whether it passes the client address through, proxies the connection or adds "
            "X-Forwarded-For"
        )
        front = _unknown_proxy_front(
            p.code,
            what,
            f"{p.code}-no-proxy-protocol",
            "look at the peer address the app logs (`realip serve` prints it and the headers), "
            f"or set {p.hint} and decode PROXY protocol",
        )
        # An HTTP listener (Linode's and Vultr's protocol annotations) would carry the client in
        # X-Forwarded-For; without one the load balancer hands kube-proxy a packet.
        # Linode's per-port JSON may name either; doctor leaves those ports as it read them.
        front.unread_lb = not some and not any(
            (k.startswith(p.prefix + "port-"))
            or ("protocol" in k and v.strip().lower() in ("http", "https", "http2"))
            for k, v in ann.items()
            if k.startswith(p.prefix)
        )
    return front


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
    return _unknown_proxy_front(
        "unknown",
        "no load-balancer annotation doctor knows: it cannot tell whether this load balancer "
        "passes the client address through (REALIP_TOPOLOGY=lb-tcp), proxies the connection "
        "(the app then sees the load balancer's address), adds X-Forwarded-For "
        "(REALIP_TOPOLOGY=lb-http) or sends PROXY protocol (REALIP_TOPOLOGY=lb-tcp-proxy); the "
        "Kubernetes source-IP tutorial warns that some cloud load balancers are proxies",
        "lb-unknown",
        check,
    )


def service_front(
    svc: Obj,
    who: str = "the app",
    default_provider: Optional[str] = None,
    default_source: str = "",
    dsr: Optional[Tuple[str, str]] = None,
) -> Front:
    """How requests reach the pods behind one Service, from its type, policy and annotations.

    ``default_provider`` (a :data:`PROVIDERS` key) is the cloud the cluster runs in, when the
    input (Nodes' ``spec.providerID``) or the user (``--provider``) says so; ``default_source``
    says which. ``dsr`` (from :func:`cilium_dsr`) is a dataplane that forwards Cluster traffic
    without SNAT.
    """
    front = _judge(svc, who, default_provider, default_source)
    if front.kube_proxy:
        # externalTrafficPolicy, applied here once for every provider and Service type.
        apply_etp(svc, front, who, dsr)
    return front


def _judge(svc: Obj, who: str, default_provider: Optional[str], default_source: str) -> Front:
    """The front a Service's type and provider give, before externalTrafficPolicy."""
    stype = service_type(svc)
    if stype == "NodePort" or (stype == "ClusterIP" and external_ips(svc)):
        # kube-proxy answers on every node's port (or the external IPs) itself.
        return Front(DIRECT, NODEPORT_LOCAL, [], kube_proxy=True)
    if stype == "LoadBalancer":
        for provider in PROVIDERS:
            if provider.recognise(svc):
                return provider.judge(svc, who)
        named = _provider_from_status(svc) or (
            (PROVIDER_BY_KEY[default_provider], default_source)
            if default_provider in PROVIDER_BY_KEY
            else None
        )
        if named is not None:
            # No annotation names the load balancer, but the cluster does: that cloud's
            # controller builds its default load balancer for such a Service.
            provider, source = named
            front = provider.judge(svc, who)
            front.findings.insert(
                0,
                Finding(
                    INFO,
                    "provider-from-cluster",
                    f"no load-balancer annotation: {provider.name}, from {source}; its cloud "
                    "controller builds its default load balancer for this Service",
                ),
            )
            return front
        return unknown_lb_front(svc, who)
    return Front(
        INTERNAL,
        POD_TO_POD,
        [
            Finding(
                INFO,
                "cluster-ip",
                "ClusterIP: reachable from inside the cluster only; the peer is the calling pod's IP "
                "and no proxy header is added",
            )
        ],
    )


def is_bad(front: Front) -> bool:
    """True when the front loses the client address for certain."""
    return front.client_ip in BAD


# -- the provider registry -----------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """One load-balancer provider doctor reads: how it is recognised and who judges it."""

    key: str
    name: str
    recognised_by: str
    """The annotations or class that name it (documentation text)."""
    recognise: Callable[[Obj], bool]
    judge: Callable[[Obj, str], Front]
    kube_proxy: str
    """Whether kube-proxy (and so externalTrafficPolicy) is in the path."""
    source: str
    """The upstream controller or document its rules rest on."""
    node_ids: Tuple[str, ...] = ()
    """Node ``spec.providerID`` prefixes of clusters in this cloud."""
    hostnames: Tuple[str, ...] = ()
    """Suffixes of the hostnames its load balancers get in ``status.loadBalancer``."""


def _prefixed(*prefixes: str) -> Callable[[Obj], bool]:
    return lambda svc: any(k.startswith(prefixes) for k in svc.annotations)


def _is_aws(svc: Obj) -> bool:
    lb_class = s(svc.spec.get("loadBalancerClass"))
    return lb_class == _AWS_NLB_CLASS or any(k.startswith(_AWS_PREFIX) for k in svc.annotations)


def _is_gcp(svc: Obj) -> bool:
    ann = svc.annotations
    return (
        s(svc.spec.get("loadBalancerClass")) in _GCP_L4_CLASSES
        or _GCP_RBS in ann
        or any(k in ann for k in _GCP_LB_TYPE)
    )


def _pp_judge(p: _PPProvider) -> Callable[[Obj, str], Front]:
    return lambda svc, who: pp_provider_front(svc, p, who)


_THROUGH_NODES = "yes (nodes), unless its annotations send to pod IPs"

PROVIDERS: Tuple[Provider, ...] = (
    Provider(
        "alibaba",
        "Alibaba Cloud CLB (SLB) / NLB",
        "`service.beta.kubernetes.io/alibaba-cloud-*` / `alicloud-*`, "
        "`loadBalancerClass: alibabacloud.com/nlb`",
        _is_alibaba,
        alibaba_front,
        "yes, unless `backend-type: eni`",
        "kubernetes/cloud-provider-alibaba-cloud docs/usage.md",
        node_ids=("alicloud://",),
    ),
    Provider(
        "aws",
        "AWS NLB / Classic ELB",
        "`service.beta.kubernetes.io/aws-load-balancer-*`, "
        "`loadBalancerClass: service.k8s.aws/nlb`",
        _is_aws,
        aws_front,
        "yes for instance targets, no for IP targets",
        "kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md; "
        "kubernetes/cloud-provider-aws",
        node_ids=("aws://",),
        hostnames=(".elb.amazonaws.com", ".elb.amazonaws.com.cn"),
    ),
    Provider(
        "gcp",
        "Google Cloud passthrough Network Load Balancer",
        "`cloud.google.com/l4-rbs`, `networking.gke.io/load-balancer-type`, "
        "`loadBalancerClass: networking.gke.io/l4-regional-*`",
        _is_gcp,
        gcp_front,
        "yes (instance groups); GKE subsetting and NEGs aside",
        "GKE docs, LoadBalancer Service concepts and parameters",
        node_ids=("gce://",),
    ),
    Provider(
        "digitalocean",
        "DigitalOcean",
        "`service.beta.kubernetes.io/do-loadbalancer-*`",
        _prefixed(_DO_PREFIX),
        digitalocean_front,
        _THROUGH_NODES,
        "digitalocean/digitalocean-cloud-controller-manager docs/controllers/services/"
        "annotations.md",
        node_ids=("digitalocean://",),
    ),
    Provider(
        "scaleway",
        "Scaleway",
        "`service.beta.kubernetes.io/scw-loadbalancer-*`",
        _prefixed(_SCW_PREFIX),
        scaleway_front,
        _THROUGH_NODES,
        "scaleway/scaleway-cloud-controller-manager docs/loadbalancer-annotations.md",
        node_ids=("scaleway://",),
    ),
    Provider(
        "hetzner",
        "Hetzner Cloud",
        "`load-balancer.hetzner.cloud/*`",
        _prefixed(_HCLOUD_PREFIX),
        hetzner_front,
        _THROUGH_NODES,
        "hetznercloud/hcloud-cloud-controller-manager internal/annotation/load_balancer.go",
        node_ids=("hcloud://",),
    ),
    Provider(
        "oci",
        "Oracle Cloud (OCI)",
        "`service.beta.kubernetes.io/oci-load-balancer-*`, `oci.oraclecloud.com/*`, "
        "`oci-network-load-balancer.oraclecloud.com/*`",
        _prefixed(*_OCI_PREFIXES),
        oci_front,
        "yes (nodes)",
        "oracle/oci-cloud-controller-manager docs/load-balancer-annotations.md, "
        "pkg/cloudprovider/providers/oci/load_balancer_spec.go",
        node_ids=("oci://", "ocid1."),
    ),
    Provider(
        "azure",
        "Azure Load Balancer",
        "`service.beta.kubernetes.io/azure-*`",
        _prefixed(_AZURE_PREFIX),
        azure_front,
        "yes (nodes)",
        "kubernetes-sigs/cloud-provider-azure docs, LoadBalancer annotations",
        node_ids=("azure://",),
    ),
    Provider(
        "metallb",
        "MetalLB",
        "`metallb.io/*` or the older `metallb.universe.tf/*`",
        _prefixed(*_METALLB_PREFIXES),
        metallb_front,
        "yes: routed to a node, delivered by kube-proxy",
        "metallb.universe.tf docs, Usage (traffic policies)",
    ),
    Provider(
        "kube-vip",
        "kube-vip",
        "`kube-vip.io/*`",
        _prefixed("kube-vip.io/"),
        kube_vip_front,
        "yes: announced by a node, delivered by kube-proxy",
        "kube-vip.io docs, usage (externalTrafficPolicy)",
    ),
    Provider(
        "openstack",
        "OpenStack Octavia",
        "`loadbalancer.openstack.org/*`",
        _prefixed(_OPENSTACK_PREFIX),
        openstack_front,
        "yes (nodes)",
        "kubernetes/cloud-provider-openstack docs/openstack-cloud-controller-manager/"
        "expose-applications-using-loadbalancer-type-service.md",
        node_ids=("openstack://",),
    ),
    *(
        Provider(
            p.code,
            p.name,
            f"`{p.prefix}*`",
            _prefixed(p.prefix),
            _pp_judge(p),
            _THROUGH_NODES,
            {
                "linode": "linode/linode-cloud-controller-manager docs/configuration/"
                "annotations.md",
                "vultr": "vultr/vultr-cloud-controller-manager docs/load-balancers.md",
                "civo": "civo/civo-cloud-controller-manager README.md",
                "cloudscale": "cloudscale-ch/cloudscale-cloud-controller-manager examples/",
            }[p.code],
            node_ids=(f"{p.code}://",),
        )
        for p in _PP_PROVIDERS
    ),
)
"""Every load-balancer provider doctor reads, in the order it checks them."""

PROVIDER_BY_KEY: Dict[str, Provider] = {p.key: p for p in PROVIDERS}


def provider_from_node(provider_id: str) -> Optional[str]:
    """The :data:`PROVIDERS` key a Node's ``spec.providerID`` names (``aws://...``)."""
    for p in PROVIDERS:
        if provider_id.startswith(p.node_ids) if p.node_ids else False:
            return p.key
    return None


def _provider_from_status(svc: Obj) -> Optional[Tuple[Provider, str]]:
    for item in lst(d(svc.status.get("loadBalancer")).get("ingress")):
        host = s(d(item).get("hostname")).lower()
        for p in PROVIDERS:
            if host and p.hostnames and host.endswith(p.hostnames):
                return p, f"the load balancer's hostname {host} (status.loadBalancer)"
    return None
