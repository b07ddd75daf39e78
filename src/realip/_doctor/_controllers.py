"""Ingress controllers: which one serves an Ingress, and the registry of those doctor knows.

A controller is named by its IngressClass's ``spec.controller`` when the input has the
IngressClass, and only then guessed from the class name. Each :data:`CONTROLLERS` entry cites the
upstream document that says which header the controller writes and which peers it believes by
default. Also here: reading an Ingress (class, backends, GKE multi-cluster views, load-balancer
addresses) and finding the controller's own Service and workloads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from realip._doctor._f5_nginx import f5_workloads, split_flag
from realip._doctor._foreign_routes import api_group
from realip._doctor._objects import Obj, args, d, lst, pod_labels, s, strmap
from realip._doctor._report import WARNING, Finding

INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class Controller:
    """What doctor knows about one ingress controller."""

    key: str
    name: str
    header: str
    """Which header it writes for the app, and how (appends / replaces)."""
    trusts: str
    """Which peers it believes by default, and the setting that changes that."""
    proxy_protocol: str
    """How it is told to decode PROXY protocol."""
    service_hints: Tuple[Tuple[str, str], ...] = ()
    """Label (key, value) pairs or ("name", NAME) that mark its own Service."""
    lb: bool = False
    """True when the controller is itself a cloud HTTP load balancer (no Service of its own)."""
    appends: bool = False
    """True when it appends its peer to X-Forwarded-For and keeps what arrived."""


# Controller names as IngressClass spec.controller spells them.
CONTROLLERS: Dict[str, Controller] = {
    # kubernetes/ingress-nginx deploy/static/provider/*/deploy.yaml: "controller: k8s.io/ingress-nginx".
    "k8s.io/ingress-nginx": Controller(
        "ingress-nginx",
        "ingress-nginx",
        "X-Forwarded-For replaced by the client it decided on (nginx.tmpl)",
        "proxy-real-ip-cidr (default 0.0.0.0/0), used only with use-forwarded-headers",
        'use-proxy-protocol: "true" in its ConfigMap',
    ),
    # nginx/kubernetes-ingress (F5 NGINX Ingress Controller): IngressClass controller
    # "nginx.org/ingress-controller"; its templates set "proxy_set_header X-Forwarded-For
    # $proxy_add_x_forwarded_for" (appends), and the ConfigMap keys proxy-protocol,
    # real-ip-header, set-real-ip-from, real-ip-recursive configure nginx's realip module.
    "nginx.org/ingress-controller": Controller(
        "f5-nginx",
        "F5 NGINX Ingress Controller (nginx.org)",
        "appends the peer it received the connection from to X-Forwarded-For",
        "set-real-ip-from / real-ip-header in its ConfigMap (nothing by default)",
        'proxy-protocol: "true" in its ConfigMap (nginx.org keys)',
        (("app", "nginx-ingress"), ("app.kubernetes.io/name", "nginx-ingress")),
        appends=True,
    ),
    # traefik/traefik-helm-chart: IngressClass controller "traefik.io/ingress-controller";
    # Traefik docs (entrypoints): forwardedHeaders.trustedIPs, default none: X-Forwarded-* from
    # other peers are removed and X-Forwarded-For is set to the peer.
    "traefik.io/ingress-controller": Controller(
        "traefik",
        "Traefik",
        "X-Forwarded-For: the peer, after removing what untrusted peers sent",
        "entryPoints.<name>.forwardedHeaders.trustedIPs (none by default)",
        "entryPoints.<name>.proxyProtocol.trustedIPs",
        (("app.kubernetes.io/name", "traefik"),),
    ),
    # istio/istio manifests/charts/gateway: Envoy with use_remote_address; meshConfig
    # defaultConfig.gatewayTopology.numTrustedProxies (default 0) says how many X-Forwarded-For
    # hops it believes; it appends the address it received the connection from.
    "istio.io/ingress-controller": Controller(
        "istio",
        "Istio ingress gateway (Envoy)",
        "appends the peer it received the connection from to X-Forwarded-For",
        "gatewayTopology.numTrustedProxies (0 by default)",
        "a PROXY_PROTOCOL listener filter (EnvoyFilter) or gatewayTopology.proxyProtocol",
        (("istio", "ingressgateway"), ("app", "istio-ingressgateway")),
        appends=True,
    ),
    # haproxytech/kubernetes-ingress docs (configuration keys): "forwarded-for" is enabled by
    # default and adds X-Forwarded-For with the client address ("option forwardfor").
    "haproxy.org/ingress-controller": Controller(
        "haproxy",
        "HAProxy Kubernetes Ingress Controller (haproxytech)",
        "adds X-Forwarded-For with the peer it received (forwarded-for, on by default)",
        "src-ip-header / proxy-protocol config keys (nothing by default)",
        "the proxy-protocol config key (a list of trusted sources)",
        (("app.kubernetes.io/name", "kubernetes-ingress"), ("run", "haproxy-ingress")),
        appends=True,
    ),
    # projectcontour/contour examples/render/contour.yaml: Envoy behind a LoadBalancer
    # Service; Contour's xff_num_trusted_hops is 0 by default ("num-trusted-hops" setting), so
    # Envoy appends the downstream address to X-Forwarded-For.
    "projectcontour.io/contour": Controller(
        "contour",
        "Contour (Envoy)",
        "appends the peer it received the connection from to X-Forwarded-For",
        "num-trusted-hops / xff_num_trusted_hops (0 by default)",
        "contour serve --use-proxy-protocol",
        (("app", "envoy"), ("app.kubernetes.io/name", "envoy"), ("name", "envoy")),
        appends=True,
    ),
    # Azure/application-gateway-kubernetes-ingress: Application Gateway (a cloud HTTP proxy)
    # appends the client address (with its port) to X-Forwarded-For and connects from its subnet.
    "azure/application-gateway": Controller(
        "agic",
        "Azure Application Gateway (AGIC)",
        "appends the client to X-Forwarded-For (as ip:port)",
        "n/a: it is the edge",
        "n/a",
        lb=True,
    ),
    # aws-load-balancer-controller: IngressClass controller "ingress.k8s.aws/alb".
    "ingress.k8s.aws/alb": Controller(
        "aws-alb",
        "AWS Application Load Balancer",
        "appends the client to X-Forwarded-For",
        "n/a: it is the edge",
        "n/a",
        lb=True,
    ),
    # Alibaba Cloud ALB Ingress: IngressClass controller "ingresses.networking.alibabacloud.com/alb".
    "ingresses.networking.alibabacloud.com/alb": Controller(
        "alibaba-alb",
        "Alibaba Cloud ALB",
        "appends the client to X-Forwarded-For",
        "n/a: it is the edge",
        "n/a",
        lb=True,
    ),
    "k8s.io/ingress-gce": Controller(
        "gce",
        "GKE Ingress (external Application Load Balancer)",
        "appends '<client>, <load balancer IP>' to X-Forwarded-For",
        "n/a: it is the edge",
        "n/a",
        lb=True,
    ),
}

# Class names seen without an IngressClass object, mapped to a controller (best effort).
CLASS_NAMES: Dict[str, str] = {
    "traefik": "traefik.io/ingress-controller",
    "istio": "istio.io/ingress-controller",
    "haproxy": "haproxy.org/ingress-controller",
    "contour": "projectcontour.io/contour",
    "azure/application-gateway": "azure/application-gateway",
    "azure-application-gateway": "azure/application-gateway",
    "gce": "k8s.io/ingress-gce",
}


def ingress_class(ing: Obj) -> str:
    """The class an Ingress asks for (ingressClassName, else the legacy annotation)."""
    return (
        s(ing.spec.get("ingressClassName")) or ing.annotations.get(INGRESS_CLASS_ANNOTATION, "")
    ).strip()


def ingress_backends(ing: Obj) -> List[str]:
    """The Service names an Ingress routes to (v1 and v1beta1 spellings)."""
    names: List[str] = []

    def add(backend: object) -> None:
        backend = d(backend)
        name = s(d(backend.get("service")).get("name")) or s(backend.get("serviceName"))
        if name and name not in names:
            names.append(name)

    add(ing.spec.get("defaultBackend"))
    add(ing.spec.get("backend"))
    for rule in lst(ing.spec.get("rules")):
        for path in lst(d(d(rule).get("http")).get("paths")):
            add(d(path).get("backend"))
    return names


# GKE multi-cluster Ingress (networking.gke.io): a MultiClusterIngress is an Ingress spec under
# spec.template.spec that GKE's multi-cluster Ingress controller turns into an external
# Application Load Balancer; a MultiClusterService is a Service spec under spec.template.spec
# whose pods in the member clusters the load balancer reaches through NEGs.
MULTI_CLUSTER_KINDS = ("MultiClusterIngress", "MultiClusterService")


def is_multi_cluster(obj: Obj) -> bool:
    """A GKE MultiClusterIngress or MultiClusterService."""
    return obj.kind in MULTI_CLUSTER_KINDS and api_group(obj) == "networking.gke.io"


def multi_cluster_view(obj: Obj) -> Obj:
    """The Ingress or Service spec a MultiClusterIngress / MultiClusterService holds, with the
    load balancer's address (``status.VIP``) where an Ingress keeps it."""
    status = dict(obj.status)
    vip = s(obj.status.get("VIP"))
    if vip:
        status["loadBalancer"] = {"ingress": [{"ip": vip}]}
    return replace(obj, spec=d(d(obj.spec.get("template")).get("spec")), status=status)


