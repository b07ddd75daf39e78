"""Run every framework under every server it can run on, as real processes, and judge the answers.

One process per (framework, server) pair, started once and asked every request kind; the server
listens on 127.0.0.1 and the requests come from distinct loopback sources, so "who connected" is
real. realip in the apps trusts the stand-in proxy (127.0.0.2) and 10.0.0.0/8 (proxies further
in); the stand-in proxy sends the ``X-Forwarded-For`` chain a real one would have built.

For each pair three things are checked against the expected client of each request kind:
``app``: what realip gives the app; ``log``: the server's access log line; ``accessor``: the
framework's own client accessors. When the server's defaults fail a check and the server has a
setting known to matter (uvicorn's ``--no-proxy-headers``, waitress's
``clear_untrusted_proxy_headers``), the pair is run again with it, and the cell names the setting
if that makes it work. Each app also records ``X-Forwarded-For`` as the server handed it over,
before realip runs, so a server that merged a client's ``X_Forwarded_For`` into it is told apart
from a realip fault. Everything here is measured; nothing is assumed.

``PYTHONPATH=tests:tests/consumers python tests/compat/compat_harness.py`` writes
docs/reference/compatibility.md from a fresh run (as ``REALIP_REGEN=1 python -m pytest --suite
compat tests/compat`` does).
"""

from __future__ import annotations

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
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

# The consumers' rows come from tests/consumers' harness: on pytest's pythonpath, and on
# PYTHONPATH when this file runs as a script (see the module docstring), as tests/support is.
import consumers_harness
from support.processes import Processes

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "apps"
ROOT = HERE.parent.parent
PAGE = ROOT / "docs" / "reference" / "compatibility.md"

SERVER_IP = "127.0.0.1"  # every server listens here
PROXY_IP = "127.0.0.2"  # the stand-in reverse proxy: trusted by realip
CLIENT_IP = "127.0.0.3"  # a client connecting directly: trusted by nobody
LOCAL_IP = "127.0.0.1"  # a client on the same machine (curl localhost): uvicorn trusts it
INNER_PROXY = "10.1.2.3"  # a proxy further in, inside the trusted 10.0.0.0/8
REAL_CLIENT = "203.0.113.7"
SPOOF = "198.51.100.66"
TRUSTED = f"{PROXY_IP},10.0.0.0/8"
HOST_HEADER = "compat.test"  # never an address, so an access log's Host field can't look like one

READY_TIMEOUT = 30.0
REQUEST_TIMEOUT = 5.0
STOP_TIMEOUT = 3.0
# The longest wait for a server to write a request's access log line. Every server here writes
# them at once when not starved; on a loaded 2-core CI machine a worker can stall for seconds.
LOG_SETTLE = 10.0
# Server start-up is import-bound (CPU): a few at once keep 2 cores busy without starving them.
CONCURRENCY = max(2, min(6, 2 * (os.cpu_count() or 1)))
BUDGET = 90.0  # seconds for the whole matrix on a 2-core CI machine
LAST_RUN_SECONDS: Optional[float] = None  # set by the test session's run


@dataclass(frozen=True)
class Kind:
    """One request: where it comes from, the X-Forwarded-For it carries, who the client is."""

    name: str
    group: str  # legit / spoofed / junk: the table's three request families
    source: str
    xff: str
    expected: str
    what: str
    extra: Tuple[Tuple[str, str], ...] = ()  # more headers, sent after X-Forwarded-For


