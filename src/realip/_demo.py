"""Built-in sample requests that mirror the Kubernetes write-up, one set per topology."""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

from realip.resolver import Resolver

POD_CIDRS = ("10.244.0.0/16",)
NODE_CIDRS = ("192.168.0.0/24",)
LB_CIDRS = ("100.64.0.0/10",)  # Alibaba Cloud SLB forwards from the CGNAT range
CLIENT = "203.0.113.9"
ATTACKER_CHOICE = "6.6.6.6"


class Sample(NamedTuple):
    """One request as it reaches the app in a topology, and the client it must resolve to."""

    topology: str
    peer: str
    headers: Tuple[Tuple[str, str], ...]
    expected: Optional[str]
    note: str
    spoof: bool = False


SAMPLES: Tuple[Sample, ...] = (
    Sample("pod-to-pod", "10.244.1.7", (), "10.244.1.7", "podA calls podB"),
    Sample(
        "pod-to-pod",
        "10.244.1.7",
        (("X-Forwarded-For", ATTACKER_CHOICE),),
        "10.244.1.7",
        "podA sends XFF",
        True,
    ),
    Sample("nodeport-local", CLIENT, (), CLIENT, "no SNAT"),
    Sample(
        "nodeport-local",
        CLIENT,
        (("X-Real-IP", ATTACKER_CHOICE),),
        CLIENT,
        "X-Real-IP ignored",
        True,
    ),
    Sample("nodeport-cluster", CLIENT, (), CLIENT, "client hit the pod's node"),
    Sample("nodeport-cluster", "192.168.0.12", (), "192.168.0.12", "node2 SNAT: IP lost"),
    Sample(
        "nodeport-cluster",
        "192.168.0.12",
        (("X-Forwarded-For", ATTACKER_CHOICE),),
        "192.168.0.12",
        "XFF ignored",
        True,
    ),
    Sample("lb-tcp", CLIENT, (), CLIENT, "TCP keeps the peer"),
    Sample("lb-tcp", CLIENT, (("X-Forwarded-For", ATTACKER_CHOICE),), CLIENT, "XFF ignored", True),
    # The peer here is what the server reports after decoding the PROXY header (realip.uvicorn,
    # gunicorn --proxy-protocol, realip serve --proxy-protocol): the header's source.
    Sample("lb-tcp-proxy", CLIENT, (), CLIENT, "PROXY source from the SLB"),
    Sample(
        "lb-tcp-proxy",
        CLIENT,
        (("X-Forwarded-For", ATTACKER_CHOICE),),
        CLIENT,
        "XFF ignored",
        True,
    ),
    Sample("lb-http", "100.64.0.5", (("X-Forwarded-For", CLIENT),), CLIENT, "SLB appends client"),
    Sample(
        "lb-http",
        "100.64.0.5",
        (("X-Forwarded-For", f"{ATTACKER_CHOICE}, {CLIENT}"),),
        CLIENT,
        "XFF prefix ignored",
        True,
    ),
    Sample(
        "lb-http",
        "198.51.100.7",
        (("X-Forwarded-For", ATTACKER_CHOICE),),
        "198.51.100.7",
        "bypasses the SLB",
        True,
    ),
    Sample(
        "ingress",
        "10.244.2.15",
        (("X-Forwarded-For", f"{CLIENT}, 100.64.0.5"),),
        CLIENT,
        "SLB > ingress > app",
    ),
    Sample(
        "ingress",
        "10.244.2.15",
        (("X-Forwarded-For", f"{ATTACKER_CHOICE}, {CLIENT}, 100.64.0.5"),),
        CLIENT,
        "XFF prefix ignored",
        True,
    ),
    Sample(
        "ingress",
        "10.244.2.15",
        (("Forwarded", 'for="_x, for=6.6.6.6'), ("X-Forwarded-For", f"{CLIENT}, 100.64.0.5")),
        CLIENT,
        "Forwarded sabotage",
        True,
    ),
    Sample("cloudflare", "172.70.1.1", (("CF-Connecting-IP", CLIENT),), CLIENT, "edge sets it"),
    Sample(
        "cloudflare",
        "198.51.100.7",
        (("CF-Connecting-IP", ATTACKER_CHOICE),),
        "198.51.100.7",
        "skips Cloudflare",
        True,
    ),
)
"""Every sample request of ``realip demo``."""


def demo_resolver(topology: str) -> Resolver:
    """The resolver ``realip demo`` uses for a topology, with the sample cluster's CIDRs."""
    if topology == "cloudflare":
        # The samples have Cloudflare's edge as the peer: nothing in the cluster is in between.
        return Resolver.for_topology(topology)
    return Resolver.for_topology(
        topology, pod_cidrs=POD_CIDRS, node_cidrs=NODE_CIDRS, lb_cidrs=LB_CIDRS
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def render() -> Tuple[str, bool]:
    """The demo table (fits 100 columns) and whether every sample resolved as expected."""
    widths = (16, 13, 29, 13)
    head = ("topology", "peer", "headers", "client IP", "note")
    lines: List[str] = []

    def row(cells: Tuple[str, ...]) -> str:
        fixed = [_cut(c, w).ljust(w) for c, w in zip(cells, widths)]
        return _cut(" ".join(fixed) + " " + cells[-1], 100).rstrip()

    lines.append(row(head))
    lines.append(row((*("-" * w for w in widths), "-" * 19)))
    all_ok = True
    resolvers = {}
    for sample in SAMPLES:
        if sample.topology not in resolvers:
            resolvers[sample.topology] = demo_resolver(sample.topology)
        result = resolvers[sample.topology].resolve(sample.peer, sample.headers)
        ok = result.client_ip == sample.expected
        all_ok = all_ok and ok
        headers = "; ".join(f"{k}: {v}" for k, v in sample.headers) or "-"
        note = ("spoof: " if sample.spoof else "") + sample.note
        if result.snat:
            note = "SNAT! " + note
        if not ok:
            note = f"UNEXPECTED (wanted {sample.expected}) " + note
        lines.append(row((sample.topology, sample.peer, headers, result.client_ip or "-", note)))
    lines.append("")
    lines.append(
        "CIDRs used: pods 10.244.0.0/16, nodes 192.168.0.0/24, SLB 100.64.0.0/10. "
        "Try: realip explain --help"
    )
    return "\n".join(lines), all_ok