def ingress_summary(ing: Obj) -> str:
    """One line: class, hosts, backends."""
    cls = ingress_class(ing) or (
        "GKE multi-cluster" if ing.kind == "MultiClusterIngress" else "no class"
    )
    hosts = [s(d(r).get("host")) for r in lst(ing.spec.get("rules"))]
    hosts = [h for h in hosts if h]
    backends = ingress_backends(ing)
    parts = [f"class {cls}"]
    if hosts:
        parts.append("hosts " + ", ".join(hosts))
    if backends:
        parts.append("-> " + ", ".join(backends))
    return ", ".join(parts)


def lb_addresses(obj: Obj) -> List[str]:
    """``status.loadBalancer.ingress[].ip`` (Ingress) or ``status.addresses[].value`` (Gateway)."""
    found = []
    for item in lst(d(obj.status.get("loadBalancer")).get("ingress")):
        ip = s(d(item).get("ip"))
        if ip:
            found.append(ip)
    for item in lst(obj.status.get("addresses")):
        value = s(d(item).get("value"))
        if value and d(item).get("type", "IPAddress") == "IPAddress":
            found.append(value)
    return found


def controller_of_class(cls: str, classes: Sequence[Obj]) -> Tuple[Optional[str], bool]:
    """The controller name for a class, and whether it came from an IngressClass object."""
    for ic in classes:
        if ic.name == cls:
            return s(ic.spec.get("controller")), True
    return CLASS_NAMES.get(cls.lower()), False