KINDS: Tuple[Kind, ...] = (
    Kind(
        "legit",
        "legit",
        PROXY_IP,
        f"{REAL_CLIENT}, {INNER_PROXY}",
        REAL_CLIENT,
        "the proxy forwards a real chain: client, then an inner trusted proxy",
    ),
    Kind(
        "spoofed",
        "spoofed",
        PROXY_IP,
        f"{SPOOF}, {REAL_CLIENT}, {INNER_PROXY}",
        REAL_CLIENT,
        "the client sent its own X-Forwarded-For; the proxies appended to it",
    ),
    Kind(
        "spoofed-direct",
        "spoofed",
        CLIENT_IP,
        SPOOF,
        CLIENT_IP,
        "a client connects directly, bypassing the proxy, with a forged header",
    ),
    Kind(
        "spoofed-localhost",
        "spoofed",
        LOCAL_IP,
        SPOOF,
        LOCAL_IP,
        "the same from 127.0.0.1 (the README's `curl -H 'X-Forwarded-For: ...' localhost`)",
    ),
    Kind(
        "spoofed-underscore",
        "spoofed",
        PROXY_IP,
        f"{REAL_CLIENT}, {INNER_PROXY}",
        REAL_CLIENT,
        "the client sent `X_Forwarded_For`, which a proxy passed on: a server that maps `_` to "
        "`-` merges it into the real header",
        extra=(("X_Forwarded_For", SPOOF),),
    ),
    Kind(
        "junk",
        "junk",
        PROXY_IP,
        f"unknown, {REAL_CLIENT}, {INNER_PROXY}",
        REAL_CLIENT,
        "the client sent a junk entry; the proxies appended to it",
    ),
    Kind(
        "junk-localhost",
        "junk",
        LOCAL_IP,
        "unknown",
        LOCAL_IP,
        "a junk entry sent from 127.0.0.1",
    ),
)
GROUPS = ("legit", "spoofed", "junk")
# What a log line may show, most specific first: the first one found is what the line "says".
_CANDIDATES = (REAL_CLIENT, SPOOF, INNER_PROXY, PROXY_IP, CLIENT_IP, LOCAL_IP, "unknown")


# --- the matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Framework:
    """A framework app under tests/compat/apps, and where its ASGI/WSGI/native apps live."""

    name: str
    module: str
    requires: Tuple[str, ...]
    asgi: Optional[str] = None  # attribute holding the ASGI app
    wsgi: Optional[str] = None  # attribute holding the WSGI app
    native: Optional[str] = None  # the name of the framework's own server, if the table runs it
    native_attr: str = "app"


@dataclass(frozen=True)
class Variant:
    """A server setting that changes what the app sees, tried when the defaults fail a check."""

    label: str  # how the table names it
    extra: Tuple[str, ...] = ()
    env: Tuple[Tuple[str, str], ...] = ()


Command = Callable[[str, int], List[str]]


@dataclass(frozen=True)
class Server:
    """A server and the command that starts it on (host, port) with a target ``module:attr``."""

    name: str
    interface: str  # "asgi", "wsgi" or the native name (matched against Framework.native)
    requires: Tuple[str, ...]
    command: Callable[[str, str, int], List[str]]
    variants: Tuple[Variant, ...] = ()
    access_log: Optional[str] = None  # None: the server writes access log lines as started here
    env: Tuple[Tuple[str, str], ...] = ()  # part of how this row starts the server
    shown: str = ""  # how the page names the start, when it is not a command line
    only: Tuple[str, ...] = ()  # run for these frameworks only (a setting, not a new server)


def _py(*args: str) -> List[str]:
    return [sys.executable, *args]


def _serve(server: str) -> Callable[[str, str, int], List[str]]:
    return lambda target, host, port: _py(
        str(APPS_DIR / "compat_serve.py"), server, target, host, str(port)
    )


def _gunicorn(*worker: str) -> Callable[[str, str, int], List[str]]:
    def command(target: str, host: str, port: int) -> List[str]:
        argv = _py("-m", "gunicorn", target, "--bind", f"{host}:{port}", "--workers", "1")
        argv += [*worker, "--access-logfile", "-", "--graceful-timeout", "1"]
        if _gunicorn_has("--no-control-socket"):
            # Newer gunicorn opens a control socket under ~/.gunicorn, shared by every instance.
            argv.append("--no-control-socket")
        return argv

    return command


def _gunicorn_has(flag: str) -> bool:
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return False
    return any(flag in (setting.cli or ()) for setting in KNOWN_SETTINGS)


