"""The other load-balancer providers: Google Cloud, DigitalOcean, Scaleway, Hetzner, OCI, Azure,
OpenStack, kube-vip, MetalLB, and those known only by a PROXY-protocol switch.

Each ``*_front`` reads the handful of annotations its cloud controller documents and builds its
:class:`~realip._doctor._fronts.Front` from the shared builders in :mod:`realip._doctor._fronts`;
what a provider's documentation does not say stays "unknown", with the way to find out. Also
here: the Google Front End ranges and the GKE standalone-NEG finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from realip._doctor._fronts import (
    DIRECT,
    LB_RANGE,
    LB_TCP,
    LB_TCP_PROXY,
    PROXIED,
    SVC,
    UNKNOWN_LB,
    VPC_CIDR,
    Front,
    http_front,
    passthrough_front,
    pp_front,
    snat_finding,
    unknown_proxy_front,
)
from realip._doctor._objects import Obj, etp, parse_bool, s
from realip._doctor._report import ERROR, INFO, WARNING, Finding

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


GCP_RBS = "cloud.google.com/l4-rbs"
GCP_LB_TYPE = ("networking.gke.io/load-balancer-type", "cloud.google.com/load-balancer-type")
# GKE docs (LoadBalancer Service parameters): spec.loadBalancerClass picks GKE's passthrough
# Network Load Balancers too (GKE 1.33.1-gke.1779000 and later), in place of the annotations.
_GCP_L4_EXTERNAL_CLASS = "networking.gke.io/l4-regional-external"
_GCP_L4_INTERNAL_CLASS = "networking.gke.io/l4-regional-internal"
GCP_L4_CLASSES = (_GCP_L4_EXTERNAL_CLASS, _GCP_L4_INTERNAL_CLASS)
DO_PREFIX = SVC + "do-loadbalancer-"
SCW_PREFIX = SVC + "scw-loadbalancer-"
HCLOUD_PREFIX = "load-balancer.hetzner.cloud/"


def _flag(value: Optional[str]) -> bool:
    """An on/off annotation: true, "*", a port list or "on" mean on."""
    if value is None:
        return False
    return value.strip().lower() not in ("", "false", "off", "0", "no")


# -- Google Cloud ---------------------------------------------------------------------------


def gcp_front(svc: Obj, who: str) -> Front:
    """GKE passthrough Network Load Balancers (they are not proxies)."""
    ann = svc.annotations
    lb_class = s(svc.spec.get("loadBalancerClass"))
    internal = lb_class == _GCP_L4_INTERNAL_CLASS or (
        lb_class != _GCP_L4_EXTERNAL_CLASS
        and any(ann.get(key, "").strip().lower() == "internal" for key in GCP_LB_TYPE)
    )
    if internal:
        what = "GKE internal passthrough Network Load Balancer"
    elif lb_class == _GCP_L4_EXTERNAL_CLASS:
        what = (
            "GKE backend service-based external passthrough Network Load Balancer "
            f"(loadBalancerClass: {lb_class})"
        )
    elif ann.get(GCP_RBS, "").strip().lower() == "enabled":
        what = (
            "GKE backend service-based external passthrough Network Load Balancer "
            f"({GCP_RBS}: enabled)"
        )
    else:
        what = "GKE passthrough Network Load Balancer"
    # GKE docs (LoadBalancer Service concepts): passthrough NLBs deliver packets with the
    # client's source address unchanged.
    return passthrough_front(
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


def digitalocean_front(svc: Obj, who: str) -> Front:
    """DigitalOcean load balancers (digitalocean-cloud-controller-manager annotations)."""
    ann = svc.annotations
    # docs/controllers/services/annotations.md: do-loadbalancer-enable-proxy-protocol "true"
    # turns PROXY protocol on; do-loadbalancer-protocol is tcp (default), http, https, http2.
    pp = parse_bool(ann.get(DO_PREFIX + "enable-proxy-protocol", "")) is True
    protocol = ann.get(DO_PREFIX + "protocol", "").strip().lower() or "tcp"
    lb_type = ann.get(DO_PREFIX + "type", "").strip().upper()
    if pp:
        front = pp_front(
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
        front = http_front(
            "digitalocean",
            f"do-loadbalancer-protocol: {protocol}: the DigitalOcean load balancer terminates "
            "HTTP and appends the client to X-Forwarded-For; it connects from addresses in your "
            "VPC",
            "do-http-listener",
            VPC_CIDR,
        )
    elif lb_type == "REGIONAL_NETWORK":
        front = passthrough_front(
            "digitalocean",
            "do-loadbalancer-type: REGIONAL_NETWORK: a network load balancer, layer-4 "
            "pass-through; the client's address arrives as the peer",
            "do-network-lb",
        )
    else:
        front = unknown_proxy_front(
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
        value = ann.get(SCW_PREFIX + "proxy-protocol-" + version)
        if _flag(value):
            return pp_front(
                "scaleway",
                f"scw-loadbalancer-proxy-protocol-{version}: {value!r}: the Scaleway load "
                f"balancer sends a PROXY protocol {version} header with the client's address",
            )
    return unknown_proxy_front(
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
    if parse_bool(ann.get(HCLOUD_PREFIX + "uses-proxyprotocol", "")) is True:
        front = pp_front(
            "hetzner",
            'load-balancer.hetzner.cloud/uses-proxyprotocol: "true": the Hetzner Cloud load '
            "balancer sends a PROXY protocol header with the client's address",
        )
    elif ann.get(HCLOUD_PREFIX + "protocol", "").strip().lower() in ("http", "https"):
        front = http_front(
            "hetzner",
            "load-balancer.hetzner.cloud/protocol: http(s): the Hetzner Cloud load balancer "
            "terminates HTTP and adds X-Forwarded-For; it connects from its private network "
            "address (use-private-ip) or its public one",
            "hetzner-http-listener",
            LB_RANGE,
        )
    else:
        front = unknown_proxy_front(
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
            return pp_front(
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
            return passthrough_front(
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
        return unknown_proxy_front(
            "oci",
            "OCI Network Load Balancer without is-preserve-source",
            "oci-nlb-preserve-unknown",
            'set oci-network-load-balancer.oraclecloud.com/is-preserve-source: "true" with '
            "externalTrafficPolicy: Local to keep the client address",
        )
    backend = ann.get(SVC + "oci-load-balancer-backend-protocol", "").strip().upper()
    # load_balancer_spec.go getListenersOciLoadBalancer: connection-proxy-protocol-version
    # (strconv.Atoi) becomes the listeners' BackendTcpProxyProtocolVersion.
    pp_version = ann.get(SVC + "oci-load-balancer-connection-proxy-protocol-version", "").strip()
    if pp_version in ("1", "2") and backend != "HTTP":
        return pp_front(
            "oci",
            f'oci-load-balancer-connection-proxy-protocol-version: "{pp_version}": the OCI load '
            f"balancer sends a PROXY protocol v{pp_version} header with the client's address",
            "<the load balancer's subnet>",
        )
    if backend == "HTTP":
        return http_front(
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


_AZURE_PLS_CREATE = SVC + "azure-pls-create"
_AZURE_PLS_PP = SVC + "azure-pls-proxy-protocol"
_AZURE_PLS_SUBNET = SVC + "azure-pls-ip-configuration-subnet"


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
        front = pp_front(
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
    return passthrough_front(
        "azure",
        "Azure Load Balancer: layer-4 pass-through, the client's address arrives as "
        "the peer and no header is added",
        "azure-lb",
    )


OPENSTACK_PREFIX = "loadbalancer.openstack.org/"


def openstack_front(svc: Obj, who: str) -> Front:
    """OpenStack Octavia load balancers (cloud-provider-openstack's Service annotations)."""
    ann = svc.annotations
    # kubernetes/cloud-provider-openstack docs/openstack-cloud-controller-manager/
    # expose-applications-using-loadbalancer-type-service.md: proxy-protocol "If 'true', the
    # loadbalancer pool protocol will be set as PROXY" (v1/v2 in later releases);
    # x-forwarded-for "If 'true', X-Forwarded-For is inserted into the HTTP headers which
    # contains the original client IP address" (an HTTP listener).
    proxy = ann.get(OPENSTACK_PREFIX + "proxy-protocol", "").strip().lower()
    if parse_bool(proxy) or proxy in ("v1", "v2"):
        front = pp_front(
            "openstack",
            f"loadbalancer.openstack.org/proxy-protocol: {proxy}: the Octavia load balancer's "
            "pool speaks PROXY protocol, with the client's address in the header",
            "<the load balancer's member subnet>",
        )
    elif parse_bool(ann.get(OPENSTACK_PREFIX + "x-forwarded-for", "")):
        front = http_front(
            "openstack",
            'loadbalancer.openstack.org/x-forwarded-for: "true": the Octavia load balancer '
            "terminates HTTP and inserts X-Forwarded-For with the client; it connects from its "
            "member subnet",
            "openstack-x-forwarded-for",
            "<the load balancer's member subnet>",
        )
    else:
        front = unknown_proxy_front(
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
    return passthrough_front(
        "kube-vip",
        "kube-vip: a node announces the address and kube-proxy delivers it; no proxy is "
        "in the path",
        "kube-vip",
    )


def metallb_front(svc: Obj, who: str) -> Front:
    """MetalLB (L2 or BGP): addresses routed to nodes, no proxy in the path."""
    # metallb.universe.tf docs ("Usage", traffic policies): with Local, "the client's source
    # IP address is preserved"; with Cluster it is SNAT'ed like a NodePort.
    return passthrough_front(
        "metallb",
        "MetalLB: the address is routed to a node and kube-proxy delivers it; no proxy "
        "is in the path",
        "metallb",
    )


# -- providers whose only client-IP setting doctor knows is PROXY protocol ------------------


@dataclass(frozen=True)
class PPProvider:
    """A load balancer whose controller documents a PROXY-protocol switch, and nothing about
    whether its other modes pass the client address through or add X-Forwarded-For."""

    code: str
    name: str
    prefix: str
    key: str
    on: Tuple[str, ...]
    """Values of ``prefix + key`` that turn PROXY protocol on (compared in lower case)."""
    hint: str


PP_PROVIDERS = (
    # linode-cloud-controller-manager docs/configuration/annotations.md: default-proxy-protocol
    # "none, v1, v2" (the deprecated proxy-protocol key takes the same values).
    PPProvider(
        "linode",
        "Linode/Akamai NodeBalancer",
        SVC + "linode-loadbalancer-",
        "default-proxy-protocol",
        ("v1", "v2"),
        'service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol: "v2"',
    ),
    # vultr-cloud-controller-manager docs/load-balancers.md: proxy-protocol "true, false",
    # "Indicates whether Proxy protocol should be enabled".
    PPProvider(
        "vultr",
        "Vultr load balancer",
        SVC + "vultr-loadbalancer-",
        "proxy-protocol",
        ("true",),
        'service.beta.kubernetes.io/vultr-loadbalancer-proxy-protocol: "true"',
    ),
    # civo-cloud-controller-manager README: loadbalancer-enable-proxy-protocol "send-proxy,
    # send-proxy-v2": "a proxy-protocol header will be sent via the load balancer".
    PPProvider(
        "civo",
        "Civo load balancer",
        "kubernetes.civo.com/",
        "loadbalancer-enable-proxy-protocol",
        ("send-proxy", "send-proxy-v2"),
        "kubernetes.civo.com/loadbalancer-enable-proxy-protocol: send-proxy-v2",
    ),
    # cloudscale-cloud-controller-manager examples/proxy-v2-protocol.yml: pool protocol
    # proxyv2 "in order to preserve the original source IP" (proxy is PROXY v1).
    PPProvider(
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
    prefix = SVC + "linode-loadbalancer-port-"
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


def _pp_provider(svc: Obj) -> Optional[PPProvider]:
    for p in PP_PROVIDERS:
        if any(k.startswith(p.prefix) for k in svc.annotations):
            return p
    return None


def pp_provider_front(svc: Obj, p: PPProvider, who: str) -> Front:
    """A provider from :data:`PP_PROVIDERS`: PROXY protocol when switched on, else unknown."""
    ann = svc.annotations
    value = ann.get(p.prefix + p.key)
    if value is None and p.code == "linode":
        value = ann.get(p.prefix + "proxy-protocol")
    if value is not None and value.strip().lower() in p.on:
        front = pp_front(
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
        front = unknown_proxy_front(
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
