"""Ingress controllers, Gateway API classes and tunnels: who writes which header, whom it trusts.

A controller is named by its IngressClass's ``spec.controller`` when the input has the
IngressClass, and only then guessed from the class name. Each entry cites the upstream document
that says which header the controller writes and which peers it believes by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from realip._doctor._cloud_others import GOOGLE_FRONT_END_RANGES
from realip._doctor._fronts import (
    HTTP,
    INGRESS,
    LB_HTTP,
    PROXIED,
    PROXY_PROTOCOL,
    SNAT,
    UNKNOWN_LB,
    VPC_CIDR,
    Front,
    controller_service_missing,
    proxy_protocol_mismatch,
    settings,
)
from realip._doctor._objects import (
    Obj,
    args,
    containers,
    d,
    host_network,
    host_ports,
    images,
    lst,
    pod_labels,
    s,
    strmap,
)
from realip._doctor._providers import service_front
from realip._doctor._report import (
    BAD,
    ERROR,
    INFO,
    LOST,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    WARNING,
    Finding,
    howto,
)

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


def _alb_target(ing: Obj) -> str:
    return ing.annotations.get("alb.ingress.kubernetes.io/target-type", "").strip().lower() or (
        "instance"
    )


_ALB_ATTRIBUTES = "alb.ingress.kubernetes.io/load-balancer-attributes"


def _alb_xff_mode(ing: Obj) -> str:
    """``routing.http.xff_header_processing.mode`` from the load-balancer-attributes annotation."""
    for item in ing.annotations.get(_ALB_ATTRIBUTES, "").split(","):
        key, _, value = item.partition("=")
        if key.strip() == "routing.http.xff_header_processing.mode":
            return value.strip().lower()
    return "append"


def _alb_xff_verdict(mode: str) -> Tuple[str, List[Finding], Dict[str, str], str]:
    # AWS ELB docs (Application Load Balancers, "X-Forwarded-For header", processing modes):
    # append (the default) adds the client; "preserve" keeps the header "without any change";
    # "remove" removes it before the request reaches the targets. aws-load-balancer-controller
    # docs (guide/ingress/annotations, load-balancer-attributes) set the attribute this way.
    out = settings(LB_HTTP, VPC_CIDR)
    attr = f"routing.http.xff_header_processing.mode={mode}"
    if mode == "preserve":
        return (
            SPOOFABLE,
            [
                Finding(
                    ERROR,
                    "aws-alb-xff-preserve",
                    f"{_ALB_ATTRIBUTES}: {attr}: the ALB passes X-Forwarded-For on exactly as "
                    "the client sent it and adds nothing, so the rightmost entry is the client's "
                    "choice",
                    "set routing.http.xff_header_processing.mode=append (the default), so the "
                    "ALB appends the address it received the connection from",
                )
            ],
            out,
            LB_HTTP,
        )
    return (
        LOST,
        [
            Finding(
                ERROR,
                "aws-alb-xff-remove",
                f"{_ALB_ATTRIBUTES}: {attr}: the ALB removes X-Forwarded-For before the "
                "request reaches the targets, so the app sees only the ALB's address",
                "set routing.http.xff_header_processing.mode=append (the default)",
            )
        ],
        out,
        LB_HTTP,
    )


def alb_verdict(ing: Obj, alibaba: bool) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """An Application Load Balancer Ingress (AWS or Alibaba Cloud)."""
    if alibaba:
        return (
            PRESERVED,
            [
                Finding(
                    INFO,
                    "alibaba-alb",
                    "Alibaba Cloud ALB Ingress: the ALB terminates HTTP, appends the client to "
                    "X-Forwarded-For and connects to the backends from its vSwitches in your VPC; "
                    f"trust the VPC CIDR ({howto('how-to/load-balancer.md')})",
                )
            ],
            settings(LB_HTTP, VPC_CIDR),
            LB_HTTP,
        )
    target = _alb_target(ing)
    xff = _alb_xff_mode(ing)
    if xff in ("preserve", "remove"):
        return _alb_xff_verdict(xff)
    # aws-load-balancer-controller docs (guide/ingress/annotations, target-type): "instance
    # mode will route traffic to all ec2 instances within cluster on NodePort opened for your
    # service" (so kube-proxy may SNAT to a node address, which is inside the VPC); "ip mode
    # will route traffic directly to the pod IP".
    via = (
        "straight to pod IPs"
        if target == "ip"
        else "to the Service's NodePort, so kube-proxy may SNAT it to a node address, which is "
        "also in the VPC range these settings trust"
    )
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "aws-alb",
                f"AWS Application Load Balancer (alb.ingress.kubernetes.io/target-type: {target}): "
                f"it terminates HTTP, appends the client to X-Forwarded-For and forwards {via}; "
                f"trust the VPC CIDR ({howto('how-to/load-balancer.md')})",
            )
        ],
        settings(LB_HTTP, VPC_CIDR),
        LB_HTTP,
    )


def _google_ranges(obj: Obj, what: str) -> str:
    addresses = lb_addresses(obj)
    ranges = ",".join(GOOGLE_FRONT_END_RANGES) + "".join(f",{a}" for a in addresses)
    if not addresses:
        ranges += f",<the {what}'s load balancer IP>"
    return ranges


def gce_verdict(
    ing: Obj, internal: bool, what: str = "Ingress"
) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """GKE's own Ingress / Gateway: a Google Application Load Balancer."""
    if internal:
        return (
            PRESERVED,
            [
                Finding(
                    INFO,
                    "gce-internal-alb",
                    "GKE internal (or regional) Application Load Balancer: Envoy proxies in your "
                    "proxy-only subnet append the client to X-Forwarded-For; trust that subnet",
                )
            ],
            settings(LB_HTTP, "<your proxy-only subnet>"),
            LB_HTTP,
        )
    ranges = _google_ranges(ing, what)
    # Google Cloud docs (external Application Load Balancer, "X-Forwarded-For header"): the
    # load balancer appends "<client-ip>,<load-balancer-ip>" to X-Forwarded-For.
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "gce-alb",
                "Google external Application Load Balancer: Google Front Ends connect from "
                f"{', '.join(GOOGLE_FRONT_END_RANGES)} and append '<client>, <load balancer IP>' "
                "to X-Forwarded-For, so both the front-end ranges and the load balancer's own "
                "address must be trusted (with instance-group backends kube-proxy may also SNAT "
                "to a node: add your node CIDR then)",
            )
        ],
        settings(LB_HTTP, ranges),
        LB_HTTP,
    )


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


def is_alibaba_class(cls: str, classes: Sequence[Obj]) -> bool:
    """True when an 'alb' class belongs to Alibaba Cloud's ALB Ingress controller."""
    for ic in classes:
        if ic.name == cls:
            params = d(ic.spec.get("parameters"))
            return s(ic.spec.get("controller")).endswith("alibabacloud.com/alb") or s(
                params.get("apiGroup")
            ).endswith("alibabacloud.com")
    return False