FRAMEWORKS: Tuple[Framework, ...] = (
    Framework("FastAPI", "compat_fastapi", ("fastapi",), asgi="wrapped"),
    Framework("Starlette", "compat_starlette", ("starlette",), asgi="wrapped"),
    Framework("Litestar", "compat_litestar", ("litestar",), asgi="wrapped"),
    Framework("Quart", "compat_quart", ("quart",), asgi="wrapped"),
    Framework("Falcon (ASGI)", "compat_falcon", ("falcon",), asgi="asgi_app"),
    Framework("Django (ASGI)", "compat_django", ("django",), asgi="asgi_app"),
    Framework("Django (ASGI) + realip.asgi", "compat_django", ("django",), asgi="asgi_wrapped"),
    Framework("Sanic", "compat_sanic", ("sanic",), asgi="asgi_app", native="sanic"),
    Framework("aiohttp", "compat_aiohttp", ("aiohttp",), native="aiohttp", native_attr="make_app"),
    Framework("Flask", "compat_flask", ("flask",), wsgi="wrapped"),
    Framework("Bottle", "compat_bottle", ("bottle",), wsgi="app"),
    Framework("Pyramid", "compat_pyramid", ("pyramid",), wsgi="app"),
    Framework("Falcon (WSGI)", "compat_falcon", ("falcon",), wsgi="wsgi_app"),
    Framework("Django (WSGI)", "compat_django", ("django",), wsgi="wsgi_app"),
)

SERVERS: Tuple[Server, ...] = (
    Server(
        "uvicorn",
        "asgi",
        ("uvicorn",),
        lambda t, h, p: _py("-m", "uvicorn", t, "--host", h, "--port", str(p)),
        variants=(Variant("--no-proxy-headers", ("--no-proxy-headers",)),),
    ),
    Server(
        "uvicorn, FORWARDED_ALLOW_IPS=*",
        "asgi",
        ("uvicorn",),
        lambda t, h, p: _py("-m", "uvicorn", t, "--host", h, "--port", str(p)),
        variants=(Variant("--no-proxy-headers", ("--no-proxy-headers",)),),
        env=(("FORWARDED_ALLOW_IPS", "*"),),
        only=("FastAPI",),  # the server's setting decides; one framework shows it
    ),
    Server(
        "hypercorn",
        "asgi",
        ("hypercorn",),
        lambda t, h, p: _py("-m", "hypercorn", t, "--bind", f"{h}:{p}", "--access-logfile", "-"),
    ),
    Server(
        "granian",
        "asgi",
        ("granian",),
        lambda t, h, p: _py(
            "-m", "granian", "--interface", "asgi", "--host", h, "--port", str(p), "--access-log", t
        ),
    ),
    Server(
        "daphne",
        "asgi",
        ("daphne",),
        lambda t, h, p: _py("-m", "daphne", "--bind", h, "--port", str(p), "--access-log", "-", t),
    ),
    Server(
        "gunicorn + UvicornWorker",
        "asgi",
        ("gunicorn", "uvicorn"),
        _gunicorn("--worker-class", "uvicorn.workers.UvicornWorker"),
        variants=(Variant("--forwarded-allow-ips=''", ("--forwarded-allow-ips", "")),),
    ),
    Server("gunicorn (sync)", "wsgi", ("gunicorn",), _gunicorn()),
    Server(
        "waitress",
        "wsgi",
        ("waitress",),
        _serve("waitress"),
        shown="waitress.serve(app, host='127.0.0.1', port=8000, threads=4)",
        variants=(
            Variant("clear_untrusted_proxy_headers=False", ("--clear-untrusted-proxy-headers=no",)),
        ),
        access_log="waitress writes no access log",
    ),
    Server(
        "uWSGI",
        "wsgi",
        # The uwsgi package installs the server binary beside the interpreter and this module
        # (``import uwsgi`` works only inside the server).
        ("uwsgidecorators",),
        lambda t, h, p: [
            str(Path(sys.executable).with_name("uwsgi")),
            "--http-socket",
            f"{h}:{p}",
            "--module",
            t,
            "--home",
            sys.prefix,
            "--pythonpath",
            str(APPS_DIR),
            "--master",
            "--processes",
            "1",
            "--threads",
            "4",
            "--die-on-term",
        ],
        shown=(
            "uwsgi --http-socket 127.0.0.1:8000 --module MODULE:APP --master --processes 1 "
            "--threads 4 --die-on-term (and --home, --pythonpath: the venv and the apps)"
        ),
    ),
    Server(
        "Werkzeug dev server",
        "wsgi",
        ("werkzeug",),
        _serve("werkzeug"),
        shown="werkzeug.serving.run_simple('127.0.0.1', 8000, app, threaded=True)",
    ),
    Server(
        "hypercorn (WSGI)",
        "wsgi",
        ("hypercorn",),
        lambda t, h, p: _py(
            "-m", "hypercorn", f"wsgi:{t}", "--bind", f"{h}:{p}", "--access-logfile", "-"
        ),
    ),
    Server(
        "granian (WSGI)",
        "wsgi",
        ("granian",),
        lambda t, h, p: _py(
            "-m", "granian", "--interface", "wsgi", "--host", h, "--port", str(p), "--access-log", t
        ),
    ),
    Server(
        "Sanic's server",
        "sanic",
        ("sanic",),
        lambda t, h, p: _py(
            "-m",
            "sanic",
            t,
            "--host",
            h,
            "--port",
            str(p),
            "--single-process",
            "--access-logs",
            "--no-motd",
        ),
    ),
    Server(
        "aiohttp's server",
        "aiohttp",
        ("aiohttp",),
        lambda t, h, p: _py("-m", "aiohttp.web", "-H", h, "-P", str(p), t),
    ),
)


