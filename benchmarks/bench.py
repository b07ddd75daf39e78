#!/usr/bin/env python3
"""realip against its Python peers: one process, the same requests, ns per call above a floor.

Run from the repository root:

    .venv/bin/python benchmarks/bench.py              # full run (< 3 minutes)
    .venv/bin/python benchmarks/bench.py --quick      # smoke run (< 30 seconds)
    .venv/bin/python benchmarks/bench.py --json out.json

Families: ASGI middleware, WSGI middleware, the resolver alone, ``get_client_ip`` on a
Starlette request and on a Django request. Each family has a no-op implementation (the
floor); every other number is ns/call above that floor, the minimum over repeats. Before
anything is timed, every implementation answers every request of the pool and is marked
WRONG in the table if any answer is not the client.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from handwritten import HandWrittenASGI, HandWrittenWSGI
from workloads import POOL, Req, Workload, build, canonical

HAND_ASGI = "hand-written ASGI (yardstick)"
HAND_WSGI = "hand-written WSGI (yardstick)"

perf_counter_ns = time.perf_counter_ns

# -- implementation plumbing -----------------------------------------------------------------


class NotApplicable(Exception):
    """The implementation cannot express this workload (shown as n/a)."""


class Missing(Exception):
    """The implementation is not installed (shown as missing)."""


@dataclass
class Prepared:
    """One implementation configured for one workload."""

    run: Callable[[List[Any]], None]
    """Handles every item of a batch; this is what is timed."""
    answer: Callable[[Any], Optional[str]]
    """The client the implementation reports for one item (correctness phase)."""
    note: str = ""


@dataclass
class Impl:
    """A named implementation within a family."""

    name: str
    prepare: Callable[[Workload], Prepared]
    role: str = "peer"
    """``floor``, ``realip`` or ``peer``."""


@dataclass
class Family:
    """Implementations that are called the same way, on inputs of the same shape."""

    key: str
    title: str
    to_item: Callable[[Req, Workload], Any]
    """Logical request -> this family's input, built once per workload (untimed)."""
    fresh: Callable[[List[Any]], List[Any]]
    """Items -> fresh per-repeat copies (untimed), so nothing carries over between calls."""
    impls: List[Impl] = field(default_factory=list)
    max_batches: int = 4
    """Cap on fresh batches per repeat, for families whose inputs are costly to build."""


def _realip(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise Missing(f"{module}: {exc}") from None


def _resolver(wl: Workload) -> Any:
    realip = _realip("realip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return realip.Resolver(trusted_proxies=wl.trusted, header=wl.header)


def _trust_note(wl: Workload) -> str:
    if len(wl.trusted) > 4:
        return f"{len(wl.trusted)} CIDRs"
    return ", ".join(wl.trusted)


# -- ASGI ------------------------------------------------------------------------------------


async def _receive() -> Dict[str, Any]:  # pragma: no cover - never awaited
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Dict[str, Any]) -> None:  # pragma: no cover - never awaited
    return None


class _Unset:
    pass


UNSET = _Unset()


def _asgi_scope(req: Req, wl: Workload) -> Dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in req.headers],
        "client": (req.peer, req.port),
        "server": ("10.0.9.9", 8000),
        "state": {},
    }


