"""AWS load balancers (NLB, Classic ELB) judged from their Service annotations.

Two controllers read the same ``aws-load-balancer-*`` annotations differently: the AWS Load
Balancer Controller (``external``, ``nlb-ip``, its ``loadBalancerClass``) and the in-tree cloud
provider (``type: nlb`` and Classic ELBs). :func:`aws_front` decides which one manages the
Service, or says it cannot tell, then what its targets, target-group attributes and PROXY
protocol do to the client address.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Tuple

from realip._doctor._fronts import (
    DIRECT,
    HTTP,
    LB_HTTP,
    LB_TCP,
    LB_TCP_PROXY,
    PROXIED,
    PROXY_PROTOCOL,
    SVC,
    UNKNOWN_LB,
    VPC_CIDR,
    Front,
    apply_etp,
    proxy_protocol_finding,
)
from realip._doctor._objects import Obj, d, etp, lst, s
from realip._doctor._report import ERROR, INFO, WARNING, Finding

AWS_PREFIX = SVC + "aws-load-balancer-"
AWS_NLB_CLASS = "service.k8s.aws/nlb"
# Keys (after "aws-load-balancer-") in the AWS Load Balancer Controller's Service annotation
# reference that the in-tree controller has no counterpart for ("listener-attributes.*" too).
_AWS_LBC_ONLY = frozenset(
    (
        "nlb-target-type",
        "target-group-attributes",
        "scheme",
        "ip-address-type",
        "attributes",
        "name",
        "alpn-policy",
        "manage-backend-security-group-rules",
        "enable-prefix-for-ipv6-source-nat",
        "source-nat-ipv6-prefixes",
        "multi-cluster-target-group",
    )
)


# -- AWS ------------------------------------------------------------------------------------


def _aws_attributes(text: str) -> Dict[str, str]:
    attrs: Dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep:
            attrs[key.strip()] = value.strip().lower()
    return attrs


def _aws_port_protocols(svc: Obj) -> Tuple[List[str], List[str]]:
    """The Service's TCP-only ports, and its UDP ports (a TCP+UDP pair becomes TCP_UDP)."""
    tcp: List[str] = []
    udp: List[str] = []
    for port in lst(svc.spec.get("ports")):
        port = d(port)
        number = s(port.get("port"))
        (udp if (s(port.get("protocol")) or "TCP").upper() == "UDP" else tcp).append(number)
    return [p for p in tcp if p not in udp], udp


