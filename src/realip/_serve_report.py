"""What ``realip serve`` reports about one request: pure functions, no sockets.

:func:`observe` gathers the peer, the proxy headers as received, the resolution step by step
and :func:`suggest`'s guesses at the topology into one JSON-ready dict; :func:`render_html` turns
it into a page. The HTTP server around them is :mod:`realip._serve`. (Named for what it does
beside :mod:`realip._doctor._report`, which reports on cluster objects.)
"""

from __future__ import annotations

import html
import ipaddress
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs

from realip._explain import PROXY_HEADERS, describe, explain
from realip._headers import lookup
from realip._networks import PRESETS
from realip._topologies import CLOUDFLARE_RANGES, topology_spec
from realip._version import __version__
from realip.resolver import Resolver, Result

_EXTRA_PROXY_HEADERS = (
    "x-original-forwarded-for",  # ingress-nginx: the X-Forwarded-For it received
    "x-envoy-external-address",  # Envoy / Istio
    "x-azure-clientip",  # Azure Front Door
    "x-azure-socketip",
    "x-appengine-user-ip",  # Google App Engine
    "cf-connecting-ipv6",  # Cloudflare
    "cf-pseudo-ipv4",
    "x-proxyuser-ip",
    "client-ip",
    "cdn-loop",
    "x-scheme",
)
_PROXY_HEADER_NAMES = frozenset(PROXY_HEADERS + _EXTRA_PROXY_HEADERS)
_SINGLE_IP_HEADERS = (
    "cf-connecting-ip",
    "true-client-ip",
    "fly-client-ip",
    "fastly-client-ip",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-envoy-external-address",
    "x-azure-clientip",
    "x-appengine-user-ip",
)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# The RFC 1918 / ULA ranges, not ipaddress's is_private, which also covers documentation and
# benchmark ranges that stand for public clients in examples.
_PRIVATE = tuple(ipaddress.ip_network(c) for c in PRESETS["private"])
_CLOUDFLARE = tuple(ipaddress.ip_network(c) for c in CLOUDFLARE_RANGES)

HeaderPairs = Sequence[Tuple[str, str]]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def is_proxy_header(name: str) -> bool:
    """True for headers that proxies write about the client (X-Forwarded-*, Forwarded, ...)."""
    lower = name.strip().lower()
    return lower in _PROXY_HEADER_NAMES or lower.startswith("x-forwarded")


def _ip(text: Optional[str]) -> Optional[IPAddress]:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _peer_class(ip: IPAddress) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.version == 4 and ip in _CGNAT:
        return "cgnat"
    if ip.is_link_local:
        return "link-local"
    if any(ip in net for net in _PRIVATE):
        return "private"
    return "public"


def _trust_advice(resolver: Resolver, ranges: str) -> str:
    """How to trust ``ranges`` under this configuration (a topology refuses trusted_proxies)."""
    if resolver.topology is None:
        return f"REALIP_TRUSTED_PROXIES={ranges}"
    spec = topology_spec(resolver.topology)
    if not spec.trusts:
        return (
            f"topology {spec.name} reads no header, so it trusts no proxy; pick the topology "
            "that matches the proxy in front (see `realip demo`)"
        )
    options = " or ".join(f"REALIP_{option.upper()}" for option in spec.trusts)
    return (
        f"add {ranges} to {options} (topology {spec.name} trusts those; "
        "REALIP_TRUSTED_PROXIES cannot be combined with a topology)"
    )


def _cni_notes(resolver: Resolver, peer: Optional[str], result: Result) -> List[str]:
    """A trusted address that looks like a node's CNI gateway, not a pod (see suggest)."""
    seen: Dict[str, str] = {}
    for role, text in (("peer", peer), ("client", result.client_ip)):
        ip = _ip(text)
        if ip is None or ip.version != 4 or str(ip) in seen or _peer_class(ip) != "private":
            continue
        # flannel's cni0 / flannel.1 and Calico's tunl0 take the .0 or .1 of each node's slice
        # of the pod CIDR; such an address inside the trusted (pod) ranges is a node.
        # (An address already in node_cidrs is never trusted, so it does not get here.)
        if int(ip) & 0xFF in (0, 1) and resolver.trusted_hops is None and resolver.trusts(str(ip)):
            seen[str(ip)] = role
    return [
        f"the {role} {address} looks like a node's CNI address (the .0/.1 gateway of a "
        "per-node /24 inside the pod CIDR: flannel's cni0 or flannel.1, Calico's tunl0), so a "
        "node, not a pod, sent this request on (kube-proxy SNAT or a hostNetwork proxy); give "
        "each node's own CNI address as node_cidrs (REALIP_NODE_CIDRS, e.g. "
        f"{address}/32) so realip can tell nodes from pods - not the node's whole /24, which "
        "holds its pods (the ingress pods too)"
        for address, role in seen.items()
    ]