def _asgi_prepared(make: Callable[[Any], Any], note: str) -> Prepared:
    box: List[Any] = [UNSET]

    async def inner(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        box[0] = scope.get("client")

    mw = make(inner)
    receive, send = _receive, _send

    def run(batch: List[Any]) -> None:
        for scope in batch:
            # Not contextlib.suppress: a context manager per call would be timed too.
            try:  # noqa: SIM105
                mw(scope, receive, send).send(None)
            except StopIteration:
                pass

    def answer(scope: Any) -> Optional[str]:
        box[0] = UNSET
        coro = mw(scope, receive, send)
        try:
            coro.send(None)
        except StopIteration:
            pass
        else:
            coro.close()
            raise RuntimeError("suspended: cannot be driven with coro.send(None)")
        client = box[0]
        if client is UNSET:
            return None  # the middleware answered instead of calling the app
        return client[0] if client else None

    return Prepared(run, answer, note)


class NoopASGI:
    """The ASGI floor: a middleware that only calls the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def asgi_family() -> Family:
    fam = Family("asgi", "ASGI middleware", _asgi_scope, lambda items: [s.copy() for s in items])

    def floor(wl: Workload) -> Prepared:
        return _asgi_prepared(NoopASGI, "calls the app")

    def realip(wl: Workload) -> Prepared:
        mod = _realip("realip.asgi")
        resolver = _resolver(wl)
        return _asgi_prepared(
            lambda app: mod.RealIPMiddleware(app, resolver),
            f"Resolver(trusted_proxies=[{_trust_note(wl)}], header={wl.header!r})",
        )

    def uvicorn(wl: Workload) -> Prepared:
        if wl.forwarded:
            raise NotApplicable("no Forwarded support")
        try:
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
        except ImportError as exc:
            raise Missing(str(exc)) from None
        return _asgi_prepared(
            lambda app: ProxyHeadersMiddleware(app, trusted_hosts=list(wl.trusted)),
            f"trusted_hosts=[{_trust_note(wl)}] (its trust check has a 4096-entry LRU cache)",
        )

    def hypercorn(wl: Workload) -> Prepared:
        try:
            from hypercorn.middleware import ProxyFixMiddleware
        except ImportError as exc:
            raise Missing(str(exc)) from None
        mode = "modern" if wl.forwarded else "legacy"
        note = f"mode={mode!r}, trusted_hops={wl.hops}"
        if wl.key == "d":
            note += " (hop count only: cannot use CIDRs)"
        return _asgi_prepared(
            lambda app: ProxyFixMiddleware(app, mode=mode, trusted_hops=wl.hops), note
        )

    def handwritten(wl: Workload) -> Prepared:
        if wl.forwarded:
            raise NotApplicable("X-Forwarded-For only")
        return _asgi_prepared(
            lambda app: HandWrittenASGI(app, wl.trusted),
            "issue 25's yardstick: only the irreducible steps, no rewrite, no Result (handwritten.py)",
        )

    fam.impls = [
        Impl("no-op middleware (floor)", floor, "floor"),
        Impl("realip.asgi.RealIPMiddleware", realip, "realip"),
        Impl(HAND_ASGI, handwritten),
        Impl("uvicorn ProxyHeadersMiddleware", uvicorn),
        Impl("hypercorn ProxyFixMiddleware", hypercorn),
    ]
    return fam


# -- WSGI ------------------------------------------------------------------------------------

_WSGI_INPUT = __import__("io").BytesIO(b"")


def _environ(req: Req, wl: Workload) -> Dict[str, Any]:
    env: Dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "app.example",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": req.peer,
        "REMOTE_PORT": str(req.port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": _WSGI_INPUT,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in req.headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        env[key] = f"{env[key]},{value}" if key in env else value
    return env


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def _wsgi_prepared(make: Callable[[Any], Any], note: str) -> Prepared:
    box: List[Any] = [UNSET]

    def inner(environ: Dict[str, Any], start_response: Any) -> Sequence[bytes]:
        box[0] = environ.get("REMOTE_ADDR")
        return ()

    mw = make(inner)
    start_response = _start_response

    def run(batch: List[Any]) -> None:
        for environ in batch:
            mw(environ, start_response)

    def answer(environ: Any) -> Optional[str]:
        box[0] = UNSET
        mw(environ, start_response)
        return None if box[0] is UNSET else box[0]

    return Prepared(run, answer, note)


class NoopWSGI:
    """The WSGI floor: a middleware that only calls the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def wsgi_family() -> Family:
    fam = Family("wsgi", "WSGI middleware", _environ, lambda items: [e.copy() for e in items])

    def floor(wl: Workload) -> Prepared:
        return _wsgi_prepared(NoopWSGI, "calls the app")

    def realip(wl: Workload) -> Prepared:
        mod = _realip("realip.wsgi")
        resolver = _resolver(wl)
        return _wsgi_prepared(
            lambda app: mod.RealIPMiddleware(app, resolver),
            f"Resolver(trusted_proxies=[{_trust_note(wl)}], header={wl.header!r})",
        )

    def proxyfix(wl: Workload) -> Prepared:
        if wl.forwarded:
            raise NotApplicable("no Forwarded support")
        try:
            from werkzeug.middleware.proxy_fix import ProxyFix
        except ImportError as exc:
            raise Missing(str(exc)) from None
        note = f"x_for={wl.hops}, x_proto=0 (hop count only"
        note += ": cannot use CIDRs)" if wl.key == "d" else ")"
        return _wsgi_prepared(lambda app: ProxyFix(app, x_for=wl.hops, x_proto=0), note)

    def handwritten(wl: Workload) -> Prepared:
        if wl.forwarded:
            raise NotApplicable("X-Forwarded-For only")
        return _wsgi_prepared(
            lambda app: HandWrittenWSGI(app, wl.trusted),
            "issue 25's yardstick: only the irreducible steps, no rewrite, no Result (handwritten.py)",
        )

    fam.impls = [
        Impl("no-op middleware (floor)", floor, "floor"),
        Impl("realip.wsgi.RealIPMiddleware", realip, "realip"),
        Impl(HAND_WSGI, handwritten),
        Impl("Werkzeug ProxyFix", proxyfix),
    ]
    return fam


# -- resolver alone --------------------------------------------------------------------------


def _resolver_item(req: Req, wl: Workload) -> Tuple[str, Dict[str, Any], List[Tuple[bytes, bytes]]]:
    meta: Dict[str, Any] = {"REMOTE_ADDR": req.peer}
    for name, value in req.headers:
        meta["HTTP_" + name.upper().replace("-", "_")] = value
    pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in req.headers]
    return req.peer, meta, pairs