def _aws_lbc_front(
    svc: Obj, ann: Mapping[str, str], attrs: Mapping[str, str], proxy: bool, lb_type: str, who: str
) -> Front:
    """An NLB built by the AWS Load Balancer Controller."""
    findings: List[Finding] = []
    target = (
        "ip"
        if lb_type == "nlb-ip"
        else (ann.get(AWS_PREFIX + "nlb-target-type", "").strip().lower() or "instance")
    )
    # ELB docs: client IP preservation is on by default for instance targets and off for
    # IP targets over TCP/TLS; preserve_client_ip.enabled overrides it.
    # The same page ("Edit target group attributes", client IP preservation): it is on, and
    # can't be turned off, for UDP and TCP_UDP target groups (a TCP and a UDP port with the
    # same number make one TCP_UDP listener); the attribute applies to TCP and TLS ones.
    tcp_only, _udp = _aws_port_protocols(svc)
    default_preserve = target != "ip"
    preserve_text = attrs.get("preserve_client_ip.enabled")
    if not tcp_only:
        preserve = True
    else:
        preserve = default_preserve if preserve_text is None else preserve_text == "true"
    how = "" if preserve_text is None else f" (preserve_client_ip.enabled={preserve_text})"
    findings.append(
        Finding(
            INFO,
            "aws-nlb",
            f"AWS Network Load Balancer from the AWS Load Balancer Controller, {target} targets"
            f"{how}: layer 4, no X-Forwarded-For",
        )
    )
    if proxy:
        front = Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, VPC_CIDR, "aws")
        findings.append(
            proxy_protocol_finding(
                'PROXY protocol v2 is on (aws-load-balancer-proxy-protocol: "*" or '
                "proxy_protocol_v2.enabled=true): the NLB prepends a PROXY header with the "
                "client's address to every connection"
            )
        )
    elif not preserve:
        front = Front(PROXIED, LB_TCP, findings, None, "aws")
        findings.append(
            Finding(
                ERROR,
                "aws-nlb-client-ip-not-preserved",
                f"client IP preservation is off for these {target} targets (AWS's default for "
                "IP targets over TCP/TLS): the pods see the NLB's private address, and nothing "
                "carries the client's",
                "add preserve_client_ip.enabled=true to service.beta.kubernetes.io/"
                "aws-load-balancer-target-group-attributes (then REALIP_TOPOLOGY=lb-tcp), or "
                "enable PROXY protocol and use REALIP_TOPOLOGY=lb-tcp-proxy",
            )
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "aws")
        family = ann.get(AWS_PREFIX + "ip-address-type", "").strip().lower()
        if family.startswith("dualstack"):
            # ELB docs ("Edit target group attributes", client IP preservation tables): with
            # IPv4 targets an IPv6 client's requests arrive from the load balancer's IPv4
            # address; PROXY protocol v2 carries either family.
            findings.append(
                Finding(
                    WARNING,
                    "aws-nlb-ipv6-clients",
                    f"aws-load-balancer-ip-address-type: {family}: IPv6 clients reach IPv4 "
                    "targets from the NLB's own address, so only IPv4 clients keep theirs as the "
                    "peer; to keep IPv6 clients too, enable PROXY protocol v2 "
                    '(aws-load-balancer-proxy-protocol: "*") and use REALIP_TOPOLOGY=lb-tcp-proxy',
                )
            )
    if target == "ip":
        findings.append(
            Finding(
                INFO,
                "aws-ip-targets",
                "IP targets: the NLB sends straight to pod IPs, so kube-proxy and "
                "externalTrafficPolicy are not in the path",
            )
        )
    else:
        front.kube_proxy = True
    return front


def aws_front(svc: Obj, who: str) -> Front:
    """AWS NLB (in-tree or AWS Load Balancer Controller) and Classic ELB."""
    ann = svc.annotations
    lb_type = ann.get(AWS_PREFIX + "type", "").strip().lower()
    lb_class = s(svc.spec.get("loadBalancerClass"))
    attrs = _aws_attributes(ann.get(AWS_PREFIX + "target-group-attributes", ""))
    # AWS LBC docs (guide/service/annotations): aws-load-balancer-proxy-protocol: "*" is the
    # only value; target-group-attributes proxy_protocol_v2.enabled=true does the same per group.
    proxy = ann.get(AWS_PREFIX + "proxy-protocol", "").strip() == "*" or (
        attrs.get("proxy_protocol_v2.enabled") == "true"
    )
    # aws-load-balancer-controller (v2.14+) pkg/service/model_build_target_group.go:
    # proxy-protocol-per-target-group lists Service ports; each listed port's target group gets
    # proxy_protocol_v2.enabled=true, the others false ("*" above still wins).
    listed = {
        p.strip() for p in ann.get(AWS_PREFIX + "proxy-protocol-per-target-group", "").split(",")
    } - {""}
    ports = {s(d(p).get("port")) for p in lst(svc.spec.get("ports"))} - {""}
    partial: List[str] = []
    if listed and not proxy:
        if ports and ports <= listed:
            proxy = True
        elif listed & ports:
            partial = sorted(listed & ports)
    if lb_class == AWS_NLB_CLASS or lb_type in ("external", "nlb-ip"):
        front = _aws_lbc_front(svc, ann, attrs, proxy, lb_type, who)
        if partial:
            # Some ports carry the client in a PROXY header, the others as they were judged: a
            # loss on those stays a loss; otherwise no one verdict is true of every request.
            if front.kind == DIRECT and etp(svc) == "Local":
                front.kind = UNKNOWN_LB
            front.findings.append(
                Finding(
                    WARNING,
                    "aws-nlb-proxy-protocol-some-ports",
                    "aws-load-balancer-proxy-protocol-per-target-group: PROXY protocol v2 on "
                    f"port(s) {', '.join(partial)} only: connections to those ports start with "
                    "a PROXY header, the others do not; serve them on separate listeners "
                    "(REALIP_TOPOLOGY=lb-tcp-proxy on the PROXY ports)",
                )
            )
        return front
    if lb_type == "nlb":
        return _aws_intree_nlb_front(svc, proxy, who)
    if not lb_type and not lb_class:
        lbc_only = sorted(k[len(AWS_PREFIX) :] for k in ann if _is_lbc_only(k))
        if lbc_only:
            return _aws_unstated_controller_front(svc, ann, attrs, proxy, lbc_only, who)
    return _aws_classic_front(svc, proxy)


