"""realip.get_client_ip / get_result on every framework's request type, and import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from support.scenarios import aiohttp_request, asgi_scope, wsgi_environ

import realip
from realip import Resolver

INGRESS = Resolver(trusted_proxies=["10.244.0.0/16"])
HEADERS = (("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),)


def starlette_request(kind: str) -> Any:
    from starlette.requests import Request
    from starlette.websockets import WebSocket

    scope = asgi_scope("10.244.3.4", HEADERS, kind=kind)

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        return None

    if kind == "websocket":
        return WebSocket(scope, receive, send)
    return Request(scope, receive)


def werkzeug_request() -> Any:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    return Request(
        EnvironBuilder(
            headers=list(HEADERS), environ_base={"REMOTE_ADDR": "10.244.3.4"}
        ).get_environ()
    )


def flask_request() -> Any:
    from flask import Flask, request

    app = Flask("realip_get_client_ip")
    ctx = app.test_request_context(
        "/", headers=list(HEADERS), environ_base={"REMOTE_ADDR": "10.244.3.4"}
    )
    ctx.push()
    try:
        return request._get_current_object()  # type: ignore[attr-defined]
    finally:
        ctx.pop()


def django_request() -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/", REMOTE_ADDR="10.244.3.4", headers=dict(HEADERS))


REQUESTS = {
    "wsgi-environ": lambda: wsgi_environ("10.244.3.4", HEADERS),
    "asgi-http-scope": lambda: asgi_scope("10.244.3.4", HEADERS),
    "asgi-websocket-scope": lambda: asgi_scope("10.244.3.4", HEADERS, kind="websocket"),
    "werkzeug-request": werkzeug_request,
    "flask-request": flask_request,
    "django-httprequest": django_request,
    "starlette-request": lambda: starlette_request("http"),
    "starlette-websocket": lambda: starlette_request("websocket"),
    "aiohttp-request": lambda: aiohttp_request("10.244.3.4", HEADERS),
}


@pytest.mark.parametrize("make", [pytest.param(f, id=name) for name, f in REQUESTS.items()])
def test_every_request_type(make: Any) -> None:
    request = make()
    assert realip.get_client_ip(request, INGRESS) == "203.0.113.9"
    result = realip.get_result(request, INGRESS)
    assert (result.client_ip, result.source, result.proxies) == (
        "203.0.113.9",
        "x-forwarded-for",
        ("10.244.3.4",),
    )
    # The same request with a resolver that trusts nothing: the peer.
    assert realip.get_client_ip(request, Resolver()) == "10.244.3.4"


@pytest.mark.parametrize("make", [pytest.param(f, id=name) for name, f in REQUESTS.items()])
def test_default_resolver_comes_from_the_environment(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realip.request import reset_default_resolver

    assert realip.get_client_ip(make()) == "10.244.3.4"
    monkeypatch.setenv("REALIP_TRUSTED_PROXIES", "10.244.0.0/16")
    reset_default_resolver()
    assert realip.get_client_ip(make()) == "203.0.113.9"


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        pytest.param(object(), "object", id="object"),
        pytest.param("10.0.0.1", "str", id="str"),
        pytest.param(None, "NoneType", id="none"),
        pytest.param(["10.0.0.1"], "list", id="list"),
    ],
)
def test_unknown_request_types_raise_type_error_naming_the_type(value: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        realip.get_client_ip(value)


def test_a_dict_that_is_neither_environ_nor_scope_is_rejected() -> None:
    with pytest.raises(TypeError):
        realip.get_client_ip({"client_ip": "6.6.6.6"})


def test_a_stored_result_is_returned_as_is() -> None:
    environ = wsgi_environ("10.244.3.4", HEADERS)
    stored = INGRESS.resolve("10.244.3.4", {"X-Forwarded-For": "198.51.100.77"})
    environ["realip.result"] = stored
    assert realip.get_result(environ, INGRESS) is stored
    scope = asgi_scope("10.244.3.4", HEADERS)
    scope["realip.result"] = stored
    assert realip.get_result(scope, INGRESS) is stored


FRAMEWORKS = ("flask", "django", "starlette", "fastapi", "werkzeug", "aiohttp", "uvicorn")


def test_importing_realip_imports_no_framework() -> None:
    code = (
        "import json, sys\n"
        "import realip, realip.asgi, realip.wsgi\n"
        f"frameworks = {FRAMEWORKS!r}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(frameworks))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_the_import_check_can_see_a_framework() -> None:
    """Control for the test above: the same probe does report a framework that was imported."""
    code = (
        "import json, sys\nimport realip, flask\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps(sorted(loaded & {'flask', 'werkzeug'})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == ["flask", "werkzeug"]
