"""The analysis: objects in, a :class:`Report` out, with one ``analyze_*`` per object kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from realip._doctor import _nginx_config as ngx
from realip._doctor import _nginx_verdict as ngx_verdict
from realip._doctor._cloud_ingress import (
    alb_verdict,
    gce_verdict,
    has_alibaba_alb_annotations,
    is_alibaba_class,
)
from realip._doctor._cloud_others import gke_standalone_neg
from realip._doctor._cloudflare_tunnel import (
    cloudflared_remote,
    cloudflared_targets,
    is_cloudflared,
)
from realip._doctor._controller_evidence import (
    Evidence,
    believes_clients_finding,
    controller_evidence,
    generic_verdict,
    with_annotations,
)
from realip._doctor._controllers import (
    CONTROLLERS,
    MULTI_CLUSTER_KINDS,
    Controller,
    controller_of_class,
    controller_service,
    default_class,
    ingress_backends,
    ingress_class,
    ingress_summary,
    is_controller_workload,
    is_multi_cluster,
    multi_cluster_view,
    unknown_controller,
)
from realip._doctor._f5_nginx import (
    f5_classes,
    f5_configmap,
    f5_decodes_proxy_protocol,
    f5_verdict,
    f5_workloads,
    is_f5_configmap,
)
from realip._doctor._foreign_routes import (
    api_group,
    foreign_route_finding,
    foreign_route_targets,
    foreign_service_finding,
    is_foreign_route,
    is_gateway_api,
    is_target_group_binding,
    target_group_binding_finding,
    target_group_binding_target,
)
from realip._doctor._fronts import (
    CLOUDFLARE,
    DIRECT,
    HTTP,
    INGRESS,
    INTERNAL,
    LB_HTTP,
    LB_TCP,
    NODE_CIDR,
    NODEPORT_LOCAL,
    PROXY_PROTOCOL,
    SNAT,
    UNKNOWN_LB,
    VPC_CIDR,
    Front,
    cilium_dsr,
    proxy_protocol_mismatch,
    settings,
    snat_finding,
)
from realip._doctor._gateway_api import (
    GATEWAY_PROXIES,
    gateway_class,
    gateway_service,
    gateway_verdict,
    route_backends,
    route_parents,
    v1alpha1_selects,
)
from realip._doctor._objects import (
    WORKLOAD_KINDS,
    Obj,
    etp,
    external_ips,
    host_network,
    host_ports,
    pod_labels,
    s,
    selector,
    selects,
    service_summary,
    service_type,
)
from realip._doctor._providers import provider_from_node, service_front
from realip._doctor._report import (
    BAD,
    INFO,
    LOST,
    NOT_APPLICABLE,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    WARNING,
    Entry,
    Finding,
    Report,
    howto,
)

READ_KINDS = (
    "Service",
    "Ingress",
    "Gateway",
    "HTTPRoute",
    "TargetGroupBinding",
    *MULTI_CLUSTER_KINDS,
    *WORKLOAD_KINDS,
)
"""The kinds that can make an entry; an input with none of them is refused."""
ROUTE_ROLE = "route"
"""The role of an entry for a routing custom resource doctor does not read."""

_GKE_INGRESS_HINTS = (
    "kubernetes.io/ingress.global-static-ip-name",
    "networking.gke.io/",
    "ingress.gcp.kubernetes.io/",
)
_GKE_SERVICE_HINTS = ("cloud.google.com/neg", "cloud.google.com/backend-config")


@dataclass
class _Via:
    """Something in front of an app Service: an Ingress, a Gateway route or a tunnel."""

    entry: Entry
    edge_lb: bool = False
    """True when the thing in front is a cloud HTTP load balancer that may use NodePorts."""


@dataclass
class _World:
    """All objects of one input, indexed once."""

    objs: List[Obj]
    services: List[Obj] = field(default_factory=list)
    ingresses: List[Obj] = field(default_factory=list)
    configmaps: List[Obj] = field(default_factory=list)
    classes: List[Obj] = field(default_factory=list)
    gateways: List[Obj] = field(default_factory=list)
    routes: List[Obj] = field(default_factory=list)
    workloads: List[Obj] = field(default_factory=list)
    foreign_routes: List[Obj] = field(default_factory=list)
    foreign_services: List[Obj] = field(default_factory=list)
    envoy_filters: List[Obj] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    _selected: Optional[Dict[Tuple[str, str], List[Obj]]] = None
    _labels: Dict[str, List[Tuple[Obj, Dict[str, str]]]] = field(default_factory=dict)
    _f5_pods: Optional[List[Obj]] = None
    _f5_classes: Dict[Tuple[str, str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for o in self.objs:
            if o.kind == "Service" and api_group(o) == "":
                self.services.append(o)
            elif o.kind == "Service":
                # Knative's serving.knative.dev Service (and the like) is not a core Service: no
                # type, no ports; its pods are reached through the platform's own ingress layer.
                self.foreign_services.append(o)
            elif is_multi_cluster(o):
                view = multi_cluster_view(o)
                if o.kind == "MultiClusterIngress":
                    self.ingresses.append(view)
                else:
                    self.services.append(view)
            elif o.kind == "Ingress":
                self.ingresses.append(o)
            elif o.kind == "ConfigMap":
                self.configmaps.append(o)
            elif o.kind == "IngressClass":
                self.classes.append(o)
            elif o.kind == "Gateway" and is_gateway_api(o):
                self.gateways.append(o)
            elif o.kind == "Gateway":
                # Istio's networking.istio.io Gateway configures gateway pods by label; it has
                # no gatewayClassName, and its VirtualServices name the Services.
                self.notes.append(
                    f"Gateway {o.ref} is a {o.api_version} Gateway, not a Gateway API one: "
                    "judged through the Service of the pods it selects and the routes that name "
                    "Services"
                )
            elif o.kind == "HTTPRoute":
                self.routes.append(o)
            elif o.kind in WORKLOAD_KINDS:
                self.workloads.append(o)
            elif is_foreign_route(o):
                self.foreign_routes.append(o)
            if o.kind == "EnvoyFilter":
                # Read only for a PROXY-protocol listener filter on an Istio Gateway's pods.
                self.envoy_filters.append(o)

    def workloads_of(self, svc: Obj) -> List[Obj]:
        """The workloads a Service selects; indexed once, so a large dump stays linear."""
        if self._selected is None:
            self._selected = {}
            self._labels = {}
            for w in self.workloads:
                self._labels.setdefault(w.namespace, []).append((w, pod_labels(w)))
        key = (svc.namespace, svc.name)
        found = self._selected.get(key)
        if found is None:
            sel = selector(svc)
            found = (
                [
                    w
                    for w, labels in self._labels.get(svc.namespace, [])
                    if all(labels.get(k) == v for k, v in sel.items())
                ]
                if sel
                else []
            )
            self._selected[key] = found
        return found

    def f5_class(self, workload: Obj) -> str:
        """The -ingress-class an F5 workload serves (read once per workload)."""
        key = (workload.kind, workload.namespace, workload.name)
        if key not in self._f5_classes:
            self._f5_classes[key] = f5_classes(workload)
        return self._f5_classes[key]

    @property
    def f5_pods(self) -> List[Obj]:
        """F5 NGINX Ingress Controller workloads (found once)."""
        if self._f5_pods is None:
            self._f5_pods = f5_workloads(self.workloads)
        return self._f5_pods


def _skip_reason(svc: Obj) -> Optional[str]:
    if service_type(svc) == "ExternalName":
        return "ExternalName (a DNS alias, no traffic passes through it)"
    if svc.key == ("default", "kubernetes"):
        return "the API server"
    if ngx.is_related(svc) and not _is_nginx_front(svc):
        return "an internal Service of ingress-nginx (webhook, metrics); clients do not use it"
    # Only internal kube-system Services are components; k3s installs Traefik there, and cloud
    # examples (Linode's http-nginx.yaml) put load-balanced apps there too.
    if (
        svc.namespace == "kube-system"
        and service_type(svc) not in ("LoadBalancer", "NodePort")
        and not external_ips(svc)
    ):
        return "a kube-system component"
    return None


def _is_nginx_front(svc: Obj) -> bool:
    # ingress-nginx docs/deploy/baremetal.md ("Over a NodePort Service", "Using a self-provisioned
    # edge", "External IPs"): clients enter through a NodePort/LoadBalancer Service, or a
    # ClusterIP Service with externalIPs, which "cannot preserve the source IP" under Cluster.
    return ngx.is_service(svc) and (
        service_type(svc) in ("LoadBalancer", "NodePort") or bool(external_ips(svc))
    )


def _host_path(world: _World, svc: Obj, front: Front, who: str) -> Front:
    """Pods on hostNetwork or with hostPort take traffic on the node itself: no kube-proxy."""
    hosted = [w for w in world.workloads_of(svc) if host_network(w) or host_ports(w)]
    if not hosted:
        return front
    w = hosted[0]
    how = "hostNetwork: true" if host_network(w) else f"hostPort {', '.join(host_ports(w))}"
    if service_type(svc) == "LoadBalancer":
        # The load balancer is the documented way in (e.g. Contour's envoy DaemonSet has
        # hostPorts and a LoadBalancer Service); the node ports are a side door.
        front.findings.append(
            Finding(
                INFO,
                "host-port-also",
                f"{w.kind} {w.ref} also uses {how}: clients that connect to a node's address "
                "directly reach the pod with their own address as the peer",
            )
        )
        return front
    # Kubernetes docs (Services, "hostPort"/"hostNetwork"; CNI portmap plugin): a hostPort is a
    # DNAT on the node straight to the pod, and a hostNetwork pod listens on the node's own
    # addresses; neither goes through kube-proxy's Service SNAT.
    findings = [
        Finding(
            INFO,
            "host-port",
            f"{w.kind} {w.ref} uses {how}: clients that connect to a node's address reach the pod "
            "there directly, with their own address as the peer (kube-proxy is not in that path)",
        )
    ]
    for f in front.findings:
        if f.level == "error":
            findings.append(
                Finding(
                    WARNING,
                    f.code,
                    f"only for clients that use the Service ({service_type(svc)}) instead of the "
                    f"node port: {f.message}",
                    f.fix,
                )
            )
        else:
            findings.append(f)
    return Front(DIRECT, NODEPORT_LOCAL, findings, None, "host-port")


def _cluster_provider(world: _World, provider: Optional[str]) -> Tuple[Optional[str], str]:
    """The cloud the cluster runs in: ``--provider``, else what every Node's providerID says."""
    if provider is not None:
        return provider, "--provider"
    ids = [s(n.spec.get("providerID")) for n in world.objs if n.kind == "Node"]
    keys = {provider_from_node(i) for i in ids if i}
    if len(keys) == 1 and None not in keys:
        (key,) = keys
        first = next(i for i in ids if i)
        return key, f"the Nodes' spec.providerID ({first.split('/')[0]}//...)"
    if len(keys) > 1:
        world.notes.append(
            "the Nodes' spec.providerID values name more than one cloud; doctor does not assume "
            "a default load balancer (use --provider)"
        )
    return None, ""