def pairs() -> List[Tuple[Framework, Server]]:
    """Every valid (framework, server) pair, in table order."""
    found = []
    for fw in FRAMEWORKS:
        for srv in SERVERS:
            if srv.only and fw.name not in srv.only:
                continue
            if (
                (srv.interface == "asgi" and fw.asgi)
                or (srv.interface == "wsgi" and fw.wsgi)
                or (fw.native is not None and srv.interface == fw.native)
            ):
                found.append((fw, srv))
    return found


def target(fw: Framework, srv: Server) -> str:
    """``module:attr`` for this pair's server."""
    if srv.interface == "asgi":
        attr = fw.asgi
    elif srv.interface == "wsgi":
        attr = fw.wsgi
    else:
        attr = fw.native_attr
    return f"{fw.module}:{attr}"


def missing(names: Sequence[str]) -> List[str]:
    """The distributions among ``names`` that this interpreter cannot import."""
    return [name for name in names if importlib.util.find_spec(name) is None]


# --- running one pair --------------------------------------------------------------------------


@dataclass
class Observation:
    """What one request kind got back: realip's answer, the accessors', the log line's address."""

    app: Optional[str]
    accessors: Dict[str, Optional[str]]
    notes: List[str]
    raw: Optional[str] = None  # X-Forwarded-For as the server handed it over, before realip
    log: Optional[str] = None  # the address the access log line shows; "-" when no line


@dataclass
class Run:
    """One server process, started with one setting, asked every kind."""

    setting: Optional[str]  # None: the server's defaults
    observations: Dict[str, Observation] = field(default_factory=dict)
    error: Optional[str] = None
    log_text: str = ""


@dataclass
class PairResult:
    """Every run of one pair, or why it was skipped."""

    framework: Framework
    server: Server
    runs: List[Run] = field(default_factory=list)
    skipped: Optional[str] = None
    seconds: float = 0.0


def free_port(host: str) -> int:
    """A port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def request(
    port: int,
    path: str,
    source: str,
    xff: Optional[str],
    timeout: float = REQUEST_TIMEOUT,
    extra: Sequence[Tuple[str, str]] = (),
) -> Tuple[int, bytes]:
    """GET ``path`` from the loopback address ``source``, with ``X-Forwarded-For: xff``."""
    conn = http.client.HTTPConnection(SERVER_IP, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", HOST_HEADER)
        if xff is not None:
            conn.putheader("X-Forwarded-For", xff)
        for name, value in extra:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def server_env(extra: Sequence[Tuple[str, str]] = ()) -> Dict[str, str]:
    """The apps' environment: realip trusts the stand-in proxy; no server proxy setting leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REALIP_", "GUNICORN_", "GRANIAN_", "UVICORN_", "SANIC_"))
        and k not in ("FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY")
    }
    env["REALIP_TRUSTED_PROXIES"] = TRUSTED
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APPS_DIR), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


_SERVERS = Processes(STOP_TIMEOUT)
_stop = _SERVERS.stop
stop_all = _SERVERS.stop_all


def _log_address(text: str, kind: str) -> Optional[str]:
    # "/ip/junk" must not match "/ip/junk-localhost".
    marker = re.compile(rf"/ip/{re.escape(kind)}(?![\w-])")
    for line in text.splitlines():
        if marker.search(line):
            for candidate in _CANDIDATES:
                if re.search(rf"(?<![\w.]){re.escape(candidate)}(?![\w.])", line):
                    return candidate
            return "?"
    return None


