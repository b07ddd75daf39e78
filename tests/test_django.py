"""realip.django.RealIPMiddleware in Django's sync (WSGI) and async (ASGI) request paths."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from support.resolutions import record_resolutions
from support.scenarios import asgi_scope, django_settings, peer_async_client

from realip import RealIPWarning, Resolver
from realip.django import RealIPMiddleware as DjangoRealIP

INGRESS_SETTING = {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"]}
XFF = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}


def detail(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.content
    return dict(resp.json())


@pytest.mark.parametrize(
    "setting",
    [
        pytest.param(INGRESS_SETTING, id="topology-dict"),
        pytest.param({"trusted_proxies": ["10.244.0.0/16"]}, id="resolver-kwargs"),
        pytest.param(
            {"trusted_proxies": ["10.244.0.0/16"], "header": "X-Forwarded-For"},
            id="resolver-kwargs-with-header",
        ),
        pytest.param(Resolver(trusted_proxies=["10.244.0.0/16"]), id="resolver-object"),
    ],
)
def test_settings_forms(setting: Any) -> None:
    with django_settings(setting):
        body = detail(Client(REMOTE_ADDR="10.244.3.4").get("/detail", headers=XFF))
    assert body["remote_addr"] == body["client_ip"] == "203.0.113.9"
    assert body["original"] == "10.244.3.4"
    assert body["result_is_stored"] is True


def test_topology_name_alone() -> None:
    with django_settings("pod-to-pod"):
        body = detail(Client(REMOTE_ADDR="10.244.1.7").get("/detail", headers=XFF))
    assert body["client_ip"] == "10.244.1.7"


def test_without_settings_the_environment_configures_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALIP_TOPOLOGY", "ingress")
    monkeypatch.setenv("REALIP_POD_CIDRS", "10.244.0.0/16")
    with django_settings(None):
        body = detail(Client(REMOTE_ADDR="10.244.3.4").get("/detail", headers=XFF))
    assert body["client_ip"] == "203.0.113.9"


def test_without_settings_or_environment_trusts_nothing() -> None:
    with django_settings(None), pytest.warns(RealIPWarning, match="no settings.REALIP"):
        body = detail(Client(REMOTE_ADDR="10.244.3.4").get("/detail", headers=XFF))
    assert body["client_ip"] == body["remote_addr"] == "10.244.3.4"
    assert body["source"] == "remote_addr"


def test_no_client_found_leaves_remote_addr() -> None:
    with django_settings(INGRESS_SETTING):
        resp = Client(REMOTE_ADDR="10.244.3.4").get(
            "/detail", headers={"X-Forwarded-For": "unknown"}
        )
    body = detail(resp)
    assert body["remote_addr"] == "10.244.3.4"
    assert body["client_ip"] is None


def test_async_path_sets_client_ip() -> None:
    with django_settings(INGRESS_SETTING):
        resp = asyncio.run(peer_async_client("10.244.3.4").get("/aip", headers=XFF))
    assert detail(resp) == {
        "META['REMOTE_ADDR']": "203.0.113.9",
        "request.client_ip": "203.0.113.9",
        "get_client_ip(request)": "203.0.113.9",
        "snat": False,
    }


def test_middleware_is_sync_and_async_capable() -> None:
    assert DjangoRealIP.sync_capable is True
    assert DjangoRealIP.async_capable is True

    async def get_response(request: Any) -> Any:
        return None

    with override_settings(REALIP=INGRESS_SETTING):
        from asgiref.sync import iscoroutinefunction

        assert iscoroutinefunction(DjangoRealIP(get_response))
        assert not iscoroutinefunction(DjangoRealIP(lambda request: None))


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        pytest.param({"trusted_proxy": ["10.0.0.0/8"]}, "trusted_proxy", id="unknown-key"),
        pytest.param(
            {"topology": "ingress", "pod_cidr": ["10.244.0.0/16"]},
            "pod_cidr",
            id="unknown-topology-key",
        ),
        pytest.param(
            {"trusted_proxies": ["10.0.0.1/8"]}, "trusted_proxies", id="bad-trusted-proxies"
        ),
        pytest.param(
            {"trusted_proxies": ["10.0.0.0/8"], "trusted_hops": 0},
            "trusted_hops",
            id="bad-trusted-hops",
        ),
        pytest.param({"header": "x forwarded for"}, "header", id="bad-header"),
        pytest.param({"topology": "ingres"}, "topology", id="unknown-topology"),
        pytest.param({"topology": "ingress"}, "pod_cidrs", id="missing-pod-cidrs"),
        pytest.param(
            {"topology": "ingress", "pod_cidrs": ["10.244.0.0/33"]}, "pod_cidrs", id="bad-pod-cidrs"
        ),
        pytest.param(42, "REALIP", id="not-a-dict"),
    ],
)
def test_bad_settings_fail_at_startup_naming_the_key(setting: Any, named: str) -> None:
    with override_settings(REALIP=setting), pytest.raises(ImproperlyConfigured) as info:
        DjangoRealIP(lambda request: None)
    assert named in str(info.value)


def test_bad_settings_fail_when_django_loads_the_middleware() -> None:
    with django_settings({"trusted_proxy": ["10.0.0.0/8"]}), pytest.raises(ImproperlyConfigured):
        Client(REMOTE_ADDR="10.244.3.4").get("/detail")


def test_behind_the_wsgi_middleware_nothing_is_resolved_twice() -> None:
    """Django WSGI app behind realip.wsgi *and* realip.django: one answer, one original."""
    from django.core.handlers.wsgi import WSGIHandler

    from realip.wsgi import RealIPMiddleware as WSGIRealIP

    captured: dict[str, Any] = {}

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        captured["status"] = status

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/detail",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "REMOTE_ADDR": "10.244.3.4",
        "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9, 10.244.8.8",
    }
    with django_settings(INGRESS_SETTING):
        app = WSGIRealIP(WSGIHandler(), Resolver(trusted_proxies=["10.244.0.0/16"]))
        body = b"".join(app(environ, start_response))
    assert captured["status"].startswith("200"), body
    data = json.loads(body)
    assert data["client_ip"] == data["remote_addr"] == "203.0.113.9"
    assert data["original"] == "10.244.3.4"
    assert data["source"] == "x-forwarded-for"


def test_django_asgi_behind_the_asgi_middleware_reuses_its_result() -> None:
    """get_asgi_application() wrapped in realip.asgi: the Django view sees the ASGI result."""
    from realip.asgi import RealIPMiddleware as ASGIRealIP

    sent: list[dict[str, Any]] = []
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if body_sent:
            # Django listens for a disconnect while the view runs; the client stays connected.
            await asyncio.Event().wait()
        body_sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = asgi_scope(
        "10.244.3.4", (("Host", "testserver"), ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"))
    )
    scope["path"] = "/detail"
    with django_settings(INGRESS_SETTING):
        app = ASGIRealIP(get_asgi_application(), Resolver(trusted_proxies=["10.244.0.0/16"]))
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200, sent
    data = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert data["client_ip"] == data["remote_addr"] == "203.0.113.9"
    assert data["original"] == "10.244.3.4"
    assert data["source"] == "x-forwarded-for"


def test_get_client_ip_in_a_view_reuses_the_middleware_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = record_resolutions(monkeypatch)
    with django_settings(INGRESS_SETTING):
        body = detail(Client(REMOTE_ADDR="10.244.3.4").get("/ip", headers=XFF))
    # The view called get_client_ip(request) and get_result(request) after the middleware.
    assert body["get_client_ip(request)"] == "203.0.113.9"
    assert len(calls) == 1


def _run_django_asgi(scope: dict[str, Any]) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []
    body_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if body_sent:
            await asyncio.Event().wait()  # the client stays connected while the view runs
        body_sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(get_asgi_application()(scope, receive, send))
    assert sent[0]["status"] == 200, sent
    return dict(json.loads(b"".join(m.get("body", b"") for m in sent[1:])))


def test_django_asgi_writes_the_client_into_the_servers_scope() -> None:
    """Django's own middleware under ASGI: the server's scope (its access log) gets the client."""
    scope = asgi_scope("10.244.3.4", (("Host", "testserver"), ("X-Forwarded-For", "203.0.113.9")))
    scope["path"] = "/detail"
    with django_settings(INGRESS_SETTING):
        data = _run_django_asgi(scope)
    assert data["client_ip"] == "203.0.113.9"
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["realip.original_client"][0] == "10.244.3.4"


def test_django_asgi_fails_closed_on_a_peer_the_server_rewrote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's default proxy headers wrote the forged entry into scope["client"] with port 0:
    Django's middleware sees the mark in the scope (META has no port) and refuses it."""
    import realip._adapters

    monkeypatch.setattr(realip._adapters, "_warned", set())  # the warning is once per process
    scope = asgi_scope("6.6.6.6", (("Host", "testserver"), ("X-Forwarded-For", "6.6.6.6")))
    scope["client"] = ("6.6.6.6", 0)
    scope["path"] = "/detail"
    with django_settings(INGRESS_SETTING), pytest.warns(RealIPWarning, match="rewrote"):
        data = _run_django_asgi(scope)
    assert data["client_ip"] is None
    assert scope["client"] == ("6.6.6.6", 0)  # left as the server set it
