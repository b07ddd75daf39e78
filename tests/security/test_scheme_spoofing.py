"""A client can't choose the scheme (issue 11.1), through both middlewares and real frameworks.

Each request is the review's shape: a trusted proxy that appends only ``for=`` (nginx as its
wiki configures ``Forwarded``), or writes ``Forwarded`` and passes the client's
``X-Forwarded-Proto`` through, or a realip that failed closed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest
from security_support import run_asgi_app, run_wsgi_app
from support.asgi import asgi_scope
from support.wsgi import wsgi_environ

from realip import Resolver
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

PROXY = "10.0.0.1"
FWD = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
XFF = Resolver(trusted_proxies=["10.0.0.0/8"])

Lines = List[Tuple[str, str]]

# resolver, peer, headers, the scheme the app must see
CASES: List[Tuple[str, Resolver, str, Lines, str]] = [
    ("fwd-client-element-proto", FWD, PROXY,
     [("Forwarded", "for=6.6.6.6;proto=https, for=203.0.113.9")], "http"),
    ("fwd-client-xfp", FWD, PROXY,
     [("Forwarded", "for=203.0.113.9;proto=http"), ("X-Forwarded-Proto", "https")], "http"),
    ("fwd-client-xfp-no-proto", FWD, PROXY,
     [("Forwarded", "for=203.0.113.9"), ("X-Forwarded-Proto", "https")], "http"),
    ("fwd-honest", FWD, PROXY, [("Forwarded", "for=203.0.113.9;proto=https")], "https"),
    ("fwd-honest-right-of-client", FWD, PROXY,
     [("Forwarded", "for=6.6.6.6;proto=http, for=203.0.113.9, for=10.0.0.2;proto=https")],
     "https"),
    ("fwd-fail-closed", FWD, PROXY, [("Forwarded", "for=junk;proto=https")], "http"),
    ("xff-client-forwarded", XFF, PROXY,
     [("X-Forwarded-For", "203.0.113.9"), ("Forwarded", "for=1.1.1.1;proto=https")], "http"),
    ("xff-fail-closed", XFF, PROXY,
     [("X-Forwarded-For", "junk"), ("X-Forwarded-Proto", "https")], "http"),
    ("xff-untrusted-peer", XFF, "198.51.100.7", [("X-Forwarded-Proto", "https")], "http"),
    ("xff-nearest-proxy-wins", XFF, PROXY,
     [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https, http")], "http"),
    ("xff-honest", XFF, PROXY,
     [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")], "https"),
    ("xff-bad-value", XFF, PROXY,
     [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "javascript")], "http"),
]  # fmt: skip


def _environ(peer: str, lines: Lines) -> Dict[str, Any]:
    return wsgi_environ(peer, lines, **{"wsgi.version": (1, 0)})


@pytest.mark.parametrize(
    ("resolver", "peer", "lines", "scheme"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_wsgi_scheme(resolver: Resolver, peer: str, lines: Lines, scheme: str) -> None:
    seen: List[str] = []

    def app(environ: Dict[str, Any], start_response: Any) -> Any:
        seen.append(environ["wsgi.url_scheme"])
        start_response("200 OK", [])
        return [b""]

    run_wsgi_app(WSGIMiddleware(app, resolver, forwarded_proto=True), _environ(peer, lines))
    assert seen == [scheme]


@pytest.mark.parametrize(
    ("resolver", "peer", "lines", "scheme"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_asgi_scheme(resolver: Resolver, peer: str, lines: Lines, scheme: str, kind: str) -> None:
    seen: List[Optional[str]] = []

    async def app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope.get("scheme"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = asgi_scope(peer, lines)
    if kind == "websocket":
        scope["type"] = "websocket"
        scope["scheme"] = "ws"
    run_asgi_app(ASGIMiddleware(app, resolver, forwarded_proto=True), scope)
    expected = {"http": "ws", "https": "wss"}[scheme] if kind == "websocket" else scheme
    assert seen == [expected]