def analyze(objects: Iterable[Mapping[str, Any]], provider: Optional[str] = None) -> Report:
    """Analyze Kubernetes objects (dicts as kubectl prints them) into a :class:`Report`.

    ``provider`` (a key of the provider registry, e.g. ``"aws"``) names the cloud when the
    input has no Nodes to tell it; unannotated LoadBalancer Services get that cloud's default.
    """
    world = _World([Obj.of(o) for o in objects if isinstance(o, Mapping)])
    notes = world.notes
    default_provider, provider_source = _cluster_provider(world, provider)
    dsr = cilium_dsr(world.configmaps)

    # ingress-nginx: its Services and ConfigMap. F5's controller (IngressClass controller
    # nginx.org/ingress-controller) labels its Service app: nginx-ingress, as old ingress-nginx
    # charts did; when F5's controller is in the input, that label means F5.
    # Its pods are known by their -nginx-configmaps argument even without the IngressClass.
    f5_pods = world.f5_pods
    f5 = bool(f5_pods) or any(
        s(ic.spec.get("controller")) == "nginx.org/ingress-controller" for ic in world.classes
    )
    nginx_services = [
        svc
        for svc in world.services
        if ngx.is_service(svc)
        and not (f5 and svc.labels.get("app") == "nginx-ingress")
        and not any(selects(svc, w) for w in f5_pods)
    ]
    nginx_fronts = [svc for svc in nginx_services if _is_nginx_front(svc)]
    nginx_front_keys = {svc.key for svc in nginx_fronts}
    nginx_cms = [c for c in world.configmaps if ngx.is_configmap(c)]
    controller_ns = {svc.namespace for svc in nginx_fronts}
    nginx_cms.sort(
        key=lambda c: (c.namespace not in controller_ns, c.name not in ngx.CONFIGMAP_NAMES)
    )
    cfg = ngx.read_config(nginx_cms[0] if nginx_cms else None)
    if len(nginx_cms) > 1:
        notes.append(
            f"several ingress-nginx ConfigMaps found; using {nginx_cms[0].ref} "
            f"(also seen: {', '.join(c.ref for c in nginx_cms[1:])})"
        )
    has_nginx = bool(nginx_services or nginx_cms)

    # Other controllers' Services, found by the controllers the input names.
    other_ctrl_services: Dict[Tuple[str, str], Controller] = {}
    for name, ctrl in CONTROLLERS.items():
        if ctrl.lb or name == "k8s.io/ingress-nginx":
            continue
        svc = controller_service(ctrl, world.services, world.f5_pods)
        if svc is not None and svc not in nginx_services:
            other_ctrl_services[svc.key] = ctrl

    fronts: Dict[Tuple[str, str], Front] = {}
    for svc in world.services:
        who = (
            "the ingress controller"
            if (svc.key in nginx_front_keys or svc.key in other_ctrl_services)
            else "the app"
        )
        front = service_front(svc, who, default_provider, provider_source, dsr)
        fronts[svc.key] = _host_path(world, svc, front, who)

    nginx_front = _worst([fronts[svc.key] for svc in nginx_fronts])
    if len(nginx_fronts) > 1:
        notes.append(
            "several ingress-nginx controller Services found ("
            + ", ".join(svc.ref for svc in nginx_fronts)
            + "); Ingresses are judged by the one that loses the client IP, if any"
        )

    entries: List[Entry] = []
    via: Dict[Tuple[str, str], List[_Via]] = {}
    edge_entries: List[Entry] = []

    for ing in world.ingresses:
        entry, edge = analyze_ingress(world, ing, cfg, has_nginx, nginx_front, fronts)
        edge_entries.append(entry)
        for backend in ingress_backends(ing):
            via.setdefault((ing.namespace, backend), []).append(_Via(entry, edge))

    gateway_entries: Dict[Tuple[str, str], Entry] = {}
    for gw in world.gateways:
        entry = analyze_gateway(gw, world.envoy_filters, world, fronts)
        gateway_entries[gw.key] = entry
        edge_entries.append(entry)
    for route in world.routes:
        parents = route_parents(route) or [
            gw.key for gw in world.gateways if v1alpha1_selects(gw, route)
        ]
        for parent in parents:
            gw_entry = gateway_entries.get(parent)
            if gw_entry is None:
                notes.append(
                    f"HTTPRoute {route.ref} attaches to Gateway {parent[0]}/{parent[1]}, which is "
                    "not in the input"
                )
                continue
            for backend in route_backends(route):
                via.setdefault((route.namespace, backend), []).append(
                    _Via(gw_entry, gw_entry.topology == LB_HTTP)
                )

    for obj in world.foreign_routes:
        if is_target_group_binding(obj):
            bound = target_group_binding_target(obj)
            if bound is not None:
                entry = analyze_target_group_binding(obj, bound)
                edge_entries.append(entry)
                # Instance targets reach the pods through the Service's NodePort, as an
                # Ingress's ALB does: not a second, direct exposure.
                via.setdefault(bound, []).append(_Via(entry, True))
            continue
        targets = foreign_route_targets(obj)
        if not targets:
            continue
        entry = analyze_foreign_route(obj, targets)
        edge_entries.append(entry)
        for target in targets:
            via.setdefault(target, []).append(_Via(entry))

    for obj in world.foreign_services:
        edge_entries.append(
            Entry(
                obj.kind,
                obj.namespace,
                obj.name,
                "app",
                f"{obj.api_version} Service (not a core v1 Service)",
                None,
                UNKNOWN,
                [foreign_service_finding(obj)],
            )
        )

    remote_tunnels: List[Obj] = []
    for w in world.workloads:
        tunnel = analyze_workload(world, w, via)
        if tunnel is not None:
            edge_entries.append(tunnel)
            if cloudflared_remote(w):
                remote_tunnels.append(w)

    for svc in world.services:
        reason = _skip_reason(svc)
        if reason is not None:
            notes.append(f"skipped Service {svc.ref}: {reason}")
            continue
        front = fronts[svc.key]
        if svc.key in nginx_front_keys:
            entries.append(_nginx_controller_entry(svc, front, cfg))
        elif svc.key in other_ctrl_services:
            ctrl = other_ctrl_services[svc.key]
            entries.append(_controller_entry(svc, front, ctrl, _evidence(world, ctrl, svc)))
        elif svc.key in via:
            entries.append(analyze_backend_service(svc, front, via[svc.key]))
        elif remote_tunnels and front.kind == INTERNAL:
            entries.append(_maybe_tunnelled(analyze_service(svc, front), remote_tunnels))
        else:
            entries.append(analyze_service(svc, front))
    entries.extend(edge_entries)
    if cfg.source is not None:
        cm = cfg.source
        entries.append(
            Entry(
                "ConfigMap",
                cm.namespace,
                cm.name,
                "ingress-nginx-config",
                "ingress-nginx configuration",
                None,
                NOT_APPLICABLE,
                list(cfg.findings),
            )
        )
    elif world.ingresses and has_nginx:
        notes.append("no ingress-nginx ConfigMap in the input: assuming its defaults")
    if not world.services and not world.ingresses and not world.gateways:
        notes.append("the input has no core Service, Ingress or Gateway")
    for ing in world.ingresses:
        missing = [b for b in ingress_backends(ing) if (ing.namespace, b) not in fronts]
        if missing and world.services:
            notes.append(
                f"Ingress {ing.ref} routes to Services not in the input: " + ", ".join(missing)
            )
    for entry in entries:
        if VPC_CIDR in entry.settings.get("REALIP_LB_CIDRS", ""):
            entry.findings.append(_vpc_scope())
    return Report(entries, notes)


