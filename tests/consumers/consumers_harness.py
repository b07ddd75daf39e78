"""Each consumer of the client (rate limiters, tracing, error reports, log lines), run for real.

A scenario is one consumer wired into one framework the way docs/how-to/ shows it, served by a
real server process on 127.0.0.1. The requests come from distinct loopback sources, so "who
connected" is real: ``127.0.0.2`` stands in for the reverse proxy (trusted, with ``10.0.0.0/8``
for proxies further in), ``127.0.0.3`` for a client that connects directly. After each request
the harness reads what the consumer itself recorded, never what realip says:

- ``ratelimit``: the app answers with its limiter's counters (key -> hits); the key whose count
  went up is this request's rate-limit key;
- ``span``: the server process exports its spans to a file; the request's server span's
  ``client.address`` attribute;
- ``sentry``: a transport in the server process writes each event's JSON to a file; the event's
  ``user.ip_address`` and ``request.env.REMOTE_ADDR``;
- ``log``: the app's log lines (JSON), the ``client_ip`` of the request's line.

The tests in this folder assert each scenario's observations, and tests/compat renders them as
the consumers' rows of docs/reference/compatibility.md: one list, one run.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from support.processes import Processes

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "apps"

SERVER_IP = "127.0.0.1"
PROXY_IP = "127.0.0.2"  # the stand-in reverse proxy: trusted
CLIENT_IP = "127.0.0.3"  # a client connecting directly: trusted by nobody
INNER_PROXY = "10.1.2.3"  # a proxy further in, inside the trusted 10.0.0.0/8
REAL_CLIENT = "203.0.113.7"
SPOOF = "198.51.100.66"
TRUSTED = f"{PROXY_IP},10.0.0.0/8"
# Every address an observation may show, most specific first.
CANDIDATES = (REAL_CLIENT, SPOOF, INNER_PROXY, PROXY_IP, CLIENT_IP)

READY_TIMEOUT = 40.0
REQUEST_TIMEOUT = 10.0
OBSERVE_TIMEOUT = 10.0  # a span or event is written when the request ends, maybe after the reply
BUDGET = 60.0  # seconds for every scenario on a loaded 2-core machine
LAST_RUN_SECONDS: Optional[float] = None  # set by the test session's run


@dataclass(frozen=True)
class Kind:
    """One request: where it comes from, its headers, who the client is."""

    name: str
    source: str
    headers: Tuple[Tuple[str, str], ...]
    expected: str
    what: str


KINDS: Tuple[Kind, ...] = (
    Kind(
        "legit",
        PROXY_IP,
        (("X-Forwarded-For", f"{REAL_CLIENT}, {INNER_PROXY}"),),
        REAL_CLIENT,
        "through the trusted proxies: client, then an inner proxy",
    ),
    Kind(
        "spoofed",
        PROXY_IP,
        (("X-Forwarded-For", f"{SPOOF}, {REAL_CLIENT}, {INNER_PROXY}"),),
        REAL_CLIENT,
        "the client wrote its own X-Forwarded-For; the proxies appended to it",
    ),
    Kind(
        "direct",
        CLIENT_IP,
        (("X-Forwarded-For", SPOOF),),
        CLIENT_IP,
        "a client connects directly, bypassing the proxy, with a forged X-Forwarded-For",
    ),
    Kind(
        "direct-x-real-ip",
        CLIENT_IP,
        (("X-Forwarded-For", SPOOF), ("X-Real-IP", SPOOF)),
        CLIENT_IP,
        "the same with a forged X-Real-IP too (read when X-Forwarded-For is gone)",
    ),
    Kind(
        "underscore",
        PROXY_IP,
        (("X-Forwarded-For", f"{REAL_CLIENT}, {INNER_PROXY}"), ("X_Forwarded_For", SPOOF)),
        REAL_CLIENT,
        "through the proxies, with a client-written `X_Forwarded_For` the proxy passed on",
    ),
)
KIND = {kind.name: kind for kind in KINDS}


# --- servers -----------------------------------------------------------------------------------


def _py(*args: str) -> List[str]:
    return [sys.executable, *args]


def _gunicorn(target: str, host: str, port: int) -> List[str]:
    argv = _py("-m", "gunicorn", target, "--bind", f"{host}:{port}", "--workers", "1")
    argv += ["--access-logfile", "-", "--graceful-timeout", "1"]
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:  # the scenario is skipped as not installed
        return argv
    if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
        argv.append("--no-control-socket")  # newer gunicorn: one control socket per user
    return argv


SERVERS: Dict[str, Tuple[Tuple[str, ...], Callable[[str, str, int], List[str]]]] = {
    # uvicorn's own proxy handling off, as every how-to says: realip alone decides.
    "uvicorn": (
        ("uvicorn",),
        lambda t, h, p: _py(
            "-m", "uvicorn", t, "--host", h, "--port", str(p), "--no-proxy-headers"
        ),
    ),
    "gunicorn": (("gunicorn",), _gunicorn),
}


@dataclass(frozen=True)
class Scenario:
    """A consumer in a framework, wired one way, under one server."""

    consumer: str  # how the page names the consumer
    framework: str
    wiring: str  # how realip is wired, as the page shows it
    server: str
    target: str  # module:attr under tests/consumers/apps
    observe: str  # ratelimit / span / sentry / log
    requires: Tuple[str, ...]
    howto: str  # the how-to page that documents this wiring
    env: Tuple[Tuple[str, str], ...] = ()
    # The kinds this wiring can't get right yet, with why (the tests mark them xfail).
    pending: Tuple[Tuple[str, str], ...] = ()
    # A wiring the how-to warns against: what it records instead, per kind (checked too, so the
    # warning stays true and the check is seen to catch a wrong answer).
    wrong: Tuple[Tuple[str, str], ...] = ()

    @property
    def recommended(self) -> bool:
        """Whether the how-to recommends this wiring."""
        return not self.wrong


OUTERMOST = "`RealIPMiddleware(app)` outermost"
DJANGO_MIDDLEWARE = "`realip.django.RealIPMiddleware` in `MIDDLEWARE`"
DJANGO_WRAPPED = "`realip.wsgi.RealIPMiddleware(get_wsgi_application())`"
DJANGO_ASGI_WRAPPED = "`realip.asgi.RealIPMiddleware(get_asgi_application())`"
FLASK_INNER = "`app.wsgi_app = RealIPMiddleware(app.wsgi_app)`"
SLOWAPI = ("slowapi", "fastapi")
NUM_PROXIES_1 = (("CONSUMER_NUM_PROXIES", "1"),)
NUM_PROXIES_UNSET = (("CONSUMER_NUM_PROXIES", "unset"),)


def _s(
    consumer: str,
    framework: str,
    wiring: str,
    target: str,
    observe: str,
    requires: Tuple[str, ...],
    howto: str,
    **more: object,
) -> Scenario:
    server = "uvicorn" if framework in ("FastAPI", "Starlette", "Django (ASGI)") else "gunicorn"
    return Scenario(consumer, framework, wiring, server, target, observe, requires, howto, **more)  # type: ignore[arg-type]


SCENARIOS: Tuple[Scenario, ...] = (
    # Rate limiters: observe "ratelimit:<prefix>" reads the counters whose keys start so.
    _s(
        "slowapi (`get_remote_address`, `SlowAPIMiddleware`)",
        "FastAPI",
        OUTERMOST,
        "consumer_slowapi:app",
        "ratelimit:",
        SLOWAPI,
        "rate-limiting.md",
    ),
    _s(
        "slowapi (`get_ipaddr`)",
        "FastAPI",
        OUTERMOST,
        "consumer_slowapi:app",
        "ratelimit:",
        SLOWAPI,
        "rate-limiting.md",
        env=(("CONSUMER_KEY_FUNC", "get_ipaddr"),),
    ),
    _s(
        "slowapi (`get_remote_address`, `SlowAPIMiddleware`)",
        "FastAPI",
        "`add_middleware(RealIPMiddleware)`, then `add_middleware(SlowAPIMiddleware)`",
        "consumer_slowapi:inner",
        "ratelimit:",
        SLOWAPI,
        "rate-limiting.md",
        wrong=(("legit", PROXY_IP), ("spoofed", PROXY_IP)),
    ),
    _s(
        "Flask-Limiter (`get_remote_address`)",
        "Flask",
        OUTERMOST,
        "consumer_flask:application",
        "ratelimit:",
        ("flask_limiter", "flask"),
        "rate-limiting.md",
    ),
    _s(
        "Flask-Limiter (`get_remote_address`)",
        "Flask",
        FLASK_INNER,
        "consumer_flask:inner",
        "ratelimit:",
        ("flask_limiter", "flask"),
        "rate-limiting.md",
    ),
    _s(
        "django-ratelimit (`key='ip'`)",
        "Django",
        DJANGO_MIDDLEWARE,
        "consumer_django:application",
        "ratelimit:ratelimit/",
        ("django_ratelimit", "django"),
        "rate-limiting.md",
    ),
    _s(
        "DRF throttling (`AnonRateThrottle`, `NUM_PROXIES=0`)",
        "Django",
        DJANGO_MIDDLEWARE,
        "consumer_django:application",
        "ratelimit:drf/",
        ("rest_framework", "django"),
        "rate-limiting.md",
    ),
    _s(
        "DRF throttling (`AnonRateThrottle`, `NUM_PROXIES=1`)",
        "Django",
        DJANGO_MIDDLEWARE,
        "consumer_django:application",
        "ratelimit:drf/",
        ("rest_framework", "django"),
        "rate-limiting.md",
        env=NUM_PROXIES_1,
        wrong=(("legit", INNER_PROXY), ("spoofed", INNER_PROXY)),
    ),
    _s(
        "DRF throttling (`AnonRateThrottle`, `NUM_PROXIES` unset)",
        "Django",
        DJANGO_MIDDLEWARE,
        "consumer_django:application",
        "ratelimit:drf/",
        ("rest_framework", "django"),
        "rate-limiting.md",
        env=NUM_PROXIES_UNSET,
        wrong=(
            ("legit", f"{REAL_CLIENT},{INNER_PROXY}"),
            ("spoofed", f"{REAL_CLIENT},{INNER_PROXY}"),
        ),
    ),
    # Tracing: the server span's client.address.
    _s(
        "OpenTelemetry (`FastAPIInstrumentor`)",
        "FastAPI",
        OUTERMOST,
        "consumer_fastapi:app",
        "span",
        ("opentelemetry.instrumentation.fastapi", "fastapi"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`FastAPIInstrumentor`)",
        "FastAPI",
        "`app.add_middleware(RealIPMiddleware)`",
        "consumer_fastapi:inner",
        "span",
        ("opentelemetry.instrumentation.fastapi", "fastapi"),
        "tracing.md",
        wrong=(("legit", PROXY_IP), ("spoofed", PROXY_IP)),
    ),
    _s(
        "OpenTelemetry (`OpenTelemetryMiddleware`)",
        "Starlette",
        "`RealIPMiddleware(OpenTelemetryMiddleware(app))`",
        "consumer_starlette:app",
        "span",
        ("opentelemetry.instrumentation.asgi", "starlette"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`FlaskInstrumentor`)",
        "Flask",
        OUTERMOST,
        "consumer_flask:application",
        "span",
        ("opentelemetry.instrumentation.flask", "flask"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`FlaskInstrumentor`)",
        "Flask",
        FLASK_INNER + " after `instrument_app(app)`",
        "consumer_flask:inner",
        "span",
        ("opentelemetry.instrumentation.flask", "flask"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`DjangoInstrumentor`)",
        "Django",
        DJANGO_WRAPPED,
        "consumer_django:wrapped",
        "span",
        ("opentelemetry.instrumentation.django", "django"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`DjangoInstrumentor`)",
        "Django (ASGI)",
        DJANGO_ASGI_WRAPPED,
        "consumer_django:asgi_wrapped",
        "span",
        ("opentelemetry.instrumentation.django", "django"),
        "tracing.md",
    ),
    _s(
        "OpenTelemetry (`DjangoInstrumentor`)",
        "Django",
        DJANGO_MIDDLEWARE + " only",
        "consumer_django:application",
        "span",
        ("opentelemetry.instrumentation.django", "django"),
        "tracing.md",
        wrong=(("legit", PROXY_IP), ("spoofed", PROXY_IP)),
    ),
    # Error reports: the event's user.ip_address.
    _s(
        "sentry-sdk (`FlaskIntegration`)",
        "Flask",
        OUTERMOST,
        "consumer_flask:application",
        "sentry",
        ("sentry_sdk", "flask"),
        "error-reports.md",
    ),
    _s(
        "sentry-sdk (`FlaskIntegration`)",
        "Flask",
        FLASK_INNER,
        "consumer_flask:inner",
        "sentry",
        ("sentry_sdk", "flask"),
        "error-reports.md",
        wrong=(("spoofed", f"{PROXY_IP} / {SPOOF}"), ("direct", f"{CLIENT_IP} / {SPOOF}")),
    ),
    _s(
        "sentry-sdk (`FastApiIntegration`)",
        "FastAPI",
        OUTERMOST,
        "consumer_fastapi:app",
        "sentry",
        ("sentry_sdk", "fastapi"),
        "error-reports.md",
    ),
    _s(
        "sentry-sdk (`FastApiIntegration`)",
        "FastAPI",
        "`app.add_middleware(RealIPMiddleware)`",
        "consumer_fastapi:inner",
        "sentry",
        ("sentry_sdk", "fastapi"),
        "error-reports.md",
    ),
    _s(
        "sentry-sdk (`DjangoIntegration`)",
        "Django",
        DJANGO_WRAPPED,
        "consumer_django:wrapped",
        "sentry",
        ("sentry_sdk", "django"),
        "error-reports.md",
    ),
    _s(
        "sentry-sdk (`DjangoIntegration`)",
        "Django (ASGI)",
        DJANGO_ASGI_WRAPPED,
        "consumer_django:asgi_wrapped",
        "sentry",
        ("sentry_sdk", "django"),
        "error-reports.md",
    ),
    _s(
        "sentry-sdk (`DjangoIntegration`)",
        "Django",
        DJANGO_MIDDLEWARE + " only",
        "consumer_django:application",
        "sentry",
        ("sentry_sdk", "django"),
        "error-reports.md",
        wrong=(("spoofed", f"{PROXY_IP} / {SPOOF}"), ("direct", f"{CLIENT_IP} / {SPOOF}")),
    ),
    # Log lines: the client_ip field of the request's line.
    _s(
        "structlog (`realip.log.current_client_ip`)",
        "FastAPI",
        OUTERMOST,
        "consumer_fastapi:app",
        "log:structlog",
        ("structlog", "fastapi"),
        "logging.md",
    ),
    _s(
        "loguru (`realip.log.current_client_ip`)",
        "FastAPI",
        OUTERMOST,
        "consumer_fastapi:app",
        "log:loguru",
        ("loguru", "fastapi"),
        "logging.md",
    ),
    _s(
        "structlog (`realip.log.current_client_ip`)",
        "Flask",
        OUTERMOST,
        "consumer_flask:application",
        "log:structlog",
        ("structlog", "flask"),
        "logging.md",
    ),
    _s(
        "loguru (`realip.log.current_client_ip`)",
        "Flask",
        OUTERMOST,
        "consumer_flask:application",
        "log:loguru",
        ("loguru", "flask"),
        "logging.md",
    ),
)


def scenario_id(s: Scenario) -> str:
    """A short, unique test id."""
    consumer = re.sub(r"\W+", "-", s.consumer.split(" (")[0]).strip("-").lower()
    detail = re.sub(r"\W+", "-", s.consumer + " " + s.wiring).strip("-").lower()
    return f"{consumer}|{s.framework}|{detail}"


def missing(names: Sequence[str]) -> List[str]:
    """The modules among ``names`` this interpreter can't import."""
    absent = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            absent.append(name)
    return absent


