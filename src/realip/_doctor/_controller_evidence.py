"""What a controller's own arguments and ConfigMap say, and the verdict that follows for the app.

:data:`CLIENT_HEADER_SETTINGS` is the decision table of controller settings that believe (or
drop) a header any client can write, each with its upstream source; the reference page's table is
rendered from it. :func:`controller_evidence` collects what the input says for sure into an
:class:`Evidence`, and :func:`generic_verdict` turns it and the controller's front into the
verdict for every controller without a module of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from realip._doctor._controllers import Controller
from realip._doctor._f5_nginx import f5_decodes_proxy_protocol
from realip._doctor._fronts import (
    HTTP,
    INGRESS,
    PROXIED,
    PROXY_PROTOCOL,
    SNAT,
    UNKNOWN_LB,
    controller_service_missing,
    settings,
)
from realip._doctor._objects import Obj, args, containers, d, lst, s, strmap
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