def _is_lbc_only(key: str) -> bool:
    if not key.startswith(AWS_PREFIX):
        return False
    rest = key[len(AWS_PREFIX) :]
    return rest in _AWS_LBC_ONLY or rest.startswith("listener-attributes.")


def _aws_unstated_controller_front(
    svc: Obj,
    ann: Mapping[str, str],
    attrs: Mapping[str, str],
    proxy: bool,
    lbc_only: List[str],
    who: str,
) -> Front:
    """No aws-load-balancer-type and no loadBalancerClass, but annotations only the AWS Load
    Balancer Controller reads: which controller builds the load balancer is not in the input."""
    # AWS LBC docs (guide/service/nlb, "Load Balancer Class"; deploy/configurations,
    # enable-service-mutator-webhook): from v2.5 the controller's webhook gives new
    # LoadBalancer Services loadBalancerClass service.k8s.aws/nlb unless it is turned off;
    # without the controller, the in-tree one builds a Classic ELB and ignores these keys.
    lbc = _aws_lbc_front(svc, ann, attrs, proxy, "external", who)
    # The two readings are compared as verdicts, so the policy is applied to the NLB's first
    # (the Classic ELB proxies: no policy changes it); the dispatcher won't apply it again.
    if lbc.kube_proxy:
        apply_etp(svc, lbc, who)
    elb = _aws_classic_front(svc, proxy)
    keys = ", ".join(f"aws-load-balancer-{k}" for k in lbc_only)
    check = (
        "run kubectl get svc -o jsonpath='{.spec.loadBalancerClass}' on it: "
        "service.k8s.aws/nlb means the AWS Load Balancer Controller built an NLB (the first "
        "reading below); empty means the in-tree controller built a Classic ELB. Writing "
        "service.beta.kubernetes.io/aws-load-balancer-type: external (on a new Service) makes "
        "it the AWS Load Balancer Controller's either way"
    )
    what = (
        f"{keys} without aws-load-balancer-type or loadBalancerClass: only the AWS Load "
        "Balancer Controller reads these, and it takes the Service only if its Service webhook "
        "(on by default from v2.5) set loadBalancerClass when the Service was created; the "
        "in-tree controller would build a Classic ELB and ignore them"
    )
    if lbc.client_ip == elb.client_ip and lbc.kind == elb.kind:
        lbc.findings.insert(
            0,
            Finding(
                INFO, "aws-controller-unstated", f"{what}; both give the same verdict. {check}"
            ),
        )
        return lbc
    findings = [Finding(WARNING, "aws-controller-unstated", f"{what}; {check}")]
    findings += [
        Finding(INFO, f.code, f"if the AWS Load Balancer Controller took it: {f.message}")
        for f in lbc.findings
    ]
    findings += [
        Finding(INFO, f.code, f"if the in-tree controller took it: {f.message}")
        for f in elb.findings
    ]
    return Front(UNKNOWN_LB, lbc.topology, findings, lbc.lb_cidrs, "aws", check)


