"""Gateway API: the Gateway a route attaches to, the Service carrying its traffic, its verdict.

GKE's gateway classes are Google load balancers (judged as GKE's Ingress is); the in-cluster
proxies doctor knows by class name (Istio, Contour, Traefik) are judged through their data-plane
Service, as an Ingress is through its controller's. Istio's PROXY-protocol switches (the
Gateway's ``proxy.istio.io/config``, an EnvoyFilter) are read here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from realip._doctor._cloud_ingress import gce_verdict
from realip._doctor._controller_evidence import Evidence, generic_verdict
from realip._doctor._controllers import CONTROLLERS
from realip._doctor._foreign_routes import api_group
from realip._doctor._fronts import INGRESS, SNAT, UNKNOWN_LB, Front, settings
from realip._doctor._objects import Obj, d, lst, s, strmap
from realip._doctor._providers import service_front
from realip._doctor._report import BAD, ERROR, INFO, LOST, UNKNOWN, WARNING, Finding

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