# AWS and Alibaba load balancers connect from addresses of their own subnets, chosen by the
# cloud, so the settings name the VPC; but every pod and instance in the VPC is then trusted too.
def _vpc_scope() -> Finding:
    return Finding(
        INFO,
        "vpc-trust-scope",
        "trusting the VPC CIDR also trusts any pod or instance in the VPC that reaches the app "
        "directly (its forged X-Forwarded-For would be believed): narrow REALIP_LB_CIDRS to the "
        "load balancer's subnets, or let only the load balancer reach the app (security groups, "
        "a NetworkPolicy)",
    )


def _worst(fronts: Sequence[Front]) -> Optional[Front]:
    # Judge Ingresses by the controller Service that does worst: one lossy path is enough.
    ranked = sorted(
        fronts,
        key=lambda f: (f.client_ip not in BAD, f.kind != UNKNOWN_LB, f.kind != PROXY_PROTOCOL),
    )
    return ranked[0] if ranked else None


# -- per kind -------------------------------------------------------------------------------


def analyze_service(svc: Obj, front: Front) -> Entry:
    """A Service that nothing in the input fronts: the app takes its traffic itself."""
    neg = gke_standalone_neg(svc) if front.kind == INTERNAL else None
    if neg is not None:
        # Not pod-to-pod: a Google load balancer outside the input sends to the pods.
        return _service_entry(svc, "app", None, UNKNOWN, [neg])
    return _service_entry(
        svc, "app", front.topology, front.client_ip, list(front.findings), front.app_settings()
    )