@dataclass
class Outcome:
    """What one scenario's consumer recorded for each request kind, or why it did not run."""

    scenario: Scenario
    observed: Dict[str, Optional[str]] = field(default_factory=dict)
    details: Dict[str, object] = field(default_factory=dict)
    skipped: Optional[str] = None
    error: Optional[str] = None
    log_text: str = ""


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((SERVER_IP, 0))
        return int(sock.getsockname()[1])


def request(port: int, path: str, kind: Optional[Kind]) -> Tuple[int, bytes]:
    """GET ``path`` from the kind's loopback source with its headers (a bare GET if None)."""
    source = kind.source if kind else CLIENT_IP
    conn = http.client.HTTPConnection(
        SERVER_IP, port, timeout=REQUEST_TIMEOUT, source_address=(source, 0)
    )
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", "consumers.test")
        for name, value in kind.headers if kind else ():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


_SERVERS = Processes(3.0)
_stop = _SERVERS.stop
stop_all = _SERVERS.stop_all


def _env(env: Tuple[Tuple[str, str], ...], out: Path) -> Dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REALIP_", "GUNICORN_", "UVICORN_", "OTEL_", "SENTRY_", "CONSUMER_"))
        and k not in ("FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY")
    }
    clean.update(
        REALIP_TRUSTED_PROXIES=TRUSTED,
        CONSUMER_OUT=str(out),
        # The semantic conventions' stable names (client.address) beside the old ones.
        OTEL_SEMCONV_STABILITY_OPT_IN="http/dup",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(APPS_DIR), clean.get("PYTHONPATH", "")) if p),
    )
    clean.update(env)
    return clean


