"""realip.asgi.RealIPMiddleware inside Starlette and FastAPI, and against raw ASGI calls."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest
from fastapi import FastAPI, Request, WebSocket
from starlette.testclient import TestClient
from support.asgi import call_asgi
from support.resolutions import record_resolutions
from support.scenarios import asgi_scope, starlette_client, starlette_get

import realip
from realip import Resolver, Result
from realip.asgi import RealIPMiddleware

INGRESS = Resolver(trusted_proxies=["10.244.0.0/16"])
XFF = (("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),)


class Recorder:
    """An ASGI app that keeps the scope it was called with and answers 204."""

    def __init__(self) -> None:
        self.scope: Optional[dict[str, Any]] = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})


call = call_asgi


def through(resolver: Resolver, scope: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    inner = Recorder()
    call(RealIPMiddleware(inner, resolver, **kwargs), scope)
    assert inner.scope is not None
    return inner.scope


def test_lifespan_scope_passes_through_untouched() -> None:
    inner = Recorder()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    snapshot = copy.deepcopy(scope)
    call(RealIPMiddleware(inner, INGRESS), scope)
    assert inner.scope is scope
    assert scope == snapshot


def test_fastapi_lifespan_runs_through_the_middleware() -> None:
    events: list[str] = []

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        events.append("startup")
        yield
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(RealIPMiddleware, resolver=INGRESS)
    with TestClient(app):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_the_servers_own_scope_is_written_in_place(kind: str) -> None:
    """Servers log from the scope they made: the answer must be in that very dict (issue 12)."""
    scope = asgi_scope("10.244.3.4", XFF, kind=kind)
    headers = scope["headers"]
    snapshot = copy.deepcopy(headers)
    seen = through(INGRESS, scope, forwarded_proto=True)
    assert seen is scope
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["realip.original_client"] == ("10.244.3.4", 50123)
    # The server's header list itself is never mutated: a new one replaces it, the old one kept.
    assert headers == snapshot
    assert scope["realip.original_headers"] is headers
    assert (b"x-forwarded-for", b"203.0.113.9") in scope["headers"]


def test_original_client_and_result_are_kept_in_the_scope() -> None:
    seen = through(INGRESS, asgi_scope("10.244.3.4", XFF))
    assert seen["realip.original_client"] == ("10.244.3.4", 50123)
    result = seen["realip.result"]
    assert isinstance(result, Result)
    assert (result.client_ip, result.source, result.proxies) == (
        "203.0.113.9",
        "x-forwarded-for",
        ("10.244.3.4",),
    )


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        pytest.param("10.244.3.4", XFF, ("203.0.113.9", 0), id="from-header-port-0"),
        pytest.param("198.51.100.4", XFF, ("198.51.100.4", 50123), id="from-peer-keeps-port"),
    ],
)
def test_client_port(peer: str, headers: Any, expected: tuple[str, int]) -> None:
    assert tuple(through(INGRESS, asgi_scope(peer, headers))["client"]) == expected


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        pytest.param("10.244.3.4", (("X-Forwarded-For", "unknown"),), id="junk-from-trusted-proxy"),
        pytest.param(None, XFF, id="no-client-in-scope"),
    ],
)
def test_no_client_found_keeps_client_and_stores_reason(peer: Optional[str], headers: Any) -> None:
    scope = asgi_scope(peer, headers)
    seen = through(INGRESS, scope)
    assert seen["client"] == scope["client"]
    result = seen["realip.result"]
    assert result.client_ip is None
    assert result.reason


def test_none_result_is_visible_to_the_app() -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ip(request: Any) -> JSONResponse:
        result = realip.get_result(request)
        return JSONResponse(
            {"client": request.client.host, "ip": result.client_ip, "reason": result.reason}
        )

    app = RealIPMiddleware(Starlette(routes=[Route("/ip", ip)]), INGRESS)
    body = starlette_get(app, "10.244.3.4", (("X-Forwarded-For", "203.0.113.9, _hidden"),))
    assert body["client"] == "10.244.3.4"
    assert body["ip"] is None
    assert "_hidden" in body["reason"]


def test_repeated_header_lines_are_combined_in_order() -> None:
    headers = (("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9, 10.244.7.7"))
    seen = through(INGRESS, asgi_scope("10.244.3.4", headers))
    assert seen["client"][0] == "203.0.113.9"


PROTO_CASES = [
    # peer, headers, kind, forwarded_proto, expected scheme
    pytest.param(
        "10.244.3.4", [("X-Forwarded-Proto", "https")], "http", True, "https", id="xfp-trusted"
    ),
    pytest.param(
        "10.244.3.4",
        [("Forwarded", "for=1.2.3.4;proto=https")],
        "http",
        True,
        "http",  # an x-forwarded-for resolver reads X-Forwarded-Proto, never Forwarded
        id="forwarded-proto-ignored-by-xff-resolver",
    ),
    pytest.param(
        "10.244.3.4", [("X-Forwarded-Proto", "https")], "websocket", True, "wss", id="xfp-websocket"
    ),
    pytest.param(
        "10.244.3.4",
        [("X-Forwarded-Proto", "http")],
        "websocket",
        True,
        "ws",
        id="xfp-websocket-plain",
    ),
    pytest.param(
        "198.51.100.4",
        [("X-Forwarded-Proto", "https")],
        "http",
        True,
        "http",
        id="xfp-untrusted-peer-ignored",
    ),
    pytest.param(
        "10.244.3.4",
        [("X-Forwarded-Proto", "javascript")],
        "http",
        True,
        "http",
        id="xfp-not-http-or-https-ignored",
    ),
    pytest.param(
        "10.244.3.4",
        [("X-Forwarded-Proto", "https")],
        "http",
        False,
        "http",
        id="forwarded-proto-off-by-default",
    ),
]


@pytest.mark.parametrize(("peer", "headers", "kind", "enabled", "expected"), PROTO_CASES)
def test_forwarded_proto(peer: str, headers: Any, kind: str, enabled: bool, expected: str) -> None:
    headers = [("X-Forwarded-For", "203.0.113.9"), *headers]
    seen = through(INGRESS, asgi_scope(peer, tuple(headers), kind=kind), forwarded_proto=enabled)
    assert seen["scheme"] == expected


def test_forwarded_proto_reaches_fastapi_url() -> None:
    app = FastAPI()
    app.add_middleware(RealIPMiddleware, resolver=INGRESS, forwarded_proto=True)

    @app.get("/ip")
    def ip(request: Request) -> dict[str, Any]:
        return {"url": str(request.url_for("ip")), "client": request.client.host}

    body = starlette_get(
        app, "10.244.3.4", (("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"))
    )
    assert body == {"url": "https://testserver/ip", "client": "203.0.113.9"}


def test_websocket_through_fastapi_sees_the_client() -> None:
    app = FastAPI()
    app.add_middleware(RealIPMiddleware, resolver=INGRESS, forwarded_proto=True)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "client": websocket.client.host if websocket.client else None,
                "get_client_ip": realip.get_client_ip(websocket),
                "scheme": websocket.url.scheme,
            }
        )
        await websocket.close()

    client = starlette_client(app, "10.244.3.4")
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Forwarded-Proto": "https"}
    with client.websocket_connect("/ws", headers=headers) as session:
        assert session.receive_json() == {
            "client": "203.0.113.9",
            "get_client_ip": "203.0.113.9",
            "scheme": "wss",
        }


def test_get_result_reuses_the_middleware_result(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_resolutions(monkeypatch)
    seen: dict[str, Any] = {}

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ip(request: Any) -> PlainTextResponse:
        seen["result"] = realip.get_result(request)
        seen["stored"] = request.scope["realip.result"]
        # Resolving again with another resolver would trust the rewritten client and answer
        # 6.6.6.6 from X-Real-IP: the middleware's answer must win.
        seen["ip"] = realip.get_client_ip(request, other)
        return PlainTextResponse("ok")

    other = Resolver(trusted_proxies=["203.0.113.0/24"], header="x-real-ip")
    app = RealIPMiddleware(Starlette(routes=[Route("/ip", ip)]), INGRESS)
    client = starlette_client(app, "10.244.3.4")
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "6.6.6.6"}
    assert client.get("/ip", headers=headers).text == "ok"
    assert seen["result"] is seen["stored"]
    assert seen["ip"] == "203.0.113.9"
    assert len(calls) == 1


def test_wrapping_twice_does_not_shift_or_lose_the_original() -> None:
    """A second, identical middleware (e.g. one in a sub-app) must agree with the first."""
    inner = Recorder()
    app = RealIPMiddleware(RealIPMiddleware(inner, INGRESS), INGRESS)
    call(app, asgi_scope("10.244.3.4", (("X-Forwarded-For", "203.0.113.9, 10.244.8.8"),)))
    assert inner.scope is not None
    assert inner.scope["client"][0] == "203.0.113.9"
    assert inner.scope["realip.original_client"] == ("10.244.3.4", 50123)
    assert inner.scope["realip.result"].source == "x-forwarded-for"


def test_middleware_without_resolver_uses_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALIP_TOPOLOGY", "ingress")
    monkeypatch.setenv("REALIP_POD_CIDRS", "10.244.0.0/16")
    seen = through(None, asgi_scope("10.244.3.4", XFF))  # type: ignore[arg-type]
    assert seen["client"][0] == "203.0.113.9"


def test_middleware_without_resolver_or_environment_trusts_nothing() -> None:
    with pytest.warns(realip.RealIPWarning, match="no REALIP_\\* environment variable"):
        seen = through(None, asgi_scope("10.244.3.4", XFF))  # type: ignore[arg-type]
    assert seen["client"][0] == "10.244.3.4"
    assert seen["realip.result"].source == "remote_addr"
