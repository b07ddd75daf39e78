"""Ingresses a cloud load balancer serves itself: AWS and Alibaba Cloud ALB, and GKE's Ingress.

No controller pod is in the path: the cloud's Application Load Balancer adds X-Forwarded-For and
connects from its own addresses (the VPC for an ALB, the Google Front End ranges or a proxy-only
subnet for GKE). :func:`alb_verdict` reads the ALB's X-Forwarded-For processing mode;
:func:`gce_verdict` serves GKE's Gateway classes too.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from realip._doctor._cloud_others import GOOGLE_FRONT_END_RANGES
from realip._doctor._controllers import lb_addresses
from realip._doctor._fronts import LB_HTTP, VPC_CIDR, settings
from realip._doctor._objects import Obj, d, s
from realip._doctor._report import ERROR, INFO, LOST, PRESERVED, SPOOFABLE, Finding, howto


def _alb_target(ing: Obj) -> str:
    return ing.annotations.get("alb.ingress.kubernetes.io/target-type", "").strip().lower() or (
        "instance"
    )


_ALB_ATTRIBUTES = "alb.ingress.kubernetes.io/load-balancer-attributes"


def _alb_xff_mode(ing: Obj) -> str:
    """``routing.http.xff_header_processing.mode`` from the load-balancer-attributes annotation."""
    for item in ing.annotations.get(_ALB_ATTRIBUTES, "").split(","):
        key, _, value = item.partition("=")
        if key.strip() == "routing.http.xff_header_processing.mode":
            return value.strip().lower()
    return "append"


def _alb_xff_verdict(mode: str) -> Tuple[str, List[Finding], Dict[str, str], str]:
    # AWS ELB docs (Application Load Balancers, "X-Forwarded-For header", processing modes):
    # append (the default) adds the client; "preserve" keeps the header "without any change";
    # "remove" removes it before the request reaches the targets. aws-load-balancer-controller
    # docs (guide/ingress/annotations, load-balancer-attributes) set the attribute this way.
    out = settings(LB_HTTP, VPC_CIDR)
    attr = f"routing.http.xff_header_processing.mode={mode}"
    if mode == "preserve":
        return (
            SPOOFABLE,
            [
                Finding(
                    ERROR,
                    "aws-alb-xff-preserve",
                    f"{_ALB_ATTRIBUTES}: {attr}: the ALB passes X-Forwarded-For on exactly as "
                    "the client sent it and adds nothing, so the rightmost entry is the client's "
                    "choice",
                    "set routing.http.xff_header_processing.mode=append (the default), so the "
                    "ALB appends the address it received the connection from",
                )
            ],
            out,
            LB_HTTP,
        )
    return (
        LOST,
        [
            Finding(
                ERROR,
                "aws-alb-xff-remove",
                f"{_ALB_ATTRIBUTES}: {attr}: the ALB removes X-Forwarded-For before the "
                "request reaches the targets, so the app sees only the ALB's address",
                "set routing.http.xff_header_processing.mode=append (the default)",
            )
        ],
        out,
        LB_HTTP,
    )


def alb_verdict(ing: Obj, alibaba: bool) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """An Application Load Balancer Ingress (AWS or Alibaba Cloud)."""
    if alibaba:
        return (
            PRESERVED,
            [
                Finding(
                    INFO,
                    "alibaba-alb",
                    "Alibaba Cloud ALB Ingress: the ALB terminates HTTP, appends the client to "
                    "X-Forwarded-For and connects to the backends from its vSwitches in your VPC; "
                    f"trust the VPC CIDR ({howto('how-to/load-balancer.md')})",
                )
            ],
            settings(LB_HTTP, VPC_CIDR),
            LB_HTTP,
        )
    target = _alb_target(ing)
    xff = _alb_xff_mode(ing)
    if xff in ("preserve", "remove"):
        return _alb_xff_verdict(xff)
    # aws-load-balancer-controller docs (guide/ingress/annotations, target-type): "instance
    # mode will route traffic to all ec2 instances within cluster on NodePort opened for your
    # service" (so kube-proxy may SNAT to a node address, which is inside the VPC); "ip mode
    # will route traffic directly to the pod IP".
    via = (
        "straight to pod IPs"
        if target == "ip"
        else "to the Service's NodePort, so kube-proxy may SNAT it to a node address, which is "
        "also in the VPC range these settings trust"
    )
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "aws-alb",
                f"AWS Application Load Balancer (alb.ingress.kubernetes.io/target-type: {target}): "
                f"it terminates HTTP, appends the client to X-Forwarded-For and forwards {via}; "
                f"trust the VPC CIDR ({howto('how-to/load-balancer.md')})",
            )
        ],
        settings(LB_HTTP, VPC_CIDR),
        LB_HTTP,
    )


def _google_ranges(obj: Obj, what: str) -> str:
    addresses = lb_addresses(obj)
    ranges = ",".join(GOOGLE_FRONT_END_RANGES) + "".join(f",{a}" for a in addresses)
    if not addresses:
        ranges += f",<the {what}'s load balancer IP>"
    return ranges


def gce_verdict(
    ing: Obj, internal: bool, what: str = "Ingress"
) -> Tuple[str, List[Finding], Dict[str, str], str]:
    """GKE's own Ingress / Gateway: a Google Application Load Balancer."""
    if internal:
        return (
            PRESERVED,
            [
                Finding(
                    INFO,
                    "gce-internal-alb",
                    "GKE internal (or regional) Application Load Balancer: Envoy proxies in your "
                    "proxy-only subnet append the client to X-Forwarded-For; trust that subnet",
                )
            ],
            settings(LB_HTTP, "<your proxy-only subnet>"),
            LB_HTTP,
        )
    ranges = _google_ranges(ing, what)
    # Google Cloud docs (external Application Load Balancer, "X-Forwarded-For header"): the
    # load balancer appends "<client-ip>,<load-balancer-ip>" to X-Forwarded-For.
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "gce-alb",
                "Google external Application Load Balancer: Google Front Ends connect from "
                f"{', '.join(GOOGLE_FRONT_END_RANGES)} and append '<client>, <load balancer IP>' "
                "to X-Forwarded-For, so both the front-end ranges and the load balancer's own "
                "address must be trusted (with instance-group backends kube-proxy may also SNAT "
                "to a node: add your node CIDR then)",
            )
        ],
        settings(LB_HTTP, ranges),
        LB_HTTP,
    )


def is_alibaba_class(cls: str, classes: Sequence[Obj]) -> bool:
    """True when an 'alb' class belongs to Alibaba Cloud's ALB Ingress controller."""
    for ic in classes:
        if ic.name == cls:
            params = d(ic.spec.get("parameters"))
            return s(ic.spec.get("controller")).endswith("alibabacloud.com/alb") or s(
                params.get("apiGroup")
            ).endswith("alibabacloud.com")
    return False


# cloud-provider-alibaba-cloud docs/usage-alb.md: ALB Ingresses carry
# alb.ingress.kubernetes.io/address-type, /vswitch-ids and /albconfig.name, which the AWS Load
# Balancer Controller does not define.
_ALIBABA_ALB_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/vswitch-ids",
    "alb.ingress.kubernetes.io/address-type",
    "alb.ingress.kubernetes.io/albconfig.name",
)


def has_alibaba_alb_annotations(ing: Obj) -> bool:
    """True when an 'alb' Ingress uses annotations only Alibaba Cloud's ALB controller reads."""
    return any(k in ing.annotations for k in _ALIBABA_ALB_ANNOTATIONS)