def _lines(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    found = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                found.append(value)
    return found


def _address(text: object) -> Optional[str]:
    """The candidate address a value shows (a key, an attribute), or the value itself; several
    addresses (a key made of a whole header) are shown in their order, joined by commas."""
    if text is None:
        return None
    found = sorted(
        (match.start(), candidate)
        for candidate in CANDIDATES
        for match in re.finditer(rf"(?<![\d.]){re.escape(candidate)}(?![\d.])", str(text))
    )
    return ",".join(candidate for _, candidate in found) if found else str(text)


def _wait_for(path: Path, match: Callable[[Dict[str, Any]], bool]) -> Optional[Dict[str, Any]]:
    deadline = time.monotonic() + OBSERVE_TIMEOUT
    while True:
        for record in _lines(path):
            if match(record):
                return record
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def _span_of(path: str) -> Callable[[Dict[str, Any]], bool]:
    def match(record: Dict[str, Any]) -> bool:
        attributes = record.get("attributes") or {}
        return record.get("kind") == "SpanKind.SERVER" and path in (
            attributes.get("url.path"),
            attributes.get("http.target"),
        )

    return match


def observe(
    scenario: Scenario, kind: Kind, counters: Dict[str, int], grown: List[str], out: Path
) -> Tuple[Optional[str], object]:
    """What the consumer recorded for this request: (the address it shows, the evidence)."""
    how, _, channel = scenario.observe.partition(":")
    path = f"/hit/{kind.name}"
    if how == "ratelimit":
        keys = [key for key in grown if key.startswith(channel)]
        if len(keys) != 1:
            return f"{len(keys)} keys counted", keys
        return _address(keys[0][len(channel) :]), keys[0]
    if how == "span":
        span = _wait_for(out / "spans.jsonl", _span_of(path))
        if span is None:
            return "no span", None
        attributes = span["attributes"]
        return _address(attributes.get("client.address")), attributes
    if how == "sentry":
        event = _wait_for(out / "sentry.jsonl", lambda r: r.get("message") == kind.name)
        if event is None:
            return "no event", None
        # Sentry's WSGI integrations set user.ip_address; its ASGI ones only request.env's
        # REMOTE_ADDR, from which Sentry's server fills in the user's IP. Both must be right.
        user = event.get("user") or {}
        env = (event.get("request") or {}).get("env") or {}
        shown = {_address(v) for v in (user.get("ip_address"), env.get("REMOTE_ADDR")) if v}
        found = " / ".join(sorted(str(v) for v in shown)) if shown else None
        return found, {"user.ip_address": user.get("ip_address"), "request.env": env}
    line = _wait_for(out / f"{channel}.jsonl", lambda r: path in (r.get("event"), r.get("message")))
    if line is None:
        return "no log line", None
    return _address(line.get("client_ip")), line


def _group(scenarios: Sequence[Scenario]) -> Dict[Tuple[object, ...], List[Scenario]]:
    """Scenarios one server process can answer together: same server, target and setting."""
    groups: Dict[Tuple[object, ...], List[Scenario]] = {}
    for s in scenarios:
        groups.setdefault((s.server, s.target, s.env), []).append(s)
    return groups


def run_process(scenarios: Sequence[Scenario], work: Path) -> List[Outcome]:
    """Start one server for these scenarios, send every kind in order, read each consumer."""
    outcomes = [Outcome(s) for s in scenarios]
    first = scenarios[0]
    needs, command = SERVERS[first.server]
    for outcome in outcomes:
        absent = missing(outcome.scenario.requires + needs)
        if absent:
            outcome.skipped = f"not installed: {', '.join(absent)} (pip install '.[test]')"
    if all(o.skipped for o in outcomes):
        return outcomes
    slug = re.sub(r"\W+", "-", f"{first.server}-{first.target}-{first.env}").strip("-")
    for attempt in range(2):  # a port taken between choosing and binding it: one more try
        out = work / f"{slug}-{attempt}"
        out.mkdir(parents=True, exist_ok=True)
        log_path = out / "server.log"
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                command(first.target, SERVER_IP, port),
                cwd=str(APPS_DIR),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(first.env, out),
                start_new_session=True,
            )
        _SERVERS.add(proc)
        try:
            error = _ask(proc, port, out, [o for o in outcomes if not o.skipped])
        finally:
            _stop(proc)
        text = log_path.read_text(errors="replace")
        for outcome in outcomes:
            outcome.error, outcome.log_text = (None if outcome.skipped else error), text
        if error is None or attempt or "before it was ready" not in error:
            break
    return outcomes