# cloud-provider-alibaba-cloud docs/usage-alb.md: ALB Ingresses carry
# alb.ingress.kubernetes.io/address-type, /vswitch-ids and /albconfig.name, which the AWS Load
# Balancer Controller does not define.
_ALIBABA_ALB_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/vswitch-ids",
    "alb.ingress.kubernetes.io/address-type",
    "alb.ingress.kubernetes.io/albconfig.name",
)


def has_alibaba_alb_annotations(ing: Obj) -> bool:
    """True when an 'alb' Ingress uses annotations only Alibaba Cloud's ALB controller reads."""
    return any(k in ing.annotations for k in _ALIBABA_ALB_ANNOTATIONS)


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
                flag, value = _flag(a)
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


@dataclass(frozen=True)
class Found:
    """One setting found in the input, where it was found, and how to undo it."""

    setting: str
    where: str
    effect: str
    fix: str


@dataclass(frozen=True)
class Evidence:
    """What the controller's own arguments and ConfigMap say (only what they say for sure)."""

    decodes_proxy_protocol: Optional[bool] = None
    believes_lb_header: Optional[bool] = None
    where: str = ""
    believes_clients: Tuple[Found, ...] = ()
    """Settings that make it take the client from a header any client can write."""
    drops_client: Tuple[Found, ...] = ()
    """Settings that make it forward no client address at all."""


# -- the decision table: settings that make a controller believe what a client writes --------


@dataclass(frozen=True)
class ClientHeaderSetting:
    """A controller setting that believes (or drops) a client-written header, and its source."""

    controller: str
    """The :class:`Controller` key it belongs to."""
    setting: str
    """As the controller's documentation spells it."""
    effect: str
    fix: str
    source: str
    """The upstream file (and line) the behaviour rests on."""
    args: Optional[re.Pattern[str]] = None
    """Matches a container argument (lower case) that switches it on."""
    env: Optional[re.Pattern[str]] = None
    """Matches ``NAME=value`` of a container environment variable (upper-cased name)."""
    static: Tuple[str, str] = ("", "")
    """(section, key) of a static configuration file in a ConfigMap (YAML or TOML) set true."""
    keys: Tuple[str, ...] = ()
    """ConfigMap keys, or annotation keys on the Ingress or Service, whose presence switches it
    on (a non-empty value)."""
    drops: bool = False
    """True when the setting loses the client rather than believing one."""


_TRUE = r"(=(true|1|t))?$"
_EVERYONE = r"=(.*[,\s])?(0\.0\.0\.0/0|::/0)\s*(,|$)"

CLIENT_HEADER_SETTINGS: Tuple[ClientHeaderSetting, ...] = (
    # traefik pkg/middlewares/forwardedheaders/forwarded_header.go, ServeHTTP: "if !x.insecure &&
    # !x.isTrustedIP(r.RemoteAddr) { DeleteXForwardedHeaders(r.Header) }": with insecure every
    # client's X-Forwarded-For and X-Real-Ip reach the app (rewrite() keeps a client's
    # X-Real-Ip). The Helm chart renders ports.<name>.forwardedHeaders.insecure as this argument.
    ClientHeaderSetting(
        "traefik",
        "entryPoints.<name>.forwardedHeaders.insecure",
        "Traefik keeps the X-Forwarded-For and X-Real-Ip headers of every peer, so the app "
        "receives what any client wrote as if a trusted proxy had written it",
        "remove forwardedHeaders.insecure and list your load balancer's range in "
        "entryPoints.<name>.forwardedHeaders.trustedIPs",
        "traefik/traefik pkg/middlewares/forwardedheaders/forwarded_header.go (ServeHTTP)",
        args=re.compile(r"^--entrypoints\.[^.=]+\.forwardedheaders\.insecure" + _TRUE),
        env=re.compile(r"^TRAEFIK_ENTRYPOINTS_[^=]+_FORWARDEDHEADERS_INSECURE=(true|1|t)$", re.I),
        static=("forwardedheaders", "insecure"),
    ),
    # Same file: isTrustedIP() believes every peer in trustedIPs; 0.0.0.0/0 is insecure by
    # another name.
    ClientHeaderSetting(
        "traefik",
        "entryPoints.<name>.forwardedHeaders.trustedIPs with 0.0.0.0/0 or ::/0",
        "Traefik trusts every peer's X-Forwarded-For and X-Real-Ip",
        "list only your load balancer's range in entryPoints.<name>.forwardedHeaders.trustedIPs",
        "traefik/traefik pkg/middlewares/forwardedheaders/forwarded_header.go (isTrustedIP)",
        args=re.compile(r"^--entrypoints\.[^.=]+\.forwardedheaders\.trustedips" + _EVERYONE),
        env=re.compile(r"^TRAEFIK_ENTRYPOINTS_[^=]+_FORWARDEDHEADERS_TRUSTEDIPS" + _EVERYONE, re.I),
    ),
    # Same file: with notAppendXForwardedFor Traefik does not add the peer; an untrusted peer's
    # header was deleted first, so the app gets no client at all from a direct client.
    ClientHeaderSetting(
        "traefik",
        "notAppendXForwardedFor",
        "Traefik deletes an untrusted peer's X-Forwarded-For and does not add the peer, so the "
        "app receives no client address",
        "remove notAppendXForwardedFor (Traefik then appends the peer it received)",
        "traefik/traefik pkg/middlewares/forwardedheaders/forwarded_header.go (ServeHTTP, "
        "SetNotAppendXFF)",
        args=re.compile(
            r"^--(entrypoints\.[^.=]+\.forwardedheaders\.|global\.)notappendxforwardedfor" + _TRUE
        ),
        env=re.compile(
            r"^TRAEFIK_(ENTRYPOINTS_[^=]+_FORWARDEDHEADERS|GLOBAL)_NOTAPPENDXFORWARDEDFOR"
            r"=(true|1|t)$",
            re.I,
        ),
        static=("forwardedheaders", "notappendxforwardedfor"),
        drops=True,
    ),
    # haproxytech/kubernetes-ingress pkg/annotations/ingress/srcIPHdr.go adds rules.ReqSetSrc for
    # any value, and pkg/haproxy/rules/reqSetSrc.go writes an unconditional
    # "http-request set-src hdr(<header>)": HAProxy takes the source from the header whoever
    # sent it. documentation/README.md: a ConfigMap key and an Ingress annotation, with the
    # ingress.kubernetes.io, haproxy.org and haproxy.com prefixes.
    ClientHeaderSetting(
        "haproxy",
        "src-ip-header",
        "HAProxy replaces the source address with the named header (http-request set-src hdr(...)) "
        "for every request, whoever sent it",
        "remove src-ip-header; if an HTTP load balancer in front writes the client, keep HAProxy's "
        "forwarded-for and trust that load balancer in the app instead",
        "haproxytech/kubernetes-ingress pkg/annotations/ingress/srcIPHdr.go, "
        "pkg/haproxy/rules/reqSetSrc.go",
        keys=(
            "src-ip-header",
            "haproxy.org/src-ip-header",
            "haproxy.com/src-ip-header",
            "ingress.kubernetes.io/src-ip-header",
        ),
    ),
)
"""Every controller setting doctor knows that makes a controller believe a header any client
can write (or drop the client), checked the same way for every controller."""


