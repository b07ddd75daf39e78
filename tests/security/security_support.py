"""Deployments, honest proxies and adapters for the security tests.

A :class:`Deployment` is a resolver plus the path a request takes to the app: the client, then
each proxy in order. Every proxy behaves the way the real one does with the headers it owns
(nginx/ingress-nginx and cloud load balancers *append* to ``X-Forwarded-For``; RFC 7239 proxies
append a ``Forwarded`` element; an ``X-Real-IP``/``CF-Connecting-IP`` proxy *overwrites*) and
passes every other header through untouched. So the request the app receives is exactly what
a client who sent ``client_lines`` would produce in that deployment.

An adapter takes ``(resolver, peer, header lines)``, delivers them the way its framework does,
and returns an :class:`Observed`: the stored :class:`~realip.Result` and the address the app
itself saw (``REMOTE_ADDR``, ``scope["client"]``, ``request.client_ip``).
"""

from __future__ import annotations

import ipaddress
import json
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from fuzz_targets import environ_for, scope_for
from support.asgi import asgi_scope, run_asgi_app
from support.observed import Observed
from support.wsgi import run_wsgi_app

from realip import RealIPWarning, Resolver, get_client_ip, get_result
from realip._topologies import TOPOLOGY_SPECS
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.proxy_protocol import PROXY, ProxyHeader, encode
from realip.proxy_server import ProxyPolicy
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

Lines = Tuple[Tuple[str, str], ...]

CLIENT = "203.0.113.7"  # the real user, on the internet
CLIENT6 = "2001:db8:cafe::7"
POD_CLIENT = "10.244.1.7"  # another pod, for pod-to-pod
INGRESS_POD = "10.244.3.4"
NODE = "192.168.0.12"
SLB = "100.64.0.7"
CF_EDGE = "173.245.48.5"  # inside Cloudflare's 173.245.48.0/20
PROXY1 = "10.0.0.1"
PROXY2 = "10.0.0.2"
PROXY6 = "fd00::2"
HOP1 = "198.51.100.1"  # hop mode: proxies whose addresses the app does not know
HOP2 = "198.51.100.2"

POD_CIDRS = ["10.244.0.0/16"]
NODE_CIDRS = ["192.168.0.0/24"]
LB_CIDRS = ["100.64.0.0/10"]


def topology(name: str) -> Resolver:
    """The preset resolver with the cluster ranges used throughout the security tests."""
    ranges = {"pod_cidrs": POD_CIDRS, "node_cidrs": NODE_CIDRS, "lb_cidrs": LB_CIDRS}
    used = TOPOLOGY_SPECS[name].options
    return Resolver.for_topology(name, **{k: v for k, v in ranges.items() if k in used})


