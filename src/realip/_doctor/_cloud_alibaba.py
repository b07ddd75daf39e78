"""Alibaba Cloud's load balancers (CLB, formerly SLB, and NLB), judged from Service annotations.

:func:`alibaba_front` reads the annotations cloud-provider-alibaba-cloud documents (either
prefix, ``alibaba-cloud-`` or ``alicloud-``): the listeners' protocols and ports, the backend type
(ENI: straight to the pods), PROXY protocol and the NLB class, and says what each listener does
to the client address. :func:`is_alibaba` is the annotation test the provider registry uses.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Tuple

from realip._doctor._fronts import (
    DIRECT,
    HTTP,
    LB_HTTP,
    LB_RANGE,
    LB_TCP,
    LB_TCP_PROXY,
    PROXIED,
    PROXY_PROTOCOL,
    SVC,
    UNKNOWN_LB,
    Front,
    proxy_protocol_finding,
)
from realip._doctor._objects import Obj, d, lst, s
from realip._doctor._report import ERROR, INFO, WARNING, Finding, howto

# Alibaba Cloud SLB/CLB forwards from 100.64.0.0/10 (Alibaba Cloud CLB FAQ, "the CLB instance
# uses the 100.64.0.0/10 CIDR block to communicate with backend servers"; checked 2026-11-30,
# and a reserved block, RFC 6598, so it does not drift). The same shared
# address space is also used by Tencent Cloud and Volcengine load balancers and often by EKS pod
# ranges, so doctor never infers "Alibaba" from an address alone, only from annotations.
ALIBABA_SLB_RANGE = "100.64.0.0/10"


_ALI_PREFIXES = (SVC + "alibaba-cloud-", SVC + "alicloud-")
_ALI_NLB_CLASS = "alibabacloud.com/nlb"
_ALI_BACKEND_TYPES = (SVC + "backend-type", SVC + "alibaba-cloud-loadbalancer-backend-type")


# -- Alibaba Cloud --------------------------------------------------------------------------


def _ali(ann: Mapping[str, str], suffix: str) -> Optional[str]:
    for prefix in _ALI_PREFIXES:
        if prefix + suffix in ann:
            return ann[prefix + suffix]
    return None


def _parse_protocol_ports(text: str) -> Tuple[List[Tuple[str, str]], List[str]]:
    listeners: List[Tuple[str, str]] = []
    bad: List[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        proto, sep, port = item.partition(":")
        if not sep or not port.strip().isdigit() or not proto.strip():
            bad.append(item)
            continue
        listeners.append((proto.strip().lower(), port.strip()))
    return listeners, bad


_CLB_PROTOCOLS = ("http", "https", "tcp", "udp")


def _clb_listeners(svc: Obj, text: str) -> Tuple[List[Tuple[str, str]], Optional[str], List[str]]:
    """The CLB listener (protocol, port) for each Service port, read the way
    cloud-provider-alibaba-cloud's protocol() reads alibaba-cloud-loadbalancer-protocol-port:
    entries split on "," then ":", the protocol exactly one of http/https/tcp/udp (no case
    folding, no trimming), the port compared as text with the Service port; a port no entry
    names keeps its own protocol. Also the entry it would reject the Service on, and the
    entries that name no port of this Service (ignored)."""
    entries = text.split(",") if text else []
    ports = lst(svc.spec.get("ports")) or [
        # No ports in the input (a trimmed manifest): take the entries at their word.
        {"port": e.split(":")[1], "protocol": "TCP"}
        for e in entries
        if len(e.split(":")) >= 2
    ]
    numbers = [s(d(port).get("port")) for port in ports]
    listeners: List[Tuple[str, str]] = []
    for port in ports:
        number = s(d(port).get("port"))
        proto = (s(d(port).get("protocol")) or "TCP").lower()
        for entry in entries:
            pp = entry.split(":")
            if len(pp) < 2 or pp[0] not in _CLB_PROTOCOLS:
                return [], entry, []
            if pp[1] == number:
                proto = pp[0]
                break
        listeners.append((proto, number))
    unmatched = [e for e in entries if len(e.split(":")) < 2 or e.split(":")[1] not in numbers]
    return listeners, None, unmatched


def is_alibaba(svc: Obj) -> bool:
    ann = svc.annotations
    return (
        s(svc.spec.get("loadBalancerClass")) == _ALI_NLB_CLASS
        or any(k.startswith(_ALI_PREFIXES) for k in ann)
        or any(k in ann for k in _ALI_BACKEND_TYPES)
    )


def alibaba_front(svc: Obj, who: str) -> Front:
    """Alibaba Cloud CLB (SLB) and NLB, from the cloud-provider-alibaba-cloud annotations."""
    ann = svc.annotations
    findings: List[Finding] = []
    nlb = s(svc.spec.get("loadBalancerClass")) == _ALI_NLB_CLASS
    product = "Alibaba Cloud NLB" if nlb else "Alibaba Cloud SLB (CLB)"
    # cloud-provider-alibaba-cloud docs/usage: "backend-type: eni" (or the prefixed form)
    # mounts pod ENIs as backends instead of nodes.
    eni = any(ann.get(k, "").strip().lower() == "eni" for k in _ALI_BACKEND_TYPES)
    # cloud-provider-alibaba-cloud (clbv1 and nlbv2 listeners): PROXY protocol is on only for
    # the value "on" -- compared exactly on a CLB, case-insensitively on an NLB.
    proxy_text = _ali(ann, "loadbalancer-proxy-protocol") or ""
    proxy = proxy_text.lower() == "on" if nlb else proxy_text == "on"
    if proxy_text and not proxy and proxy_text.strip().lower() != "off":
        findings.append(
            Finding(
                WARNING,
                "alibaba-proxy-protocol-value",
                f"alibaba-cloud-loadbalancer-proxy-protocol: {proxy_text!r}: the cloud controller "
                'turns PROXY protocol on only for "on"'
                + ("" if nlb else " (exactly, lower case)")
                + ", so the listeners send none; if the app or its proxy expects PROXY headers, "
                'write "on"',
            )
        )
    # ACK "Configure NLB instances by using annotations": the server-group annotation
    # alibaba-cloud-loadbalancer-preserve-client-ip (CCM >= 2.5.0) turns client IP
    # preservation on or off; nlbv2 server_groups.go sets it to (value equals "on", any case).
    preserve_text = _ali(ann, "loadbalancer-preserve-client-ip") or None
    listeners: List[Tuple[str, str]] = []
    protocol_port = _ali(ann, "loadbalancer-protocol-port")
    if nlb:
        if protocol_port is not None:
            listeners, bad = _parse_protocol_ports(protocol_port)
            if bad:
                findings.append(
                    Finding(
                        WARNING,
                        "alibaba-protocol-port-unreadable",
                        f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: cannot read "
                        f"{', '.join(repr(b) for b in bad)}; expected entries like 'TCP:80'",
                    )
                )
    else:
        listeners, rejected, unmatched = _clb_listeners(svc, protocol_port or "")
        if rejected is not None:
            check = (
                "run kubectl describe svc on it: the cloud controller's events show why it "
                "failed; write entries like 'http:80,https:443' (protocol http, https, tcp or "
                "udp in lower case, no spaces, the port a port of this Service)"
            )
            return Front(
                UNKNOWN_LB,
                LB_TCP,
                [
                    *findings,
                    Finding(
                        WARNING,
                        "alibaba-protocol-port-unreadable",
                        f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: the cloud "
                        f"controller rejects the entry {rejected!r}, so it does not build this "
                        f"Service's listeners and doctor can't say what they are; {check}",
                    ),
                ],
                None,
                "alibaba",
                check,
            )
        if unmatched:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-protocol-port-unmatched",
                    f"alibaba-cloud-loadbalancer-protocol-port: {', '.join(map(repr, unmatched))} "
                    "names no port of this Service, so the cloud controller ignores it; the "
                    "Service's other ports get listeners of their own protocol",
                )
            )
    # cloud-provider-alibaba-cloud docs/usage.md (annotation table, loadbalancer-id and
    # force-override-listeners): an existing load balancer keeps its listeners unless
    # force-override-listeners is "true" (annotation.go IsForceOverride compares exactly).
    lb_id = _ali(ann, "loadbalancer-id")
    if lb_id and _ali(ann, "loadbalancer-force-override-listeners") != "true":
        check = (
            f"look at the listeners of {lb_id} in the console (aliyun slb "
            "DescribeLoadBalancerAttribute): an HTTP/HTTPS listener adds X-Forwarded-For "
            "(REALIP_TOPOLOGY=lb-http), a TCP one passes the client through (lb-tcp) unless it "
            'sends PROXY protocol (lb-tcp-proxy); or set force-override-listeners: "true" so the '
            "annotations decide"
        )
        return Front(
            UNKNOWN_LB,
            LB_TCP,
            [
                *findings,
                Finding(
                    WARNING,
                    "alibaba-existing-lb-listeners",
                    f"alibaba-cloud-loadbalancer-id {lb_id!r} without force-override-listeners: "
                    '"true": the load balancer is reused and the cloud controller leaves the '
                    "listeners already on it alone, so their protocol is not in this input; "
                    f"{check}",
                ),
            ],
            None,
            "alibaba",
            check,
        )
    l7 = [f"{p}:{port}" for p, port in listeners if p in ("http", "https")]
    l4 = [f"{p}:{port}" for p, port in listeners if p not in ("http", "https")]
    if eni:
        findings.append(
            Finding(
                INFO,
                "alibaba-eni-backend",
                f"backend-type: eni: the {product} sends straight to the pods' ENI addresses "
                "(Terway), so kube-proxy and externalTrafficPolicy are not in the path",
            )
        )
    if l7 and not nlb:
        front = Front(HTTP, LB_HTTP, findings, ALIBABA_SLB_RANGE, "alibaba")
        findings.append(
            Finding(
                INFO,
                "alibaba-http-listener",
                f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: HTTP/HTTPS listener "
                f"({', '.join(l7)}): the SLB terminates HTTP, connects to the backends from "
                f"{ALIBABA_SLB_RANGE} and appends the client to X-Forwarded-For, so the app "
                f"reads X-Forwarded-For and trusts that range ({howto('how-to/load-balancer.md')})",
            )
        )
        if l4:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-mixed-listeners",
                    f"TCP/UDP listeners ({', '.join(l4)}) pass the client through as the peer; the "
                    f"lb-http settings still work for them because a client is never in "
                    f"{ALIBABA_SLB_RANGE}",
                )
            )
        if proxy:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-proxy-protocol-l4-only",
                    "alibaba-cloud-loadbalancer-proxy-protocol: on applies to the TCP/UDP "
                    "listeners only; the HTTP listeners still use X-Forwarded-For",
                )
            )
    elif proxy:
        front = Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, LB_RANGE, "alibaba")
        findings.append(
            proxy_protocol_finding(
                f"alibaba-cloud-loadbalancer-proxy-protocol: on: the {product} sends a PROXY "
                "protocol header with the client's address at the start of every TCP connection"
            )
        )
    elif nlb and preserve_text is not None and preserve_text.lower() != "on":
        front = Front(PROXIED, LB_TCP, findings, None, "alibaba")
        findings.append(
            Finding(
                ERROR,
                "alibaba-nlb-client-ip-not-preserved",
                f"alibaba-cloud-loadbalancer-preserve-client-ip: {preserve_text!r}: the "
                "NLB's server group does not keep the client address, so the pods see the NLB's "
                "and nothing carries the client's",
                'set alibaba-cloud-loadbalancer-preserve-client-ip: "on" (the only value the '
                "cloud controller reads as on), or enable "
                "PROXY protocol and use REALIP_TOPOLOGY=lb-tcp-proxy",
            )
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "alibaba")
        shown = f" ({', '.join(l4)})" if l4 else " (the default when no protocol-port is set)"
        findings.append(
            Finding(
                INFO,
                "alibaba-tcp-listener",
                f"{product} TCP listener{shown}: layer-4 pass-through, the client's address "
                "arrives as the peer and no header is added",
            )
        )
    if not eni:
        front.kube_proxy = True
    return front