def _maybe_tunnelled(entry: Entry, tunnels: Sequence[Obj]) -> Entry:
    """A ClusterIP Service in a cluster with a remotely managed tunnel: maybe a tunnel target."""
    names = ", ".join(f"{w.kind} {w.ref}" for w in tunnels)
    entry.client_ip = UNKNOWN
    entry.findings.append(
        Finding(
            WARNING,
            "cloudflared-remote-routes",
            f"{names} runs a remotely managed Cloudflare Tunnel (a token, no config file): its "
            "routes live in the Cloudflare dashboard, so any ClusterIP Service may be one of its "
            "targets. If this one is, the app sees the cloudflared pod as its peer and the visitor "
            "in CF-Connecting-IP (REALIP_TOPOLOGY=cloudflare with the pod CIDR trusted), not "
            "pod-to-pod; check the tunnel's public hostnames in the dashboard (Zero Trust, "
            "Networks, Tunnels)",
        )
    )
    return entry


def _gke_hints(world: _World, ing: Obj) -> bool:
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
    world: _World,
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
                _evidence(world, known, svc),
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


def _f5_configmap(world: _World, svc: Optional[Obj]) -> Optional[Obj]:
    workloads = world.workloads_of(svc) if svc is not None else world.workloads
    return f5_configmap(svc, workloads, world.configmaps)


