"""What each Kubernetes topology delivers to the app (design.md section 1), and ways to ask
every supported framework what it thinks the client is.

A scenario is one request as it arrives at the pod: the peer address and the headers, some of
them written by the client to spoof its address. A runner builds a real app of one framework
with realip wired in the way its users would, sends the scenario through that framework's own
test client, and reports every place the client IP is visible.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Dict, List, Optional
from unittest import mock

# FastAPI resolves endpoint annotations from the module's globals (annotations are strings here).
from fastapi import Request

import realip
from realip import Resolver
from realip._topologies import TOPOLOGY_SPECS
from support.asgi import asgi_scope as _asgi_scope
from support.observed import Observed
from support.wsgi import wsgi_environ as _wsgi_environ

# Realistic cluster ranges: pod CIDR (flannel's default), the nodes' subnet, Alibaba Cloud SLB.
CIDRS: dict[str, list[str]] = {
    "pod_cidrs": ["10.244.0.0/16"],
    "node_cidrs": ["192.168.0.0/24"],
    "lb_cidrs": ["100.64.0.0/10"],
}

CLIENT = "203.0.113.9"  # the real user, on the internet
ATTACKER_CHOICE = "6.6.6.6"  # the address a spoofing client wants to be
INGRESS_POD = "10.244.3.4"
OTHER_POD = "10.244.1.7"
NODE = "192.168.0.12"
SLB = "100.64.3.2"
CLOUDFLARE_EDGE = "173.245.48.5"  # inside Cloudflare's published 173.245.48.0/20
CLOUDFLARE_EDGE_V6 = "2400:cb00::1"
CLIENT_V6 = "2001:db8::9"

# Everything a client can write to try to choose its own address.
SPOOF_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Forwarded-For", ATTACKER_CHOICE),
    ("Forwarded", f"for={ATTACKER_CHOICE}"),
    ("X-Real-IP", ATTACKER_CHOICE),
    ("CF-Connecting-IP", ATTACKER_CHOICE),
    ("True-Client-IP", ATTACKER_CHOICE),
)


def without(name: str) -> tuple[tuple[str, str], ...]:
    """The spoof headers minus ``name`` (which a trusted proxy overwrites with the truth)."""
    return tuple(h for h in SPOOF_HEADERS if h[0].lower() != name.lower())


@dataclass(frozen=True)
class Scenario:
    """One request as it reaches the app's pod, and the client IP it must resolve to."""

    topology: str
    case: str
    peer: str
    headers: tuple[tuple[str, str], ...]
    expected: str
    snat: bool = False

    @property
    def id(self) -> str:
        return f"{self.topology}/{self.case}"


