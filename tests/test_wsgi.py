"""realip.wsgi.RealIPMiddleware in Flask: ``app.wsgi_app = RealIPMiddleware(app.wsgi_app, r)``."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from flask import Flask, request, url_for
from support.resolutions import record_resolutions
from support.scenarios import wsgi_environ

import realip
from realip import Resolver
from realip.wsgi import RealIPMiddleware

INGRESS = Resolver(trusted_proxies=["10.244.0.0/16"])


def flask_app(
    resolver: Optional[Resolver], *, forwarded_proto: bool = False, wraps: int = 1
) -> Flask:
    app = Flask("realip_wsgi_tests")

    @app.get("/ip")
    def ip() -> dict[str, Any]:
        result = realip.get_result(request)
        return {
            "remote_addr": request.remote_addr,
            "original": request.environ.get("realip.original_remote_addr"),
            "result_is_stored": request.environ.get("realip.result") is result,
            "client_ip": result.client_ip,
            "source": result.source,
            "reason": result.reason,
            "scheme": request.scheme,
            "url": url_for("ip", _external=True),
        }

    for _ in range(wraps):
        app.wsgi_app = RealIPMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, resolver, forwarded_proto=forwarded_proto
        )
    return app


def get(app: Flask, peer: str, headers: Any) -> dict[str, Any]:
    resp = app.test_client().get("/ip", headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert resp.status_code == 200, resp.data
    return dict(resp.get_json())


def test_remote_addr_rewritten_original_and_result_kept() -> None:
    body = get(flask_app(INGRESS), "10.244.3.4", {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert body["remote_addr"] == "203.0.113.9"
    assert body["original"] == "10.244.3.4"
    assert body["result_is_stored"] is True
    assert body["source"] == "x-forwarded-for"


def test_no_client_found_leaves_remote_addr() -> None:
    body = get(flask_app(INGRESS), "10.244.3.4", {"X-Forwarded-For": "203.0.113.9, not-an-ip"})
    assert body["remote_addr"] == "10.244.3.4"
    assert body["client_ip"] is None
    assert "not-an-ip" in body["reason"]


def test_repeated_header_lines_are_combined_in_order() -> None:
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9, 10.244.7.7")]
    assert get(flask_app(INGRESS), "10.244.3.4", headers)["remote_addr"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("peer", "headers", "enabled", "scheme"),
    [
        pytest.param("10.244.3.4", {"X-Forwarded-Proto": "https"}, True, "https", id="xfp-trusted"),
        pytest.param(
            "10.244.3.4",
            {"Forwarded": "for=203.0.113.9;proto=https"},
            True,
            "http",  # an x-forwarded-for resolver reads X-Forwarded-Proto, never Forwarded
            id="forwarded-proto-ignored-by-xff-resolver",
        ),
        pytest.param(
            "198.51.100.4", {"X-Forwarded-Proto": "https"}, True, "http", id="untrusted-peer"
        ),
        pytest.param(
            "10.244.3.4", {"X-Forwarded-Proto": "gopher"}, True, "http", id="not-http-or-https"
        ),
        pytest.param(
            "10.244.3.4", {"X-Forwarded-Proto": "wss"}, True, "http", id="ws-scheme-in-wsgi"
        ),
        pytest.param(
            "10.244.3.4", {"X-Forwarded-Proto": "https"}, False, "http", id="off-by-default"
        ),
    ],
)
def test_forwarded_proto(peer: str, headers: dict[str, str], enabled: bool, scheme: str) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9", **headers}
    body = get(flask_app(INGRESS, forwarded_proto=enabled), peer, headers)
    assert body["scheme"] == scheme
    assert body["url"] == f"{scheme}://localhost/ip"


def test_get_client_ip_reuses_the_middleware_result(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_resolutions(monkeypatch)
    other = Resolver(trusted_proxies=["203.0.113.0/24"], header="x-real-ip")
    app = Flask("realip_reuse")

    @app.get("/ip")
    def ip() -> dict[str, Any]:
        # Resolving again would trust the rewritten REMOTE_ADDR and answer 6.6.6.6.
        return {"ip": realip.get_client_ip(request, other)}

    app.wsgi_app = RealIPMiddleware(app.wsgi_app, INGRESS)  # type: ignore[method-assign]
    resp = app.test_client().get(
        "/ip",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "6.6.6.6"},
        environ_base={"REMOTE_ADDR": "10.244.3.4"},
    )
    assert resp.get_json() == {"ip": "203.0.113.9"}
    assert len(calls) == 1


def test_wrapping_twice_does_not_shift_or_lose_the_original() -> None:
    body = get(
        flask_app(INGRESS, wraps=2), "10.244.3.4", {"X-Forwarded-For": "203.0.113.9, 10.244.8.8"}
    )
    assert body["remote_addr"] == "203.0.113.9"
    assert body["original"] == "10.244.3.4"
    assert body["source"] == "x-forwarded-for"


def test_raw_wsgi_call_sets_environ_keys() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    environ = wsgi_environ("10.244.3.4", (("X-Forwarded-For", "203.0.113.9"),))
    list(RealIPMiddleware(app, INGRESS)(environ, lambda *a: None))
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["realip.original_remote_addr"] == "10.244.3.4"
    assert seen["realip.result"].client_ip == "203.0.113.9"
