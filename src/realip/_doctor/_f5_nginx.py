"""F5's NGINX Ingress Controller (nginx.org, not ingress-nginx): workloads, ConfigMap, verdict.

It reads ``proxy-protocol``, ``real-ip-header``, ``set-real-ip-from`` and ``real-ip-recursive``
from its own ConfigMap and its ``-ingress-class`` from its arguments; :func:`f5_verdict` says
what the app behind it receives, citing its nginx template.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from realip._doctor._fronts import (
    HTTP,
    INGRESS,
    PROXIED,
    PROXY_PROTOCOL,
    SNAT,
    UNKNOWN_LB,
    controller_service_missing,
    proxy_protocol_mismatch,
    settings,
)
from realip._doctor._objects import Obj, args, host_network, host_ports
from realip._doctor._report import (
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
            flag, value = split_flag(a)
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


def split_flag(arg: str) -> Tuple[str, str]:
    flag, _, value = arg.lstrip("-").partition("=")
    return flag, value


def f5_workloads(workloads: Sequence[Obj]) -> List[Obj]:
    """F5's controller pods: only its binary takes -nginx-configmaps (ingress-nginx: --configmap)."""
    return [w for w in workloads if any(split_flag(a)[0] == "nginx-configmaps" for a in args(w))]


def f5_classes(workload: Obj) -> str:
    """The class an F5 controller serves: its -ingress-class argument, "nginx" by default."""
    for a in args(workload):
        flag, value = split_flag(a)
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
        for f, v in map(split_flag, args(w))
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