SCENARIOS: list[Scenario] = [
    # podA -> podB: the peer is the calling pod; nothing else counts.
    Scenario("pod-to-pod", "honest", OTHER_POD, (), OTHER_POD),
    Scenario("pod-to-pod", "spoofed", OTHER_POD, SPOOF_HEADERS, OTHER_POD),
    # client -> node (with a pod) -> pod: the client is the peer.
    Scenario("nodeport-local", "honest", CLIENT, (), CLIENT),
    Scenario("nodeport-local", "spoofed", CLIENT, SPOOF_HEADERS, CLIENT),
    # client -> node2 -SNAT-> node1 -> pod: the peer is the client or, SNAT'ed, a node.
    Scenario("nodeport-cluster", "same-node", CLIENT, (), CLIENT),
    Scenario("nodeport-cluster", "snat", NODE, (), NODE, snat=True),
    Scenario("nodeport-cluster", "snat-spoofed", NODE, SPOOF_HEADERS, NODE, snat=True),
    # client -> SLB (TCP listener) -> node -> pod: the client is the peer.
    Scenario("lb-tcp", "honest", CLIENT, (), CLIENT),
    Scenario("lb-tcp", "spoofed", CLIENT, SPOOF_HEADERS, CLIENT),
    # client -> LB (TCP listener, PROXY protocol) -> node (SNAT under Cluster) -> pod: the app's
    # server decodes the header from a trusted LB/node address and reports its source as the
    # peer (tests/e2e/test_e2e_haproxy.py runs that part for real).
    Scenario("lb-tcp-proxy", "decoded", CLIENT, (), CLIENT),
    Scenario("lb-tcp-proxy", "decoded-spoofed", CLIENT, SPOOF_HEADERS, CLIENT),
    Scenario("lb-tcp-proxy", "bypassing-lb", OTHER_POD, SPOOF_HEADERS, OTHER_POD),
    # client -> SLB (HTTP listener, appends to X-Forwarded-For) -> node -> pod.
    Scenario("lb-http", "honest", SLB, (("X-Forwarded-For", CLIENT),), CLIENT),
    Scenario(
        "lb-http",
        "spoofed",
        SLB,
        (("X-Forwarded-For", f"{ATTACKER_CHOICE}, {CLIENT}"), *without("X-Forwarded-For")),
        CLIENT,
    ),
    Scenario("lb-http", "bypassing-slb", CLIENT, SPOOF_HEADERS, CLIENT),
    # client -> SLB -> ingress pod (appends) -> app pod; the SLB is L4 or L7.
    Scenario("ingress", "l4-slb", INGRESS_POD, (("X-Forwarded-For", CLIENT),), CLIENT),
    Scenario("ingress", "l7-slb", INGRESS_POD, (("X-Forwarded-For", f"{CLIENT}, {SLB}"),), CLIENT),
    Scenario(
        "ingress",
        "spoofed",
        INGRESS_POD,
        (("X-Forwarded-For", f"{ATTACKER_CHOICE}, {CLIENT}"), *without("X-Forwarded-For")),
        CLIENT,
    ),
    Scenario(
        "ingress",
        "spoofed-with-trusted-looking-hops",
        INGRESS_POD,
        (("X-Forwarded-For", f"{ATTACKER_CHOICE}, 10.244.9.9, {CLIENT}, {SLB}"),),
        CLIENT,
    ),
    # A node address as the peer: the request reached the app through a node's SNAT, so the
    # client is lost (and the headers, written by whoever came through, are not read).
    Scenario(
        "ingress", "bypassing-ingress", "192.168.0.50", SPOOF_HEADERS, "192.168.0.50", snat=True
    ),
    # client -> Cloudflare edge (sets CF-Connecting-IP) -> origin, possibly via the ingress.
    Scenario("cloudflare", "edge", CLOUDFLARE_EDGE, (("CF-Connecting-IP", CLIENT),), CLIENT),
    Scenario(
        "cloudflare", "edge-ipv6", CLOUDFLARE_EDGE_V6, (("CF-Connecting-IP", CLIENT_V6),), CLIENT_V6
    ),
    Scenario("cloudflare", "via-ingress", INGRESS_POD, (("CF-Connecting-IP", CLIENT),), CLIENT),
    Scenario(
        "cloudflare",
        "spoofed-through-edge",
        CLOUDFLARE_EDGE,
        (("CF-Connecting-IP", CLIENT), *without("CF-Connecting-IP")),
        CLIENT,
    ),
    Scenario("cloudflare", "bypassing-edge", CLIENT, SPOOF_HEADERS, CLIENT),
]


@cache
def topology_resolver(topology: str) -> Resolver:
    """The resolver an operator would configure for ``topology`` in the cluster above."""
    return Resolver.for_topology(topology, **_used_cidrs(topology))


def _used_cidrs(topology: str) -> Dict[str, List[str]]:
    # node_cidrs are refused where no node hop lies in the path (pod-to-pod).
    used = TOPOLOGY_SPECS[topology].options
    return {k: v for k, v in CIDRS.items() if k in used}


Runner = Callable[[str, str, "tuple[tuple[str, str], ...]"], Observed]


# -- WSGI: Flask -------------------------------------------------------------------------


def _flask_app(resolver: Optional[Resolver], *, middleware: bool) -> Any:
    from flask import Flask, request

    from realip.wsgi import RealIPMiddleware

    app = Flask("realip_integration")

    @app.get("/ip")
    def ip() -> dict[str, Any]:
        if middleware:
            result = realip.get_result(request)
            return {
                "request.remote_addr": request.remote_addr,
                "get_client_ip(request)": realip.get_client_ip(request),
                "snat": result.snat,
            }
        result = realip.get_result(request, resolver)
        return {"get_client_ip(request, resolver)": result.client_ip, "snat": result.snat}

    if middleware:
        app.wsgi_app = RealIPMiddleware(app.wsgi_app, resolver)  # type: ignore[method-assign]
    return app