def run_once(fw: Framework, srv: Server, variant: Optional[Variant], log_dir: Path) -> Run:
    """Start the server once, ask every kind, stop it, and read its access log."""
    run = Run(setting=variant.label if variant else None)
    port = free_port(SERVER_IP)
    argv = srv.command(target(fw, srv), SERVER_IP, port)
    if variant is not None:
        argv += list(variant.extra)
    # Two runs can be handed the same free port; a server that then fails to bind (gunicorn
    # retries for seconds) leaves the other one answering. The token tells them apart.
    token = uuid.uuid4().hex
    env = server_env(srv.env + (variant.env if variant else ()) + (("COMPAT_RUN", token),))
    slug = re.sub(r"\W+", "-", f"{fw.name}-{srv.name}-{run.setting or 'default'}").strip("-")
    log_path = log_dir / f"{slug}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=str(APPS_DIR),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own group, so teardown reaches forked workers
        )
    _SERVERS.add(proc)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                run.error = f"exited with code {proc.returncode} before it was ready"
                break
            try:
                status, _ = request(port, "/ready", CLIENT_IP, None, timeout=2.0)
            except OSError:
                pass
            else:
                if status != 200:
                    # The server runs but the app fails: that is the finding, not a slow start.
                    run.error = f"the app answered `/ready` with HTTP {status}"
                break
            if time.monotonic() > deadline:
                run.error = f"not ready after {READY_TIMEOUT:.0f}s"
                break
            time.sleep(0.05)
        if run.error is None:
            for kind in KINDS:
                try:
                    status, payload = request(
                        port, f"/ip/{kind.name}", kind.source, kind.xff, extra=kind.extra
                    )
                except OSError as exc:
                    run.error = f"{kind.name}: {type(exc).__name__}: {exc}"
                    break
                if status != 200:
                    run.error = f"{kind.name}: HTTP {status}: {payload[:200]!r}"
                    break
                data = json.loads(payload)
                if data.get("run") != token:
                    run.error = f"port {port}: another server answered (the port was taken)"
                    break
                run.observations[kind.name] = Observation(
                    app=data["app"],
                    accessors=data["accessors"],
                    notes=data["notes"],
                    raw=data.get("raw"),
                )
        if run.error is None and srv.access_log is None:
            # Some servers (hypercorn) write the line after the response: give the last one a
            # moment, or stopping the server loses it.
            settle = time.monotonic() + LOG_SETTLE
            while time.monotonic() < settle and any(
                _log_address(log_path.read_text(errors="replace"), kind.name) is None
                for kind in KINDS
            ):
                time.sleep(0.05)
    finally:
        _stop(proc)
    run.log_text = log_path.read_text(errors="replace")
    if run.error is None:
        for kind in KINDS:
            run.observations[kind.name].log = _log_address(run.log_text, kind.name) or "-"
    else:
        run.error += f"\ncommand: {' '.join(argv)}\n--- log ---\n{run.log_text[-3000:]}"
    return run


def run_retrying(fw: Framework, srv: Server, variant: Optional[Variant], log_dir: Path) -> Run:
    """``run_once``, tried again when the server itself did not come up."""
    run = run_once(fw, srv, variant, log_dir)
    if run.error is not None and not run.error.startswith("the app answered"):
        # A slow start under load, or a port taken between choosing and binding it, is not a
        # finding: one more try (on a new port) before reporting it.
        run = run_once(fw, srv, variant, log_dir)
    return run


def run_pair(fw: Framework, srv: Server, log_dir: Path) -> PairResult:
    """Run a pair with the server's defaults, then with each setting while a check fails."""
    result = PairResult(fw, srv)
    absent = missing(sorted(set(fw.requires + srv.requires)))
    if absent:
        result.skipped = (
            f"not installed in this Python {sys.version_info[0]}.{sys.version_info[1]}: "
            f"{', '.join(absent)} (pip install '.[test]')"
        )
        return result
    started = time.monotonic()
    default = run_retrying(fw, srv, None, log_dir)
    result.runs.append(default)
    if default.error is None:
        for variant in srv.variants:
            if any(not cell_ok(default, column, srv) for column in COLUMNS):
                result.runs.append(run_retrying(fw, srv, variant, log_dir))
    result.seconds = time.monotonic() - started
    return result