def _static_flag(text: str, section: str, key: str) -> bool:
    """``key`` set true under ``section`` of a YAML or TOML static configuration file."""
    lines = text.lower().splitlines()
    for i, line in enumerate(lines):
        if section not in line:
            continue
        rest = line.split(section, 1)[1]
        if re.search(rf"\b{key}\s*[:=]\s*(true|1|t)\b", rest):
            return True  # flow style: forwardedHeaders: {insecure: true}
        indent = len(line) - len(line.lstrip())
        for follow in lines[i + 1 :]:
            body = follow.strip()
            if not body or body.startswith("#"):
                continue
            # TOML: the next table; YAML: the next key at the section's indent or less.
            if body.startswith("[") or (":" in body and len(follow) - len(body) <= indent):
                break
            if re.match(rf"{key}\s*[:=]\s*[\"']?(true|1|t)\b", body):
                return True
    return False


def _env_pairs(workload: Obj) -> List[str]:
    pairs = []
    for c in containers(workload):
        for e in lst(c.get("env")):
            e = d(e)
            pairs.append(f"{s(e.get('name'))}={s(e.get('value'))}")
    return pairs


def client_header_settings(
    ctrl: Controller,
    workloads: Sequence[Obj],
    cms: Sequence[Obj],
    annotated: Sequence[Obj] = (),
) -> Tuple[Tuple[Found, ...], Tuple[Found, ...]]:
    """The believing and the dropping settings of :data:`CLIENT_HEADER_SETTINGS` in the input."""
    believes: List[Found] = []
    drops: List[Found] = []
    for rule in CLIENT_HEADER_SETTINGS:
        if rule.controller != ctrl.key:
            continue
        where: List[str] = []
        for w in workloads:
            hit = (rule.args is not None and any(rule.args.search(a.lower()) for a in args(w))) or (
                rule.env is not None and any(rule.env.search(p) for p in _env_pairs(w))
            )
            if hit:
                where.append(f"{w.kind} {w.ref}")
        for cm in cms:
            if any(cm.data.get(k, "").strip() for k in rule.keys) or (
                rule.static[0] and any(_static_flag(v, *rule.static) for v in cm.data.values())
            ):
                where.append(f"ConfigMap {cm.ref}")
        for obj in annotated:
            if any(obj.annotations.get(k, "").strip() for k in rule.keys):
                where.append(f"{obj.kind} {obj.ref}")
        if where:
            found = Found(rule.setting, ", ".join(where), rule.effect, rule.fix)
            (drops if rule.drops else believes).append(found)
    return tuple(believes), tuple(drops)


def believes_clients_finding(ctrl: Controller, found: Sequence[Found]) -> Finding:
    """ERROR: the controller takes the client from a header any client can write."""
    return Finding(
        ERROR,
        "controller-believes-clients",
        "; ".join(f"{f.setting} ({f.where}): {f.effect}" for f in found)
        + f". Whatever sits in front of {ctrl.name}, a client can send that header and pick "
        "the address the app sees",
        "; ".join(f.fix for f in found),
    )


def drops_client_finding(ctrl: Controller, found: Sequence[Found]) -> Finding:
    """ERROR: the controller forwards no client address."""
    return Finding(
        ERROR,
        "controller-drops-client",
        "; ".join(f"{f.setting} ({f.where}): {f.effect}" for f in found),
        "; ".join(f.fix for f in found),
    )


def controller_evidence(ctrl: Controller, workloads: Sequence[Obj], cms: Sequence[Obj]) -> Evidence:
    """Read the settings the controller's docs name, from its workloads' args and ConfigMaps."""
    flat = [a.lower() for w in workloads for a in args(w)]
    where = ", ".join(f"{w.kind} {w.ref}" for w in workloads)
    pp: Optional[bool] = None
    lb: Optional[bool] = None
    if ctrl.key == "traefik":
        # Traefik docs (EntryPoints): --entryPoints.<name>.proxyProtocol.trustedIPs / .insecure
        # and --entryPoints.<name>.forwardedHeaders.trustedIPs / .insecure.
        if any("proxyprotocol.trustedips" in a or "proxyprotocol.insecure" in a for a in flat):
            pp = True
        if any(
            "forwardedheaders.trustedips" in a or "forwardedheaders.insecure" in a for a in flat
        ):
            lb = True
    elif ctrl.key == "istio":
        # Istio docs (Configuring Gateway Network Topology): the pod annotation
        # proxy.istio.io/config with gatewayTopology: {proxyProtocol: {}} makes the gateway
        # decode PROXY protocol.
        configs = [
            strmap(d(d(w.spec.get("template")).get("metadata")).get("annotations")).get(
                "proxy.istio.io/config", ""
            )
            for w in workloads
        ]
        if any("proxyprotocol" in c.replace("_", "").lower() for c in configs):
            pp = True
    elif ctrl.key == "contour":
        # Contour docs (Enabling PROXY protocol): "contour serve --use-proxy-protocol".
        if any(a.startswith("--use-proxy-protocol") for a in flat):
            pp = True
    elif ctrl.key == "f5-nginx":
        # The caller passes only the ConfigMap the controller reads (f5_configmap); its
        # proxy-protocol key is off unless set.
        if cms:
            pp = f5_decodes_proxy_protocol(cms[0])
            where = f"ConfigMap {cms[0].ref}"
    elif ctrl.key == "haproxy":
        # haproxytech ConfigMap keys: "proxy-protocol" lists the sources it decodes it from.
        found = [c for c in cms if "proxy-protocol" in c.data]
        if found:
            pp = True
            where = ", ".join(f"ConfigMap {c.ref}" for c in found)
    believes, drops = client_header_settings(ctrl, workloads, cms)
    return Evidence(pp, lb, where, believes, drops)


def with_annotations(ctrl: Controller, evidence: Evidence, objs: Sequence[Obj]) -> Evidence:
    """Add what annotations on an Ingress (or its Services) switch on for this controller."""
    believes, drops = client_header_settings(ctrl, (), (), objs)
    if not believes and not drops:
        return evidence
    return replace(
        evidence,
        believes_clients=evidence.believes_clients + believes,
        drops_client=evidence.drops_client + drops,
    )


