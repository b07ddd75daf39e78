"""Ingress and Gateway entries: the controller or load balancer serving each, and its verdict.

:func:`analyze_ingress` finds the controller of an Ingress (its IngressClass, then the class name,
then what the input holds: ingress-nginx, F5's controller, an ALB, GKE) and judges it from what
reaches the controller and what the controller's own settings say; :func:`analyze_gateway` does
the same for a Gateway API Gateway.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence, Tuple

from realip._doctor import _nginx_config as ngx
from realip._doctor import _nginx_verdict as ngx_verdict
from realip._doctor._cloud_ingress import (
    alb_verdict,
    gce_verdict,
    has_alibaba_alb_annotations,
    is_alibaba_class,
)
from realip._doctor._controller_evidence import (
    Evidence,
    controller_evidence,
    generic_verdict,
    with_annotations,
)
from realip._doctor._controllers import (
    CONTROLLERS,
    Controller,
    controller_of_class,
    controller_service,
    default_class,
    ingress_backends,
    ingress_class,
    ingress_summary,
    is_controller_workload,
    unknown_controller,
)
from realip._doctor._f5_nginx import (
    f5_classes,
    f5_configmap,
    f5_decodes_proxy_protocol,
    f5_verdict,
    is_f5_configmap,
)
from realip._doctor._fronts import INGRESS, LB_HTTP, SNAT, UNKNOWN_LB, Front, settings
from realip._doctor._gateway_api import (
    GATEWAY_PROXIES,
    gateway_class,
    gateway_service,
    gateway_verdict,
)
from realip._doctor._objects import Obj
from realip._doctor._report import INFO, PRESERVED, UNKNOWN, WARNING, Entry, Finding, howto
from realip._doctor._world import World

_GKE_INGRESS_HINTS = (
    "kubernetes.io/ingress.global-static-ip-name",
    "networking.gke.io/",
    "ingress.gcp.kubernetes.io/",
)
_GKE_SERVICE_HINTS = ("cloud.google.com/neg", "cloud.google.com/backend-config")


def _gke_hints(world: World, ing: Obj) -> bool:
    if any(k.startswith(_GKE_INGRESS_HINTS) for k in ing.annotations):
        return True
    backends = set(ingress_backends(ing))
    return any(
        svc.namespace == ing.namespace
        and svc.name in backends
        and any(k.startswith(_GKE_SERVICE_HINTS) for k in svc.annotations)
        for svc in world.services
    )


def analyze_ingress(
    world: World,
    ing: Obj,
    cfg: ngx.NginxConfig,
    has_nginx: bool,
    nginx_front: Optional[Front],
    fronts: Mapping[Tuple[str, str], Front],
) -> Tuple[Entry, bool]:
    """One Ingress: find its controller, then what the app behind it receives."""
    cls = ingress_class(ing)
    findings: List[Finding] = []
    f5_pods = world.f5_pods
    if ing.kind == "MultiClusterIngress":
        cls = "gce"
        findings.append(
            Finding(
                INFO,
                "multi-cluster-ingress",
                "MultiClusterIngress: GKE's multi-cluster Ingress controller programs one external "
                "Application Load Balancer in front of the MultiClusterServices' pods in every "
                "member cluster (through NEGs, straight to pod IPs)",
            )
        )
    elif not cls:
        default = default_class(world.classes)
        if default is not None:
            cls = default.name
            findings.append(
                Finding(
                    INFO,
                    "ingress-class-default",
                    f"no ingressClassName: the cluster's default IngressClass {cls!r} applies",
                )
            )
        elif _gke_hints(world, ing):
            cls = "gce"
            findings.append(
                Finding(
                    INFO,
                    "ingress-class-gke",
                    "no ingressClassName, and GKE annotations on the Ingress or its Services: "
                    "GKE's own Ingress controller takes Ingresses without a class",
                )
            )
        elif f5_pods and not has_nginx:
            # nginx/kubernetes-ingress values.yaml (controller.ingressClass): the controller
            # "processes all the resources that do not have the ingressClassName field".
            cls = f5_classes(f5_pods[0])
            findings.append(
                Finding(
                    INFO,
                    "ingress-class-assumed",
                    "no ingressClassName: F5's NGINX Ingress Controller (found in this input by its "
                    f"-nginx-configmaps argument, {f5_pods[0].kind} {f5_pods[0].ref}) takes "
                    "Ingresses without a class",
                )
            )
        elif has_nginx:
            findings.append(
                Finding(
                    INFO,
                    "ingress-class-assumed",
                    "no ingressClassName: assuming the default class is the ingress-nginx "
                    "controller found in this input",
                )
            )
            cls = "nginx"
    controller, from_object = controller_of_class(cls, world.classes)
    f5_serves = [w for w in f5_pods if world.f5_class(w) == cls] if cls else []
    if not from_object and f5_serves and not has_nginx:
        # No IngressClass, but F5's controller pods in the input serve this class (their
        # -ingress-class argument): class "nginx" is not ingress-nginx's here.
        controller = "nginx.org/ingress-controller"
        findings.append(
            Finding(
                INFO,
                "ingress-class-f5",
                f"class {cls!r} without its IngressClass: served by F5's NGINX Ingress Controller "
                f"({f5_serves[0].kind} {f5_serves[0].ref}, -ingress-class={cls})",
            )
        )
    elif (
        not from_object
        and not has_nginx
        and controller is None
        and not f5_pods
        and cls.lower() == "nginx"
        and any(is_f5_configmap(c) for c in world.configmaps)
    ):
        # No IngressClass and no controller pods (whose -ingress-class would decide), but F5's
        # nginx.org ConfigMap keys (proxy-protocol, real-ip-header, set-real-ip-from) and nothing
        # of ingress-nginx's: F5's controller.
        keyed = next(c for c in world.configmaps if is_f5_configmap(c))
        controller = "nginx.org/ingress-controller"
        findings.append(
            Finding(
                INFO,
                "ingress-class-f5",
                f"class {cls!r} without its IngressClass: ConfigMap {keyed.ref} sets F5 NGINX Ingress "
                "Controller keys and nothing of ingress-nginx is in the input, so it is F5's",
            )
        )
    elif not from_object and f5_serves:
        findings.append(
            Finding(
                WARNING,
                "ingress-class-ambiguous",
                f"class {cls!r} without its IngressClass, and both ingress-nginx and F5's NGINX "
                f"Ingress Controller ({f5_serves[0].kind} {f5_serves[0].ref}) are in the input; "
                "they treat X-Forwarded-For differently; include the IngressClass objects "
                "(`kubectl get ingressclass -o json`) so doctor can tell; assuming ingress-nginx",
            )
        )
    if controller and controller.startswith("haproxy.org/ingress-controller"):
        # haproxytech names its controller "haproxy.org/ingress-controller/<class>".
        controller = "haproxy.org/ingress-controller"
    lower = cls.lower()
    topology = INGRESS
    edge = False
    if controller == "k8s.io/ingress-nginx" or (
        controller is None and lower and "nginx" in lower and has_nginx
    ):
        client, more, out = ngx_verdict.verdict(nginx_front, cfg)
    elif controller is None and lower == "nginx":
        findings.append(
            Finding(
                WARNING,
                "ingress-class-ambiguous",
                "class 'nginx' is used by both ingress-nginx (kubernetes/ingress-nginx) and F5's "
                "NGINX Ingress Controller (nginx.org), which treat X-Forwarded-For differently; "
                "include the IngressClass objects (`kubectl get ingressclass -o json`) so doctor "
                "can tell; assuming ingress-nginx",
            )
        )
        client, more, out = ngx_verdict.verdict(nginx_front, cfg)
    elif (
        controller == "ingress.k8s.aws/alb"
        or lower == "alb"
        or (controller is not None and controller.endswith("alibabacloud.com/alb"))
    ):
        alibaba = (
            (controller or "").endswith("alibabacloud.com/alb")
            or is_alibaba_class(cls, world.classes)
            or has_alibaba_alb_annotations(ing)
        )
        client, more, out, topology = alb_verdict(ing, alibaba)
        edge = True
        if not from_object and not alibaba:
            more.append(
                Finding(
                    INFO,
                    "ingress-class-alb-assumed-aws",
                    "class 'alb' without its IngressClass: assuming the AWS Load Balancer "
                    "Controller; Alibaba Cloud's ALB Ingress uses the same class name (both "
                    "append the client to X-Forwarded-For)",
                )
            )
    elif controller == "k8s.io/ingress-gce" or lower in ("gce", "gce-internal"):
        client, more, out, topology = gce_verdict(ing, lower == "gce-internal", ing.kind)
        edge = True
    elif controller == "nginx.org/ingress-controller":
        known = CONTROLLERS[controller]
        svc = controller_service(known, world.services, world.f5_pods)
        front = fronts.get(svc.key) if svc is not None else None
        cm = _f5_configmap(world, svc)
        client, more, out = f5_verdict(
            _front_kind(front, f5_decodes_proxy_protocol(cm) if cm is not None else None),
            front.lb_cidrs if front else None,
            cm,
            world.workloads_of(svc) if svc is not None else f5_pods,
        )
    elif controller is not None and controller in CONTROLLERS:
        known = CONTROLLERS[controller]
        if known.lb:
            client, out, topology = (
                PRESERVED,
                settings(LB_HTTP, "<your Application Gateway subnet>"),
                LB_HTTP,
            )
            more = [
                Finding(
                    INFO,
                    "agic",
                    f"{known.name}: {known.header}; it connects to the pods from its own subnet, "
                    f"so trust that subnet ({howto('how-to/load-balancer.md')})",
                )
            ]
            edge = True
        else:
            svc = controller_service(known, world.services)
            front = fronts.get(svc.key) if svc is not None else None
            evidence = with_annotations(
                known,
                world_evidence(world, known, svc),
                [ing]
                + [
                    b
                    for b in world.services
                    if b.namespace == ing.namespace and b.name in ingress_backends(ing)
                ],
            )
            client, more, out = generic_verdict(
                known,
                _front_kind(front, evidence.decodes_proxy_protocol),
                front.lb_cidrs if front else None,
                evidence,
            )
    else:
        client, out = UNKNOWN, settings(INGRESS)
        more = [unknown_controller(cls, controller)]
    findings.extend(more)
    entry = Entry(
        ing.kind,
        ing.namespace,
        ing.name,
        "ingress",
        ingress_summary(ing),
        topology,
        client,
        findings,
        out,
    )
    return entry, edge


def _front_kind(front: Optional[Front], decodes_proxy_protocol: Optional[bool]) -> Optional[str]:
    """What reaches a controller; an unread load balancer under Cluster is SNAT'ed, unless the
    controller expects PROXY protocol: that header rides through the SNAT, sent or not."""
    if front is None:
        return None
    if front.unread_lb and front.kind == SNAT and decodes_proxy_protocol:
        return UNKNOWN_LB
    return front.kind


def _f5_configmap(world: World, svc: Optional[Obj]) -> Optional[Obj]:
    workloads = world.workloads_of(svc) if svc is not None else world.workloads
    return f5_configmap(svc, workloads, world.configmaps)


def world_evidence(world: World, ctrl: Controller, svc: Optional[Obj]) -> Evidence:
    if svc is None:
        # No Service in the input: the controller's pods are still known by their labels.
        pods = [w for w in world.workloads if is_controller_workload(ctrl, w)]
        cms = [c for c in world.configmaps if c.namespace in {w.namespace for w in pods}]
        return controller_evidence(ctrl, pods, cms) if pods else Evidence()
    if ctrl.key == "f5-nginx":
        cm = _f5_configmap(world, svc)
        return controller_evidence(ctrl, world.workloads_of(svc), [cm] if cm else [])
    # The controller's own pods, and (Contour) the controller Deployment beside its Envoys.
    selected = world.workloads_of(svc)
    # A workload both selected and named after the controller is one workload, not two.
    workloads = selected + [
        w
        for w in world.workloads
        if w.namespace == svc.namespace and w.name == ctrl.key and not any(w is x for x in selected)
    ]
    cms = [c for c in world.configmaps if c.namespace == svc.namespace]
    return controller_evidence(ctrl, workloads, cms)


def analyze_gateway(
    gw: Obj,
    envoy_filters: Sequence[Obj] = (),
    world: Optional[World] = None,
    fronts: Optional[Mapping[Tuple[str, str], Front]] = None,
) -> Entry:
    """One Gateway API Gateway, judged by its class and, for an in-cluster proxy, by what its
    data-plane Service delivers (the same rule as an ingress controller's Service)."""
    dataplane: Optional[Tuple[Obj, Front]] = None
    evidence: Optional[Evidence] = None
    if world is not None and fronts is not None:
        svc = gateway_service(gw, world.services)
        proxy = GATEWAY_PROXIES.get(gateway_class(gw))
        if svc is None and proxy is not None:
            svc = controller_service(CONTROLLERS[proxy], world.services)
        if svc is not None and svc.key in fronts:
            dataplane = (svc, fronts[svc.key])
        if proxy is not None:
            evidence = world_evidence(world, CONTROLLERS[proxy], svc)
    client, findings, out, topology = gateway_verdict(gw, envoy_filters, dataplane, evidence)
    return Entry(
        "Gateway",
        gw.namespace,
        gw.name,
        "gateway",
        f"gatewayClassName {gateway_class(gw) or '(none)'}",
        topology,
        client,
        findings,
        out,
    )
