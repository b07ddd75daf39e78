"""ingress-nginx judged: what its own Service receives, and what the app behind it gets.

:func:`controller_verdict` judges the controller's Service once its PROXY-protocol setting is
known; :func:`verdict` says what reaches the app from what reaches the controller and the
:class:`~realip._doctor._nginx_config.NginxConfig` read from its ConfigMap, with the settings that
fit. Every rule cites the part of ingress-nginx's ``nginx.tmpl`` or ConfigMap documentation it
rests on.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from realip._doctor._fronts import (
    DIRECT,
    HTTP,
    INGRESS,
    PROXIED,
    PROXY_PROTOCOL,
    SNAT,
    UNKNOWN_LB,
    Front,
    controller_service_missing,
    proxy_protocol_mismatch,
    settings,
)
from realip._doctor._nginx_config import NginxConfig, believes_clients
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


def _expects_unseen_proxy_protocol(front: Front, cfg: NginxConfig) -> bool:
    # An unread load balancer under Cluster is SNAT'ed, but a PROXY header rides inside the
    # stream: ingress-nginx expecting one means something sends it, or nothing works at all.
    return cfg.use_proxy_protocol and (front.kind == UNKNOWN_LB or front.unread_lb)


def controller_verdict(front: Front, cfg: NginxConfig) -> Tuple[str, List[Finding]]:
    """The controller Service's own verdict once ingress-nginx's PROXY setting is known."""
    findings = list(front.findings)
    client = front.client_ip
    if front.kind == PROXY_PROTOCOL:
        # The generic advice about decoding does not apply: ingress-nginx is the decoder.
        findings = [f for f in findings if f.code != "proxy-protocol"]
        if cfg.use_proxy_protocol and cfg.use_forwarded_headers and cfg.trusts_everyone():
            client = SPOOFABLE
            findings.append(_pp_forwarded_everyone())
        elif cfg.use_proxy_protocol:
            client = PRESERVED
            findings.append(
                Finding(
                    INFO,
                    "proxy-protocol-decoded",
                    "the load balancer sends PROXY headers and ingress-nginx decodes them "
                    '(use-proxy-protocol: "true")',
                )
            )
        else:
            client = LOST
            findings.append(
                proxy_protocol_mismatch(
                    "ingress-nginx",
                    'use-proxy-protocol: "true" in the ingress-nginx ConfigMap',
                    True,
                )
            )
    elif believes_clients(cfg):
        client = SPOOFABLE
        findings.append(_spoofable_error(front.lb_cidrs if front.kind == HTTP else None, front))
    elif _expects_unseen_proxy_protocol(front, cfg):
        client = UNKNOWN
        findings = [f for f in findings if f.code != "snat"]
        findings.append(_pp_unverified(front))
    elif cfg.use_proxy_protocol and client == PRESERVED:
        client = LOST
        findings.append(
            proxy_protocol_mismatch(
                "ingress-nginx", 'use-proxy-protocol: "true" in the ingress-nginx ConfigMap', False
            )
        )
    return client, findings


def _pp_forwarded_everyone() -> Finding:
    # nginx.tmpl: with use-proxy-protocol the realip module uses the PROXY source, believed
    # from every proxy-real-ip-cidr entry; with use-forwarded-headers the X-Forwarded-* maps
    # trust the incoming headers. With the default 0.0.0.0/0 both come from any peer.
    return Finding(
        ERROR,
        "nginx-proxy-protocol-trusts-everyone",
        "use-proxy-protocol and use-forwarded-headers are on and proxy-real-ip-cidr "
        "is 0.0.0.0/0 (the default): ingress-nginx believes the client address and "
        "X-Forwarded-* headers of any peer, so whoever reaches ingress-nginx without "
        "the load balancer (the controller's NodePort, another pod) picks the "
        "address the app sees",
        "set proxy-real-ip-cidr to your load balancer's range (plus the node CIDR "
        "under externalTrafficPolicy: Cluster); drop use-forwarded-headers unless an "
        "HTTP proxy sits in front of ingress-nginx",
    )


def _pp_unverified(front: Front) -> Finding:
    check = front.how_to_check or (
        "check the load balancer's settings, or look at what ingress-nginx logs for a request"
    )
    return Finding(
        WARNING,
        "proxy-protocol-unverified",
        'ingress-nginx expects a PROXY header on every connection (use-proxy-protocol: "true"), '
        f"and doctor can't tell whether this load balancer sends PROXY protocol; {check}",
    )


def verdict(front: Optional[Front], cfg: NginxConfig) -> Tuple[str, List[Finding], Dict[str, str]]:
    """What the app behind ingress-nginx gets, given what reaches the controller."""
    findings: List[Finding] = []
    kind = front.kind if front is not None else None
    lb_cidrs = front.lb_cidrs if front is not None else None
    where = ("ConfigMap " + "/".join(cfg.source.key)) if cfg.source is not None else "defaults"
    out_settings = settings(INGRESS)

    if believes_clients(cfg):
        findings.append(_spoofable_error(lb_cidrs if kind == HTTP else None, front))
        return SPOOFABLE, findings, out_settings
    if front is not None and _expects_unseen_proxy_protocol(front, cfg):
        kind = UNKNOWN_LB
    if kind in (SNAT, PROXIED):
        findings.append(
            Finding(
                ERROR,
                "controller-loses-client-ip",
                "the ingress controller's Service already loses the client IP (see its entry): "
                "ingress-nginx sees a node or load-balancer address and passes that on",
                "fix the controller Service first (externalTrafficPolicy: Local on that Service, "
                "or PROXY protocol on both the load balancer and ingress-nginx)",
            )
        )
        return LOST, findings, out_settings
    if kind == PROXY_PROTOCOL and not cfg.use_proxy_protocol:
        findings.append(
            proxy_protocol_mismatch(
                "ingress-nginx",
                'use-proxy-protocol: "true" in the ingress-nginx ConfigMap',
                True,
                where,
            )
        )
        return LOST, findings, out_settings
    if cfg.use_proxy_protocol and kind != PROXY_PROTOCOL:
        if kind is None or kind == UNKNOWN_LB:
            findings.append(
                _pp_unverified(front)
                if front is not None
                else Finding(
                    WARNING,
                    "proxy-protocol-unverified",
                    "use-proxy-protocol is on and the controller's Service is not in this input: "
                    "make sure whatever is in front of ingress-nginx sends PROXY headers, or "
                    "every request fails",
                )
            )
            if kind == UNKNOWN_LB:
                return UNKNOWN, findings, out_settings
        else:
            findings.append(
                proxy_protocol_mismatch(
                    "ingress-nginx",
                    'use-proxy-protocol: "true" in the ingress-nginx ConfigMap',
                    False,
                    where,
                )
            )
            return LOST, findings, out_settings
    if cfg.use_proxy_protocol:
        # nginx.tmpl realip section: with UseProxyProtocol, "real_ip_header proxy_protocol;"
        # and "set_real_ip_from {{ $trusted_ip }}" for each proxy-real-ip-cidr entry. The PROXY
        # source is believed from any peer in that list; the default 0.0.0.0/0 lets any peer
        # that reaches the controller without the load balancer (a NodePort, another pod) write
        # its own PROXY header.
        if cfg.trusts_everyone() and cfg.use_forwarded_headers:
            findings.append(_pp_forwarded_everyone())
            return SPOOFABLE, findings, out_settings
        if cfg.trusts_everyone():
            findings.append(
                Finding(
                    WARNING,
                    "nginx-proxy-protocol-any-sender",
                    "proxy-real-ip-cidr is 0.0.0.0/0 (the default): ingress-nginx believes a "
                    "PROXY header from any peer, so a client that reaches the controller without "
                    "the load balancer (its NodePort, another pod) can write its own address; "
                    "fine while only the load balancer can reach it",
                    "set proxy-real-ip-cidr to the load balancer's range (plus the node CIDR "
                    "under externalTrafficPolicy: Cluster)",
                )
            )
        findings.append(
            Finding(
                INFO,
                "nginx-proxy-protocol",
                "ingress-nginx takes the client from the PROXY header and sends it on in "
                "X-Forwarded-For",
            )
        )
        return PRESERVED, findings, out_settings

    if kind == UNKNOWN_LB:
        check = front.how_to_check if front is not None else None
        findings.append(
            Finding(
                WARNING,
                "controller-lb-unknown",
                "doctor can't tell what the controller's load balancer does to the client "
                "address (see the controller Service's entry): if it passes the client through, "
                "ingress-nginx forwards it; if it proxies, every request appears to come from "
                f"the load balancer; {check or 'check your provider documentation'}",
            )
        )
        return UNKNOWN, findings, out_settings

    if kind == HTTP:
        header = cfg.forwarded_for_header.lower()
        if not cfg.reads_header:
            findings.append(
                Finding(
                    ERROR,
                    "nginx-ignores-lb-header",
                    "an HTTP load balancer in front of ingress-nginx puts the client in "
                    "X-Forwarded-For, but use-forwarded-headers is off: ingress-nginx replaces it "
                    "with the load balancer's own address",
                    f'set use-forwarded-headers: "true" and proxy-real-ip-cidr: '
                    f'"{lb_cidrs or "<the load balancer range>"}" in the ingress-nginx ConfigMap',
                )
            )
            return LOST, findings, out_settings
        if header != "x-forwarded-for":
            findings.append(
                Finding(
                    ERROR,
                    "nginx-wrong-header",
                    f"ingress-nginx reads the client from {cfg.forwarded_for_header}, but the load "
                    "balancer writes X-Forwarded-For: nginx keeps the load balancer's address",
                    "remove forwarded-for-header (default X-Forwarded-For)",
                )
            )
            return LOST, findings, out_settings
        covered = cfg.trusts(lb_cidrs) if lb_cidrs else None
        if covered is False:
            findings.append(
                Finding(
                    ERROR,
                    "nginx-lb-not-trusted",
                    f"proxy-real-ip-cidr ({', '.join(cfg.real_ip_cidrs)}) does not cover the load "
                    f"balancer's range {lb_cidrs}: nginx ignores its X-Forwarded-For and keeps the "
                    "load balancer's address",
                    f"add {lb_cidrs} to proxy-real-ip-cidr",
                )
            )
            return LOST, findings, out_settings
        if cfg.full_chain:
            out_settings = settings(INGRESS, lb_cidrs or "<the load balancer range>")
            findings.append(
                Finding(
                    INFO,
                    "nginx-full-chain",
                    "X-Forwarded-For reaches the app as '<what the client sent>, <client>, <load "
                    "balancer>' (the load balancer appended the client, ingress-nginx the load "
                    "balancer): realip must trust the load balancer's range as well as the pods",
                )
            )
            if cfg.trusts_everyone():
                findings.append(
                    _spoofable_addr_warning(
                        "realip is not fooled: it walks X-Forwarded-For from the right, where "
                        "ingress-nginx appended the load balancer's address and the load balancer "
                        "appended the client's"
                    )
                )
            return PRESERVED, findings, out_settings
        findings.append(
            Finding(
                INFO,
                "nginx-trusted-lb",
                "ingress-nginx trusts only the load balancer's range and passes the client on in "
                "X-Forwarded-For",
            )
        )
        return PRESERVED, findings, out_settings

    # Clients (or a pass-through load balancer) connect to ingress-nginx directly - or, with
    # no Service in the input, maybe through a SNAT'ing one: then only a spoof is certain.
    reached = PRESERVED
    if kind is None:
        findings.append(controller_service_missing("ingress-nginx controller"))
        reached = UNKNOWN
    if cfg.reads_header and cfg.trusts_everyone():
        # believes_clients() returned above: only the full chain gets here.
        findings.append(
            _spoofable_addr_warning(
                "realip is not fooled: ingress-nginx appends the real peer to the right of "
                "X-Forwarded-For, which is where realip looks"
            )
        )
        return reached, findings, out_settings
    if cfg.reads_header:
        findings.append(
            Finding(
                INFO,
                "nginx-forwarded-headers-unneeded",
                "use-forwarded-headers/enable-real-ip is on but nothing in front of ingress-nginx "
                "adds X-Forwarded-For; harmless while proxy-real-ip-cidr excludes clients",
            )
        )
    else:
        findings.append(
            Finding(
                INFO,
                "nginx-peer-forwarded",
                "ingress-nginx sends the app X-Forwarded-For: <the address that connected to it>, "
                f"dropping whatever the client sent ({howto('how-to/ingress.md')})",
            )
        )
    return reached, findings, out_settings


def _spoofable_error(lb_cidrs: Optional[str], front: Optional[Front]) -> Finding:
    if lb_cidrs is None and (front is None or front.kind not in (DIRECT, SNAT)):
        # What is in front is not known: turning the header off could drop a client an HTTP
        # load balancer put there, so the fix names both cases.
        fix = (
            "set proxy-real-ip-cidr to the source range of whatever writes X-Forwarded-For in "
            "front of ingress-nginx (your load balancer); if nothing does, set "
            'use-forwarded-headers: "false" and enable-real-ip: "false"'
        )
    elif lb_cidrs is None:
        fix = (
            'set use-forwarded-headers: "false" (nothing in front of ingress-nginx writes '
            'X-Forwarded-For), or compute-full-forwarded-for: "true" so the real peer is '
            "appended for realip to find"
        )
    else:
        fix = (
            f'set proxy-real-ip-cidr: "{lb_cidrs}" (only your load balancer), or '
            'compute-full-forwarded-for: "true" so the real peer is appended for realip to find'
        )
    # nginx.tmpl: "real_ip_recursive on;" with set_real_ip_from 0.0.0.0/0 walks past every
    # entry, ending at the leftmost, and the app gets "X-Forwarded-For $remote_addr".
    return Finding(
        ERROR,
        "nginx-trusts-everyone",
        "use-forwarded-headers (or enable-real-ip) is on and proxy-real-ip-cidr trusts every "
        "address (default 0.0.0.0/0): with real_ip_recursive nginx takes the leftmost "
        "X-Forwarded-For entry, which the client writes, and forwards only that to the app. Any "
        "client can pick its address.",
        fix,
    )


def _spoofable_addr_warning(why_ok: str) -> Finding:
    return Finding(
        WARNING,
        "nginx-remote-addr-spoofable",
        "proxy-real-ip-cidr trusts every address, so nginx's own $remote_addr and X-Real-IP "
        f"(used by its logs, allow-lists and rate limits) are whatever the client sends; "
        f"{why_ok}",
        "set proxy-real-ip-cidr to your load balancer's range only",
    )