def suggest(
    peer: Optional[str], headers: HeaderPairs, resolver: Resolver, result: Result
) -> List[str]:
    """Plain-language guesses at the topology, from the peer address and the headers seen."""
    out: List[str] = []
    xff = lookup(headers, "x-forwarded-for")
    forwarded = lookup(headers, "forwarded")
    singles = [name for name in _SINGLE_IP_HEADERS if lookup(headers, name) is not None]
    configured = resolver.topology is not None or resolver.header is not None
    if not configured:
        out.append(
            "realip runs unconfigured here (it trusts nothing and answers the peer address); "
            "once you know the topology, set REALIP_TOPOLOGY (and its CIDRs) or pass --topology"
        )
    elif result.client_ip is None:
        out.append(f"realip found no client IP: {result.reason}")
    ip = _ip(peer)
    if ip is None:
        out.append(
            "there is no peer IP address (a Unix socket?): if a proxy listens on the other end "
            "of the socket, trust it: " + _trust_advice(resolver, "unix")
        )
        return out
    kind = _peer_class(ip)
    if kind == "loopback":
        out.append(
            f"the peer {ip} is loopback: a proxy on the same host or in the same pod (a sidecar "
            "such as Envoy or Istio) or `kubectl port-forward` (which always shows 127.0.0.1). "
            + (
                "The current configuration already trusts it"
                if resolver.trusted_hops is None and resolver.trusts(str(ip))
                else "If a local proxy forwards to the app, trust it: "
                + _trust_advice(resolver, "loopback")
            )
        )
    elif kind in ("private", "link-local"):
        if xff is not None:
            already = resolver.topology == "ingress" and result.source == "x-forwarded-for"
            out.append(
                f"the peer {ip} is a private address and X-Forwarded-For is present: this looks "
                "like the `ingress` topology (an ingress controller pod forwarded the request); "
                + (
                    "the current configuration already reads it that way"
                    if already
                    else f"set REALIP_TOPOLOGY=ingress and REALIP_POD_CIDRS=<your pod CIDR, which "
                    f"contains {ip}>"
                )
            )
        elif forwarded is not None:
            out.append(
                f"the peer {ip} is a private address and sent a Forwarded header (RFC 7239): a "
                "proxy inside your network; set REALIP_HEADER=forwarded with the topology that "
                f"trusts {ip}'s range (e.g. REALIP_TOPOLOGY=ingress)"
            )
        elif singles:
            out.append(
                f"the peer {ip} is a private address and sent {', '.join(singles)}: a proxy "
                f"that writes a single-address header; set REALIP_HEADER={singles[0]} and trust "
                f"the proxy: {_trust_advice(resolver, f'<its range, which contains {ip}>')}"
            )
        else:
            out.append(
                f"the peer {ip} is a private address and no proxy header arrived: either another "
                "pod called you directly (pod-to-pod: the peer is the right answer, "
                "REALIP_TOPOLOGY=pod-to-pod), or kube-proxy source-NATed a request from outside "
                "(NodePort/LoadBalancer with externalTrafficPolicy: Cluster) and the client IP "
                "is lost: set externalTrafficPolicy: Local. If "
                f"{ip} is one of your nodes, it is the second case (REALIP_TOPOLOGY="
                "nodeport-cluster with REALIP_NODE_CIDRS flags it)"
            )
    elif kind == "cgnat":
        if xff is not None:
            out.append(
                f"the peer {ip} is in 100.64.0.0/10 and X-Forwarded-For is present: this looks "
                "like `lb-http` behind an Alibaba Cloud SLB HTTP listener (it forwards from "
                "100.64.0.0/10); set REALIP_TOPOLOGY=lb-http and REALIP_LB_CIDRS=100.64.0.0/10"
            )
        else:
            out.append(
                f"the peer {ip} is in 100.64.0.0/10 (shared address space: Alibaba Cloud SLB "
                "forwarders, carrier-grade NAT, Tailscale) and no proxy header arrived: if it is "
                "a load balancer, it hides the client; turn on X-Forwarded-For (HTTP listener) "
                "or use a TCP listener with externalTrafficPolicy: Local"
            )
    else:
        if lookup(headers, "cf-connecting-ip") is not None:
            edge = any(ip in net for net in _CLOUDFLARE)
            out.append(
                f"CF-Connecting-IP is present and the peer {ip} "
                + (
                    "is a Cloudflare edge address: set REALIP_TOPOLOGY=cloudflare"
                    if edge
                    else "is not in Cloudflare's published ranges: either another proxy sits between "
                    "Cloudflare and the app (trust it too), or the header is forged"
                )
            )
        elif xff is not None or forwarded is not None or singles:
            sent = (
                "X-Forwarded-For"
                if xff is not None
                else ("Forwarded" if forwarded is not None else singles[0])
            )
            out.append(
                f"the peer {ip} is a public address and sent {sent}: either the client wrote it "
                f"(a spoofing attempt, which realip ignores unless {ip} is trusted) or a CDN or "
                "proxy with public addresses is in front; trust only its published ranges: "
                + _trust_advice(resolver, "<the published ranges>")
            )
        else:
            out.append(
                f"the peer {ip} is a public address and no proxy header arrived: the client "
                "reached the pod with its address intact (NodePort with externalTrafficPolicy: "
                "Local, or a pass-through TCP load balancer): REALIP_TOPOLOGY=nodeport-local or "
                "lb-tcp"
            )
    out.extend(_cni_notes(resolver, peer, result))
    repeated = sum(1 for name, _ in headers if name.strip().lower() == "x-forwarded-for")
    if repeated > 1:
        out.append(
            f"X-Forwarded-For arrived {repeated} times; realip joins them in order, as RFC 9110 "
            "says, so the last one's entries are the rightmost"
        )
    return out