def _evidence(world: _World, ctrl: Controller, svc: Optional[Obj]) -> Evidence:
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
    world: Optional[_World] = None,
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
            evidence = _evidence(world, CONTROLLERS[proxy], svc)
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


def analyze_workload(
    world: _World, w: Obj, via: Dict[Tuple[str, str], List[_Via]]
) -> Optional[Entry]:
    """A workload doctor has something to say about: a Cloudflare Tunnel connector."""
    if not is_cloudflared(w):
        return None
    targets = cloudflared_targets(w, world.configmaps)
    shown = ", ".join(f"{ns}/{name}" for ns, name in targets) or "(not found in the input)"
    # Cloudflare docs (HTTP request headers): Cloudflare sends the visitor's address in
    # CF-Connecting-IP, and a tunnel delivers the request from the cloudflared pod.
    entry = Entry(
        w.kind,
        w.namespace,
        w.name,
        "tunnel",
        "Cloudflare Tunnel connector (cloudflared)",
        CLOUDFLARE,
        PRESERVED,
        [
            Finding(
                INFO,
                "cloudflared",
                "cloudflared opens the connection to the app Services itself, so the app sees the "
                "cloudflared pod as its peer and the visitor in CF-Connecting-IP; apps behind it "
                "use REALIP_TOPOLOGY=cloudflare with the pod CIDR trusted, not pod-to-pod "
                f"(Services it routes to: {shown}; {howto('how-to/cdn.md')})",
            )
        ],
        settings(CLOUDFLARE) | {"REALIP_POD_CIDRS": "<your pod CIDR>"},
    )
    for key in targets:
        via.setdefault(key, []).append(_Via(entry))
    return entry


