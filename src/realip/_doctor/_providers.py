"""The provider registry: recognising which load balancer a Service gets, then asking its judge.

:data:`PROVIDERS` lists every provider doctor reads, with how it is recognised (annotations,
class, node ``providerID``, status hostnames), who judges it and the upstream source its rules
rest on; the reference page's provider table is rendered from it. :func:`service_front` is the
entry point: a Service's type, then its provider, then externalTrafficPolicy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from realip._doctor._cloud_alibaba import alibaba_front, is_alibaba
from realip._doctor._cloud_aws import AWS_NLB_CLASS, AWS_PREFIX, aws_front
from realip._doctor._cloud_others import (
    DO_PREFIX,
    GCP_L4_CLASSES,
    GCP_LB_TYPE,
    GCP_RBS,
    HCLOUD_PREFIX,
    OPENSTACK_PREFIX,
    PP_PROVIDERS,
    SCW_PREFIX,
    PPProvider,
    azure_front,
    digitalocean_front,
    gcp_front,
    hetzner_front,
    kube_vip_front,
    metallb_front,
    oci_front,
    openstack_front,
    pp_provider_front,
    scaleway_front,
)
from realip._doctor._fronts import (
    DIRECT,
    INTERNAL,
    NODEPORT_LOCAL,
    POD_TO_POD,
    SVC,
    Front,
    apply_etp,
    unknown_lb_front,
)
from realip._doctor._objects import Obj, d, external_ips, lst, s, service_type
from realip._doctor._report import INFO, Finding

_OCI_PREFIXES = (SVC + "oci-load-balancer-", "oci.oraclecloud.com/", "oci-network-load-balancer.")
_AZURE_PREFIX = SVC + "azure-"
# MetalLB's docs write "metallb.io/" (loadBalancerIPs, address-pool, allow-shared-ip) since
# v0.14; the older "metallb.universe.tf/" spelling is still read by MetalLB and still common.
_METALLB_PREFIXES = ("metallb.universe.tf/", "metallb.io/")


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
    return lb_class == AWS_NLB_CLASS or any(k.startswith(AWS_PREFIX) for k in svc.annotations)


def _is_gcp(svc: Obj) -> bool:
    ann = svc.annotations
    return (
        s(svc.spec.get("loadBalancerClass")) in GCP_L4_CLASSES
        or GCP_RBS in ann
        or any(k in ann for k in GCP_LB_TYPE)
    )


def _pp_judge(p: PPProvider) -> Callable[[Obj, str], Front]:
    return lambda svc, who: pp_provider_front(svc, p, who)


_THROUGH_NODES = "yes (nodes), unless its annotations send to pod IPs"

PROVIDERS: Tuple[Provider, ...] = (
    Provider(
        "alibaba",
        "Alibaba Cloud CLB (SLB) / NLB",
        "`service.beta.kubernetes.io/alibaba-cloud-*` / `alicloud-*`, "
        "`loadBalancerClass: alibabacloud.com/nlb`",
        is_alibaba,
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
        _prefixed(DO_PREFIX),
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
        _prefixed(SCW_PREFIX),
        scaleway_front,
        _THROUGH_NODES,
        "scaleway/scaleway-cloud-controller-manager docs/loadbalancer-annotations.md",
        node_ids=("scaleway://",),
    ),
    Provider(
        "hetzner",
        "Hetzner Cloud",
        "`load-balancer.hetzner.cloud/*`",
        _prefixed(HCLOUD_PREFIX),
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
        _prefixed(OPENSTACK_PREFIX),
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
        for p in PP_PROVIDERS
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
