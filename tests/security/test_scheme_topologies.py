"""The scheme comes only from proxies that write it (issue 20.5).

An L4 hop (a TCP load balancer, a PROXY protocol sender, kube-proxy's NodePort, another pod)
never writes ``X-Forwarded-Proto`` or ``Forwarded``: whatever such a header holds, the client
wrote. So in every topology that reads no header, ``Resolver.scheme`` leaves the scheme as the
server set it - also when the peer is the trusted PROXY sender itself (no PROXY header decoded,
``proxy_as_client``). Both middlewares call ``Resolver.scheme``; the last test goes through them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest
from security_support import topology
from support.asgi import asgi_scope, run_asgi_app
from support.wsgi import run_wsgi_app

from realip import Resolver
from realip._topologies import TOPOLOGY_SPECS
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

SLB = "100.64.0.7"  # inside LB_CIDRS of the security tests
NODE = "192.168.0.12"  # inside NODE_CIDRS
POD = "10.244.3.4"
CLIENT = "203.0.113.7"
L4 = [name for name, spec in TOPOLOGY_SPECS.items() if spec.header is None]

# topology, peer, the scheme Resolver.scheme must answer for an "https" X-Forwarded-Proto and
# a "for=...;proto=https" Forwarded (None: leave it as the server set it)
TABLE: List[Tuple[str, str, Optional[str]]] = [
    *((name, peer, None) for name in L4 for peer in (SLB, NODE, POD, CLIENT)),
    # An L7 load balancer or ingress writes X-Forwarded-Proto; its own request (no
    # X-Forwarded-For, proxy_as_client) still carries the scheme it terminated.
    ("lb-http", SLB, "https"),
    ("lb-http", CLIENT, None),
    ("ingress", POD, "https"),
    ("ingress", CLIENT, None),
]


def test_the_table_covers_every_l4_topology() -> None:
    assert set(L4) == {"pod-to-pod", "nodeport-local", "nodeport-cluster", "lb-tcp", "lb-tcp-proxy"}


@pytest.mark.parametrize(("name", "peer", "scheme"), TABLE)
@pytest.mark.parametrize("with_client_header", [False, True])
def test_scheme_only_from_proxies_that_write_it(
    name: str, peer: str, scheme: Optional[str], with_client_header: bool
) -> None:
    resolver = topology(name)
    headers = {"X-Forwarded-For": CLIENT} if with_client_header else {}
    result = resolver.resolve(peer, headers)
    if with_client_header and scheme is not None:
        assert result.client_ip == CLIENT  # the walk reached the client through the proxy
    assert resolver.scheme(result, "https", None) == scheme
    assert resolver.scheme(result, b"https", b"for=1.2.3.4;proto=https", websocket=True) == (
        None if scheme is None else "wss"
    )


def test_the_trusted_proxy_protocol_sender_as_peer_sets_no_scheme() -> None:
    """The review's shape: lb-tcp-proxy, the LB itself is the peer (no PROXY header)."""
    resolver = topology("lb-tcp-proxy")
    result = resolver.resolve(SLB, {"X-Forwarded-Proto": "https"})
    assert result.client_ip == SLB and result.proxy_as_client
    assert resolver.scheme(result, "https", "proto=https") is None


@pytest.mark.parametrize(
    "resolver",
    [
        pytest.param(Resolver(header=None, trusted_proxies=["10.0.0.0/8"]), id="header-none"),
        pytest.param(Resolver(), id="nothing-trusted"),
    ],
)
def test_a_resolver_that_reads_no_header_reads_no_scheme(resolver: Resolver) -> None:
    result = resolver.resolve("10.0.0.1", {"X-Forwarded-Proto": "https"})
    assert result.client_ip == "10.0.0.1"
    assert resolver.scheme(result, "https", "for=10.0.0.1;proto=https") is None


def _environ(peer: str) -> Dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "REMOTE_ADDR": peer,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_FORWARDED": "for=1.2.3.4;proto=https",
    }


@pytest.mark.parametrize("name", L4)
def test_middlewares_keep_the_servers_scheme_behind_l4_hops(name: str) -> None:
    resolver = topology(name)
    seen: List[Any] = []

    def wsgi_app(environ: Dict[str, Any], start_response: Any) -> Any:
        seen.append(environ["wsgi.url_scheme"])
        start_response("200 OK", [])
        return [b""]

    async def asgi_app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope.get("scheme"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    for peer in (SLB, NODE, POD):
        run_wsgi_app(WSGIMiddleware(wsgi_app, resolver, forwarded_proto=True), _environ(peer))
        lines = [("X-Forwarded-Proto", "https"), ("Forwarded", "for=1.2.3.4;proto=https")]
        run_asgi_app(
            ASGIMiddleware(asgi_app, resolver, forwarded_proto=True), asgi_scope(peer, lines)
        )
    assert seen == ["http"] * 6
