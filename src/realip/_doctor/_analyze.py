"""The analysis: objects in, a :class:`Report` out, with one ``analyze_*`` per object kind.

:func:`analyze` indexes the input once, judges every Service's front (its type, provider,
externalTrafficPolicy and the cluster's dataplane), finds ingress-nginx and the other
controllers' Services, builds the entries of Ingresses, Gateways, foreign routes and workloads,
and last those of the Services, each seen with whatever stands in front of it. Each entry is
built by the ``analyze_*`` of its kind (:mod:`realip._doctor._analyze_ingress`,
:mod:`realip._doctor._analyze_services`).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from realip._doctor import _nginx_config as ngx
from realip._doctor._analyze_ingress import analyze_gateway, analyze_ingress, world_evidence
from realip._doctor._analyze_services import (
    analyze_backend_service,
    analyze_foreign_route,
    analyze_service,
    analyze_target_group_binding,
    analyze_workload,
    controller_entry,
    maybe_tunnelled,
    nginx_controller_entry,
)
from realip._doctor._cloudflare_tunnel import cloudflared_remote
from realip._doctor._controllers import (
    CONTROLLERS,
    MULTI_CLUSTER_KINDS,
    Controller,
    controller_service,
    ingress_backends,
)
from realip._doctor._foreign_routes import (
    foreign_route_targets,
    foreign_service_finding,
    is_target_group_binding,
    target_group_binding_target,
)
from realip._doctor._fronts import (
    DIRECT,
    INTERNAL,
    LB_HTTP,
    NODEPORT_LOCAL,
    PROXY_PROTOCOL,
    UNKNOWN_LB,
    VPC_CIDR,
    Front,
    cilium_dsr,
    snat_finding,
)
from realip._doctor._gateway_api import route_backends, route_parents, v1alpha1_selects
from realip._doctor._objects import (
    WORKLOAD_KINDS,
    Obj,
    external_ips,
    host_network,
    host_ports,
    s,
    selects,
    service_type,
)
from realip._doctor._providers import provider_from_node, service_front
from realip._doctor._report import (
    BAD,
    INFO,
    NOT_APPLICABLE,
    UNKNOWN,
    WARNING,
    Entry,
    Finding,
    Report,
)
from realip._doctor._world import Via, World

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


def _host_path(world: World, svc: Obj, front: Front, who: str) -> Front:
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


def _cluster_provider(world: World, provider: Optional[str]) -> Tuple[Optional[str], str]:
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
    world = World([Obj.of(o) for o in objects if isinstance(o, Mapping)])
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
    via: Dict[Tuple[str, str], List[Via]] = {}
    edge_entries: List[Entry] = []

    for ing in world.ingresses:
        entry, edge = analyze_ingress(world, ing, cfg, has_nginx, nginx_front, fronts)
        edge_entries.append(entry)
        for backend in ingress_backends(ing):
            via.setdefault((ing.namespace, backend), []).append(Via(entry, edge))

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
                    Via(gw_entry, gw_entry.topology == LB_HTTP)
                )

    for obj in world.foreign_routes:
        if is_target_group_binding(obj):
            bound = target_group_binding_target(obj)
            if bound is not None:
                entry = analyze_target_group_binding(obj, bound)
                edge_entries.append(entry)
                # Instance targets reach the pods through the Service's NodePort, as an
                # Ingress's ALB does: not a second, direct exposure.
                via.setdefault(bound, []).append(Via(entry, True))
            continue
        targets = foreign_route_targets(obj)
        if not targets:
            continue
        entry = analyze_foreign_route(obj, targets)
        edge_entries.append(entry)
        for target in targets:
            via.setdefault(target, []).append(Via(entry))

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
            entries.append(nginx_controller_entry(svc, front, cfg))
        elif svc.key in other_ctrl_services:
            ctrl = other_ctrl_services[svc.key]
            entries.append(controller_entry(svc, front, ctrl, world_evidence(world, ctrl, svc)))
        elif svc.key in via:
            entries.append(analyze_backend_service(svc, front, via[svc.key]))
        elif remote_tunnels and front.kind == INTERNAL:
            entries.append(maybe_tunnelled(analyze_service(svc, front), remote_tunnels))
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


__all__ = ["READ_KINDS", "analyze", "snat_finding"]