class NoopResolver:
    """The resolver floor: a method that takes the peer and headers and returns the peer."""

    def resolve(self, remote_addr: str, headers: Any) -> str:
        return remote_addr


def _ipware_meta_key(wl: Workload) -> str:
    return "HTTP_FORWARDED" if wl.forwarded else "HTTP_X_FORWARDED_FOR"


def _ipware_note(wl: Workload, strict_name: str = "strict") -> str:
    note = (
        f"precedence=({_ipware_meta_key(wl)!r}, 'REMOTE_ADDR'), proxy_list={wl.positional}, "
        f"{strict_name}=False"
    )
    if wl.key == "d":
        note += " (positional list: cannot use a CIDR set)"
    return note


def _python_ipware_class() -> Any:
    # python-ipware 4.x installs as ``python_ipware``; 2.x/3.x installed as ``ipware``, a name
    # django-ipware also uses (django-ipware 8 ships ``ipware`` and depends on python_ipware).
    try:
        from python_ipware import IpWare
    except ImportError:
        try:
            from ipware import IpWare  # type: ignore[attr-defined,no-redef]
        except ImportError as exc:
            raise Missing(f"python-ipware: {exc}") from None
    return IpWare


def resolver_family() -> Family:
    fam = Family("resolver", "Resolver alone", _resolver_item, lambda items: items)

    def floor(wl: Workload) -> Prepared:
        resolve = NoopResolver().resolve

        def run(batch: List[Any]) -> None:
            for peer, meta, _pairs in batch:
                resolve(peer, meta)

        return Prepared(run, lambda item: item[0], "returns the peer")

    def realip_meta(wl: Workload) -> Prepared:
        # An environ-style dict (what python-ipware reads) goes through realip's environ entry
        # point; Resolver.resolve() takes HTTP header names, not HTTP_* keys.
        from realip import get_result

        resolver = _resolver(wl)

        def run(batch: List[Any]) -> None:
            for _peer, meta, _pairs in batch:
                get_result(meta, resolver)

        return Prepared(
            run,
            lambda item: get_result(item[1], resolver).client_ip,
            f"get_result(environ-style dict, Resolver(trusted_proxies=[{_trust_note(wl)}]))",
        )

    def realip_pairs(wl: Workload) -> Prepared:
        resolve = _resolver(wl).resolve

        def run(batch: List[Any]) -> None:
            for peer, _meta, pairs in batch:
                resolve(peer, pairs)

        return Prepared(
            run,
            lambda item: resolve(item[0], item[2]).client_ip,
            "the same, headers as ASGI (bytes, bytes) pairs",
        )

    def python_ipware(wl: Workload) -> Prepared:
        ipware_cls = _python_ipware_class()
        ipw = ipware_cls(
            precedence=(_ipware_meta_key(wl), "REMOTE_ADDR"), proxy_list=list(wl.positional)
        )
        get = ipw.get_client_ip

        def run(batch: List[Any]) -> None:
            for _peer, meta, _pairs in batch:
                get(meta, False)

        def answer(item: Any) -> Optional[str]:
            ip, _trusted = get(item[1], False)
            return None if ip is None else str(ip)

        return Prepared(run, answer, _ipware_note(wl))

    fam.impls = [
        Impl("no-op resolve (floor)", floor, "floor"),
        Impl("realip get_result (environ dict)", realip_meta, "realip"),
        Impl("realip Resolver.resolve (pairs)", realip_pairs, "realip"),
        Impl("python-ipware IpWare", python_ipware),
    ]
    return fam


# -- get_client_ip on framework requests -----------------------------------------------------


def starlette_family() -> Family:
    def fresh(items: List[Any]) -> List[Any]:
        from starlette.requests import Request

        return [Request(scope.copy()) for scope in items]

    fam = Family("starlette", "get_client_ip(Starlette Request)", _asgi_scope, fresh, max_batches=1)

    def floor(wl: Workload) -> Prepared:
        try:
            import starlette.requests  # noqa: F401
        except ImportError as exc:
            raise Missing(str(exc)) from None

        def get(request: Any) -> Optional[str]:
            client = request.client
            return client.host if client else None

        def run(batch: List[Any]) -> None:
            for request in batch:
                get(request)

        return Prepared(run, get, "request.client.host")

    def realip(wl: Workload) -> Prepared:
        get_client_ip = _realip("realip").get_client_ip
        resolver = _resolver(wl)

        def run(batch: List[Any]) -> None:
            for request in batch:
                get_client_ip(request, resolver)

        return Prepared(
            run,
            lambda request: get_client_ip(request, resolver),
            f"get_client_ip(request, Resolver(trusted_proxies=[{_trust_note(wl)}]))",
        )

    fam.impls = [
        Impl("request.client.host (floor)", floor, "floor"),
        Impl("realip.get_client_ip", realip, "realip"),
    ]
    return fam


