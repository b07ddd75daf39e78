"""Issue 12 in-process: malformed and server-rewritten peers, the unconfigured warning, the
keyword shortcuts, Sanic/Falcon/aiohttp requests, the Django accessor, the logging context and
the OpenTelemetry order. Real servers: tests/test_real_servers.py."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi import Request
from hypothesis import given
from hypothesis import strategies as st
from support.asgi import raw_scope

import realip._adapters
from realip import ConfigError, RealIPWarning, Resolver, get_client_ip, get_result
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.wsgi import RealIPMiddleware as WSGIRealIP

TRUST = Resolver(trusted_proxies=["10.0.0.0/8"])


@pytest.fixture(autouse=True)
def _fresh_once_warnings() -> Iterator[None]:
    """The rewritten-peer warning is once per process: each test starts from none emitted."""
    realip._adapters._warned.clear()
    yield
    realip._adapters._warned.clear()


def asgi(resolver: Any, scope: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(s: Any, receive: Any, send: Any) -> None:
        seen.update(s)

    asyncio.run(ASGIRealIP(app, resolver, **kwargs)(scope, None, None))  # type: ignore[arg-type]
    return seen


def scope(client: Any, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return raw_scope(client, headers)


# -- malformed scope["client"] (security issue 11, item 6) -----------------------------------


@pytest.mark.parametrize(
    "client",
    [("10.0.0.3",), ("10.0.0.3", 1, 2), "10.0.0.3", 42, (None, None), (b"10.0.0.3", 80), [], ()],
    ids=repr,
)
@pytest.mark.parametrize(
    "resolver", [TRUST, Resolver.for_topology("pod-to-pod")], ids=["xff", "peer"]
)
def test_malformed_client_is_no_peer_and_never_raises(client: Any, resolver: Resolver) -> None:
    seen = asgi(resolver, scope(client, (b"x-forwarded-for", b"203.0.113.9")))
    result = seen["realip.result"]
    assert result.client_ip is None
    assert seen["client"] == client  # left as the server set it
    assert get_result(scope(client), resolver).client_ip is None


def test_a_list_client_is_a_pair_too() -> None:
    seen = asgi(TRUST, scope(["10.0.0.3", 5000], (b"x-forwarded-for", b"203.0.113.9")))
    assert seen["client"] == ("203.0.113.9", 0)


def test_a_non_int_port_is_not_copied() -> None:
    seen = asgi(TRUST, scope(("203.0.113.9", "80")))
    assert seen["client"] == ("203.0.113.9", 0)


# -- a peer the server already rewrote (issue 12.2) ------------------------------------------

REWRITTEN = [
    # (client, headers): what uvicorn --proxy-headers leaves behind
    (("6.6.6.6", 0), ((b"x-forwarded-for", b"6.6.6.6"),)),
    (("unknown", 0), ((b"x-forwarded-for", b"unknown"),)),
    (("unknown", 5000), ((b"x-forwarded-for", b"unknown"),)),
    (("203.0.113.9", 0), ((b"forwarded", b"for=203.0.113.9"),)),
    # an entry with a port keeps it, but a TCP peer's own ip:port is in no header
    (("6.6.6.6", 1234), ((b"x-forwarded-for", b"6.6.6.6:1234"),)),
    (("2001:db8::6", 1234), ((b"x-forwarded-for", b"198.51.100.1, [2001:db8::6]:1234"),)),
    # a long header (over 128 characters) is looked at from the right, and still recognised
    (("6.6.6.6", 1234), ((b"x-forwarded-for", b"198.51.100.1, " * 20 + b"6.6.6.6:1234"),)),
    (("unknown", 5000), ((b"x-forwarded-for", b"198.51.100.1, " * 20 + b"unknown"),)),
]
NOT_REWRITTEN = [
    (("203.0.113.9", 0), ()),  # port 0 alone (a test client): nothing to say
    (("testclient", 50000), ()),  # Starlette's TestClient
    (("testclient", 50000), ((b"x-forwarded-for", b"6.6.6.6"),)),  # ... sending the header
    (("/run/app.sock", 0), ((b"x-forwarded-for", b"6.6.6.6"),)),  # Unix socket, not a rewrite
    (("203.0.113.9", 41000), ((b"x-forwarded-for", b"6.6.6.6"),)),  # a real untrusted peer
    # further left than the 32 entries compared: anyone's to write, never looked at
    (("6.6.6.6", 1234), ((b"x-forwarded-for", b"6.6.6.6:1234, " + b"198.51.100.1, " * 40),)),
    (("203.0.113.9", 41000), ((b"x-forwarded-for", b"203.0.113.9"),)),  # its own address
    (("203.0.113.9", 41000), ((b"x-forwarded-for", b"203.0.113.9:4100"),)),  # not its port
]


@pytest.mark.parametrize(("client", "headers"), REWRITTEN, ids=repr)
def test_server_rewritten_peer_fails_closed_and_warns_once(
    client: Any, headers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="realip"):
            first = asgi(TRUST, scope(client, *headers))
            second = asgi(TRUST, scope(client, *headers))
    for seen in (first, second):
        result = seen["realip.result"]
        assert result.client_ip is None
        assert "rewrote the peer" in result.reason and "fail closed" in result.reason
        assert seen["client"] == client
        assert all(k != b"x-forwarded-for" for k, _ in seen["headers"])  # nothing verified
    [warning] = [w for w in caught if w.category is RealIPWarning]
    message = str(warning.message)
    for fix in (
        "--no-proxy-headers",
        "proxy_headers",
        "--forwarded-allow-ips",
        "hypercorn",
        "granian",
    ):
        assert fix in message
    assert [r.getMessage() for r in caplog.records if r.name == "realip"] == [message]


@pytest.mark.parametrize(("client", "headers"), NOT_REWRITTEN, ids=repr)
def test_ordinary_peers_are_not_taken_for_a_rewrite(client: Any, headers: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RealIPWarning)
        seen = asgi(TRUST, scope(client, *headers))
    assert "rewrote" not in seen["realip.result"].reason


def test_get_result_on_a_scope_fails_closed_too() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        result = get_result(scope(("6.6.6.6", 0), (b"x-forwarded-for", b"6.6.6.6")), TRUST)
    assert result.client_ip is None


# -- unconfigured middleware (issue 12.5) -----------------------------------------------------


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    return None


def _wsgi_noop(environ: Any, start_response: Any) -> list[bytes]:
    return []


@pytest.mark.parametrize("middleware", [ASGIRealIP, WSGIRealIP])
def test_unconfigured_middleware_warns_at_construction(middleware: Any) -> None:
    with pytest.warns(RealIPWarning, match="REALIP_TOPOLOGY=pod-to-pod"):
        middleware(_noop)


@pytest.mark.parametrize("middleware", [ASGIRealIP, WSGIRealIP])
@pytest.mark.parametrize(
    "how",
    [
        {"resolver": TRUST},
        {"trusted_proxies": ["10.0.0.0/8"]},
        {"topology": "pod-to-pod"},
        {"env": ("REALIP_TOPOLOGY", "pod-to-pod")},
        {"env": ("REALIP_TRUSTED_PROXIES", "10.0.0.0/8")},
    ],
    ids=["resolver", "trusted_proxies", "topology", "env-topology", "env-trusted"],
)
def test_configured_middleware_is_quiet(
    middleware: Any, how: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = dict(how)
    env = kwargs.pop("env", None)
    if env:
        monkeypatch.setenv(*env)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = middleware(_noop, **kwargs)
    assert [str(w.message) for w in caught if w.category is RealIPWarning] == []
    assert isinstance(built.resolver, Resolver)


# -- keyword shortcuts (issue 12.6) ----------------------------------------------------------


@pytest.mark.parametrize("middleware", [ASGIRealIP, WSGIRealIP])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"trusted_proxies": ["10.0.0.0/8"]}, Resolver(trusted_proxies=["10.0.0.0/8"])),
        (
            {"trusted_proxies": "10.0.0.0/8, 192.168.0.0/16"},
            Resolver(trusted_proxies=["10.0.0.0/8", "192.168.0.0/16"]),
        ),
        (
            {"trusted_proxies": ["10.0.0.0/8"], "header": "forwarded"},
            Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded"),
        ),
        (
            {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"]},
            Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"]),
        ),
        (
            {"topology": "lb-http", "lb_cidrs": ["cgnat"], "header": "x-real-ip"},
            Resolver.for_topology("lb-http", lb_cidrs=["cgnat"], header="x-real-ip"),
        ),
    ],
)
def test_shortcuts_build_the_resolver(middleware: Any, kwargs: Any, expected: Resolver) -> None:
    assert middleware(_noop, **kwargs).resolver == expected


@pytest.mark.parametrize("middleware", [ASGIRealIP, WSGIRealIP])
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"resolver": TRUST, "trusted_proxies": ["10.0.0.0/8"]}, "resolver= and trusted_proxies="),
        ({"resolver": TRUST, "topology": "pod-to-pod"}, "resolver= and topology="),
        ({"topology": "ingress", "trusted_proxies": ["10.0.0.0/8"]}, "trusted_proxies="),
        ({"pod_cidrs": ["10.244.0.0/16"]}, "(pod_cidrs=): only applies with topology="),
        ({"header": "x-real-ip"}, "header='x-real-ip' alone"),
        ({"trusted_proxies": ["10.0.0.1/8"]}, "10.0.0.1/8"),
        ({"topology": "nope"}, "nope"),
        ({"resolver": "10.0.0.0/8"}, "is not a realip.Resolver"),
    ],
)
def test_bad_shortcuts_raise_config_error(middleware: Any, kwargs: Any, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        middleware(_noop, **kwargs)


def _whoami(request: Request) -> dict[str, Any]:
    assert request.client is not None
    return {"client": request.client.host}


def test_starlette_add_middleware_takes_the_shortcut() -> None:
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    app = FastAPI()
    app.add_middleware(ASGIRealIP, trusted_proxies=["10.0.0.0/8"])
    app.get("/")(_whoami)

    client = TestClient(app, client=("10.0.0.3", 4000))
    body = client.get("/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}).json()
    assert body == {"client": "203.0.113.9"}


# -- Falcon, Sanic and aiohttp requests (issue 12.6) -----------------------------------------


def test_falcon_wsgi_request() -> None:
    falcon = pytest.importorskip("falcon", reason="falcon is not installed: pip install falcon")
    from falcon import testing

    env = testing.create_environ(
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}, remote_addr="10.0.0.3"
    )
    assert get_client_ip(falcon.Request(env), TRUST) == "203.0.113.9"


def test_falcon_asgi_request() -> None:
    pytest.importorskip("falcon", reason="falcon is not installed: pip install falcon")
    import falcon.asgi
    from falcon import testing

    sc = testing.create_scope(host="example.com")
    # As a server builds it (falcon.testing's own scope holds a one-shot iterator).
    sc["headers"] = [(b"host", b"example.com"), (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")]
    sc["client"] = ("10.0.0.3", 5000)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    assert get_client_ip(falcon.asgi.Request(sc, receive), TRUST) == "203.0.113.9"


class _NotASGI:
    """Sanic's app outside ASGI mode: reading request.scope raises NotImplementedError."""

    asgi = False