def run_matrix(
    selection: Optional[Sequence[Tuple[Framework, Server]]] = None,
    log_dir: Optional[Path] = None,
    workers: int = CONCURRENCY,
) -> List[PairResult]:
    """Run every pair (bounded concurrency); every process is stopped before this returns."""
    chosen = list(selection) if selection is not None else pairs()
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix="realip-compat-"))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda pair: run_pair(pair[0], pair[1], log_dir), chosen))
    finally:
        stop_all()


# --- judging -----------------------------------------------------------------------------------

COLUMNS = ("app", "log", "accessor")


def _values(obs: Observation, column: str) -> Dict[str, Optional[str]]:
    if column == "app":
        return {"": obs.app}
    if column == "log":
        return {"": obs.log}
    return dict(obs.accessors)


def failures(run: Run, column: str) -> List[Tuple[str, Kind, Optional[str]]]:
    """(accessor, kind, what it showed) for every check of ``column`` that missed the client."""
    found = []
    for kind in KINDS:
        obs = run.observations[kind.name]
        for name, value in _values(obs, column).items():
            if value != kind.expected:
                found.append((name, kind, value))
    return found


def server_merged(kind: Kind, obs: Observation) -> bool:
    """Whether the server put the client's underscore header into X-Forwarded-For itself."""
    return bool(kind.extra) and SPOOF in (obs.raw or "") and SPOOF not in kind.xff


def merging_servers(results: Sequence[PairResult]) -> Set[str]:
    """The servers that handed an app the client's ``X_Forwarded_For`` as X-Forwarded-For."""
    found: Set[str] = set()
    for result in results:
        for run in result.runs:
            if run.error is None and any(
                server_merged(kind, run.observations[kind.name]) for kind in KINDS
            ):
                found.add(result.server.name)
    return found


def warned(run: Run) -> bool:
    """Whether realip warned (a RealIPWarning) in the server's output during this run."""
    return "RealIPWarning" in run.log_text


def cell_ok(run: Run, column: str, srv: Server) -> bool:
    """Whether every kind passed ``column`` in this run (a server with no access log passes)."""
    if column == "log" and srv.access_log is not None:
        return True
    return not failures(run, column)


_ROLES = {PROXY_IP: "the proxy", SPOOF: "forged", "unknown": "junk", INNER_PROXY: "inner proxy"}


def _shown(value: Optional[str]) -> str:
    if value is None:
        return "none"
    if value == "-":
        return "no log line"
    role = _ROLES.get(value)
    return f"{value} ({role})" if role else value


def describe(run: Run, column: str, merge: bool = False) -> str:
    """What went wrong in a column, short: per accessor and wrong value, the request kinds.

    ``merge``: when every accessor missed alike, say it once without naming them.
    """
    misses = failures(run, column)
    grouped: Dict[str, Dict[Optional[str], List[str]]] = {}
    for name, kind, value in misses:
        grouped.setdefault(name, {}).setdefault(value, []).append(kind.name)
    if merge and len({repr(v) for v in grouped.values()}) == 1:
        grouped = {"": next(iter(grouped.values()))}
    parts = []
    for name, by_value in grouped.items():
        shown = []
        for value, kinds in by_value.items():
            which = "every request" if len(kinds) == len(KINDS) else ", ".join(kinds)
            shown.append(f"{which} → {_shown(value)}")
        parts.append((f"`{name}`: " if name else "") + "; ".join(shown))
    text = " / ".join(parts)
    errors = sorted(
        {
            note.split(" raised ")[1]
            for obs in run.observations.values()
            for note in obs.notes
            if " raised " in note
        }
    )
    if column != "log" and errors and any(value == "error" for _, _, value in misses):
        text += f" ({', '.join(errors)})"
    return text