def _ask(
    proc: subprocess.Popen[bytes], port: int, out: Path, outcomes: Sequence[Outcome]
) -> Optional[str]:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            return f"the server exited with code {proc.returncode} before it was ready"
        try:
            status, body = request(port, "/ready", None)
        except OSError:
            if time.monotonic() > deadline:
                return f"not ready after {READY_TIMEOUT:.0f}s"
            time.sleep(0.05)
            continue
        if status != 200:
            return f"/ready answered HTTP {status}: {body[:300]!r}"
        break
    counters: Dict[str, int] = {}
    for kind in KINDS:
        status, body = request(port, f"/hit/{kind.name}", kind)
        if status != 200:
            return f"/hit/{kind.name} answered HTTP {status}: {body[:300]!r}"
        now = {str(k): int(v) for k, v in json.loads(body).get("counts", {}).items()}
        grown = sorted(k for k, v in now.items() if v > counters.get(k, 0))
        counters = now
        for outcome in outcomes:
            seen, evidence = observe(outcome.scenario, kind, counters, grown, out)
            outcome.observed[kind.name] = seen
            outcome.details[kind.name] = evidence
    return None


def run_all(
    selection: Optional[Sequence[Scenario]] = None, work: Optional[Path] = None, workers: int = 4
) -> List[Outcome]:
    """Every scenario, one server process per group (a few at once), in the order given; every
    process is stopped before this returns."""
    chosen = list(SCENARIOS if selection is None else selection)
    folder = work if work is not None else Path(tempfile.mkdtemp(prefix="realip-consumers-"))
    groups = list(_group(chosen).values())
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = [
                o for batch in pool.map(lambda g: run_process(g, folder), groups) for o in batch
            ]
    finally:
        stop_all()
    by_scenario = {id(o.scenario): o for o in done}
    return [by_scenario[id(s)] for s in chosen]