def test_sanic_request_on_sanics_own_server() -> None:
    pytest.importorskip("sanic", reason="sanic is not installed: pip install sanic")
    from sanic.models.server_types import ConnInfo
    from sanic.request import Request

    request = Request(
        b"/", {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}, "1.1", "GET", None, _NotASGI()
    )  # type: ignore[arg-type]

    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return {"peername": ("10.0.0.3", 5000), "sockname": ("127.0.0.1", 80)}.get(
                name, default
            )

    request.conn_info = ConnInfo(Transport())  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        request.scope  # noqa: B018 - the property that broke 0.1
    assert request.ip == "10.0.0.3"
    assert get_client_ip(request, TRUST) == "203.0.113.9"
    assert get_client_ip(request, Resolver(trusted_proxies=["192.0.2.0/24"])) == "10.0.0.3"


def test_aiohttp_middleware_stores_the_result_and_rewrites_remote() -> None:
    pytest.importorskip("aiohttp", reason="aiohttp is not installed: pip install aiohttp")
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from realip.aiohttp import ORIGINAL_REMOTE_KEY, RESULT_KEY, middleware

    mw = middleware(trusted_proxies=["127.0.0.1"])

    async def handler(request: web.Request) -> web.Response:
        result = get_result(request)
        return web.json_response(
            {
                "remote": request.remote,
                "result": result.client_ip,
                "stored": result is request[RESULT_KEY],
                "original": request[ORIGINAL_REMOTE_KEY],
                "log": realip.log.current_client_ip(),
            }
        )

    app = web.Application(middlewares=[mw])
    app.router.add_get("/", handler)

    async def fetch() -> Any:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.get("/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
            return await response.json()

    import realip.log

    realip.log.enable()  # recording is an explicit choice (importing no longer turns it on)

    body = asyncio.run(fetch())
    assert body == {
        "remote": "203.0.113.9",
        "result": "203.0.113.9",
        "stored": True,
        "original": "127.0.0.1",
        "log": "203.0.113.9",
    }


# -- Django's typed accessor (issue 12.6) ----------------------------------------------------


def test_django_client_ip_accessor() -> None:
    from django.test import RequestFactory, override_settings

    from realip.django import RealIPMiddleware, client_ip

    with override_settings(REALIP={"trusted_proxies": ["10.0.0.0/8"]}):
        mw = RealIPMiddleware(lambda request: request)
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    # Not through the middleware yet: resolved now, with the process default (trusts nothing).
    assert client_ip(request) == "10.0.0.3"
    mw(request)
    assert client_ip(request) == "203.0.113.9"
    assert request.META["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"
    assert request.META["realip.original_header"] == "6.6.6.6, 203.0.113.9"


def test_django_middleware_without_settings_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import override_settings

    from realip.django import RealIPMiddleware

    with override_settings(REALIP=None), pytest.warns(RealIPWarning, match="pod-to-pod"):
        RealIPMiddleware(lambda request: request)


def test_django_accessor_types_check_with_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: pip install mypy")
    pytest.importorskip(
        "django_stubs_ext", reason="django-stubs is not installed: pip install django-stubs"
    )
    sample = tmp_path / "views.py"
    sample.write_text(
        textwrap.dedent(
            """
            from typing import Optional

            from django.http import HttpRequest, HttpResponse

            from realip.django import RealIPRequest, client_ip


            def view(request: HttpRequest) -> HttpResponse:
                ip: Optional[str] = client_ip(request)
                return HttpResponse(ip or "unknown")


            def typed(request: RealIPRequest) -> HttpResponse:
                ip: Optional[str] = request.client_ip
                return HttpResponse(ip or "unknown")


            def wrong(request: HttpRequest) -> int:
                return client_ip(request)  # an error: Optional[str] is not int
            """
        )
    )
    src = Path(realip.__file__).resolve().parent.parent
    env = {"PATH": "/usr/bin:/bin"}
    if src.name == "src":
        # A source checkout (editable install, PYTHONPATH): point mypy at it. An installed
        # realip is found in site-packages through its py.typed, which mypy refuses on MYPYPATH.
        env["MYPYPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(sample)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    assert "views.py:20" in errors[0]
    assert "Optional[str]" in errors[0] or "str | None" in errors[0]


# -- the logging context and OpenTelemetry (issue 12.7) --------------------------------------


def test_filter_sees_the_client_during_an_asgi_request_and_nothing_after() -> None:
    from realip.log import ClientIPFilter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(ClientIPFilter())
    log = logging.getLogger("realip-test-app")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:

        async def app(s: Any, receive: Any, send: Any) -> None:
            log.info("inside")

        async def main() -> None:
            mw = ASGIRealIP(app, TRUST)
            await asyncio.gather(
                mw(scope(("10.0.0.3", 1), (b"x-forwarded-for", b"203.0.113.9")), None, None),  # type: ignore[arg-type]
                mw(scope(("198.51.100.7", 2)), None, None),  # type: ignore[arg-type]
            )
            log.info("outside")

        # A fresh context: a WSGI or Django test before this one left its value in this thread.
        contextvars.Context().run(asyncio.run, main())
    finally:
        log.removeHandler(handler)
    assert sorted(r.client_ip for r in records if r.msg == "inside") == [
        "198.51.100.7",
        "203.0.113.9",
    ]  # type: ignore[attr-defined]
    assert [r.client_ip for r in records if r.msg == "outside"] == ["-"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("realip_first", "expected"), [(True, "203.0.113.9"), (False, "10.0.0.3")])
def test_opentelemetry_reports_the_client_when_realip_runs_first(
    realip_first: bool, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        "opentelemetry.instrumentation.asgi",
        reason="pip install opentelemetry-instrumentation-asgi opentelemetry-sdk",
    )
    pytest.importorskip("opentelemetry.sdk", reason="pip install opentelemetry-sdk")
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.setattr(_OpenTelemetrySemanticConventionStability, "_initialized", False)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def app(s: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    if realip_first:
        wrapped: Any = ASGIRealIP(OpenTelemetryMiddleware(app, tracer_provider=provider), TRUST)
    else:
        wrapped = OpenTelemetryMiddleware(ASGIRealIP(app, TRUST), tracer_provider=provider)
    request = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.4", 8000),
        "client": ("10.0.0.3", 5555),
        "headers": [(b"host", b"app"), (b"x-forwarded-for", b"203.0.113.9")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    if realip_first:
        asyncio.run(wrapped(request, receive, send))
    else:  # realip inside the span: it says so (tests/test_wiring.py)
        with pytest.warns(RealIPWarning, match="OpenTelemetry server span"):
            asyncio.run(wrapped(request, receive, send))
    [server] = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert server.attributes is not None
    assert server.attributes["client.address"] == expected


def test_the_new_modules_import_no_framework() -> None:
    """realip, realip.asgi, realip.wsgi and realip.log stay framework-free (and logging-free
    for ``import realip``); only realip.aiohttp imports aiohttp."""
    code = textwrap.dedent(
        """
        import sys
        import realip
        assert "logging" not in sys.modules, "import realip loaded logging"
        import realip.asgi, realip.log, realip.wsgi
        frameworks = {"aiohttp", "bottle", "django", "falcon", "fastapi", "flask", "litestar",
                      "pyramid", "sanic", "starlette", "uvicorn", "webob", "werkzeug"}
        found = sorted(m for m in sys.modules if m.split(".")[0] in frameworks)
        assert not found, found
        import realip.aiohttp
        assert "aiohttp" in sys.modules
        """
    )
    src = str(Path(realip.__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


@given(
    port=st.integers(min_value=1, max_value=65535),
    entries=st.lists(
        st.sampled_from(["6.6.6.6", "203.0.113.9", "unknown", "10.0.1.5", "6.6.6.6:80", ""]),
        max_size=6,
    ),
    peer=st.sampled_from(["203.0.113.50", "10.0.0.3", "2001:db8::50"]),
)
def test_a_tcp_peer_is_never_taken_for_a_rewrite(port: int, entries: list[str], peer: str) -> None:
    """Property: a peer with a real port whose own ip:port is not an entry is never flagged."""
    value = ", ".join(entries).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RealIPWarning)
        seen = asgi(TRUST, scope((peer, port), (b"x-forwarded-for", value)))
    assert "rewrote" not in seen["realip.result"].reason
