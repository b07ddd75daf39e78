"""realip says once when it runs after a consumer that already read the request (issue 21).

Real libraries, in process: sentry-sdk's WSGI middleware, Flask's OpenTelemetry
instrumentation and OpenTelemetry's ASGI middleware, each wired in the order that records the
wrong client (one warning, on the first request only) and in the right one (none).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Callable, Dict, Iterable, List, Tuple

import pytest

from realip import RealIPWarning
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.wsgi import RealIPMiddleware as WSGIRealIP

TRUST = ["10.0.0.0/8"]
SPOOFED = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9", "REMOTE_ADDR": "10.0.0.2"}


def _late_warnings(caught: List[warnings.WarningMessage]) -> List[str]:
    return [
        str(w.message)
        for w in caught
        if w.category is RealIPWarning and "which read the request before realip" in str(w.message)
    ]


def _environ(**extra: str) -> Dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    env: Dict[str, Any] = EnvironBuilder(path="/").get_environ()
    env.update(SPOOFED, **extra)
    return env


def _wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REMOTE_ADDR"].encode()]


def _run_wsgi(app: Any, requests: int = 2) -> Tuple[List[str], List[bytes]]:
    bodies = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(requests):
            body = app(_environ(), lambda status, headers, exc_info=None: None)
            bodies.append(b"".join(body))
            getattr(body, "close", lambda: None)()
    return _late_warnings(caught), bodies


def test_sentry_wsgi_outside_realip_warns_once() -> None:
    from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

    late, bodies = _run_wsgi(SentryWsgiMiddleware(WSGIRealIP(_wsgi_app, trusted_proxies=TRUST)))
    assert bodies == [b"203.0.113.9", b"203.0.113.9"]  # realip's own answer is unchanged
    assert len(late) == 1 and "sentry-sdk" in late[0], late


def test_sentry_wsgi_inside_realip_is_quiet() -> None:
    from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

    late, bodies = _run_wsgi(WSGIRealIP(SentryWsgiMiddleware(_wsgi_app), trusted_proxies=TRUST))
    assert bodies == [b"203.0.113.9", b"203.0.113.9"]
    assert late == []


def _flask(realip_first: bool) -> Any:
    from flask import Flask, request
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

    app = Flask(__name__)
    app.add_url_rule("/", "root", lambda: request.remote_addr or "")
    provider = TracerProvider()
    if realip_first:  # the wiring the tracing how-to calls wrong: realip inside the instrumentation
        app.wsgi_app = WSGIRealIP(app.wsgi_app, trusted_proxies=TRUST)  # type: ignore[method-assign]
        FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    else:
        FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
        app.wsgi_app = WSGIRealIP(app.wsgi_app, trusted_proxies=TRUST)  # type: ignore[method-assign]
    return app


@pytest.mark.parametrize(("realip_first", "expected"), [(True, 1), (False, 0)])
def test_flask_opentelemetry_order(realip_first: bool, expected: int) -> None:
    pytest.importorskip("opentelemetry.instrumentation.flask")
    late, bodies = _run_wsgi(_flask(realip_first), requests=3)
    assert bodies == [b"203.0.113.9"] * 3
    assert len(late) == expected, late
    if expected:
        assert "opentelemetry-flask" in late[0]


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["client"][0].encode()})


def _scope() -> Dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"app"), (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")],
        "client": ("10.0.0.2", 5000),
        "server": ("10.0.9.9", 8000),
    }


def _run_asgi(app: Any, requests: int = 2) -> Tuple[List[str], List[bytes]]:
    bodies: List[bytes] = []

    async def one() -> None:
        async def receive() -> Dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                bodies.append(message.get("body", b""))

        await app(_scope(), receive, send)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(requests):
            asyncio.run(one())
    return _late_warnings(caught), bodies


@pytest.mark.parametrize(("realip_outside", "expected"), [(False, 1), (True, 0)])
def test_opentelemetry_asgi_order(realip_outside: bool, expected: int) -> None:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    if realip_outside:
        app = ASGIRealIP(
            OpenTelemetryMiddleware(_asgi_app, tracer_provider=provider), trusted_proxies=TRUST
        )
    else:
        app = OpenTelemetryMiddleware(
            ASGIRealIP(_asgi_app, trusted_proxies=TRUST), tracer_provider=provider
        )
    late, bodies = _run_asgi(app, requests=3)
    assert bodies == [b"203.0.113.9"] * 3
    assert len(late) == expected, late
    if expected:
        assert "OpenTelemetry server span" in late[0]


def test_nothing_loaded_nothing_said() -> None:
    late, _ = _run_wsgi(WSGIRealIP(_wsgi_app, trusted_proxies=TRUST))
    assert late == []
    late, _ = _run_asgi(ASGIRealIP(_asgi_app, trusted_proxies=TRUST))
    assert late == []