# --- the compatibility page's rows -------------------------------------------------------------


def verdict(outcome: Outcome) -> str:
    """The cell: works, or which requests showed what."""
    if outcome.skipped:
        return "skipped"
    if outcome.error:
        return f"does not run: {outcome.error.splitlines()[0]}"
    wrong = [
        f"{kind.name} → {outcome.observed.get(kind.name)}"
        for kind in KINDS
        if outcome.observed.get(kind.name) != kind.expected
    ]
    return "works" if not wrong else "does not work: " + "; ".join(wrong)


def render(outcomes: Sequence[Outcome]) -> List[str]:
    """The consumers' section of docs/reference/compatibility.md."""
    lines = [
        "## Consumers of the client",
        "",
        "What rate limiters, tracing, error reports and log lines record as the client, each",
        "library run for real in the server process (tests/consumers), wired as the how-to",
        f"shows. Each is asked these requests, from `{PROXY_IP}` (the proxy) or `{CLIENT_IP}`",
        "(a direct client):",
        "",
        "| request | from | headers | the client is |",
        "| --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        headers = "; ".join(f"`{n}: {v}`" for n, v in kind.headers)
        lines.append(f"| {kind.name} | `{kind.source}` | {headers} | `{kind.expected}` |")
    lines += [
        "",
        "The consumer's own record is read: the rate limiter's counter key, the server span's",
        "`client.address` attribute, the Sentry event's `user.ip_address`, the log line's",
        "`client_ip`; for Sentry, `user.ip_address / request.env.REMOTE_ADDR` when the two",
        "differ. Rows marked *not recommended* show a wiring the how-to warns against.",
        "",
        "| consumer | framework | server | realip wired as | result | how-to |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        s = outcome.scenario
        wiring = s.wiring if s.recommended else f"{s.wiring} (*not recommended*)"
        lines.append(
            f"| {s.consumer} | {s.framework} | {s.server} | {wiring} | {verdict(outcome)} "
            f"| [{s.howto}](../how-to/{s.howto}) |"
        )
    return lines


# --- one server for a claim of the how-tos --------------------------------------------------


@contextlib.contextmanager
def serving(
    argv: Callable[[int], List[str]], log_path: Path, env: Sequence[Tuple[str, str]] = ()
) -> Iterator[int]:
    """A server process started with ``argv(port)``, its output in ``log_path``, ready to answer
    (it accepts connections); stopped on exit. Yields the port."""
    port = free_port()
    extra = dict(env)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv(port),
            cwd=str(APPS_DIR),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(tuple(extra.items()), log_path.parent),
            start_new_session=True,
        )
    _SERVERS.add(proc)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv(port)} exited: {log_path.read_text(errors='replace')}")
            try:
                socket.create_connection((SERVER_IP, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"not ready: {log_path.read_text(errors='replace')}"
                    ) from None
                time.sleep(0.05)
        yield port
    finally:
        _stop(proc)


def wait_until_listening(port: int, timeout: float = READY_TIMEOUT) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((SERVER_IP, port), timeout=1).close()
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def wait_for_text(path: Path, needle: str, timeout: float = OBSERVE_TIMEOUT) -> str:
    """The file's text once it contains ``needle`` (or when the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def line_with(text: str, needle: str) -> str:
    """The first line of ``text`` containing ``needle`` ('' if none)."""
    return next((line for line in text.splitlines() if needle in line), "")