def analyze_foreign_route(obj: Obj, targets: Sequence[Tuple[str, str]]) -> Entry:
    """A custom resource (F5 VirtualServer, Traefik IngressRoute, ...) that names Services.

    Its controller is a proxy in front of those apps, so calling them pod-to-pod would be
    confidently wrong; what the proxy does with the client address is not in the input.
    """
    return Entry(
        obj.kind,
        obj.namespace,
        obj.name,
        ROUTE_ROLE,
        f"{obj.api_version} custom resource routing to {len(targets)} Service(s)",
        INGRESS,
        UNKNOWN,
        [foreign_route_finding(obj, targets)],
        settings(INGRESS),
    )


def analyze_target_group_binding(obj: Obj, target: Tuple[str, str]) -> Entry:
    """An AWS TargetGroupBinding: an ALB or NLB made outside Kubernetes sends to a Service."""
    return Entry(
        obj.kind,
        obj.namespace,
        obj.name,
        ROUTE_ROLE,
        f"{obj.api_version} binding an existing AWS target group to {target[0]}/{target[1]}",
        LB_TCP,
        UNKNOWN,
        [target_group_binding_finding(obj, target)],
        settings(LB_TCP),
    )


def analyze_backend_service(svc: Obj, front: Front, vias: Sequence[_Via]) -> Entry:
    """A Service that an Ingress, a Gateway route or a tunnel sends traffic to."""
    first = vias[0].entry
    names = ", ".join(f"{v.entry.kind} {v.entry.namespace}/{v.entry.name}" for v in vias)
    clients = [v.entry.client_ip for v in vias]
    client = next((c for c in clients if c in BAD), None) or (
        UNKNOWN if UNKNOWN in clients else PRESERVED
    )
    # The app runs one configuration; take the first front's (they rarely differ).
    topology = first.topology or INGRESS
    out = dict(first.settings)
    peer = {
        INGRESS: "the ingress controller pod",
        CLOUDFLARE: "the cloudflared pod",
    }.get(topology, "the load balancer (or a node in front of it)")
    header = "CF-Connecting-IP" if topology == CLOUDFLARE else "X-Forwarded-For"
    # An AWS TargetGroupBinding's load balancer may be an NLB: no header at all.
    where = "where that load balancer puts it" if topology == LB_TCP else f"in {header}"
    if topology == LB_TCP:
        peer = "the client itself or the load balancer"
    findings = [
        Finding(
            INFO,
            "behind-ingress",
            f"external clients reach this Service through {names}: the app sees {peer} as the "
            f"peer and the client {where} (see that entry); pods calling it directly appear "
            "as themselves",
        )
    ]
    for v in vias:
        if v.entry.role == ROUTE_ROLE:
            findings.extend(f for f in v.entry.findings if f.level == WARNING)
    if front.kind == HTTP and front.lb_cidrs and topology == INGRESS:
        out["REALIP_LB_CIDRS"] = front.lb_cidrs
    edge_lb = any(v.edge_lb for v in vias)
    if front.kind != INTERNAL:
        problems = [f for f in front.findings if f.level != INFO]
        if edge_lb and service_type(svc) == "NodePort":
            # AWS LBC docs: in instance mode the ALB "route[s] traffic to all ec2 instances within
            # cluster on NodePort opened for your service"; a SNAT'ed node address is in the VPC
            # (or, on GKE, add the node CIDR), and the client stays in X-Forwarded-For.
            findings.append(
                Finding(
                    INFO,
                    "nodeport-for-load-balancer",
                    f"NodePort (externalTrafficPolicy: {etp(svc)}) is how the load balancer reaches "
                    "the pods in instance mode: kube-proxy may SNAT its connection to a node "
                    "address, but the client stays in X-Forwarded-For; the node addresses must be "
                    "trusted too (the VPC CIDR covers them on AWS)",
                )
            )
            lb = out.get("REALIP_LB_CIDRS")
            if etp(svc) != "Local" and lb is not None and VPC_CIDR not in lb:
                out["REALIP_LB_CIDRS"] = f"{lb},{NODE_CIDR}"
        elif problems:
            findings.append(
                Finding(
                    INFO,
                    "also-exposed",
                    f"it is also exposed directly as {service_type(svc)}, and that path has "
                    "problems of its own:",
                )
            )
            findings.extend(problems)
            if front.client_ip in BAD:
                client = front.client_ip
        else:
            findings.append(
                Finding(
                    INFO,
                    "also-exposed",
                    f"it is also exposed directly as {service_type(svc)} ({front.topology}); the "
                    "settings below cover that path too",
                )
            )
    return _service_entry(svc, "app", topology, client, findings, out)