def _aws_intree_nlb_front(svc: Obj, proxy: bool, who: str) -> Front:
    """An NLB built by the in-tree controller (aws-load-balancer-type: nlb)."""
    findings: List[Finding] = []
    findings.append(
        Finding(
            INFO,
            "aws-nlb",
            "AWS Network Load Balancer (in-tree controller, instance targets): layer-4 "
            "pass-through, the client's address arrives as the peer, no X-Forwarded-For",
        )
    )
    if proxy:
        # kubernetes/cloud-provider-aws #234 and kubernetes/kubernetes #101608: the in-tree
        # controller applies aws-load-balancer-proxy-protocol to Classic ELBs only, and
        # creates an NLB's target groups without proxy_protocol_v2.enabled (F5's and
        # ingress-nginx's NLB guides switch it on by hand). The AWS Load Balancer
        # Controller does apply it, and takes such a Service when its webhook set a
        # loadBalancerClass after the manifest was written. Which one it is, and what was
        # done by hand, is not in the input: neither "PROXY" nor "mismatch" would be honest.
        check = (
            "look at the target groups' proxy_protocol_v2.enabled attribute (aws elbv2 "
            "describe-target-group-attributes); to have it managed, give the Service "
            "loadBalancerClass: service.k8s.aws/nlb (or aws-load-balancer-type: external) so "
            "the AWS Load Balancer Controller applies the annotation"
        )
        front = Front(
            UNKNOWN_LB,
            LB_TCP,
            [
                *findings,
                Finding(
                    WARNING,
                    "aws-nlb-proxy-protocol-unverified",
                    'aws-load-balancer-proxy-protocol: "*" on an in-tree NLB (aws-load-'
                    "balancer-type: nlb): the in-tree controller applies it to Classic ELBs "
                    "only, so the NLB sends PROXY headers only if its target groups were "
                    "switched to proxy_protocol_v2 by hand or the AWS Load Balancer "
                    f"Controller manages this Service; {check}",
                ),
            ],
            None,
            "aws",
            check,
        )
    else:
        front = Front(DIRECT, LB_TCP, findings, None, "aws")
    front.kube_proxy = True
    return front


def _aws_classic_front(svc: Obj, proxy: bool) -> Front:
    """A Classic ELB: no aws-load-balancer-type annotation, built by the in-tree controller."""
    ann = svc.annotations
    findings: List[Finding] = []
    backend = ann.get(AWS_PREFIX + "backend-protocol", "").strip().lower() or "tcp"
    if backend in ("http", "https"):
        findings.append(
            Finding(
                INFO,
                "aws-elb-http",
                f"Classic ELB with aws-load-balancer-backend-protocol: {backend}: the ELB "
                "terminates HTTP and appends the client to X-Forwarded-For; it connects from "
                "addresses in your VPC, and so do the nodes when kube-proxy forwards, so trust the "
                "VPC CIDR",
            )
        )
        return Front(HTTP, LB_HTTP, findings, VPC_CIDR, "aws")
    if proxy:
        findings.append(
            Finding(
                INFO,
                "aws-elb-tcp",
                f"Classic ELB with a {backend.upper()} listener: the ELB opens its own connection "
                "to the nodes",
            )
        )
        findings.append(
            proxy_protocol_finding(
                'aws-load-balancer-proxy-protocol: "*": the ELB prepends a PROXY protocol v1 '
                "header with the client's address to every connection"
            )
        )
        return Front(PROXY_PROTOCOL, LB_TCP_PROXY, findings, VPC_CIDR, "aws")
    findings.append(
        Finding(
            ERROR,
            "aws-elb-tcp",
            f"Classic ELB with a {backend.upper()} listener (no aws-load-balancer-type annotation, "
            "so the in-tree controller builds a Classic ELB): the ELB opens its own connection to "
            "the nodes, the app sees the ELB's address and nothing carries the client's",
            "keep the ELB and have it carry the client: enable "
            'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*" and decode it with '
            "REALIP_TOPOLOGY=lb-tcp-proxy (or in the proxy in front of the app)",
        )
    )
    return Front(PROXIED, LB_TCP, findings, None, "aws")