def observe(
    resolver: Resolver,
    peer: Optional[str],
    headers: HeaderPairs,
    *,
    peer_port: Optional[int] = None,
    method: str = "GET",
    path: str = "/",
    version: str = "HTTP/1.1",
) -> Dict[str, Any]:
    """Everything ``realip serve`` answers for one request, as a JSON-ready dict."""
    exp = explain(resolver, peer, list(headers))
    return {
        "realip": __version__,
        "peer": {"address": peer, "port": peer_port},
        "request": {
            "method": method,
            "path": path,
            "version": version,
            "host": lookup(headers, "host"),
        },
        "proxy_headers": [
            {"name": name, "value": value} for name, value in headers if is_proxy_header(name)
        ],
        "configuration": describe(resolver),
        "resolution": exp.as_dict(),
        "suggestions": suggest(peer, headers, resolver, exp.result),
    }


def _esc(value: Any) -> str:
    return html.escape("-" if value is None or value == "" else str(value), quote=True)


def render_html(report: Dict[str, Any]) -> str:
    """The report as a small self-contained HTML page; every value is escaped."""
    res = report["resolution"]
    peer = report["peer"]
    rows = (
        "".join(
            f"<tr><th>{_esc(h['name'])}</th><td><code>{_esc(h['value'])}</code></td></tr>"
            for h in report["proxy_headers"]
        )
        or '<tr><td colspan="2">none</td></tr>'
    )

    def items(values: List[str]) -> str:
        return "".join(f"<li>{_esc(v)}</li>" for v in values) or "<li>none</li>"

    peer_text = (
        peer["address"] if peer["port"] is None else (f"{peer['address']} port {peer['port']}")
    )
    req = report["request"]
    request = f"{req['method']} {req['path']} {req['version']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>realip serve: {_esc(res.get("client_ip"))}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.1rem; margin-top: 1.6rem; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: .2rem .8rem .2rem 0;
       vertical-align: top; }}
code {{ word-break: break-all; }} .client {{ font-size: 1.6rem; font-weight: bold; }}
.warn li {{ color: #8a4b00; }}
</style></head><body>
<h1>realip serve</h1>
<p>client IP: <span class="client">{_esc(res.get("client_ip"))}</span>
 (source: {_esc(res.get("source"))})</p>
<p>{_esc(res.get("reason"))}</p>
<table>
<tr><th>peer</th><td><code>{_esc(peer_text)}</code></td></tr>
<tr><th>request</th><td><code>{_esc(request)}</code></td></tr>
<tr><th>host</th><td><code>{_esc(req["host"])}</code></td></tr>
<tr><th>configuration</th><td>{_esc(report["configuration"])}</td></tr>
</table>
<h2>Steps</h2><ol>{items(res.get("steps", []))}</ol>
<h2>Warnings</h2><ul class="warn">{items(res.get("warnings", []))}</ul>
<h2>Suggestions</h2><ul>{items(report["suggestions"])}</ul>
<h2>Proxy headers as received</h2><table>{rows}</table>
<p><a href="?format=json">JSON</a> &middot; realip {_esc(report["realip"])}</p>
</body></html>
"""


def wants_html(accept: Optional[str], query: str = "") -> bool:
    """True when ``?format=html``, or when Accept prefers text/html over application/json."""
    fmt = parse_qs(query).get("format", [""])[-1].lower()
    if fmt in ("html", "json"):
        return fmt == "html"
    if not accept:
        return False
    best = {"html": 0.0, "json": 0.0}
    for part in accept.split(",")[:64]:
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml", "text/*", "*/*"):
            best["html"] = max(best["html"], q)
        if media in ("application/json", "application/*", "*/*"):
            best["json"] = max(best["json"], q)
    return best["html"] > best["json"]


__all__ = ["is_proxy_header", "observe", "render_html", "suggest", "wants_html"]