def hop_resolver(header: str, hops: int) -> Resolver:
    """A hop-counting resolver (its construction warning is expected and silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        return Resolver(header=header, trusted_hops=hops)


# -- honest proxies ---------------------------------------------------------------------


def _forwarded_node(address: str) -> str:
    return address if ipaddress.ip_address(address).version == 4 else f'"[{address}]"'


def _fold(lines: List[Tuple[str, str]], name: str, canonical_name: str, add: str) -> None:
    """Append ``add`` to header ``name`` the way nginx's ``$proxy_add_x_forwarded_for`` does.

    The existing lines (any case) become one line with ``add`` appended after a comma. Like
    nginx's ``proxy_set_header``, the proxy sends the headers it sets before the ones it
    passes through.
    """
    existing = [v for n, v in lines if n.lower() == name]
    joined = ", ".join(existing)
    lines[:] = [(n, v) for n, v in lines if n.lower() != name]
    lines.insert(0, (canonical_name, f"{joined}, {add}" if existing else add))


def _overwrite(lines: List[Tuple[str, str]], name: str, canonical_name: str, value: str) -> None:
    lines[:] = [(n, v) for n, v in lines if n.lower() != name]
    lines.insert(0, (canonical_name, value))


ACTIONS: Dict[str, Callable[[List[Tuple[str, str]], str], None]] = {
    # X-Forwarded-For: fold into one line (nginx) or add a line of its own (RFC 9110 allows it).
    "xff": lambda lines, seen: _fold(lines, "x-forwarded-for", "X-Forwarded-For", seen),
    "xff-line": lambda lines, seen: lines.append(("X-Forwarded-For", seen)),
    "fwd": lambda lines, seen: _fold(
        lines, "forwarded", "Forwarded", f"for={_forwarded_node(seen)};proto=https"
    ),
    "fwd-line": lambda lines, seen: lines.append(
        ("Forwarded", f"for={_forwarded_node(seen)};proto=https")
    ),
    "set-x-real-ip": lambda lines, seen: _overwrite(lines, "x-real-ip", "X-Real-IP", seen),
    # A proxy that adds its X-Real-IP line after whatever the client sent (rule 5: last wins).
    "add-x-real-ip": lambda lines, seen: lines.append(("X-Real-IP", seen)),
    "set-cf-connecting-ip": lambda lines, seen: _overwrite(
        lines, "cf-connecting-ip", "CF-Connecting-IP", seen
    ),
    # A TCP load balancer: headers untouched; it writes a PROXY v2 header naming the address it
    # saw (handled in Deployment.request, where the app's server decodes it).
    "send-proxy-v2": lambda lines, seen: None,
}


def _proxy_v2(source: str) -> bytes:
    family = "INET" if ipaddress.ip_address(source).version == 4 else "INET6"
    destination = "192.0.2.80" if family == "INET" else "2001:db8::80"
    return encode(ProxyHeader(2, PROXY, family, "STREAM", source, 40000, destination, 443))


def _decoded_peer(resolver: Resolver, peer: str, stream: bytes) -> str:
    """The peer the app's server reports after realip's PROXY policy read ``stream``."""
    decision = ProxyPolicy(resolver).connection((peer, 50000)).feed(stream + b"GET / HTTP/1.1")
    assert decision is not None and decision.accepted and decision.peer, decision
    return decision.peer[0]


@dataclass(frozen=True)
class Hop:
    """One proxy: its own address (what the next hop sees) and what it does to headers."""

    address: str
    actions: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Deployment:
    """A resolver and the path a request takes from the client to the app."""

    id: str
    resolver: Resolver = field(repr=False)
    client: str
    hops: Tuple[Hop, ...] = ()
    expected: Optional[str] = None  # None: the client itself
    snat: bool = False
    # A dual-stack server reports an IPv4 peer as ::ffff:a.b.c.d.
    dual_stack: bool = False

    @property
    def answer(self) -> str:
        """The address realip must report for this deployment."""
        return self.expected if self.expected is not None else self.client

    def request(self, client_lines: Lines) -> Tuple[str, Lines]:
        """``(peer, header lines)`` as the app receives them after the honest proxies."""
        lines = list(client_lines)
        seen = self.client
        stream = b""  # what precedes the HTTP request on the app's TCP connection
        for hop in self.hops:
            for action in hop.actions:
                ACTIONS[action](lines, seen)
            if "send-proxy-v2" in hop.actions:
                stream = _proxy_v2(seen)
            seen = hop.address
        if stream:
            # Only the bytes travel on: a node that SNATs the connection changes the peer, not
            # the header inside it.
            seen = _decoded_peer(self.resolver, seen, stream)
        if self.dual_stack and ipaddress.ip_address(seen).version == 4:
            seen = f"::ffff:{seen}"
        return seen, tuple(lines)


def deployments() -> List[Deployment]:
    """Every topology preset (with its variants: bypass, SNAT, L7 LB) and every strategy."""
    lb_http = topology("lb-http")
    ingress = topology("ingress")
    cloudflare = topology("cloudflare")
    xff = Resolver(trusted_proxies=["10.0.0.0/8", "fd00::/8"])
    fwd = Resolver(trusted_proxies=["10.0.0.0/8", "fd00::/8"], header="forwarded")
    real_ip = Resolver(trusted_proxies=["10.0.0.0/8"], header="x-real-ip")
    nodeport_cluster = topology("nodeport-cluster")
    lb_tcp_proxy = topology("lb-tcp-proxy")
    return [
        Deployment("pod-to-pod", topology("pod-to-pod"), POD_CLIENT),
        Deployment("nodeport-local", topology("nodeport-local"), CLIENT),
        Deployment("nodeport-cluster", nodeport_cluster, CLIENT),
        # Cluster policy: another node forwarded with SNAT; realip reports the node, flagged.
        Deployment(
            "nodeport-cluster-snat",
            nodeport_cluster,
            CLIENT,
            (Hop(NODE),),
            expected=NODE,
            snat=True,
        ),
        Deployment("lb-tcp", topology("lb-tcp"), CLIENT),
        # PROXY protocol: the LB's header names the client; the server makes it the peer.
        Deployment("lb-tcp-proxy", lb_tcp_proxy, CLIENT, (Hop(SLB, ("send-proxy-v2",)),)),
        Deployment("lb-tcp-proxy-v6", lb_tcp_proxy, CLIENT6, (Hop(SLB, ("send-proxy-v2",)),)),
        # externalTrafficPolicy: Cluster: a node SNATs the LB's connection; the header survives.
        Deployment(
            "lb-tcp-proxy-cluster-snat",
            lb_tcp_proxy,
            CLIENT,
            (Hop(SLB, ("send-proxy-v2",)), Hop(NODE)),
        ),
        # A client (or another pod) reaching the app without the LB is served as itself.
        Deployment("lb-tcp-proxy-bypass", lb_tcp_proxy, CLIENT),
        Deployment("lb-http", lb_http, CLIENT, (Hop(SLB, ("xff",)),)),
        Deployment("lb-http-v6", lb_http, CLIENT6, (Hop(SLB, ("xff",)),)),
        Deployment("lb-http-bypass", lb_http, CLIENT),
        Deployment("ingress-l4-lb", ingress, CLIENT, (Hop(INGRESS_POD, ("xff",)),)),
        Deployment(
            "ingress-l7-lb", ingress, CLIENT, (Hop(SLB, ("xff",)), Hop(INGRESS_POD, ("xff-line",)))
        ),
        Deployment("ingress-bypass", ingress, CLIENT),
        Deployment(
            "ingress-dual-stack", ingress, CLIENT, (Hop(INGRESS_POD, ("xff",)),), dual_stack=True
        ),
        Deployment(
            "nodeport-local-dual-stack", topology("nodeport-local"), CLIENT, dual_stack=True
        ),
        Deployment(
            "cloudflare", cloudflare, CLIENT, (Hop(CF_EDGE, ("set-cf-connecting-ip", "xff")),)
        ),
        Deployment(
            "cloudflare-via-lb",
            cloudflare,
            CLIENT,
            (Hop(CF_EDGE, ("set-cf-connecting-ip", "xff")), Hop(SLB, ("xff",))),
        ),
        Deployment("cloudflare-origin-direct", cloudflare, CLIENT),
        Deployment("xff-cidr", xff, CLIENT, (Hop(PROXY1, ("xff",)), Hop(PROXY2, ("xff-line",)))),
        Deployment("xff-cidr-v6", xff, CLIENT6, (Hop(PROXY6, ("xff",)), Hop(PROXY2, ("xff",)))),
        Deployment(
            "forwarded-cidr", fwd, CLIENT, (Hop(PROXY1, ("fwd",)), Hop(PROXY6, ("fwd-line",)))
        ),
        Deployment(
            "forwarded-cidr-v6", fwd, CLIENT6, (Hop(PROXY6, ("fwd-line",)), Hop(PROXY2, ("fwd",)))
        ),
        Deployment("x-real-ip-overwrite", real_ip, CLIENT, (Hop(PROXY1, ("set-x-real-ip",)),)),
        Deployment("x-real-ip-add-line", real_ip, CLIENT, (Hop(PROXY1, ("add-x-real-ip",)),)),
        Deployment(
            "hops-xff",
            hop_resolver("x-forwarded-for", 2),
            CLIENT,
            (Hop(HOP1, ("xff",)), Hop(HOP2, ("xff",))),
        ),
        Deployment("hops-forwarded", hop_resolver("forwarded", 1), CLIENT, (Hop(HOP1, ("fwd",)),)),
    ]


# -- adapters ---------------------------------------------------------------------------


def _plain_wsgi_app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(environ.get("REMOTE_ADDR")).encode()]


async def _plain_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    client = scope.get("client")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(client and client[0]).encode()})


def adapter_resolve(resolver: Resolver, peer: Optional[str], lines: Lines) -> Observed:
    """The core: header lines as given (names in the client's case)."""
    result = resolver.resolve(peer, list(lines))
    return Observed.of(result, result.client_ip)


def adapter_wsgi(resolver: Resolver, peer: Optional[str], lines: Lines) -> Observed:
    """realip.wsgi.RealIPMiddleware around a plain WSGI app."""
    environ = environ_for(peer, lines)
    stored: Dict[str, Any] = {}

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        stored.update(environ)
        return _plain_wsgi_app(environ, start_response)

    status, body = run_wsgi_app(WSGIMiddleware(app, resolver), environ)
    assert status == "200 OK"
    assert body.decode() == str(stored.get("REMOTE_ADDR"))
    return Observed.of(stored["realip.result"], stored.get("REMOTE_ADDR"))


def adapter_asgi(resolver: Resolver, peer: Optional[str], lines: Lines) -> Observed:
    """realip.asgi.RealIPMiddleware around a plain ASGI app, on asyncio."""
    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        await _plain_asgi_app(scope, receive, send)

    status, body = run_asgi_app(ASGIMiddleware(app, resolver), asgi_scope(peer, lines))
    assert status == 200
    client = seen.get("client")
    app_ip = client[0] if client else None
    assert body.decode() == str(app_ip)
    return Observed.of(seen["realip.result"], app_ip)


@cache
def _django_middleware(resolver: Resolver) -> Any:
    from django.http import JsonResponse
    from django.test import override_settings

    from realip.django import RealIPMiddleware

    def view(request: Any) -> Any:
        return JsonResponse(
            {"REMOTE_ADDR": request.META.get("REMOTE_ADDR"), "client_ip": request.client_ip}
        )

    with override_settings(REALIP=resolver):
        return RealIPMiddleware(view)


def adapter_django(resolver: Resolver, peer: Optional[str], lines: Lines) -> Observed:
    """realip.django.RealIPMiddleware (settings.REALIP = the resolver) on a RequestFactory."""
    from django.test import RequestFactory

    environ = environ_for(peer, lines)
    extra = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    request = RequestFactory().get("/", **extra)
    if peer is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = peer
    response = _django_middleware(resolver)(request)
    assert response.status_code == 200
    seen = json.loads(response.content)
    remote_addr = seen["REMOTE_ADDR"]
    assert seen["client_ip"] == request.client_ip
    result = request.META["realip.result"]
    assert request.client_ip == result.client_ip
    return Observed.of(result, remote_addr)


def adapter_get_client_ip_environ(
    resolver: Resolver, peer: Optional[str], lines: Lines
) -> Observed:
    """realip.get_client_ip / get_result on a WSGI environ."""
    environ = environ_for(peer, lines)
    return Observed.of(get_result(environ, resolver), get_client_ip(environ, resolver))


def adapter_get_client_ip_scope(resolver: Resolver, peer: Optional[str], lines: Lines) -> Observed:
    """realip.get_client_ip / get_result on an ASGI scope."""
    scope = scope_for(peer, lines)
    return Observed.of(get_result(scope, resolver), get_client_ip(scope, resolver))


ADAPTERS: Dict[str, Callable[[Resolver, Optional[str], Lines], Observed]] = {
    "resolve": adapter_resolve,
    "wsgi": adapter_wsgi,
    "asgi": adapter_asgi,
    "django": adapter_django,
    "get_client_ip-environ": adapter_get_client_ip_environ,
    "get_client_ip-scope": adapter_get_client_ip_scope,
}
"""Every way into realip, by test id."""


def header_values(lines: Sequence[Tuple[str, str]]) -> List[str]:
    """The values of some header lines."""
    return [v for _, v in lines]