def verdict(result: PairResult, column: str) -> str:
    """The table cell for one column of one pair."""
    if result.skipped:
        return "skipped"
    default = result.runs[0]
    if default.error is not None:
        return f"does not run: {default.error.splitlines()[0]}"
    srv = result.server
    if column == "log" and srv.access_log is not None:
        return f"n/a ({srv.access_log})"
    if column == "app" and any(
        "realip.aiohttp is missing" in obs.notes for obs in default.observations.values()
    ):
        return "not yet supported (no `realip.aiohttp`)"
    if cell_ok(default, column, srv):
        return "works"
    for run in result.runs[1:]:
        if run.error is None and cell_ok(run, column, srv):
            return f"works with `{run.setting}`"
    return f"does not work: {describe(default, column)}"


# --- the page ----------------------------------------------------------------------------------

VERSIONS = (
    "fastapi", "starlette", "litestar", "quart", "falcon", "django", "sanic", "aiohttp", "flask",
    "bottle", "pyramid", "uvicorn", "hypercorn", "granian", "daphne", "gunicorn", "waitress",
    "werkzeug", "uwsgi", "slowapi", "flask-limiter", "django-ratelimit", "djangorestframework",
    "opentelemetry-sdk", "opentelemetry-instrumentation", "sentry-sdk", "structlog", "loguru",
)  # fmt: skip
VERSIONS_START = "<!-- versions: not compared by the test -->"
VERSIONS_END = "<!-- end of versions -->"


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def consumer_outcomes(log_dir: Optional[Path] = None) -> List[consumers_harness.Outcome]:
    """Every consumer scenario of tests/consumers, run as real processes."""
    return consumers_harness.run_all(work=log_dir)