def _service_entry(
    svc: Obj,
    role: str,
    topology: Optional[str],
    client: str,
    findings: List[Finding],
    settings: Optional[Dict[str, str]] = None,
) -> Entry:
    """A Service's entry: the object and its summary, then the verdict."""
    return Entry(
        svc.kind,
        svc.namespace,
        svc.name,
        role,
        service_summary(svc),
        topology,
        client,
        findings,
        {} if settings is None else settings,
    )


def _controller_service_entry(
    svc: Obj, front: Front, why: str, client: str, findings: List[Finding]
) -> Entry:
    """An ingress controller's own Service: why the client must survive there, then the rest."""
    intro = Finding(INFO, "ingress-controller", f"{why} ({howto('how-to/ingress.md')})")
    return _service_entry(svc, "ingress-controller", front.topology, client, [intro, *findings])


def _nginx_controller_entry(svc: Obj, front: Front, cfg: ngx.NginxConfig) -> Entry:
    client, findings = ngx_verdict.controller_verdict(front, cfg)
    why = (
        "the ingress-nginx controller's Service: the client's address must survive here for "
        "every Ingress behind it, so it needs externalTrafficPolicy: Local (or PROXY protocol "
        "on both ends)"
    )
    return _controller_service_entry(svc, front, why, client, findings)


