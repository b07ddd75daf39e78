"""After realip, every client-address header holds only what realip verified, or is gone (issue
21.1), the same in WSGI, ASGI, Django and aiohttp; and the middlewares' options come from one
list (issue 24.2).

The list is realip._client_headers.CLIENT_HEADERS; these tests send every header of it, in both
spellings where the adapter can tell them apart, and look at what the app finds.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realip import ConfigError, RealIPWarning
from realip._client_headers import CLIENT_HEADERS, NAMES, reference_table
from realip._config import OPTIONS
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.wsgi import RealIPMiddleware as WSGIRealIP

ROOT = Path(__file__).resolve().parents[1]
FORGED = "6.6.6.6"
CLIENT = "203.0.113.9"

Pairs = List[Tuple[str, str]]


class Seen(NamedTuple):
    client: Optional[str]
    headers: Dict[str, str]
    """Lower-case header name (as sent: ``-`` or ``_``) -> value, as the app finds it."""


# -- one driver per adapter ------------------------------------------------------------------


def _environ_headers(environ: Dict[str, Any]) -> Dict[str, str]:
    return {
        k[5:].lower().replace("_", "-"): v
        for k, v in environ.items()
        if k.startswith("HTTP_") and isinstance(v, str)
    }


def run_wsgi(peer: str, headers: Pairs, **options: Any) -> Seen:
    seen: Dict[str, Any] = {}

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    environ: Dict[str, Any] = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": peer}
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    WSGIRealIP(app, **options)(environ, lambda *a: None)
    return Seen(seen["REMOTE_ADDR"], _environ_headers(seen))


def run_asgi(peer: str, headers: Pairs, **options: Any) -> Seen:
    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    asyncio.run(ASGIRealIP(app, **options)(scope, None, None))  # type: ignore[arg-type]
    found: Dict[str, str] = {}
    for k, v in seen["headers"]:
        name = k.decode()
        found[name] = f"{found[name]},{v.decode()}" if name in found else v.decode()
    return Seen(seen["client"][0], found)


def run_django(peer: str, headers: Pairs, **options: Any) -> Seen:
    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    from realip.django import RealIPMiddleware

    keep = tuple(options.pop("keep_headers", ()))
    seen: Dict[str, Any] = {}

    def view(request: Any) -> Any:
        seen.update(request.META)
        seen["request.headers"] = dict(request.headers)
        return HttpResponse("ok")

    meta: Dict[str, Any] = {"REMOTE_ADDR": peer}
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        meta[key] = f"{meta[key]},{value}" if key in meta else value
    request = RequestFactory().get("/", **meta)
    # A reader before the middleware (an error reporter) built request.headers already.
    assert request.headers is not None

    class Subclass(RealIPMiddleware):
        keep_headers = keep

    with override_settings(REALIP=options):
        Subclass(view)(request)
    by_django = {k.lower(): v for k, v in seen.pop("request.headers").items()}
    found = _environ_headers(seen)
    assert by_django == found  # request.headers agrees with META
    return Seen(seen["REMOTE_ADDR"], found)


def run_aiohttp(peer: str, headers: Pairs, **options: Any) -> Seen:
    web = pytest.importorskip("aiohttp.web")
    from aiohttp.test_utils import TestClient, TestServer

    from realip.aiohttp import middleware

    async def view(request: Any) -> Any:
        found: Dict[str, str] = {}
        for k, v in request.headers.items():
            name = k.lower()
            found[name] = f"{found[name]},{v}" if name in found else v
        return web.json_response({"client": request.remote, "headers": found})

    # The real server's peer is 127.0.0.1: the resolver trusts it where the others trust 10/8.
    if options.get("trusted_proxies") == ["10.0.0.0/8"] and peer.startswith("10."):
        options = {**options, "trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"]}
    app = web.Application(middlewares=[middleware(**options)])
    app.router.add_get("/", view)

    async def fetch() -> Any:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.get("/", headers=[(k, v) for k, v in headers])
            return await response.json()

    body = asyncio.run(fetch())
    for skipped in ("host", "accept", "accept-encoding", "user-agent", "content-length"):
        body["headers"].pop(skipped, None)
    return Seen(body["client"], body["headers"])


Driver = Callable[..., Seen]
DRIVERS: Dict[str, Driver] = {
    "wsgi": run_wsgi,
    "asgi": run_asgi,
    "django": run_django,
    "aiohttp": run_aiohttp,
}
# In a WSGI environ (and Django's META) X_Forwarded_For and X-Forwarded-For are one key.
UNDERSCORES = {"asgi", "aiohttp"}


def every_header(read: Optional[str], chain: str) -> Pairs:
    """Every client-address header with a forged value (both spellings), the header read last
    with ``chain``."""
    pairs: Pairs = []
    for header in CLIENT_HEADERS:
        lower = header.name.lower()
        if lower == read:
            continue
        value = f"for={FORGED}" if lower == "forwarded" else FORGED
        pairs.append((header.name, value))
    if read is not None:
        pairs.append((read, chain))
    return pairs


def underscored(pairs: Pairs) -> Pairs:
    return [(name.replace("-", "_"), value) for name, value in pairs]


# -- the rule, per adapter -------------------------------------------------------------------

READS = [
    pytest.param(
        "x-forwarded-for", f"{FORGED}, {CLIENT}, 10.0.1.5", f"{CLIENT}, 10.0.1.5", id="xff"
    ),
    pytest.param("forwarded", f"for={FORGED}, for={CLIENT}", f"for={CLIENT}", id="forwarded"),
    pytest.param("x-real-ip", CLIENT, CLIENT, id="x-real-ip"),
]


@pytest.mark.parametrize("adapter", DRIVERS)
@pytest.mark.parametrize(("read", "chain", "verified"), READS)
def test_only_the_header_read_stays_with_its_verified_part(
    adapter: str, read: str, chain: str, verified: str
) -> None:
    pairs = every_header(read, chain)
    if adapter in UNDERSCORES:
        pairs += underscored(pairs)  # a client's X_Real_IP line, looked up by some readers
    seen = DRIVERS[adapter]("10.0.0.3", pairs, trusted_proxies=["10.0.0.0/8"], header=read)
    assert seen.client == CLIENT
    assert {k: v for k, v in seen.headers.items() if k.replace("_", "-") in NAMES | {read}} == {
        read: verified
    }


@pytest.mark.parametrize("adapter", DRIVERS)
def test_a_direct_request_keeps_no_client_address_header(adapter: str) -> None:
    # The peer is the client: nothing in any header was verified, so none is left to read.
    pairs = every_header("x-forwarded-for", f"{FORGED}, {CLIENT}")
    if adapter in UNDERSCORES:
        pairs += underscored(pairs)
    peer = "198.51.100.7" if adapter != "aiohttp" else "127.0.0.1"
    seen = DRIVERS[adapter](peer, pairs, trusted_proxies=["10.0.0.0/8"])
    assert seen.client == peer
    assert not [k for k in seen.headers if k.replace("_", "-") in NAMES], seen.headers


@pytest.mark.parametrize("adapter", DRIVERS)
def test_keep_headers_leaves_a_named_header_as_sent(adapter: str) -> None:
    pairs = every_header("x-forwarded-for", f"{FORGED}, {CLIENT}")
    seen = DRIVERS[adapter](
        "10.0.0.3", pairs, trusted_proxies=["10.0.0.0/8"], keep_headers=["X-Real-IP"]
    )
    left = {k: v for k, v in seen.headers.items() if k in NAMES}
    assert left == {"x-forwarded-for": CLIENT, "x-real-ip": FORGED}


@pytest.mark.parametrize("adapter", DRIVERS)
@pytest.mark.parametrize(
    "chain",
    [
        f", {CLIENT}, 10.0.1.5",
        f" , ,{CLIENT},10.0.1.5",
        f"{FORGED},, {CLIENT}, 10.0.1.5",
        f",,{CLIENT},,10.0.1.5",
    ],
)
def test_no_empty_item_stays_left_of_the_client(adapter: str, chain: str) -> None:
    # Bottle's remote_addr, WebOb's client_addr and Falcon's access_route take the leftmost
    # item: an empty one would be read as the client ''.
    seen = DRIVERS[adapter](
        "10.0.0.3", [("X-Forwarded-For", chain)], trusted_proxies=["10.0.0.0/8"]
    )
    value = seen.headers["x-forwarded-for"]
    assert value.split(",")[0].strip() == CLIENT, value
    assert [item.strip() for item in value.split(",") if item.strip()] == [CLIENT, "10.0.1.5"]


def test_keep_headers_refuses_a_name_it_does_not_rewrite() -> None:
    with pytest.raises(ConfigError, match="X-Forwarded-Host"):
        WSGIRealIP(
            lambda e, s: [], trusted_proxies=["10.0.0.0/8"], keep_headers=["X-Forwarded-Host"]
        )
    with pytest.raises(ConfigError, match="list of header names"):
        ASGIRealIP(lambda s, r, d: None, trusted_proxies=["10.0.0.0/8"], keep_headers="X-Real-IP")  # type: ignore[arg-type,return-value]


def test_rewrite_header_false_leaves_every_header_alone() -> None:
    pairs = every_header("x-forwarded-for", f"{FORGED}, {CLIENT}")
    seen = run_asgi("10.0.0.3", pairs, trusted_proxies=["10.0.0.0/8"], rewrite_header=False)
    assert seen.client == CLIENT
    assert seen.headers == {k.lower(): v for k, v in pairs}


# -- what the framework's accessors and the consumers find ---------------------------------


def test_falcon_access_route_and_sentry_fallback_find_the_verified_client() -> None:
    falcon = pytest.importorskip("falcon")
    found: Dict[str, Any] = {}

    class Resource:
        def on_get(self, req: Any, resp: Any) -> None:
            found["route"] = req.access_route
            found["real_ip"] = req.get_header("X-Real-IP")

    app = falcon.App()
    app.add_route("/", Resource())
    wrapped = WSGIRealIP(app, trusted_proxies=["10.0.0.0/8"])
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "app",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "10.0.0.3",
        "HTTP_FORWARDED": f"for={FORGED}",  # Falcon reads Forwarded first
        "HTTP_X_REAL_IP": FORGED,  # sentry-sdk's fallback
        "HTTP_X_FORWARDED_FOR": f"{FORGED}, {CLIENT}",
    }
    body = b"".join(wrapped(environ, lambda *a: None))
    assert body is not None
    assert found["route"][0] == CLIENT
    assert found["real_ip"] is None


def test_starlette_underscore_lookup_finds_no_client_choice() -> None:
    # slowapi's get_ipaddr: request.headers["X_FORWARDED_FOR"] when present.
    pytest.importorskip("starlette")
    from starlette.requests import Request

    seen: Dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["underscore"] = Request(scope).headers.get("X_FORWARDED_FOR")

    scope = {
        "type": "http",
        "client": ("10.0.0.3", 4000),
        "headers": [(b"x_forwarded_for", FORGED.encode()), (b"x-forwarded-for", CLIENT.encode())],
    }
    asyncio.run(ASGIRealIP(app, trusted_proxies=["10.0.0.0/8"])(scope, None, None))  # type: ignore[arg-type]
    assert seen["underscore"] is None


# -- one list, documented; one option list -------------------------------------------------


def test_the_reference_shows_the_list() -> None:
    text = (ROOT / "docs" / "reference" / "api.md").read_text()
    match = re.search(
        r"<!-- client-headers:start[^\n]*-->\n(.*?)\n<!-- client-headers:end -->", text, re.S
    )
    assert match, "the generated table is missing from docs/reference/api.md"
    assert match.group(1) == reference_table()


def _resolver_keywords(fn: Any) -> List[str]:
    adapter_own = {"app", "resolver", "forwarded_proto", "rewrite_header", "keep_headers"}
    return [n for n in inspect.signature(fn).parameters if n not in adapter_own]


@pytest.mark.parametrize("adapter", ["wsgi", "asgi", "aiohttp"])
def test_middleware_keywords_are_the_options(adapter: str) -> None:
    if adapter == "wsgi":
        fn: Any = WSGIRealIP.__init__
    elif adapter == "asgi":
        fn = ASGIRealIP.__init__
    else:
        pytest.importorskip("aiohttp")
        from realip.aiohttp import middleware

        fn = middleware
    names = [n for n in _resolver_keywords(fn) if n != "self"]
    assert names == [option.name for option in OPTIONS]


@pytest.mark.filterwarnings("ignore:trusted_hops=2")
def test_every_option_keyword_reaches_the_resolver() -> None:
    mw = WSGIRealIP(lambda e, s: [], trusted_hops=2, require_header=True)
    assert mw.resolver.trusted_hops == 2
    seen = run_wsgi("192.0.2.1", [], trusted_hops=2, require_header=True)
    assert seen.client == "192.0.2.1"  # REMOTE_ADDR left alone: no header, failed closed


def test_the_nothing_configured_warning_is_one_text(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("REALIP_")]:
        monkeypatch.delenv(name)
    from django.test import override_settings

    from realip.django import RealIPMiddleware as DjangoRealIP

    with pytest.warns(RealIPWarning) as wsgi_warning:
        WSGIRealIP(lambda e, s: [])
    with override_settings(REALIP=None), pytest.warns(RealIPWarning) as django_warning:
        DjangoRealIP(lambda r: None)
    texts = [str(w.message) for w in (*wsgi_warning, *django_warning)]
    assert all("trusts no proxy and every request's client is its TCP peer" in t for t in texts)
    assert "settings.REALIP" in texts[-1]


def test_keyword_shortcuts_go_through_one_helper() -> None:
    import realip._middleware
    import realip.aiohttp
    import realip.asgi
    import realip.wsgi

    for module in (realip._middleware, realip.aiohttp):
        source = inspect.getsource(module)
        assert "middleware_resolver(" in source and "shortcut_options(locals())" in source
    # The two middleware classes take their options from one constructor.
    for cls in (realip.asgi.RealIPMiddleware, realip.wsgi.RealIPMiddleware):
        assert issubclass(cls, realip._middleware.Middleware)
        assert "__init__" not in vars(cls)


def test_adapters_import_no_private_name_from_each_other() -> None:
    src = ROOT / "src" / "realip"
    adapters = ["request", "asgi", "wsgi", "django", "aiohttp", "log"]
    for name in adapters:
        text = (src / f"{name}.py").read_text()
        for other in adapters:
            for match in re.finditer(rf"from realip\.{other} import \(?([^)]*?)\)?\n", text):
                private = [
                    n.strip() for n in match.group(1).split(",") if n.strip().startswith("_")
                ]
                assert not private, f"{name}.py imports {private} from realip.{other}"


# -- properties --------------------------------------------------------------------------------

_ADDRESSES = st.sampled_from(
    ["203.0.113.9", "6.6.6.6", "10.0.0.7", "2001:db8::1", "[2001:db8::2]:80", "unknown", ""]
)
_VALUES = st.lists(
    st.one_of(_ADDRESSES, st.text(alphabet=' ,;="abf0.:', max_size=6)), max_size=5
).map(lambda items: ",".join(items))
_NAMES = st.sampled_from(
    [h.name for h in CLIENT_HEADERS]
    + [h.name.replace("-", "_") for h in CLIENT_HEADERS]
    + ["Accept", "X-Forwarded-Proto"]
)


@settings(max_examples=150, deadline=None)
@given(
    peer=st.sampled_from(["10.0.0.3", "198.51.100.7"]),
    pairs=st.lists(st.tuples(_NAMES, _VALUES), max_size=6),
    read=st.sampled_from(["x-forwarded-for", "forwarded", "x-real-ip"]),
)
def test_after_any_request_only_the_verified_client_is_left(
    peer: str, pairs: Pairs, read: str
) -> None:
    for driver in (run_wsgi, run_asgi):
        seen = driver(peer, list(pairs), trusted_proxies=["10.0.0.0/8"], header=read)
        for name in seen.headers:
            if name.replace("_", "-") in NAMES | {read}:
                # Only the header read may stay, in its own spelling ...
                assert name == read, (name, seen.headers)
        value = seen.headers.get(read)
        if value is not None:
            # ... and what it holds starts with the client realip found: no empty item, no
            # client-chosen prefix left of it.
            first = value.split(",")[0].strip()
            assert first, value
            if read != "forwarded":
                assert first.strip("[]").split("]:")[0] == seen.client or first == seen.client