def python_minor() -> str:
    """The interpreter the page was generated with, as ``3.N``."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def render(
    results: Sequence[PairResult], consumers: Optional[Sequence[consumers_harness.Outcome]] = None
) -> str:
    """The whole docs page, from the results of a run (and of tests/consumers' scenarios)."""
    lines = [
        "# Compatibility table",
        "",
        "<!-- Generated by tests/compat/compat_harness.py from a real run; do not edit by hand.",
        "     Regenerate: REALIP_REGEN=1 python -m pytest --suite compat tests/compat -->",
        "",
        "Which frameworks and servers show the client that realip resolved — to the app, in the",
        "server's access log, and through the framework's own accessor. Every cell comes from a",
        f"real run: each server is started as a process listening on 127.0.0.1 and asked {len(KINDS)}",
        "requests from distinct loopback addresses. realip is configured with",
        f"`REALIP_TRUSTED_PROXIES={TRUSTED}`; `{PROXY_IP}` stands in for the reverse proxy.",
        "",
        "| request | from | `X-Forwarded-For` | the client is |",
        "| --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        more = "".join(f" and `{name}: {value}`" for name, value in kind.extra)
        lines.append(f"| {kind.name} | `{kind.source}` | `{kind.xff}`{more} | `{kind.expected}` |")
    lines += [
        "",
        "A cell says **works** when every request showed the expected client, **works with**",
        "a setting when the server's defaults failed and that setting fixed it, and otherwise",
        "**does not work**, followed by the requests that showed something else and what they",
        "showed (`none`: realip found no client and failed closed; `no log line`: the server",
        "logged nothing for the request). Servers run with their defaults plus the flag that",
        "turns their access log on; the commands are listed below the table, and what the",
        "defaults did where a setting was needed is listed after the accessors. How each",
        "framework is set up is in the [how-to guides](../how-to/index.md).",
        "",
        f"Generated with Python {python_minor()}.",
        "",
        "| framework | server | app (realip) | access log | framework accessor |",
        "| --- | --- | --- | --- | --- |",
    ]
    skipped = []
    for result in results:
        cells = [verdict(result, column) for column in COLUMNS]
        lines.append(f"| {result.framework.name} | {result.server.name} | {' | '.join(cells)} |")
        if result.skipped:
            skipped.append(
                f"- {result.framework.name} under {result.server.name}: {result.skipped}"
            )
    lines += ["", "## Accessors checked", ""]
    lines += ["| framework | realip's answer read as | accessors |", "| --- | --- | --- |"]
    seen = set()
    for result in results:
        fw = result.framework
        if fw.name in seen or result.skipped or not result.runs or result.runs[0].error:
            continue
        seen.add(fw.name)
        obs = result.runs[0].observations[KINDS[0].name]
        app_read = (
            "`request.client_ip`"
            if fw.module == "compat_django"
            else ("`realip.get_client_ip(request)`")
        )
        accessors = ", ".join(f"`{name}`" for name in obs.accessors)
        lines.append(f"| {fw.name} | {app_read} | {accessors} |")
    lines += [
        "",
        "## What the defaults do where a setting is needed",
        "",
        "Under each server that needed a setting, what its defaults did (frameworks that",
        "behaved alike are listed together):",
        "",
    ]
    by_server: Dict[str, Dict[Tuple[str, ...], List[str]]] = {}
    for result in results:
        srv = result.server
        if not srv.variants or result.skipped or len(result.runs) < 2:
            continue
        default = result.runs[0]
        if default.error is not None:
            continue
        texts = []
        for column, title in zip(COLUMNS, ("app", "access log", "accessors")):
            if column == "log" and srv.access_log is not None:
                text = "n/a"
            elif cell_ok(default, column, srv):
                text = "works"
            else:
                text = describe(default, column, merge=True)
            texts.append(f"{title}: {text}")
        texts.append(f"realip's warning in the server's log: {'yes' if warned(default) else 'no'}")
        by_server.setdefault(srv.name, {}).setdefault(tuple(texts), []).append(
            result.framework.name
        )
    for server_name, behaviours in by_server.items():
        lines.append(f"- {server_name}:")
        for behaviour, frameworks in behaviours.items():
            lines.append(f"    - {', '.join(frameworks)}:")
            lines.extend(f"        - {text}" for text in behaviour)
    merging = merging_servers(results)
    if merging:
        merged_by = ", ".join(sorted(merging))
        lines += [
            "",
            "## Servers that merge `X_Forwarded_For` into `X-Forwarded-For`",
            "",
            f"Measured in this run: {merged_by}. These WSGI servers put a client's `X_Forwarded_For`",
            "header into `HTTP_X_FORWARDED_FOR` (joined to the proxy's value, or in its place),",
            "so the environ a WSGI app gets ends with an entry the client chose, and no",
            "middleware can tell it apart (the `spoofed-underscore` request above). Under these",
            "servers, make the proxy in front drop or reject header names that contain",
            "underscores: nginx ignores them by default (`underscores_in_headers off`); Envoy has",
            "`headers_with_underscores_action`; with HAProxy, delete the header",
            "(`http-request del-header X_Forwarded_For`). ASGI servers keep the two names apart,",
            "and realip reads only `x-forwarded-for` from the scope.",
        ]
    if consumers is not None:
        lines += ["", *consumers_harness.render(consumers)]
    lines += ["", "## Server commands", ""]
    for srv in SERVERS:
        argv = srv.command("MODULE:APP", SERVER_IP, 8000)
        shown = " ".join(["python", *argv[1:]]).replace(str(APPS_DIR) + os.sep, "")
        env = "".join(f"{name}={value} " for name, value in srv.env)
        lines.append(f"- {srv.name}: `{srv.shown or env + shown}`")
        for variant in srv.variants:
            lines.append(f"    - then, if a check fails: `{variant.label}`")
    if skipped:
        lines += ["", "## Skipped in this run", "", *skipped]
    lines += ["", VERSIONS_START, "", "Versions in the generating run:", ""]
    lines.append(", ".join(f"{dist} {_version(dist)}" for dist in VERSIONS) + ".")
    lines += ["", VERSIONS_END, ""]
    return "\n".join(lines)


def comparable(page: str) -> str:
    """The page without its versions block: a new release alone must not fail the test."""
    start, end = page.find(VERSIONS_START), page.find(VERSIONS_END)
    if start == -1 or end == -1:
        return page
    return page[:start] + page[end + len(VERSIONS_END) :]


def page_python(page: str) -> Optional[str]:
    """The Python version a committed page says it was generated with."""
    match = re.search(r"^Generated with Python (\d+\.\d+)\.$", page, re.MULTILINE)
    return match.group(1) if match else None


if __name__ == "__main__":
    began = time.monotonic()
    matrix = run_matrix()
    PAGE.write_text(render(matrix, consumer_outcomes()))
    for item in matrix:
        for r in item.runs:
            if r.error:
                print(f"{item.framework.name} / {item.server.name}: {r.error}", file=sys.stderr)
    print(f"wrote {PAGE} from {len(matrix)} pairs in {time.monotonic() - began:.1f}s")