def _controller_entry(svc: Obj, front: Front, ctrl: Controller, evidence: Evidence) -> Entry:
    findings = list(front.findings)
    if evidence.believes_clients:
        findings.append(believes_clients_finding(ctrl, evidence.believes_clients))
        client = SPOOFABLE
    elif front.kind == PROXY_PROTOCOL and evidence.decodes_proxy_protocol:
        findings = [f for f in findings if f.code != "proxy-protocol"]
        findings.append(
            Finding(
                INFO,
                "controller-proxy-protocol",
                f"the load balancer sends PROXY protocol and {ctrl.name} decodes it "
                f"({ctrl.proxy_protocol}, set in {evidence.where})",
            )
        )
        client = PRESERVED
    elif front.kind == PROXY_PROTOCOL and evidence.decodes_proxy_protocol is False:
        # The controller's own configuration is in the input and leaves PROXY protocol off.
        findings = [f for f in findings if f.code != "proxy-protocol"]
        findings.append(
            proxy_protocol_mismatch(ctrl.name, ctrl.proxy_protocol, True, evidence.where)
        )
        client = LOST
    elif front.kind == PROXY_PROTOCOL:
        findings = [f for f in findings if f.code != "proxy-protocol"]
        findings.append(
            Finding(
                WARNING,
                "controller-proxy-protocol-unverified",
                f"the load balancer sends PROXY protocol: {ctrl.name} must decode it "
                f"({ctrl.proxy_protocol}); doctor can't see that setting in these objects",
            )
        )
        client = UNKNOWN
    else:
        client = front.client_ip
    why = (
        f"the {ctrl.name} Service: the client's address must survive here for every route behind it"
    )
    return _controller_service_entry(svc, front, why, client, findings)


__all__ = ["READ_KINDS", "analyze", "snat_finding"]