def default_class(classes: Sequence[Obj]) -> Optional[Obj]:
    """The IngressClass marked as the cluster default, if any."""
    for ic in classes:
        if ic.annotations.get(DEFAULT_CLASS_ANNOTATION, "").strip().lower() == "true":
            return ic
    return None


def controller_service(
    ctrl: Controller, services: Sequence[Obj], workloads: Sequence[Obj] = ()
) -> Optional[Obj]:
    """The controller's own Service where clients enter (LoadBalancer, NodePort or externalIPs),
    named by the controller's arguments or recognised by its labels or name.

    ``workloads`` are the controller workloads in the input (F5's, whose -external-service
    names its Service); passing only those keeps a large input linear.
    """
    if ctrl.key == "f5-nginx":
        # nginx/kubernetes-ingress cmd/nginx-ingress flags: "-external-service <name>": the
        # Service whose external address the controller reports, in its own namespace.
        for w in f5_workloads(workloads):
            for a in args(w):
                flag, value = split_flag(a)
                if flag == "external-service" and value:
                    named = [x for x in services if x.key == (w.namespace, value)]
                    if named:
                        return named[0]
    for svc in services:
        if s(svc.spec.get("type")) not in ("LoadBalancer", "NodePort") and not lst(
            svc.spec.get("externalIPs")
        ):
            continue
        chosen = strmap(svc.spec.get("selector"))
        for key, value in ctrl.service_hints:
            if (key == "name" and svc.name == value) or svc.labels.get(key) == value:
                return svc
            # A Service without labels still selects the controller's pods by them.
            if key != "name" and chosen.get(key) == value:
                return svc
        if ctrl.key in svc.name:
            return svc
    return None


def is_controller_workload(ctrl: Controller, workload: Obj) -> bool:
    """A workload whose pods carry one of the labels that mark the controller's Service."""
    labels = pod_labels(workload)
    return any(key != "name" and labels.get(key) == value for key, value in ctrl.service_hints)


def unknown_controller(cls: str, controller: Optional[str]) -> Finding:
    """A controller doctor does not know: say so, and how to find out."""
    named = f"controller {controller!r}" if controller else f"class {cls or '(none)'!r}"
    return Finding(
        WARNING,
        "ingress-controller-unknown",
        f"ingress {named}: doctor does not know this controller, so it can't tell which header "
        "it writes or which peers it believes. Find out from its documentation (look for "
        "'X-Forwarded-For', 'trusted proxies' or 'real IP'), or run `realip serve` behind it "
        "and read the headers it forwards; then check that its own Service keeps the client IP "
        "(externalTrafficPolicy: Local)",
    )