_django_ready = False


def _django() -> Any:
    global _django_ready
    try:
        import django
        from django.conf import settings
        from django.http import HttpRequest
    except ImportError as exc:
        raise Missing(str(exc)) from None
    if not _django_ready:
        if not settings.configured:
            settings.configure(
                DEBUG=False,
                SECRET_KEY="benchmark-only",
                ALLOWED_HOSTS=["*"],
                USE_TZ=True,
                INSTALLED_APPS=[],
            )
            django.setup()
        _django_ready = True
    return HttpRequest


def django_family() -> Family:
    def fresh(items: List[Any]) -> List[Any]:
        http_request = _django()
        out = []
        for environ in items:
            request = http_request()
            request.META = environ.copy()
            request.method = "GET"
            request.path = request.path_info = "/"
            out.append(request)
        return out

    fam = Family("django", "get_client_ip(Django HttpRequest)", _environ, fresh, max_batches=1)

    def floor(wl: Workload) -> Prepared:
        _django()

        def get(request: Any) -> Optional[str]:
            return request.META.get("REMOTE_ADDR")  # type: ignore[no-any-return]

        def run(batch: List[Any]) -> None:
            for request in batch:
                get(request)

        return Prepared(run, get, "request.META['REMOTE_ADDR']")

    def realip(wl: Workload) -> Prepared:
        _django()
        get_client_ip = _realip("realip").get_client_ip
        resolver = _resolver(wl)

        def run(batch: List[Any]) -> None:
            for request in batch:
                get_client_ip(request, resolver)

        return Prepared(
            run,
            lambda request: get_client_ip(request, resolver),
            f"get_client_ip(request, Resolver(trusted_proxies=[{_trust_note(wl)}]))",
        )

    def django_ipware(wl: Workload) -> Prepared:
        _django()
        try:
            from ipware import get_client_ip
        except ImportError as exc:
            raise Missing(f"django-ipware: {exc}") from None
        kwargs = {
            "proxy_trusted_ips": list(wl.positional),
            "request_header_order": (_ipware_meta_key(wl), "REMOTE_ADDR"),
            "strict": False,
        }

        def run(batch: List[Any]) -> None:
            for request in batch:
                get_client_ip(request, **kwargs)

        return Prepared(
            run,
            lambda request: get_client_ip(request, **kwargs)[0],
            _ipware_note(wl)
            .replace("precedence", "request_header_order")
            .replace("proxy_list", "proxy_trusted_ips"),
        )

    fam.impls = [
        Impl("request.META['REMOTE_ADDR'] (floor)", floor, "floor"),
        Impl("realip.get_client_ip", realip, "realip"),
        Impl("django-ipware get_client_ip", django_ipware),
    ]
    return fam


FAMILIES: List[Callable[[], Family]] = [
    asgi_family,
    wsgi_family,
    resolver_family,
    starlette_family,
    django_family,
]

# -- measuring -------------------------------------------------------------------------------


@dataclass
class Cell:
    """What one implementation did on one workload."""

    status: str = "ok"
    """``ok``, ``n/a``, ``missing`` or ``error``."""
    detail: str = ""
    note: str = ""
    checked: int = 0
    wrong: int = 0
    wrong_example: str = ""
    ns_min: Optional[float] = None
    ns_median: Optional[float] = None
    calls_per_repeat: int = 0
    repeats: int = 0
    overhead: Optional[float] = None
    overhead_median: Optional[float] = None

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Options:
    quick: bool
    rounds: int
    reps_per_round: int
    target_ns: int
    check: int
    check_budget_s: float


def _take(pool: List[Any], offset: int, n: int) -> List[Any]:
    size = len(pool)
    offset %= size
    if offset + n <= size:
        return pool[offset : offset + n]
    return pool[offset:] + pool[: n - (size - offset)]


def _timed(run: Callable[[List[Any]], None], batch: List[Any]) -> int:
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = perf_counter_ns()
        run(batch)
        return perf_counter_ns() - start
    finally:
        if gc_was:
            gc.enable()


CHECK_MIN = 100
"""Requests every implementation answers, however slow, before the time cap applies."""


