"""Hostile request bytes through every way into realip: the app still answers, and says why.

Each case is sent by a *trusted* proxy (so realip has to read the hostile header), through the
core, the plain WSGI/ASGI middlewares, Flask, Starlette (a real app driven by a raw scope, and
its TestClient where httpx can carry the bytes), and Django (sync and async test clients).
Header values are bytes on the wire; WSGI and Django get them decoded as latin-1, as servers do.
"""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

import pytest
from django.http import JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from flask import Flask
from flask import request as flask_request
from fuzz_targets import check_result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from support.asgi import raw_scope, run_asgi_app
from support.wsgi import run_wsgi_app, wsgi_environ

import realip
from realip import Resolver, Result
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.resolver import MAX_ITEMS
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

XFF = Resolver(trusted_proxies=["10.0.0.0/8"])
XFF_UNIX = Resolver(trusted_proxies=["10.0.0.0/8", "unix"])
FWD = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
REAL_IP = Resolver(trusted_proxies=["10.0.0.0/8"], header="x-real-ip")
PROXY = "10.0.0.1"
CLIENT = "203.0.113.7"

Lines = Tuple[Tuple[str, bytes], ...]


@dataclass(frozen=True)
class Hostile:
    """A request realip must survive: who sent it, what it carried, what realip must answer."""

    id: str
    resolver: Resolver
    peer: Optional[str]
    lines: Lines
    client_ip: Optional[str]
    reason: str  # a phrase Result.reason must contain

    def text_lines(self) -> List[Tuple[str, str]]:
        return [(n, v.decode("latin-1")) for n, v in self.lines]


def xff(*values: bytes) -> Lines:
    return tuple(("X-Forwarded-For", v) for v in values)