def _run_flask(app: Any, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    resp = app.test_client().get("/ip", headers=list(headers), environ_base={"REMOTE_ADDR": peer})
    assert resp.status_code == 200, resp.data
    body = dict(resp.get_json())
    snat = body.pop("snat")
    return Observed(body, snat)


def run_flask_middleware(
    topology: str, peer: str, headers: tuple[tuple[str, str], ...]
) -> Observed:
    return _run_flask(_flask_app(topology_resolver(topology), middleware=True), peer, headers)


def run_flask_request(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    return _run_flask(_flask_app(topology_resolver(topology), middleware=False), peer, headers)


# -- ASGI: Starlette and FastAPI ---------------------------------------------------------


def starlette_client(app: Any, peer: str) -> Any:
    """Starlette's TestClient, connecting from ``peer`` (as a server would put it in the scope)."""
    from starlette.testclient import TestClient

    if "client" in inspect.signature(TestClient).parameters:
        return TestClient(app, client=(peer, 50123))

    # Starlette < 0.37 has no ``client=``: set the scope's client in front of the app instead.
    async def from_peer(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "client": (peer, 50123)}
        await app(scope, receive, send)

    return TestClient(from_peer)


def starlette_get(
    app: Any, peer: str, headers: tuple[tuple[str, str], ...], path: str = "/ip"
) -> Any:
    """GET through Starlette's TestClient with ``peer`` as the connection's client address."""
    resp = starlette_client(app, peer).get(path, headers=list(headers))
    assert resp.status_code == 200, resp.text
    return resp.json()


def _starlette_endpoint(resolver: Optional[Resolver], *, middleware: bool) -> Any:
    from starlette.responses import JSONResponse

    async def ip(request: Request) -> JSONResponse:
        if middleware:
            result = realip.get_result(request)
            return JSONResponse(
                {
                    "request.client.host": request.client.host if request.client else None,
                    "get_client_ip(request)": realip.get_client_ip(request),
                    "snat": result.snat,
                }
            )
        result = realip.get_result(request, resolver)
        return JSONResponse(
            {"get_client_ip(request, resolver)": result.client_ip, "snat": result.snat}
        )

    return ip


def _observed(body: dict[str, Any]) -> Observed:
    body = dict(body)
    snat = body.pop("snat")
    return Observed(body, snat)


def run_starlette_middleware(
    topology: str, peer: str, headers: tuple[tuple[str, str], ...]
) -> Observed:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    from realip.asgi import RealIPMiddleware

    app = Starlette(
        routes=[Route("/ip", _starlette_endpoint(None, middleware=True))],
        middleware=[Middleware(RealIPMiddleware, resolver=topology_resolver(topology))],
    )
    return _observed(starlette_get(app, peer, headers))


def run_starlette_request(
    topology: str, peer: str, headers: tuple[tuple[str, str], ...]
) -> Observed:
    from starlette.applications import Starlette
    from starlette.routing import Route

    endpoint = _starlette_endpoint(topology_resolver(topology), middleware=False)
    app = Starlette(routes=[Route("/ip", endpoint)])
    return _observed(starlette_get(app, peer, headers))


def run_fastapi_middleware(
    topology: str, peer: str, headers: tuple[tuple[str, str], ...]
) -> Observed:
    from fastapi import FastAPI

    from realip.asgi import RealIPMiddleware

    app = FastAPI()
    app.add_middleware(RealIPMiddleware, resolver=topology_resolver(topology))

    @app.get("/ip")
    def ip(request: Request) -> dict[str, Any]:
        result = realip.get_result(request)
        return {
            "request.client.host": request.client.host if request.client else None,
            "get_client_ip(request)": realip.get_client_ip(request),
            "snat": result.snat,
        }

    return _observed(starlette_get(app, peer, headers))


# -- Django: WSGI and ASGI ---------------------------------------------------------------

DJANGO_URLCONF = "support.django_urls"


def django_settings(realip_setting: Any, *, middleware: bool = True) -> Any:
    """override_settings for one Django test (works whoever configured Django first)."""
    from django.test import override_settings

    return override_settings(
        ROOT_URLCONF=DJANGO_URLCONF,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=["realip.django.RealIPMiddleware"] if middleware else [],
        REALIP=realip_setting,
    )


def peer_async_client(peer: str) -> Any:
    """Django's AsyncClient, but with ``peer`` as the ASGI scope's client address.

    AsyncClient has no REMOTE_ADDR knob: extra keywords become headers, and the scope's
    ``client`` is fixed at 127.0.0.1. The scope is what Django's ASGIRequest reads REMOTE_ADDR
    from, so set it there.
    """
    from django.test import AsyncClient

    class PeerAsyncClient(AsyncClient):
        def _base_scope(self, **request: Any) -> dict[str, Any]:
            scope: dict[str, Any] = super()._base_scope(**request)
            scope["client"] = [peer, 50123]
            return scope

    return PeerAsyncClient()


def _django_observed(resp: Any) -> Observed:
    assert resp.status_code == 200, resp.content
    return _observed(resp.json())


def run_django_wsgi(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    from django.test import Client

    with django_settings({"topology": topology, **_used_cidrs(topology)}):
        return _django_observed(Client(REMOTE_ADDR=peer).get("/ip", headers=dict(headers)))


def run_django_asgi(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    with django_settings({"topology": topology, **_used_cidrs(topology)}):
        client = peer_async_client(peer)
        resp = asyncio.run(client.get("/aip", headers=dict(headers)))
        return _django_observed(resp)


def run_django_request(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    from django.test import RequestFactory

    request = RequestFactory().get("/ip", REMOTE_ADDR=peer, headers=dict(headers))
    result = realip.get_result(request, topology_resolver(topology))
    return Observed({"get_client_ip(request, resolver)": result.client_ip}, result.snat)


def run_django_asgi_request(
    topology: str, peer: str, headers: tuple[tuple[str, str], ...]
) -> Observed:
    from django.test import AsyncRequestFactory

    request = AsyncRequestFactory().request(
        method="GET",
        path="/ip",
        client=[peer, 50123],
        headers=[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    )
    result = realip.get_result(request, topology_resolver(topology))
    return Observed({"get_client_ip(request, resolver)": result.client_ip}, result.snat)


# -- aiohttp and the raw protocol dicts --------------------------------------------------


def aiohttp_request(peer: str, headers: tuple[tuple[str, str], ...]) -> Any:
    """A real aiohttp ``web.Request`` whose transport reports ``peer`` as the socket's peer."""
    from aiohttp.test_utils import make_mocked_request
    from multidict import CIMultiDict

    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 50123) if name == "peername" else default
    )
    return make_mocked_request("GET", "/ip", headers=CIMultiDict(headers), transport=transport)


def run_aiohttp_request(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    request = aiohttp_request(peer, headers)
    result = realip.get_result(request, topology_resolver(topology))
    return Observed({"get_client_ip(request, resolver)": result.client_ip}, result.snat)


def wsgi_environ(peer: str, headers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """An environ as a WSGI server builds it (repeated headers joined with commas)."""
    return _wsgi_environ(peer, headers, path="/ip")


def run_wsgi_environ(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    result = realip.get_result(wsgi_environ(peer, headers), topology_resolver(topology))
    return Observed({"get_client_ip(environ, resolver)": result.client_ip}, result.snat)


def asgi_scope(
    peer: Optional[str], headers: tuple[tuple[str, str], ...], kind: str = "http"
) -> dict[str, Any]:
    """An ASGI ``http`` (or ``websocket``) scope for ``/ip``, as a server builds it."""
    return _asgi_scope(peer, headers, kind, path="/ip")


def run_asgi_scope(topology: str, peer: str, headers: tuple[tuple[str, str], ...]) -> Observed:
    result = realip.get_result(asgi_scope(peer, headers), topology_resolver(topology))
    return Observed({"get_client_ip(scope, resolver)": result.client_ip}, result.snat)


RUNNERS: dict[str, Runner] = {
    "flask+wsgi-middleware": run_flask_middleware,
    "flask-request+get_client_ip": run_flask_request,
    "starlette+asgi-middleware": run_starlette_middleware,
    "starlette-request+get_client_ip": run_starlette_request,
    "fastapi+asgi-middleware": run_fastapi_middleware,
    "django-wsgi+django-middleware": run_django_wsgi,
    "django-asgi+django-middleware": run_django_asgi,
    "django-request+get_client_ip": run_django_request,
    "django-asgirequest+get_client_ip": run_django_asgi_request,
    "aiohttp-request+get_client_ip": run_aiohttp_request,
    "wsgi-environ+get_client_ip": run_wsgi_environ,
    "asgi-scope+get_client_ip": run_asgi_scope,
}