def generic_verdict(
    ctrl: Controller,
    front_kind: Optional[str],
    lb_cidrs: Optional[str],
    evidence: Evidence,
) -> Tuple[str, List[Finding], Dict[str, str]]:
    """What the app behind a controller other than ingress-nginx (or F5's) gets."""
    out = settings(INGRESS)
    header = Finding(
        INFO,
        "controller-header",
        f"{ctrl.name}: {ctrl.header}; it believes forwarded headers from: {ctrl.trusts}. The "
        "app sees the controller pod as its peer and reads X-Forwarded-For trusting the pod CIDR "
        f"({howto('how-to/ingress.md')})",
    )
    # A client can send a header whatever is in front: judged before the load balancer.
    if evidence.believes_clients:
        return SPOOFABLE, [header, believes_clients_finding(ctrl, evidence.believes_clients)], out
    if evidence.drops_client and not (front_kind == HTTP and evidence.believes_lb_header):
        # Only a trusted HTTP load balancer's own X-Forwarded-For still reaches the app.
        return LOST, [header, drops_client_finding(ctrl, evidence.drops_client)], out
    client, finding = _generic_front_verdict(ctrl, front_kind, evidence)
    findings = [header] if finding is None else [header, finding]
    if front_kind == HTTP and ctrl.appends:
        # '<client>, <load balancer>' arrives: realip trusts the load balancer's range too.
        return client, findings, settings(INGRESS, lb_cidrs or "<the load balancer range>")
    return client, findings, out


def _generic_front_verdict(
    ctrl: Controller, front_kind: Optional[str], evidence: Evidence
) -> Tuple[str, Optional[Finding]]:
    """generic_verdict's verdict from what is in front of the controller (clients believed and
    the client dropped already ruled out), and the finding that explains it."""

    if front_kind in (SNAT, PROXIED):
        return LOST, Finding(
            ERROR,
            "controller-loses-client-ip",
            f"the {ctrl.name} Service already loses the client IP (see its entry): the "
            "controller sees a node or load-balancer address and passes that on",
            "fix the controller Service first (externalTrafficPolicy: Local on that "
            f"Service, or PROXY protocol on the load balancer with {ctrl.proxy_protocol})",
        )
    if front_kind == PROXY_PROTOCOL and evidence.decodes_proxy_protocol:
        return PRESERVED, Finding(
            INFO,
            "controller-proxy-protocol",
            f"the load balancer sends PROXY protocol and {ctrl.name} decodes it "
            f"({ctrl.proxy_protocol}, set in {evidence.where})",
        )
    if front_kind == PROXY_PROTOCOL:
        return UNKNOWN, Finding(
            WARNING,
            "controller-proxy-protocol-unverified",
            f"the load balancer sends PROXY protocol: {ctrl.name} must decode it "
            f"({ctrl.proxy_protocol}); doctor can't see that setting in these objects, so "
            "check it in the controller's configuration (Helm values, arguments or "
            "config file), or every request fails",
        )
    if front_kind == HTTP and ctrl.appends:
        # The load balancer appended the client, the controller appends the load balancer.
        return PRESERVED, Finding(
            INFO,
            "controller-appends",
            "X-Forwarded-For reaches the app as '<client>, <load balancer>': realip "
            "trusts the load balancer's range as well as the pods",
        )
    if front_kind == HTTP and evidence.believes_lb_header:
        return PRESERVED, Finding(
            INFO,
            "controller-believes-lb",
            f"{ctrl.name} believes the load balancer's X-Forwarded-For ({ctrl.trusts}, "
            f"set in {evidence.where}) and passes the client on",
        )
    if front_kind == HTTP:
        return UNKNOWN, Finding(
            WARNING,
            "controller-trust-unverified",
            f"an HTTP load balancer sits in front of {ctrl.name}: the client survives only "
            f"if the controller believes the load balancer's X-Forwarded-For "
            f"({ctrl.trusts}); doctor can't see that setting in these objects",
        )
    if front_kind == UNKNOWN_LB:
        return UNKNOWN, Finding(
            WARNING,
            "controller-lb-unknown",
            f"doctor can't tell what the load balancer in front of {ctrl.name} does to the "
            "client address (see the controller Service's entry)",
        )
    if front_kind is None:
        return UNKNOWN, controller_service_missing(ctrl.name)
    return PRESERVED, None


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


# -- Gateway API ---------------------------------------------------------------------------

# GKE docs ("GatewayClass capabilities"): the gke-l7-* classes are Google Cloud Application Load
# Balancers; global/classic external ones are fronted by Google Front Ends, regional and
# internal ones by Envoy proxies in a proxy-only subnet.
GKE_EXTERNAL_CLASSES = (
    "gke-l7-gxlb",
    "gke-l7-global-external-managed",
    "gke-l7-gxlb-mc",
    "gke-l7-global-external-managed-mc",
)
GKE_PROXY_SUBNET_CLASSES = (
    "gke-l7-rilb",
    "gke-l7-regional-external-managed",
    "gke-l7-rilb-mc",
    "gke-l7-regional-external-managed-mc",
    "gke-l7-cross-regional-internal-managed-mc",
)
# Gateway classes run by in-cluster proxies doctor knows by name (their docs name these).
GATEWAY_PROXIES = {
    "istio": "istio.io/ingress-controller",
    "contour": "projectcontour.io/contour",
    "traefik": "traefik.io/ingress-controller",
}


def gateway_class(gw: Obj) -> str:
    """``spec.gatewayClassName``."""
    return s(gw.spec.get("gatewayClassName")).strip()


def route_parents(route: Obj) -> List[Tuple[str, str]]:
    """The Gateways an HTTPRoute attaches to, as (namespace, name): v1 and v1alpha1 forms."""
    found = []
    for ref in lst(route.spec.get("parentRefs")):
        ref = d(ref)
        found.append((s(ref.get("namespace")) or route.namespace, s(ref.get("name"))))
    for ref in lst(d(route.spec.get("gateways")).get("gatewayRefs")):
        ref = d(ref)
        found.append((s(ref.get("namespace")) or route.namespace, s(ref.get("name"))))
    return [p for p in found if p[1]]


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    # A Kubernetes label selector: matchLabels and matchExpressions (In, NotIn, Exists,
    # DoesNotExist); an empty selector selects everything.
    if any(labels.get(k) != v for k, v in strmap(selector.get("matchLabels")).items()):
        return False
    for expr in lst(selector.get("matchExpressions")):
        expr = d(expr)
        key, op = s(expr.get("key")), s(expr.get("operator"))
        values = [s(v) for v in lst(expr.get("values"))]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def v1alpha1_selects(gw: Obj, route: Obj) -> bool:
    """True when a v1alpha1 Gateway's listeners select a v1alpha1 HTTPRoute that names no
    Gateway itself. In v1alpha1 the Gateway picks its routes (listeners[].routes: kind,
    namespaces.from Same by default, label selector) and the route allows Gateways from its own
    namespace unless spec.gateways.allow says otherwise; the GKE Gateway recipes bind routes so.
    """
    if api_group(gw) != "networking.x-k8s.io" or api_group(route) != "networking.x-k8s.io":
        return False
    allow = s(d(route.spec.get("gateways")).get("allow")) or "SameNamespace"
    if allow == "SameNamespace" and gw.namespace != route.namespace:
        return False
    if allow not in ("SameNamespace", "All"):
        return False  # FromList: the route's own gatewayRefs say where it goes
    for listener in lst(gw.spec.get("listeners")):
        routes = d(d(listener).get("routes"))
        if s(routes.get("kind")) not in ("", route.kind):
            continue
        ns_from = s(d(routes.get("namespaces")).get("from")) or "Same"
        if ns_from == "Same" and gw.namespace != route.namespace:
            continue
        if ns_from not in ("Same", "All"):
            continue  # Selector: namespace labels are not in the input
        if _selector_matches(d(routes.get("selector")), route.labels):
            return True
    return False


