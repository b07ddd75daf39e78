"""The request context (realip.log): set for exactly the request a middleware handles, restored
when it ends - on exceptions and after streaming too - and off until asked for (issue 20.4,
issue 24.6). The real-server versions are in test_log_context_servers.py."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
from typing import Any, Iterator, List, Optional

import pytest

from realip import Resolver, _context
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.log import current_client_ip
from realip.wsgi import RealIPMiddleware as WSGIRealIP
from tests.support.asgi import asgi_scope
from tests.support.wsgi import wsgi_environ

TRUST = Resolver(trusted_proxies=["10.0.0.0/8"])
XFF = [("X-Forwarded-For", "203.0.113.9")]


@pytest.fixture(autouse=True)
def recording() -> Iterator[None]:
    before = _context.enabled
    _context.enabled = True  # what realip.log.enable() does
    yield
    _context.enabled = before


def _in_fresh_context(fn: Any) -> Any:
    return contextvars.Context().run(fn)


def test_importing_realip_log_turns_nothing_on() -> None:
    code = (
        "import realip._context as c, realip.log, realip.wsgi; assert not c.enabled; "
        "realip.log.enable(); assert c.enabled"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_filter_construction_turns_recording_on() -> None:
    code = (
        "import realip._context as c; from realip.log import ClientIPFilter; "
        "assert not c.enabled; ClientIPFilter(); assert c.enabled"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_wsgi_context_lasts_until_the_response_closes() -> None:
    seen: List[Optional[str]] = []

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        seen.append(current_client_ip())
        yield b"a"
        seen.append(current_client_ip())

    def run() -> None:
        response = WSGIRealIP(app, TRUST)(wsgi_environ("10.0.0.3", XFF), lambda *a: None)
        assert current_client_ip() == "203.0.113.9"  # the server sends the body now
        assert list(response) == [b"a"]
        response.close()  # type: ignore[attr-defined]
        seen.append(current_client_ip())

    _in_fresh_context(run)
    assert seen == ["203.0.113.9", "203.0.113.9", None]


def test_wsgi_context_is_restored_when_the_app_raises() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("boom")

    def run() -> Optional[str]:
        with pytest.raises(RuntimeError):
            WSGIRealIP(app, TRUST)(wsgi_environ("10.0.0.3", XFF), lambda *a: None)
        return current_client_ip()

    assert _in_fresh_context(run) is None


def test_wsgi_file_wrapper_response_ends_the_context_at_once() -> None:
    class FileWrapper:
        def __init__(self, f: Any, size: int = 8192) -> None:
            self.f = f

        def __iter__(self) -> Iterator[bytes]:
            return iter([b"file"])

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](None)

    def run() -> Any:
        environ = wsgi_environ("10.0.0.3", XFF)
        environ["wsgi.file_wrapper"] = FileWrapper
        response = WSGIRealIP(app, TRUST)(environ, lambda *a: None)
        return response, current_client_ip()

    response, after = _in_fresh_context(run)
    assert isinstance(response, FileWrapper)  # the server still finds its own class (sendfile)
    assert after is None


def test_asgi_context_is_restored_when_the_app_returns_or_raises() -> None:
    seen: List[Optional[str]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(current_client_ip())
        if scope["path"] == "/boom":
            raise RuntimeError("boom")

    mw = ASGIRealIP(app, TRUST)

    async def main() -> None:
        await mw(asgi_scope("10.0.0.3", XFF), None, None)  # type: ignore[arg-type]
        seen.append(current_client_ip())
        boom = asgi_scope("10.0.0.3", [("X-Forwarded-For", "203.0.113.8")], path="/boom")
        with pytest.raises(RuntimeError):
            await mw(boom, None, None)  # type: ignore[arg-type]
        seen.append(current_client_ip())

    _in_fresh_context(lambda: asyncio.run(main()))
    assert seen == ["203.0.113.9", None, "203.0.113.8", None]


def test_asgi_last_response_message_is_sent_outside_the_context() -> None:
    # uvicorn starts a pipelined request's task from inside this very send: it must not
    # inherit the client (the real-server version: test_log_context_servers.py).
    during: List[Any] = []

    async def send(message: Any) -> None:
        during.append((message["type"], message.get("more_body", False), current_client_ip()))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})
        during.append(("after", None, current_client_ip()))

    mw = ASGIRealIP(app, TRUST)
    scope = asgi_scope("10.0.0.3", XFF)
    _in_fresh_context(lambda: asyncio.run(mw(scope, None, send)))  # type: ignore[arg-type]
    assert during == [
        ("http.response.start", False, "203.0.113.9"),
        ("http.response.body", True, "203.0.113.9"),
        ("http.response.body", False, None),
        ("after", None, "203.0.113.9"),  # background work after the response keeps it
    ]


def test_aiohttp_keep_alive_requests_start_without_the_previous_client() -> None:
    web = pytest.importorskip("aiohttp.web")
    from aiohttp.test_utils import TestClient, TestServer

    from realip.aiohttp import middleware

    before: List[Optional[str]] = []

    @web.middleware
    async def outer(request: Any, handler: Any) -> Any:
        before.append(current_client_ip())
        return await handler(request)

    async def view(request: Any) -> Any:
        return web.Response(text=str(current_client_ip()))

    app = web.Application(middlewares=[outer, middleware(trusted_proxies=["127.0.0.0/8"])])
    app.router.add_get("/", view)

    async def main() -> List[str]:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            answers = []
            for ip in ("203.0.113.7", "203.0.113.8"):
                response = await client.get("/", headers={"X-Forwarded-For": ip})
                answers.append(await response.text())
            return answers

    assert _in_fresh_context(lambda: asyncio.run(main())) == ["203.0.113.7", "203.0.113.8"]
    assert before == [None, None]


def test_django_context_covers_the_view_and_a_streaming_body() -> None:
    pytest.importorskip("django")
    from django.http import HttpResponse, StreamingHttpResponse
    from django.test import RequestFactory, override_settings

    from realip.django import RealIPMiddleware

    seen: List[Optional[str]] = []

    def stream() -> Iterator[bytes]:
        seen.append(current_client_ip())
        yield b"a"

    def view(request: Any) -> Any:
        seen.append(current_client_ip())
        if request.path == "/boom":
            raise RuntimeError("boom")
        if request.path == "/stream":
            return StreamingHttpResponse(stream())
        return HttpResponse("ok")

    factory = RequestFactory()
    with override_settings(REALIP={"trusted_proxies": ["10.0.0.0/8"]}):
        mw = RealIPMiddleware(view)

    def request(path: str, ip: str) -> Any:
        return factory.get(path, REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR=ip)

    def run() -> None:
        mw(request("/", "203.0.113.7"))
        seen.append(current_client_ip())
        with pytest.raises(RuntimeError):
            mw(request("/boom", "203.0.113.8"))
        seen.append(current_client_ip())
        response = mw(request("/stream", "203.0.113.9"))
        seen.append(current_client_ip())
        assert b"".join(response.streaming_content) == b"a"
        seen.append(current_client_ip())

    _in_fresh_context(run)
    assert seen == [
        "203.0.113.7",
        None,
        "203.0.113.8",
        None,
        "203.0.113.9",
        None,
        "203.0.113.9",
        None,
    ]


def test_django_async_streaming_body_runs_with_the_client() -> None:
    pytest.importorskip("django")
    from django.http import StreamingHttpResponse
    from django.test import RequestFactory, override_settings

    from realip.django import RealIPMiddleware

    seen: List[Optional[str]] = []

    async def stream() -> Any:
        seen.append(current_client_ip())
        yield b"a"

    async def view(request: Any) -> Any:
        seen.append(current_client_ip())
        return StreamingHttpResponse(stream())

    with override_settings(REALIP={"trusted_proxies": ["10.0.0.0/8"]}):
        mw = RealIPMiddleware(view)
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="203.0.113.9")

    async def main() -> None:
        response = await mw(request)
        seen.append(current_client_ip())
        assert [chunk async for chunk in response] == [b"a"]
        seen.append(current_client_ip())

    _in_fresh_context(lambda: asyncio.run(main()))
    assert seen == ["203.0.113.9", None, "203.0.113.9", None]
