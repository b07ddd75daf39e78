"""Routing objects doctor finds but does not judge: custom route resources, TargetGroupBindings.

A Traefik IngressRoute, Contour HTTPProxy, APISIX route, Gateway API TCPRoute/GRPCRoute and the
like name the Services they send to; doctor cannot tell what their proxy does to the client
address, so it finds the Services they name and says so beside those Services. An AWS
TargetGroupBinding attaches a Service to a target group doctor cannot see. Also the API-group
tests (:func:`api_group`, :func:`is_gateway_api`) the other modules use to tell kinds apart.
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

from realip._doctor._objects import Obj, d, s
from realip._doctor._report import WARNING, Finding

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