def check(
    fam: Family, wl: Workload, prep: Prepared, pool: List[Any], cell: Cell, n: int, budget_s: float
) -> None:
    """Correctness before timing: the first ``n`` requests of the pool, within ``budget_s``."""
    items = fam.fresh(pool[:n])
    deadline = time.perf_counter() + budget_s
    for item, req in zip(items, wl.reqs):
        if cell.checked >= CHECK_MIN and time.perf_counter() > deadline:
            break
        got = prep.answer(item)
        cell.checked += 1
        if got != req.expected:
            if cell.wrong == 0:
                same = canonical(got) == req.expected and canonical(got) is not None
                cell.wrong_example = f"got {got!r}, expected {req.expected!r}" + (
                    " (same address, not canonical)" if same else ""
                )
            cell.wrong += 1


@dataclass
class Group:
    """Timing state of one family on one workload, kept across rounds."""

    fam: Family
    wl: Workload
    cells: Dict[str, Cell] = field(default_factory=dict)
    plan: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    offsets: Dict[str, int] = field(default_factory=dict)
    samples: Dict[str, List[float]] = field(default_factory=dict)
    reps: int = 0


def run_round(group: Group, opts: Options, first: bool) -> None:
    """One round: (re)build inputs and implementations, then a few interleaved repeats.

    The first round also checks correctness and sizes the repeats. Spreading a cell's repeats
    over rounds that span the whole run keeps one burst of load on a shared machine from
    spoiling every repeat of the same cell.
    """
    fam, wl, cells = group.fam, group.wl, group.cells
    pool = [fam.to_item(req, wl) for req in wl.reqs]
    ready: Dict[str, Prepared] = {}
    for impl in fam.impls:
        cell = cells.setdefault(impl.name, Cell())
        if cell.status != "ok":
            continue
        try:
            prep = impl.prepare(wl)
        except NotApplicable as exc:
            cell.status, cell.detail = "n/a", str(exc)
            continue
        except Missing as exc:
            cell.status, cell.detail = "missing", str(exc)
            continue
        cell.note = prep.note
        if first and impl.role != "floor":
            try:
                check(fam, wl, prep, pool, cell, opts.check, opts.check_budget_s)
            except Exception as exc:  # a failing peer is reported, not fatal
                cell.status, cell.detail = "error", f"{type(exc).__name__}: {exc}"
                continue
        ready[impl.name] = prep

    if first:
        # Size each repeat to ~target_ns, as whole batches of at most POOL calls.
        for name, prep in ready.items():
            probe = min(len(pool), 200)
            batch = fam.fresh(_take(pool, 0, probe))
            per_call = max(_timed(prep.run, batch) / probe, 1.0)
            calls = int(opts.target_ns / per_call)
            size = max(16, min(len(pool), calls))
            batches = max(1, min(fam.max_batches, -(-calls // size)))
            group.plan[name] = (size, batches)
            group.offsets[name] = probe
            group.samples[name] = []
            cells[name].calls_per_repeat = size * batches

    names = list(ready)
    for _ in range(opts.reps_per_round):
        # Rotate the order so no implementation always runs right after the same one.
        shift = group.reps % len(names) if names else 0
        group.reps += 1
        for name in names[shift:] + names[:shift]:
            size, batches = group.plan[name]
            total = 0
            for _ in range(batches):
                batch = fam.fresh(_take(pool, group.offsets[name], size))
                group.offsets[name] += size
                total += _timed(ready[name].run, batch)
            group.samples[name].append(total / (size * batches))


def finish(group: Group) -> Dict[str, Cell]:
    """Minimum and median over repeats, and overhead above the family floor."""
    cells = group.cells
    for name, values in group.samples.items():
        if values:
            cell = cells[name]
            cell.ns_min, cell.ns_median = min(values), statistics.median(values)
            cell.repeats = len(values)
    floor_name = next((i.name for i in group.fam.impls if i.role == "floor"), None)
    floor_cell = cells.get(floor_name) if floor_name else None
    if floor_cell is not None and floor_cell.ns_min is not None:
        for cell in cells.values():
            if cell.ns_min is not None and cell.ns_median is not None:
                cell.overhead = cell.ns_min - floor_cell.ns_min
                cell.overhead_median = cell.ns_median - (floor_cell.ns_median or 0.0)
    return cells


# -- import cost -----------------------------------------------------------------------------

FRAMEWORKS = (
    "django",
    "starlette",
    "fastapi",
    "flask",
    "werkzeug",
    "uvicorn",
    "hypercorn",
    "ipware",
    "python_ipware",
    "aiohttp",
    "gunicorn",
    "quart",
    "sanic",
    "litestar",
    "tornado",
    "anyio",
    "httpx",
    "h11",
)


def import_cost(runs: int = 5) -> Dict[str, Any]:
    """``import realip`` in fresh interpreters: -X importtime cumulative, wall clock, modules."""
    py = sys.executable
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    subprocess.run([py, "-c", "import realip"], check=False, env=env, capture_output=True)

    def importtime(code: str) -> List[int]:
        found: List[int] = []
        for _ in range(runs):
            err = subprocess.run(
                [py, "-X", "importtime", "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            ).stderr
            for line in err.splitlines():
                parts = [p.strip() for p in line.split("|")]
                if len(parts) == 3 and parts[2] == "realip":
                    found.append(int(parts[1]))
        return found

    cumulative = importtime("import realip")
    # What realip's own modules cost once the stdlib modules any web app has loaded are there.
    own = importtime("import typing, re, socket, ipaddress, bisect, warnings; import realip")
    walls: List[float] = []
    bases: List[float] = []
    for _ in range(runs):
        for code, sink in (("import realip", walls), ("pass", bases)):
            start = time.perf_counter()
            subprocess.run([py, "-c", code], env=env, check=False, capture_output=True)
            sink.append(time.perf_counter() - start)
    probe = (
        "import sys, json; before = set(sys.modules); import realip; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([py, "-c", probe], env=env, capture_output=True, text=True, check=False)
    try:
        new_modules: List[str] = json.loads(out.stdout)
    except ValueError:
        new_modules = []
    tops = sorted({m.split(".")[0] for m in new_modules})
    return {
        "importtime_cumulative_ms": min(cumulative) / 1000 if cumulative else None,
        "importtime_own_modules_ms": min(own) / 1000 if own else None,
        "wall_ms": (min(walls) - min(bases)) * 1000,
        "modules_added": len(new_modules),
        "top_level_added": tops,
        "frameworks_pulled_in": [m for m in tops if m in FRAMEWORKS],
        "error": out.stderr.strip()[-300:] if out.returncode else "",
    }


# -- reporting -------------------------------------------------------------------------------


def _fmt(cell: Optional[Cell], absolute: bool = False) -> str:
    if cell is None:
        return ""
    if cell.status != "ok":
        return cell.status
    value = cell.ns_min if absolute else cell.overhead
    text = "?" if value is None else f"{value:,.0f}"
    if cell.wrong:
        text += " WRONG"
    return text


def _ratio(num: Optional[Cell], den: Optional[Cell]) -> Optional[float]:
    if not num or not den or num.overhead is None or den.overhead is None:
        return None
    if den.overhead <= 0:
        return None
    return max(num.overhead, 0.0) / den.overhead


def render(
    results: Dict[str, Dict[str, Dict[str, Cell]]],
    families: List[Family],
    wls: List[Workload],
    opts: Options,
) -> List[str]:
    lines: List[str] = []
    width = 15
    head_w = 38
    for fam in families:
        table = results[fam.key]
        lines.append("")
        lines.append(
            f"## {fam.title}: ns/call above the floor "
            f"(min of {opts.rounds * opts.reps_per_round} repeats)"
        )
        lines.append("impl".ljust(head_w) + "".join(wl.label.rjust(width + 1) for wl in wls))
        for impl in fam.impls:
            absolute = impl.role == "floor"
            label = impl.name + (" [abs]" if absolute else "")
            row = label.ljust(head_w)
            for wl in wls:
                row += " " + _fmt(table[wl.key].get(impl.name), absolute).rjust(width)
            lines.append(row)
        realips = [i for i in fam.impls if i.role == "realip"]
        peers = [i for i in fam.impls if i.role == "peer"]
        if realips and peers:
            for r in realips:
                for p in peers:
                    # "realip get_result (environ dict)" -> "realip(environ dict)"
                    qualifier = r.name[r.name.find("(") :] if "(" in r.name else ""
                    rname = "realip" + (qualifier if len(realips) > 1 else "")
                    row = f"ratio {rname}/{p.name.split()[0]}"
                    row = row.ljust(head_w)
                    for wl in wls:
                        ratio = _ratio(table[wl.key].get(r.name), table[wl.key].get(p.name))
                        row += " " + ("-" if ratio is None else f"{ratio:.3f}x").rjust(width)
                    lines.append(row)
        problems = []
        for wl in wls:
            for impl in fam.impls:
                cell = table[wl.key].get(impl.name)
                if cell and cell.wrong:
                    problems.append(
                        f"  WRONG ({wl.key}) {impl.name}: {cell.wrong} of "
                        f"{cell.checked} wrong, e.g. {cell.wrong_example}"
                    )
                if cell and cell.status in ("missing", "error"):
                    problems.append(
                        f"  {cell.status.upper()} ({wl.key}) {impl.name}: {cell.detail}"
                    )
        lines.extend(problems)
    return lines


def config_notes(
    results: Dict[str, Dict[str, Dict[str, Cell]]], families: List[Family], wls: List[Workload]
) -> List[str]:
    lines = ["", "## What each implementation was given"]
    for wl in wls:
        lines.append(f"({wl.key}) {wl.title}:")
        seen = set()
        for fam in families:
            for impl in fam.impls:
                if impl.role == "floor":
                    continue
                cell = results[fam.key][wl.key].get(impl.name)
                if cell is None or not (cell.note or cell.detail):
                    continue
                text = cell.note or cell.detail
                key = (impl.name, text)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(f"    {impl.name}: {text}")
    return lines


@dataclass
class Target:
    name: str
    value: Optional[float]
    limit: float
    unit: str = "x"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        return "PASS" if self.value <= self.limit else "FAIL"


def targets(
    results: Dict[str, Dict[str, Dict[str, Cell]]], imports: Dict[str, Any]
) -> List[Target]:
    def cell(fam: str, wl: str, name: str) -> Optional[Cell]:
        return results.get(fam, {}).get(wl, {}).get(name)

    def self_ratio(fam: str, name: str, num: str, den: str) -> Optional[float]:
        return _ratio(cell(fam, num, name), cell(fam, den, name))

    asgi, uvi = "realip.asgi.RealIPMiddleware", "uvicorn ProxyHeadersMiddleware"
    out = [
        Target(
            f"ASGI realip/uvicorn on ({w})",
            _ratio(cell("asgi", w, asgi), cell("asgi", w, uvi)),
            limit,
        )
        for w, limit in (("b", 0.5), ("c", 0.5), ("d", 0.05), ("e", 0.1))
    ]
    out.append(
        Target(
            "WSGI realip/ProxyFix on (b)",
            _ratio(
                cell("wsgi", "b", "realip.wsgi.RealIPMiddleware"),
                cell("wsgi", "b", "Werkzeug ProxyFix"),
            ),
            0.7,
        )
    )
    # Issue 25's targets: the direct request nearly free, the common proxied one a third cheaper.
    wsgi, fix = "realip.wsgi.RealIPMiddleware", "Werkzeug ProxyFix"
    for w, fam, mine, peer, limit in (
        ("a", "asgi", asgi, uvi, 0.25),
        ("a", "wsgi", wsgi, fix, 0.6),
        ("b", "asgi", asgi, uvi, 0.35),
        ("b", "wsgi", wsgi, fix, 0.45),
    ):
        who = "uvicorn" if peer == uvi else "ProxyFix"
        out.append(
            Target(
                f"{fam.upper()} realip/{who} on ({w}) [25]",
                _ratio(cell(fam, w, mine), cell(fam, w, peer)),
                limit,
            )
        )
    # "faster than the naive hand-written version, with every feature on"
    for fam, mine, hand in (("asgi", asgi, HAND_ASGI), ("wsgi", wsgi, HAND_WSGI)):
        out.append(
            Target(
                f"{fam.upper()} realip/hand-written on (b) [25]",
                _ratio(cell(fam, "b", mine), cell(fam, "b", hand)),
                1.0,
            )
        )
    out.append(Target("realip ASGI (d)/(c) [25]", self_ratio("asgi", asgi, "d", "c"), 1.2))
    out.append(Target("realip WSGI (e)/(b) [25]", self_ratio("wsgi", wsgi, "e", "b"), 2.0))
    res = "realip Resolver.resolve (pairs)"
    out.append(Target("realip ASGI (d)/(c)", self_ratio("asgi", asgi, "d", "c"), 1.3))
    out.append(Target("realip ASGI (e)/(b)", self_ratio("asgi", asgi, "e", "b"), 2.0))
    out.append(Target("realip resolver (d)/(c)", self_ratio("resolver", res, "d", "c"), 1.3))
    out.append(Target("realip resolver (e)/(b)", self_ratio("resolver", res, "e", "b"), 2.0))
    out.append(
        Target(
            "import realip (-X importtime)", imports.get("importtime_cumulative_ms"), 15.0, " ms"
        )
    )
    frameworks = imports.get("frameworks_pulled_in")
    out.append(
        Target(
            "framework modules imported",
            None if frameworks is None else float(len(frameworks)),
            0.0,
            "",
        )
    )
    return out


def machine() -> Dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def versions() -> Dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in (
        "realip",
        "uvicorn",
        "werkzeug",
        "hypercorn",
        "python-ipware",
        "django-ipware",
        "django",
        "starlette",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, under 30 seconds")
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON")
    parser.add_argument(
        "--only",
        metavar="FAMILY",
        action="append",
        help="run only these families (asgi, wsgi, resolver, starlette, django)",
    )
    args = parser.parse_args(argv)
    opts = (
        Options(
            quick=True,
            rounds=2,
            reps_per_round=3,
            target_ns=3_000_000,
            check=300,
            check_budget_s=0.2,
        )
        if args.quick
        else Options(
            quick=False,
            rounds=4,
            reps_per_round=3,
            target_ns=20_000_000,
            check=POOL,
            check_budget_s=1.5,
        )
    )
    started = time.perf_counter()
    wls, facts = build()
    families = [make() for make in FAMILIES]
    if args.only:
        families = [f for f in families if f.key in args.only]
    info = machine()
    print(f"# realip benchmark ({'quick' if opts.quick else 'full'} run)")
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, {info['implementation']} "
        f"{info['python']} on {info['platform']}"
    )
    vers = versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    print(
        f"inputs: {facts['pool']} distinct requests per workload (seed {facts['seed']}), walked "
        f"in order; (d) trusts {facts['cidrs_v4']} IPv4 + {facts['cidrs_v6']} IPv6 CIDRs, "
        f"prefix lengths {facts['cidr_prefix_lengths'][0]}-{facts['cidr_prefix_lengths'][-1]}; "
        f"(e) header is {facts['hostile_header_bytes']} bytes, "
        f"{facts['hostile_header_entries']} entries"
    )
    print(
        "timing: perf_counter_ns over batches of pre-built inputs, GC off while timed; "
        f"{opts.rounds * opts.reps_per_round} repeats of ~{opts.target_ns / 1e6:.0f} ms per "
        f"implementation ({opts.rounds} rounds over the whole run x {opts.reps_per_round} "
        "interleaved); table = min over repeats minus the family floor's min; ASGI "
        "coroutines driven by coro.send(None) (no event loop)"
    )
    print(
        f"correctness: the first {opts.check} requests of each pool checked before timing "
        f"(at least {CHECK_MIN}; a peer slower than {opts.check_budget_s:g} s is cut short)"
    )

    groups = [Group(fam, wl) for fam in families for wl in wls]
    for rnd in range(opts.rounds):
        t0 = time.perf_counter()
        for group in groups:
            run_round(group, opts, first=rnd == 0)
            gc.collect()
        print(
            f"  round {rnd + 1}/{opts.rounds} took {time.perf_counter() - t0:5.1f} s",
            file=sys.stderr,
            flush=True,
        )
    results: Dict[str, Dict[str, Dict[str, Cell]]] = {}
    for group in groups:
        results.setdefault(group.fam.key, {})[group.wl.key] = finish(group)
    imports = import_cost(3 if opts.quick else 5)

    for line in render(results, families, wls, opts):
        print(line)
    for line in config_notes(results, families, wls):
        print(line)

    print("")
    print("## Targets (issue 6), ratios of overhead above the floor, measured in this run")
    goals = targets(results, imports)
    for goal in goals:
        value = "-" if goal.value is None else f"{goal.value:.3f}{goal.unit}"
        limit = f"<= {goal.limit:g}{goal.unit}"
        print(f"  {goal.verdict:4}  {goal.name:34} {value:>12}  (target {limit})")
    print("")
    print(
        f"import realip: {imports['importtime_cumulative_ms']} ms cumulative (-X importtime, "
        f"best of runs; {imports['importtime_own_modules_ms']} ms with typing, re, socket, "
        f"ipaddress already loaded), {imports['wall_ms']:.1f} ms wall over a bare interpreter; "
        f"{imports['modules_added']} modules added, top-level: "
        f"{', '.join(imports['top_level_added'])}; frameworks: "
        f"{', '.join(imports['frameworks_pulled_in']) or 'none'}"
    )
    if imports.get("error"):
        print(f"import error: {imports['error']}")
    wrong_realip = [
        f"{fam.key}/{wl}/{name}"
        for fam in families
        for wl, table in results[fam.key].items()
        for name, cell in table.items()
        if "realip" in name and cell.wrong
    ]
    if wrong_realip:
        print(f"realip gave WRONG answers: {', '.join(wrong_realip)}")
    elapsed = time.perf_counter() - started
    print(f"total time: {elapsed:.1f} s")

    if args.json:
        payload = {
            "machine": info,
            "versions": vers,
            "inputs": facts,
            "options": opts.__dict__,
            "results": {
                fam: {
                    wl: {name: cell.as_dict() for name, cell in table.items()}
                    for wl, table in by_wl.items()
                }
                for fam, by_wl in results.items()
            },
            "targets": [
                {"name": g.name, "value": g.value, "limit": g.limit, "verdict": g.verdict}
                for g in goals
            ],
            "import": imports,
            "elapsed_s": elapsed,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
    return 1 if wrong_realip else 0


if __name__ == "__main__":
    sys.exit(main())