def route_backends(route: Obj) -> List[str]:
    """The Service names an HTTPRoute sends to: v1 backendRefs and v1alpha1 forwardTo. A GKE
    multi-cluster ServiceImport (net.gke.io) stands for the Services of the same name that
    ServiceExport exports from the member clusters, so its name is the Service's."""
    names: List[str] = []
    for rule in lst(route.spec.get("rules")):
        rule = d(rule)
        for ref in lst(rule.get("backendRefs")):
            ref = d(ref)
            if s(ref.get("kind")) in ("", "Service", "ServiceImport"):
                names.append(s(ref.get("name")))
        for ref in lst(rule.get("forwardTo")):
            ref = d(ref)
            names.append(s(ref.get("serviceName")))
            backend = d(ref.get("backendRef"))
            if s(backend.get("kind")) in ("Service", "ServiceImport"):
                names.append(s(backend.get("name")))
    out: List[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


def _decodes_istio_proxy_protocol(config: str) -> bool:
    # Istio docs (Configuring Gateway Network Topology): proxy.istio.io/config with
    # gatewayTopology: {proxyProtocol: {}}.
    return "proxyprotocol" in config.replace("_", "").lower()


def _envoy_filter_decodes(ef: Obj, gw: Obj) -> bool:
    """An EnvoyFilter adding Envoy's proxy_protocol listener filter to this Gateway's pods."""
    # istio.io authz-ingress task: the PROXY-protocol EnvoyFilter for a Gateway API gateway
    # selects its pods by "istio.io/gateway-name: <gateway>" (newer Istio also labels them
    # gateway.networking.k8s.io/gateway-name).
    if ef.namespace != gw.namespace:
        return False
    labels = strmap(d(ef.spec.get("workloadSelector")).get("labels"))
    if gw.name not in (
        labels.get("istio.io/gateway-name"),
        labels.get("gateway.networking.k8s.io/gateway-name"),
    ):
        return False
    for patch in lst(ef.spec.get("configPatches")):
        if s(d(patch).get("applyTo")) in ("LISTENER", "LISTENER_FILTER") and (
            "proxy_protocol" in repr(d(patch).get("patch"))
        ):
            return True
    return False


def _istio_gateway_service(
    gw: Obj, envoy_filters: Sequence[Obj], dataplane: Optional[Tuple[Obj, Front]] = None
) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """An Istio Gateway judged through the LoadBalancer Service Istio generates for it."""
    # Istio's automated deployment copies the Gateway's annotations (and those of
    # spec.infrastructure) to the Service and Deployment it creates, "<gateway>-istio", a
    # LoadBalancer; istio.io's authz-ingress task sets the cloud's load-balancer annotations on
    # the Gateway for that reason, and patches that Service to externalTrafficPolicy: Local
    # because it is Cluster by default.
    ann = dict(gw.annotations)
    ann.update(strmap(d(gw.spec.get("infrastructure")).get("annotations")))
    svc = Obj.of(
        {
            "kind": "Service",
            "metadata": {"name": f"{gw.name}-istio", "namespace": gw.namespace, "annotations": ann},
            "spec": {"type": "LoadBalancer"},
        }
    )
    if dataplane is not None:
        # The generated Service is in the input (maybe patched to Local): judge that one.
        svc, front = dataplane
    else:
        front = service_front(svc, "the ingress controller")
    ctrl = CONTROLLERS["istio.io/ingress-controller"]
    where = ""
    if _decodes_istio_proxy_protocol(ann.get("proxy.istio.io/config", "")):
        where = f"Gateway {gw.ref} (proxy.istio.io/config, copied to its pods)"
    else:
        found = [ef for ef in envoy_filters if _envoy_filter_decodes(ef, gw)]
        where = ", ".join(f"EnvoyFilter {ef.ref}" for ef in found)
    evidence = Evidence(True if where else None, None, where)
    kind = UNKNOWN_LB if front.unread_lb and front.kind == SNAT and where else front.kind
    client, findings, out = generic_verdict(ctrl, kind, front.lb_cidrs, evidence)
    # The generated Service has no entry of its own, so its findings are shown here; the
    # app-facing PROXY advice is left out (the gateway, not the app, decodes it).
    own = [f for f in front.findings if f.code != "proxy-protocol"]
    if any(f.level == ERROR for f in own):
        findings = [f for f in findings if f.code != "controller-loses-client-ip"]
    lead = Finding(
        INFO,
        "istio-gateway-service",
        f"Istio generates Service {gw.namespace}/{gw.name}-istio (type LoadBalancer, "
        "externalTrafficPolicy Cluster unless patched) with this Gateway's annotations; doctor "
        + (
            f"judges Service {svc.ref} from the input"
            if dataplane is not None
            else "judges that Service from them (patch it to externalTrafficPolicy: Local, "
            "or include it in the input if it is patched already)"
        ),
    )
    return client, [lead, *own, *findings], out, INGRESS


def gateway_service(gw: Obj, services: Sequence[Obj]) -> Optional[Obj]:
    """The data-plane Service an implementation made for this Gateway, when in the input."""
    # Gateway API GEP-1762 (in-cluster Gateway deployments): the generated resources carry
    # gateway.networking.k8s.io/gateway-name (Istio, NGINX Gateway Fabric); Envoy Gateway labels
    # them gateway.envoyproxy.io/owning-gateway-name/-namespace (in its own namespace); Istio
    # names its Service "<gateway>-istio".
    for svc in services:
        if svc.namespace == gw.namespace and (
            svc.labels.get("gateway.networking.k8s.io/gateway-name") == gw.name
            or (gateway_class(gw) == "istio" and svc.name == f"{gw.name}-istio")
        ):
            return svc
        if (
            svc.labels.get("gateway.envoyproxy.io/owning-gateway-name") == gw.name
            and svc.labels.get("gateway.envoyproxy.io/owning-gateway-namespace", gw.namespace)
            == gw.namespace
        ):
            return svc
    return None


def gateway_verdict(
    gw: Obj,
    envoy_filters: Sequence[Obj] = (),
    dataplane: Optional[Tuple[Obj, Front]] = None,
    evidence: Optional[Evidence] = None,
) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """A Gateway: Google load balancers, known in-cluster proxies (judged through their
    data-plane Service, as an Ingress is through its controller's), or unknown."""
    cls = gateway_class(gw)
    if cls in GKE_EXTERNAL_CLASSES:
        return gce_verdict(gw, False, "Gateway")
    if cls in GKE_PROXY_SUBNET_CLASSES:
        return gce_verdict(gw, True, "Gateway")
    if cls == "istio":
        return _istio_gateway_service(gw, envoy_filters, dataplane)
    controller = GATEWAY_PROXIES.get(cls)
    if controller is not None:
        ctrl = CONTROLLERS[controller]
        ev = evidence or Evidence()
        lead = Finding(
            INFO,
            "gateway-proxy",
            f"gatewayClassName {cls!r}: {ctrl.name} runs in the cluster and {ctrl.header}; the "
            "app sees its pod as the peer; what reaches it is decided by its own Service"
            + (f" ({dataplane[0].ref}, see its entry)" if dataplane is not None else ""),
        )
        if dataplane is None:
            kind, lb_cidrs = None, None
        else:
            front = dataplane[1]
            pp = ev.decodes_proxy_protocol
            kind = UNKNOWN_LB if front.unread_lb and front.kind == SNAT and pp else front.kind
            lb_cidrs = front.lb_cidrs
        client, findings, out = generic_verdict(ctrl, kind, lb_cidrs, ev)
        return client, [lead, *findings], out, INGRESS
    findings = [
        Finding(
            WARNING,
            "gateway-class-unknown",
            f"gatewayClassName {cls or '(none)'!r}: doctor does not know this Gateway "
            "implementation, so it can't tell whether a cloud load balancer or an in-cluster "
            "proxy carries the traffic, or which header it writes. Look up the GatewayClass "
            "(`kubectl get gatewayclass -o yaml`, spec.controllerName) and its documentation, "
            "or run `realip serve` behind it and read the headers",
        )
    ]
    if dataplane is not None and dataplane[1].client_ip in BAD:
        # Whatever the implementation, its proxy receives what its Service delivers.
        findings.append(
            Finding(
                ERROR,
                "controller-loses-client-ip",
                f"the Gateway's own Service {dataplane[0].ref} already loses the client IP (see "
                "its entry): the gateway's proxy sees a node or load-balancer address and passes "
                "that on",
                "fix that Service first (externalTrafficPolicy: Local on it)",
            )
        )
        return LOST, findings, settings(INGRESS), INGRESS
    return UNKNOWN, findings, settings(INGRESS), INGRESS


# -- Cloudflare Tunnel --------------------------------------------------------------------

_CLOUDFLARED_SERVICE = re.compile(r"service:\s*(?:https?|h2c|tcp)://([A-Za-z0-9.-]+?)(?::\d+)?\s")


def is_cloudflared(workload: Obj) -> bool:
    """A cloudflared Deployment/DaemonSet (Cloudflare Tunnel connector)."""
    return any("cloudflared" in img.rsplit("/", 1)[-1] for img in images(workload))


def cloudflared_remote(workload: Obj) -> bool:
    """A remotely managed tunnel: run with a token, its routes kept in Cloudflare's dashboard."""
    # Cloudflare docs (Tunnel, "Create a tunnel (dashboard)" and the cloudflared run parameters):
    # "cloudflared tunnel run --token <TOKEN>" or TUNNEL_TOKEN starts a remotely managed tunnel,
    # whose public hostnames and services are configured in the dashboard, not in a file.
    flat = args(workload)
    if any(a == "--token" or a.startswith("--token=") for a in flat):
        return True
    return any(
        s(d(e).get("name")) == "TUNNEL_TOKEN"
        for c in containers(workload)
        for e in lst(c.get("env"))
    )


def cloudflared_targets(workload: Obj, configmaps: Sequence[Obj]) -> List[Tuple[str, str]]:
    """Services named in the tunnel's ingress rules, as (namespace, name)."""
    # cloudflare/argo-tunnel-examples named-tunnel-k8s/cloudflared.yaml: the config.yaml in a
    # ConfigMap has ingress rules "service: http://web-service:80".
    found: List[Tuple[str, str]] = []
    mounted = set()
    pod = d(d(workload.spec.get("template")).get("spec"))
    for vol in lst(pod.get("volumes")):
        name = s(d(d(vol).get("configMap")).get("name"))
        if name:
            mounted.add(name)
    for cm in configmaps:
        if cm.namespace != workload.namespace or cm.name not in mounted:
            continue
        for text in cm.data.values():
            for host in _CLOUDFLARED_SERVICE.findall(text + "\n"):
                parts = host.split(".")
                ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else workload.namespace
                key = (ns, parts[0])
                if key not in found:
                    found.append(key)
    return found


# -- F5 NGINX Ingress Controller (nginx.org) ------------------------------------------------

F5_PROXY_PROTOCOL = (
    'proxy-protocol: "True", real-ip-header: "proxy_protocol" and set-real-ip-from: <the load '
    "balancer's range> in its ConfigMap"
)
"""How F5's controller is told to decode PROXY protocol (nginx.org ConfigMap keys)."""

F5_CONFIG_KEYS = ("proxy-protocol", "real-ip-header", "set-real-ip-from", "real-ip-recursive")
"""The nginx.org ConfigMap keys that decide the client address (none of them is ingress-nginx's)."""


def is_f5_configmap(cm: Obj) -> bool:
    """A ConfigMap of F5's NGINX Ingress Controller: it sets one of the nginx.org realip keys."""
    return any(k in cm.data for k in F5_CONFIG_KEYS)


def f5_configmap(
    svc: Optional[Obj], workloads: Sequence[Obj], configmaps: Sequence[Obj]
) -> Optional[Obj]:
    """The ConfigMap F5's controller reads, when the input has it.

    cmd/nginx-ingress flags: "-nginx-configmaps <namespace/name>" names it (the chart writes
    "-nginx-configmaps=$(POD_NAMESPACE)/<fullname>", deployments/deployment/nginx-ingress.yaml
    "$(POD_NAMESPACE)/nginx-config"). Without the workload, a ConfigMap beside the controller
    Service named nginx-config (the manifests') or <fullname> (the chart's Service is
    <fullname>-controller) is taken, then any ConfigMap that sets one of the nginx.org keys.
    """
    named: List[Tuple[str, str]] = []
    for w in workloads:
        for a in args(w):
            flag, value = _flag(a)
            if flag == "nginx-configmaps" and "/" in value:
                ns, _, name = value.replace("$(POD_NAMESPACE)", w.namespace).partition("/")
                named.append((ns, name))
    if named:
        return next((c for c in configmaps if c.key in named), None)
    if svc is not None:
        names = {
            "nginx-config",
            svc.name[: -len("-controller")] if svc.name.endswith("-controller") else "",
        }
        beside = [c for c in configmaps if c.namespace == svc.namespace and c.name in names]
        if beside:
            return beside[0]
    keyed = [c for c in configmaps if is_f5_configmap(c)]
    if svc is not None:
        keyed.sort(key=lambda c: c.namespace != svc.namespace)
    return keyed[0] if keyed else None


def _flag(arg: str) -> Tuple[str, str]:
    flag, _, value = arg.lstrip("-").partition("=")
    return flag, value


def f5_workloads(workloads: Sequence[Obj]) -> List[Obj]:
    """F5's controller pods: only its binary takes -nginx-configmaps (ingress-nginx: --configmap)."""
    return [w for w in workloads if any(_flag(a)[0] == "nginx-configmaps" for a in args(w))]


def f5_classes(workload: Obj) -> str:
    """The class an F5 controller serves: its -ingress-class argument, "nginx" by default."""
    for a in args(workload):
        flag, value = _flag(a)
        if flag == "ingress-class" and value:
            return value
    return "nginx"


def f5_decodes_proxy_protocol(cm: Obj) -> bool:
    """ConfigMap key proxy-protocol: "True" makes every listener expect the PROXY header."""
    return cm.data.get("proxy-protocol", "").strip().lower() == "true"


def _f5_cidrs_everyone(cidrs: str) -> bool:
    return any(c.strip() in ("0.0.0.0/0", "::/0") for c in cidrs.split(","))


def f5_verdict(
    front_kind: Optional[str],
    lb_cidrs: Optional[str],
    cm: Optional[Obj],
    pods: Sequence[Obj] = (),
) -> Tuple[str, List[Finding], Dict[str, str]]:
    """What the app behind F5's NGINX Ingress Controller receives.

    nginx/kubernetes-ingress internal/configs/version1/nginx.ingress.tmpl: "listen {{$port}}
    {{if $server.ProxyProtocol}} proxy_protocol{{end}}", "set_real_ip_from", "real_ip_header",
    "real_ip_recursive on", and for every location "proxy_set_header X-Forwarded-For
    $proxy_add_x_forwarded_for": it appends $remote_addr (after the realip module) to whatever
    X-Forwarded-For arrived.
    """
    data = cm.data if cm is not None else {}
    pp = cm is not None and f5_decodes_proxy_protocol(cm)
    header = data.get("real-ip-header", "").strip()
    trusted = data.get("set-real-ip-from", "").strip()
    out = settings(INGRESS)
    where = f"ConfigMap {cm.ref}" if cm is not None else "its defaults"
    named = [
        v.replace("$(POD_NAMESPACE)", w.namespace)
        for w in pods
        for f, v in map(_flag, args(w))
        if f == "nginx-configmaps" and v
    ]
    if cm is None and named:
        where += f" (ConfigMap {named[0]}, which its -nginx-configmaps names, is not in the input)"
    findings = [
        Finding(
            INFO,
            "controller-header",
            "F5 NGINX Ingress Controller (nginx.org): appends the address it settled on to "
            f"X-Forwarded-For ($proxy_add_x_forwarded_for), read from {where}; the app sees the "
            f"controller pod as its peer ({howto('how-to/ingress.md')})",
        )
    ]
    # A client can send the header whatever is in front: judged before the load balancer.
    if header and header.lower() != "proxy_protocol" and _f5_cidrs_everyone(trusted or ""):
        findings.append(
            Finding(
                ERROR,
                "f5-trusts-everyone",
                f"real-ip-header: {header} with set-real-ip-from {trusted}: nginx takes the client "
                "address from a header any peer writes, and appends that address to "
                "X-Forwarded-For, so the rightmost entry the app sees is the client's choice",
                "set set-real-ip-from to your load balancer's range only",
            )
        )
        return SPOOFABLE, findings, out
    if front_kind in (SNAT, PROXIED):
        findings.append(
            Finding(
                ERROR,
                "controller-loses-client-ip",
                "the controller's Service already loses the client IP (see its entry)",
                "fix the controller Service first (externalTrafficPolicy: Local on that Service, "
                'or PROXY protocol on the load balancer with proxy-protocol: "True")',
            )
        )
        return LOST, findings, out
    if front_kind == PROXY_PROTOCOL and cm is None:
        # Its ConfigMap is not in the input: proxy-protocol may well be set there.
        findings.append(
            Finding(
                WARNING,
                "controller-proxy-protocol-unverified",
                "the load balancer sends PROXY protocol: the controller must decode it "
                '(proxy-protocol: "True" and real-ip-header: "proxy_protocol" in the ConfigMap '
                "its -nginx-configmaps argument names), and that ConfigMap is not in the input",
            )
        )
        return UNKNOWN, findings, out
    if front_kind == PROXY_PROTOCOL:
        if not pp:
            findings.append(
                proxy_protocol_mismatch(
                    "the F5 NGINX Ingress Controller",
                    F5_PROXY_PROTOCOL,
                    True,
                    where,
                )
            )
            return LOST, findings, out
        if header.lower() != "proxy_protocol":
            findings.append(
                Finding(
                    ERROR,
                    "f5-proxy-protocol-not-used",
                    'proxy-protocol is "True" but real-ip-header is not proxy_protocol: nginx '
                    "accepts the PROXY header but keeps the load balancer's (or node's) address "
                    "as $remote_addr and appends that to X-Forwarded-For",
                    'set real-ip-header: "proxy_protocol" and set-real-ip-from: <the load '
                    "balancer's range> in its ConfigMap",
                )
            )
            return LOST, findings, out
        findings.append(
            Finding(
                INFO,
                "f5-proxy-protocol",
                "the controller decodes PROXY protocol and appends the client to X-Forwarded-For",
            )
        )
        return PRESERVED, findings, out
    if pp and front_kind is not None and front_kind != UNKNOWN_LB:
        findings.append(
            proxy_protocol_mismatch(
                "the F5 NGINX Ingress Controller", F5_PROXY_PROTOCOL, False, where
            )
        )
        return LOST, findings, out
    if front_kind is None:
        hosted = [w for w in pods if host_network(w) or host_ports(w)]
        if hosted:
            findings.append(
                Finding(
                    INFO,
                    "controller-service-not-found",
                    f"the controller's Service is not in this input; {hosted[0].kind} "
                    f"{hosted[0].ref} takes traffic on the nodes' own ports (hostPort/hostNetwork), "
                    "where the client is the peer",
                )
            )
        else:
            findings.append(controller_service_missing("F5 NGINX Ingress Controller"))
        if pp:
            findings.append(
                Finding(
                    WARNING,
                    "proxy-protocol-unverified",
                    'proxy-protocol is "True" and the controller\'s Service is not in this input: '
                    "make sure whatever is in front of it sends PROXY headers, or every request "
                    "fails",
                )
            )
            return UNKNOWN, findings, out
        if not hosted:
            return UNKNOWN, findings, out
    if front_kind == UNKNOWN_LB:
        findings.append(
            Finding(
                WARNING,
                "controller-lb-unknown",
                "doctor can't tell what the load balancer in front of the controller does to the "
                "client address (see the controller Service's entry)",
            )
        )
        return UNKNOWN, findings, out
    if front_kind == HTTP:
        # The load balancer appended the client; the controller appends the load balancer.
        out = settings(INGRESS, lb_cidrs or "<the load balancer range>")
        findings.append(
            Finding(
                INFO,
                "f5-behind-http-lb",
                "X-Forwarded-For reaches the app as '<client>, <load balancer>': realip trusts "
                "the load balancer's range as well as the pods",
            )
        )
    return PRESERVED, findings, out


# -- routing custom resources doctor does not read ------------------------------------------

# Kinds doctor reads itself, or that name Services without sending traffic to them.
_OWN_KINDS = frozenset(
    (
        "Gateway",
        "GatewayClass",
        "HTTPRoute",
        "ReferenceGrant",
        "ReferencePolicy",
        "BackendConfig",
        "FrontendConfig",
        "ServiceExport",
        "ServiceImport",
    )
)
# Lists whose items' "name" is a Service (Traefik IngressRoute and Contour HTTPProxy
# "services", APISIX "backends", Gateway API TCPRoute/GRPCRoute "backendRefs"). F5 NGINX's
# "upstreams" are named freely and point at a Service with "service", read below.
_TARGET_LISTS = ("services", "backends", "backendRefs")
_MAX_DEPTH = 12
# Gateway API's group, and its v1alpha1 group (the GKE Gateway recipes still use it).
_GATEWAY_API_GROUPS = ("gateway.networking.k8s.io", "networking.x-k8s.io")


def api_group(obj: Obj) -> str:
    """The object's API group: empty for the core group (``v1``) and for input without an
    ``apiVersion`` (hand-written; kubectl always prints it)."""
    return obj.api_version.rpartition("/")[0]


def is_gateway_api(obj: Obj) -> bool:
    """True unless the object names an API group other than Gateway API's (kubectl always
    prints apiVersion; hand-written input without one is taken as Gateway API)."""
    return api_group(obj) in ("", *_GATEWAY_API_GROUPS)


def is_foreign_route(obj: Obj) -> bool:
    """True for a custom resource of a group doctor does not read (its own controller acts on
    it); Kubernetes' own groups are left out, except Gateway API routes doctor does not read."""
    group = api_group(obj)
    if not group or "." not in group or obj.kind in _OWN_KINDS:
        return False
    return not group.endswith("k8s.io") or group in _GATEWAY_API_GROUPS


def _target(text: str, namespace: str) -> Optional[Tuple[str, str]]:
    # Emissary "service: quote.default:80" or "http://quote", Istio "host: reviews.prod.svc.
    # cluster.local": the first label is the Service, the second its namespace.
    host = text.strip().split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if host.startswith("["):
        return None
    labels = host.split(".")
    if not labels[0] or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", labels[0]):
        return None
    if len(labels) > 2 and labels[2] != "svc":
        return None  # an outside host name, not a Service
    return (labels[1] if len(labels) > 1 and labels[1] else namespace, labels[0])


def _walk_targets(node: object, namespace: str, key: str, depth: int) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    if depth > _MAX_DEPTH:
        return out
    if isinstance(node, list):
        for item in node:
            out.extend(_walk_targets(item, namespace, key, depth + 1))
        return out
    if not isinstance(node, dict):
        return out
    ns = s(node.get("namespace")) or namespace
    kind = s(node.get("kind"))
    if key in _TARGET_LISTS and kind in ("", "Service") and isinstance(node.get("name"), str):
        found = _target(node["name"], ns)
        if found is not None:
            out.append(found)
    for k in ("service", "serviceName"):
        if isinstance(node.get(k), str):
            found = _target(node[k], ns)
            if found is not None:
                out.append(found)
    if key == "destination" and isinstance(node.get("host"), str):
        found = _target(node["host"], ns)
        if found is not None:
            out.append(found)
    for k, v in node.items():
        if isinstance(v, (dict, list)):
            out.extend(_walk_targets(v, ns, s(k), depth + 1))
    return out


def foreign_route_targets(obj: Obj) -> List[Tuple[str, str]]:
    """The ``(namespace, Service)`` pairs a routing custom resource names, in order, once each."""
    seen: List[Tuple[str, str]] = []
    for t in _walk_targets(obj.spec, obj.namespace, "", 0):
        if t not in seen:
            seen.append(t)
    return seen


def foreign_route_finding(obj: Obj, targets: Sequence[Tuple[str, str]]) -> Finding:
    """Why a Service behind a custom resource is ``unknown``, and how to find out."""
    names = ", ".join(f"{ns}/{name}" for ns, name in targets)
    return Finding(
        WARNING,
        "unread-route-resource",
        f"{obj.kind} {obj.ref} ({obj.api_version}) is a custom resource doctor does not read; "
        f"it routes to {names}, so those apps sit behind the proxy that serves it (an ingress "
        "controller or gateway), whose trust settings and load balancer doctor cannot see; "
        "check that controller's documentation on X-Forwarded-For / trusted proxies and what is "
        "in front of it, or look at the peer and headers the app gets (`realip serve` prints "
        "them)",
    )


def foreign_service_finding(obj: Obj) -> Finding:
    """Why a ``Service`` of another API group (Knative's, say) gets no verdict."""
    return Finding(
        WARNING,
        "unread-service-resource",
        f"Service {obj.ref} is a {obj.api_version} resource, not a core v1 Service: its pods are "
        "reached through that platform's own networking (for Knative: its ingress layer, Kourier, "
        "Istio or Contour, and the activator), which doctor does not read; look at the peer and "
        "headers the app gets (`realip serve` prints them) and configure the ingress topology "
        "for the proxy you find",
    )


def is_target_group_binding(obj: Obj) -> bool:
    """The AWS Load Balancer Controller's TargetGroupBinding (elbv2.k8s.aws)."""
    return obj.kind == "TargetGroupBinding" and api_group(obj) == "elbv2.k8s.aws"


def target_group_binding_target(obj: Obj) -> Optional[Tuple[str, str]]:
    """The ``(namespace, Service)`` a TargetGroupBinding's ``spec.serviceRef`` names."""
    name = s(d(obj.spec.get("serviceRef")).get("name"))
    return (obj.namespace, name) if name else None


def target_group_binding_finding(obj: Obj, target: Tuple[str, str]) -> Finding:
    """Why a Service bound to an existing AWS target group is ``unknown``."""
    # AWS LBC docs (guide/targetgroupbinding): a TargetGroupBinding exposes pods through an
    # existing ALB or NLB target group, provisioned outside Kubernetes; the ARN does not say
    # which. ALB: X-Forwarded-For from the VPC. NLB: preservation by target type and
    # attributes, or PROXY protocol v2 (guide/service/nlb, "Protocols").
    target_type = s(obj.spec.get("targetType")).lower() or "instance or ip"
    return Finding(
        WARNING,
        "aws-target-group-binding",
        f"TargetGroupBinding {obj.ref} registers {target[0]}/{target[1]} ({target_type} targets) "
        f"in an existing target group ({s(obj.spec.get('targetGroupARN')) or 'no ARN given'}) "
        "whose load balancer is not in the input: behind an ALB the client is in "
        "X-Forwarded-For (REALIP_TOPOLOGY=lb-http, REALIP_LB_CIDRS=<your VPC CIDR>); behind an "
        "NLB it is the peer only if client IP preservation is on (off by default for ip targets "
        "over TCP) and, with instance targets, externalTrafficPolicy is Local "
        "(REALIP_TOPOLOGY=lb-tcp), or it comes in PROXY protocol v2 (lb-tcp-proxy); run aws "
        "elbv2 describe-target-groups --target-group-arns <ARN> (Protocol HTTP/HTTPS means an "
        "ALB) and describe-target-group-attributes",
    )
