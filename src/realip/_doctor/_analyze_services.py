"""The entries for Services, workloads and the routing resources doctor does not read.

:func:`analyze_service` and :func:`analyze_backend_service` turn a Service's
:class:`~realip._doctor._fronts.Front` (and whatever stands in front of it: an Ingress, a Gateway
route, a tunnel) into an :class:`~realip._doctor._report.Entry`; the controller-Service entries
add what ingress-nginx or another controller does on top. Also the entries of workloads that take
traffic themselves (host ports, tunnel connectors), foreign routes and TargetGroupBindings.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from realip._doctor import _nginx_config as ngx
from realip._doctor import _nginx_verdict as ngx_verdict
from realip._doctor._cloud_others import gke_standalone_neg
from realip._doctor._cloudflare_tunnel import cloudflared_targets, is_cloudflared
from realip._doctor._controller_evidence import Evidence, believes_clients_finding
from realip._doctor._controllers import Controller
from realip._doctor._foreign_routes import foreign_route_finding, target_group_binding_finding
from realip._doctor._fronts import (
    CLOUDFLARE,
    HTTP,
    INGRESS,
    INTERNAL,
    LB_TCP,
    NODE_CIDR,
    PROXY_PROTOCOL,
    VPC_CIDR,
    Front,
    proxy_protocol_mismatch,
    settings,
)
from realip._doctor._objects import Obj, etp, service_summary, service_type
from realip._doctor._report import (
    BAD,
    INFO,
    LOST,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    WARNING,
    Entry,
    Finding,
    howto,
)
from realip._doctor._world import Via, World

ROUTE_ROLE = "route"
"""The role of an entry for a routing custom resource doctor does not read."""


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


def maybe_tunnelled(entry: Entry, tunnels: Sequence[Obj]) -> Entry:
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


def analyze_workload(
    world: World, w: Obj, via: Dict[Tuple[str, str], List[Via]]
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
        via.setdefault(key, []).append(Via(entry))
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


def analyze_backend_service(svc: Obj, front: Front, vias: Sequence[Via]) -> Entry:
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


def nginx_controller_entry(svc: Obj, front: Front, cfg: ngx.NginxConfig) -> Entry:
    client, findings = ngx_verdict.controller_verdict(front, cfg)
    why = (
        "the ingress-nginx controller's Service: the client's address must survive here for "
        "every Ingress behind it, so it needs externalTrafficPolicy: Local (or PROXY protocol "
        "on both ends)"
    )
    return _controller_service_entry(svc, front, why, client, findings)


def controller_entry(svc: Obj, front: Front, ctrl: Controller, evidence: Evidence) -> Entry:
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