KIB64 = 64 * 1024
# 203.0.113.7 in digits that str.isdigit() accepts but an address parser must not.
ARABIC_INDIC = "\u0662\u0660\u0663.\u0660.\u0661\u0661\u0663.\u0667"
FULLWIDTH = "\uff12\uff10\uff13.\uff10.\uff11\uff11\uff13.\uff17"
TEN_THOUSAND_TRUSTED = b", ".join([b"10.0.0.5"] * 10_000)
TEN_THOUSAND_SPOOFS = b",".join(b"6.6.%d.%d" % (i // 250, i % 250 + 1) for i in range(10_000))

CASES = [
    Hostile("64KiB-one-garbage-entry", XFF, PROXY, xff(b"9" * KIB64), None, "is not an IP address"),
    Hostile(
        "64KiB-of-entries-client-last",
        XFF,
        PROXY,
        xff(b"6.6.6.6, " * (KIB64 // 9) + CLIENT.encode()),
        CLIENT,
        "rightmost untrusted",
    ),
    Hostile(
        "10000-trusted-entries",
        XFF,
        PROXY,
        xff(TEN_THOUSAND_TRUSTED),
        None,
        f"more than {MAX_ITEMS} items",
    ),
    Hostile(
        "10000-spoofs-then-client",
        XFF,
        PROXY,
        xff(TEN_THOUSAND_SPOOFS + b", " + CLIENT.encode()),
        CLIENT,
        "rightmost untrusted",
    ),
    Hostile(
        "10000-entry-forwarded",
        FWD,
        PROXY,
        (("Forwarded", b", ".join([b'for="10.0.0.5"'] * 10_000)),),
        None,
        f"more than {MAX_ITEMS} items",
    ),
    Hostile(
        "100-repeated-lines-then-client",
        XFF,
        PROXY,
        xff(*[b"6.6.6.%d" % i for i in range(100)], CLIENT.encode()),
        CLIENT,
        "rightmost untrusted",
    ),
    Hostile(
        "100-repeated-trusted-lines",
        XFF,
        PROXY,
        xff(*[b"10.0.0.9"] * 100),
        None,
        f"more than {MAX_ITEMS} items",
    ),
    Hostile(
        "non-ascii-utf8", XFF, PROXY, xff("203.0.113.7é".encode()), None, "is not an IP address"
    ),
    Hostile(
        "arabic-indic-digits", XFF, PROXY, xff(ARABIC_INDIC.encode()), None, "is not an IP address"
    ),
    Hostile("fullwidth-digits", XFF, PROXY, xff(FULLWIDTH.encode()), None, "is not an IP address"),
    Hostile("non-utf8-bytes", XFF, PROXY, xff(b"\xff\xfe\x80\xc3("), None, "is not an IP address"),
    Hostile("nul-after-address", XFF, PROXY, xff(b"203.0.113.7\x00"), None, "is not an IP address"),
    Hostile(
        "control-characters",
        XFF,
        PROXY,
        xff(b"\x1b[31m203.0.113.7\x07\x7f"),
        None,
        "is not an IP address",
    ),
    Hostile(
        "forwarded-unbalanced-quote",
        FWD,
        PROXY,
        (("Forwarded", b'for="203.0.113.7'),),
        None,
        "not a well-formed element",
    ),
    Hostile(
        "forwarded-nul-in-quotes",
        FWD,
        PROXY,
        (("Forwarded", b'for="203.0.113.7\x00"'),),
        None,
        "not a well-formed element",
    ),
    Hostile(
        "x-real-ip-64KiB",
        REAL_IP,
        PROXY,
        (("X-Real-IP", b"a" * KIB64),),
        None,
        "is not a single IP address",
    ),
    Hostile("peer-none", XFF, None, xff(CLIENT.encode()), None, "Unix socket"),
    Hostile(
        "peer-unix-socket-path", XFF, "/run/app.sock", xff(CLIENT.encode()), None, "Unix socket"
    ),
    Hostile(
        "peer-unix-socket-trusted",
        XFF_UNIX,
        "/run/app.sock",
        xff(CLIENT.encode()),
        CLIENT,
        "rightmost untrusted",
    ),
    Hostile(
        "peer-not-an-address", XFF, "not-an-ip", xff(CLIENT.encode()), None, "is not an IP address"
    ),
]


def _check(case: Hostile, result: Result, client_ip: Optional[str], reason: str) -> None:
    check_result(result, case.resolver, case.peer, [v for _, v in case.text_lines()])
    assert result.client_ip == case.client_ip, result
    assert client_ip == case.client_ip
    assert case.reason in reason, reason
    assert len(reason) < 400, "the reason must quote an excerpt, not the whole header"


# -- runners: each returns (status, what the app saw, the stored Result) -------------------

Runner = Callable[[Hostile], Tuple[int, Dict[str, Any], Result]]


def run_core(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    result = case.resolver.resolve(case.peer, list(case.lines))
    return 200, {"client_ip": result.client_ip, "reason": result.reason}, result


def _environ(case: Hostile) -> Dict[str, Any]:
    return wsgi_environ(case.peer, case.text_lines(), SERVER_NAME="x", SERVER_PORT="80")


def _wsgi_reporter(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
    result = environ["realip.result"]
    start_response("200 OK", [("Content-Type", "application/json")])
    body = {
        "client_ip": result.client_ip,
        "reason": result.reason,
        "REMOTE_ADDR": environ.get("REMOTE_ADDR"),
    }
    return [json.dumps(body).encode()]


def run_wsgi(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    environ = _environ(case)
    status, body = run_wsgi_app(WSGIMiddleware(_wsgi_reporter, case.resolver), environ)
    return int(status.split()[0]), json.loads(body), environ["realip.result"]


def run_flask(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    app = Flask(__name__)
    results: List[Result] = []

    @app.route("/")
    def view() -> Dict[str, Any]:
        result = realip.get_result(flask_request)
        results.append(result)
        return {
            "client_ip": realip.get_client_ip(flask_request),
            "reason": result.reason,
            "remote_addr": flask_request.remote_addr,
        }

    app.wsgi_app = WSGIMiddleware(app.wsgi_app, case.resolver)  # type: ignore[method-assign]
    overrides = {k: v for k, v in _environ(case).items() if k.startswith("HTTP_")}
    if case.peer is not None:
        overrides["REMOTE_ADDR"] = case.peer
    inner = app.wsgi_app

    def without_peer(environ: Dict[str, Any], start_response: Any) -> Any:
        if case.peer is None:
            environ.pop("REMOTE_ADDR", None)  # a Unix socket: the server sets no REMOTE_ADDR
        return inner(environ, start_response)

    app.wsgi_app = without_peer  # type: ignore[method-assign]
    response = app.test_client().get("/", environ_overrides=overrides)
    return response.status_code, response.get_json(), results[0]


async def _asgi_reporter(scope: Any, receive: Any, send: Any) -> None:
    result = scope["realip.result"]
    body = json.dumps({"client_ip": result.client_ip, "reason": result.reason}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _raw_scope(case: Hostile) -> Dict[str, Any]:
    client = (case.peer, 50123) if case.peer is not None else None
    return raw_scope(client, [(n.lower().encode(), v) for n, v in case.lines])


def run_asgi(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        await _asgi_reporter(scope, receive, send)

    status, body = run_asgi_app(ASGIMiddleware(app, case.resolver), _raw_scope(case))
    return status, json.loads(body), seen["realip.result"]


def _starlette_app(resolver: Resolver, results: List[Result]) -> Any:
    async def view(request: Request) -> JSONResponse:
        result = realip.get_result(request)
        results.append(result)
        return JSONResponse({"client_ip": realip.get_client_ip(request), "reason": result.reason})

    return ASGIMiddleware(Starlette(routes=[Route("/", view)]), resolver)


def run_starlette_raw(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    results: List[Result] = []
    status, body = run_asgi_app(_starlette_app(case.resolver, results), _raw_scope(case))
    return status, json.loads(body), results[0]


def run_starlette_testclient(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    if case.peer is None:
        pytest.skip("Starlette's TestClient always connects from an address")
    if any(b in v for _, v in case.lines for b in (b"\x00", b"\r", b"\n")):
        pytest.skip("httpx refuses to send NUL/CR/LF (the raw-scope runner covers them)")
    results: List[Result] = []
    client = TestClient(_starlette_app(case.resolver, results), client=(case.peer, 50000))
    response = client.get("/", headers=[(n, v) for n, v in case.lines])
    return response.status_code, response.json(), results[0]


DJANGO_RESULTS: List[Result] = []


def _describe(request: Any) -> JsonResponse:
    result = realip.get_result(request)
    DJANGO_RESULTS.append(result)
    return JsonResponse({"client_ip": request.client_ip, "reason": result.reason})


async def _adescribe(request: Any) -> JsonResponse:
    return _describe(request)


class _URLConf:
    """URLconf of the Django runs: one sync view, one async view."""

    urlpatterns: ClassVar[List[Any]] = [path("", _describe), path("async/", _adescribe)]


def _django_settings(case: Hostile) -> Any:
    return override_settings(
        ROOT_URLCONF=_URLConf,
        ALLOWED_HOSTS=["*"],
        REALIP=case.resolver,
        MIDDLEWARE=["realip.django.RealIPMiddleware"],
    )


def run_django(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    DJANGO_RESULTS.clear()
    meta = {k: v for k, v in _environ(case).items() if k.startswith("HTTP_")}
    with _django_settings(case):
        client = Client()
        if case.peer is None:
            client.defaults["REMOTE_ADDR"] = None
        else:
            client.defaults["REMOTE_ADDR"] = case.peer
        response = client.get("/", **meta)
    return response.status_code, response.json(), DJANGO_RESULTS[0]


def run_django_async(case: Hostile) -> Tuple[int, Dict[str, Any], Result]:
    import asyncio

    DJANGO_RESULTS.clear()
    peer = case.peer

    class PeerAsyncClient(AsyncClient):
        def _base_scope(self, **request: Any) -> Dict[str, Any]:
            scope: Dict[str, Any] = super()._base_scope(**request)
            scope["client"] = None if peer is None else [peer, 50000]
            scope["headers"] = [(n.lower().encode(), v) for n, v in case.lines]
            return scope

    async def get() -> Any:
        return await PeerAsyncClient().get("/async/")

    with _django_settings(case):
        response = asyncio.run(get())
    return response.status_code, response.json(), DJANGO_RESULTS[0]


RUNNERS: Dict[str, Runner] = {
    "core": run_core,
    "wsgi": run_wsgi,
    "flask": run_flask,
    "asgi": run_asgi,
    "starlette": run_starlette_raw,
    "starlette-testclient": run_starlette_testclient,
    "django": run_django,
    "django-async": run_django_async,
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_app_answers_and_realip_says_why(case: Hostile, runner: str) -> None:
    status, body, result = RUNNERS[runner](case)
    assert status == 200, body
    _check(case, result, body["client_ip"], body["reason"])


# -- bounded work: counted, not timed ------------------------------------------------------


class Counter:
    """Replaces functions in every realip module that imported them, counting the calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: str, *names: str) -> None:
        self.calls: Dict[str, int] = {}
        for name in names:
            original = getattr(sys.modules[module], name, None)
            if original is None:
                continue  # not (or no longer) part of this module
            self.calls[name] = 0
            counting = self._wrap(name, original)
            for mod_name, mod in list(sys.modules.items()):
                if mod_name.split(".")[0] == "realip" and getattr(mod, name, None) is original:
                    monkeypatch.setattr(mod, name, counting)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counting(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return original(*args, **kwargs)

        return counting


BOUNDED = [
    ("10000-trusted-xff", XFF, TEN_THOUSAND_TRUSTED, "X-Forwarded-For"),
    (
        "10000-spoofs-then-client",
        XFF,
        TEN_THOUSAND_SPOOFS + b"," + CLIENT.encode(),
        "X-Forwarded-For",
    ),
    ("10000-garbage-entries", XFF, b",".join([b"junk"] * 10_000), "X-Forwarded-For"),
    ("10000-forwarded-elements", FWD, b", ".join([b'for="10.0.0.5"'] * 10_000), "Forwarded"),
    ("10000-x-real-ip-values", REAL_IP, b",".join([b"10.0.0.5"] * 10_000), "X-Real-IP"),
]


@pytest.mark.parametrize("runner", ["core", "wsgi", "asgi", "django"])
@pytest.mark.parametrize(
    ("resolver", "value", "name"), [pytest.param(r, v, n, id=i) for i, r, v, n in BOUNDED]
)
def test_work_is_bounded_by_hops_not_header_length(
    monkeypatch: pytest.MonkeyPatch, resolver: Resolver, value: bytes, name: str, runner: str
) -> None:
    # A fresh resolver of the same configuration: nothing cached from earlier tests.
    resolver = Resolver(trusted_proxies=["10.0.0.0/8"], header=resolver.header)
    # parse_address is the address parser's public face; the hot path may call parse_ip.
    addresses = Counter(monkeypatch, "realip._addresses", "parse_address", "parse_ip")
    elements = Counter(monkeypatch, "realip._forwarded", "forwarded_value", "forwarded_params")
    case = Hostile("bounded", resolver, PROXY, ((name, value),), None, "")
    status, _, _ = RUNNERS[runner](case)
    assert status == 200
    # One parse for the peer, then at most one per item walked; never one per entry sent.
    for calls in (*addresses.calls.values(), *elements.calls.values()):
        assert calls <= MAX_ITEMS + 2, (addresses.calls, elements.calls)
    assert sum(addresses.calls.values()) >= 1  # the counters are wired in


def lines_executed(fn: Callable[[], Any]) -> int:
    """How many lines of realip's own code ``fn`` runs: a measure of work that is not a timer."""
    root = str(Path(realip.__file__).parent)
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if not frame.f_code.co_filename.startswith(root):
            return None

        def local(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count
            if event == "line":
                count += 1
            return local

        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


# Generous for a walk of MAX_ITEMS items, and far below anything that looks at each of 10,000.
WALK_BUDGET = 100 * MAX_ITEMS

LONG_VALUES = [
    pytest.param(XFF, "X-Forwarded-For", TEN_THOUSAND_TRUSTED, id="10000-trusted"),
    pytest.param(XFF, "X-Forwarded-For", TEN_THOUSAND_SPOOFS, id="10000-spoofs"),
    pytest.param(XFF, "X-Forwarded-For", b"," * 10_000, id="10000-commas"),
    pytest.param(XFF, "X-Forwarded-For", b", ," * 5_000 + b"10.0.0.5", id="commas-and-blanks"),
    pytest.param(XFF, "X-Forwarded-For", b"9" * KIB64, id="64KiB-one-item"),
    pytest.param(FWD, "Forwarded", b", ".join([b'for="10.0.0.5"'] * 10_000), id="10000-elements"),
    pytest.param(FWD, "Forwarded", b'for="' + b"\\" * (KIB64 // 2), id="64KiB-quoted"),
    pytest.param(REAL_IP, "X-Real-IP", b"," * 10_000, id="x-real-ip-10000-commas"),
]


@pytest.mark.parametrize("runner", ["core", "asgi", "wsgi"])
@pytest.mark.parametrize(("resolver", "name", "value"), LONG_VALUES)
def test_work_on_a_long_header_is_a_walk_of_max_items(
    resolver: Resolver, name: str, value: bytes, runner: str
) -> None:
    case = Hostile("long", resolver, PROXY, ((name, value),), None, "")
    assert lines_executed(lambda: RUNNERS[runner](case)) <= WALK_BUDGET


# One Forwarded element that a client wrote, reached in hop mode when the client bypasses the
# proxy: its parameters are capped, so its cost cannot grow with its length.
@pytest.mark.parametrize("runner", ["core", "asgi"])
def test_work_on_one_long_forwarded_element_is_bounded(runner: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", realip.RealIPWarning)
        hops = Resolver(header="forwarded", trusted_hops=1)
    case = Hostile(
        "long-element",
        hops,
        CLIENT,
        (("Forwarded", b"a=b;" * (KIB64 // 4 - 4) + b"for=6.6.6.6"),),
        None,
        "",
    )
    assert lines_executed(lambda: RUNNERS[runner](case)) <= WALK_BUDGET


def test_work_on_many_header_lines_is_a_scan_of_the_lines() -> None:
    """Finding a header among N lines looks at each line once, with a small constant."""
    few = [("X-Forwarded-For", "10.0.0.5")] * 100
    many = [("X-Forwarded-For", "10.0.0.5")] * 10_000
    assert lines_executed(lambda: XFF.resolve(PROXY, few)) <= WALK_BUDGET + 10 * len(few)
    assert lines_executed(lambda: XFF.resolve(PROXY, many)) <= WALK_BUDGET + 10 * len(many)


# -- empty list elements -------------------------------------------------------------------

# Rules 4-6: empty elements are ignored and do not count, however many a client sends.
COMMAS = "," * (MAX_ITEMS + 36)


@pytest.mark.parametrize(
    ("resolver", "peer", "headers", "expected"),
    [
        pytest.param(XFF, PROXY, {"X-Forwarded-For": COMMAS}, PROXY, id="xff-only-commas"),
        pytest.param(XFF, PROXY, [("X-Forwarded-For", "")] * 100, PROXY, id="xff-100-empty-lines"),
        pytest.param(
            XFF, PROXY, {"X-Forwarded-For": CLIENT + COMMAS}, CLIENT, id="xff-client-then-commas"
        ),
        pytest.param(REAL_IP, PROXY, {"X-Real-IP": COMMAS}, PROXY, id="x-real-ip-only-commas"),
        pytest.param(
            REAL_IP,
            PROXY,
            {"X-Real-IP": CLIENT + COMMAS},
            CLIENT,
            id="x-real-ip-client-then-commas",
        ),
        # Hop mode, a client reaching the app directly: the hops the deployment promises are
        # missing, exactly as with a header shorter than the hop count (fail closed).
        pytest.param("hops", CLIENT, {"X-Forwarded-For": COMMAS}, None, id="hops-only-commas"),
    ],
)
def test_empty_elements_are_ignored_however_many(
    resolver: Any, peer: str, headers: Any, expected: str
) -> None:
    if resolver == "hops":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", realip.RealIPWarning)
            resolver = Resolver(header="x-forwarded-for", trusted_hops=1)
    assert resolver.resolve(peer, headers).client_ip == expected


@pytest.mark.parametrize("count", [1, MAX_ITEMS // 2])
def test_a_few_empty_elements_are_ignored(count: int) -> None:
    assert XFF.resolve(PROXY, {"X-Forwarded-For": "," * count}).client_ip == PROXY
    assert XFF.resolve(PROXY, {"X-Forwarded-For": CLIENT + "," * count}).client_ip == CLIENT
    assert REAL_IP.resolve(PROXY, {"X-Real-IP": " ," * count}).client_ip == PROXY


# -- Forwarded quoted-pairs: work inside the regex engine, which line counting can't see ----

ESCAPES_8K = b'for="' + b"\\a" * 4096 + b'", for=10.0.0.5'
ESCAPES_32 = b", ".join([b'for="' + b"\\a" * 120 + b';proto=https"'] * 32)


@pytest.mark.parametrize(
    ("resolver", "lines"),
    [
        pytest.param(FWD, [("Forwarded", ESCAPES_8K)], id="fwd-8k-escapes"),
        pytest.param(FWD, [("Forwarded", ESCAPES_32)], id="fwd-32-escape-elements"),
        pytest.param(FWD, [("Forwarded", b'for="' + b"\\a" * 4096)], id="fwd-unterminated"),
        pytest.param(
            XFF,
            [("X-Forwarded-For", b"203.0.113.7"), ("Forwarded", ESCAPES_32)],
            id="xff-with-client-forwarded",
        ),
    ],
)
def test_forwarded_parsing_scans_a_bounded_number_of_characters(
    resolver: Resolver, lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every character the Forwarded grammar looks at, through resolve and the scheme lookup:
    what its regular expressions scan and what the quoted-pair reader is given."""
    import realip._forwarded as grammar
    from realip._headers import MAX_ELEMENT
    from realip.asgi import RealIPMiddleware

    scanned = [0]
    pair_match = grammar._forwarded_pair_matcher()
    escaped_params = grammar.escaped_params

    def counting_match(text: str, pos: int = 0, end: int = sys.maxsize) -> Any:
        scanned[0] += min(end, len(text)) - pos
        return pair_match(text, pos, end)

    def counting_escaped(element: str) -> Any:
        scanned[0] += len(element)
        return escaped_params(element)

    monkeypatch.setattr(grammar, "_pair_match", counting_match)
    monkeypatch.setattr(grammar, "escaped_params", counting_escaped)
    scope = {
        "type": "http",
        "client": (PROXY, 5000),
        "headers": [(n.lower().encode(), v) for n, v in lines],
        "scheme": "http",
    }

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    middleware = RealIPMiddleware(app, resolver, forwarded_proto=True)
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    # At most a few elements are parsed, each cut off at MAX_ELEMENT characters: a normal
    # request scans ~30 characters, this bound is a few dozen normal requests' worth.
    assert scanned[0] <= 4 * MAX_ELEMENT, scanned[0]
    if lines == [("Forwarded", ESCAPES_32)]:
        # Elements of at most MAX_ELEMENT characters are parsed: the counters see them (the
        # others are refused unread, or not read at all by an X-Forwarded-For resolver).
        assert scanned[0] > 0
