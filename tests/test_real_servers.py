"""The real client everywhere the stack looks (issue 12), with real servers on loopback.

Each server runs as its own process on APP_IP; requests come from distinct loopback sources:

    PROXY 127.0.0.3   the only trusted proxy (it sends the X-Forwarded-For a proxy would)
    CLIENT 127.0.0.5  an untrusted client that forges headers
    LOCAL 127.0.0.1   a client on the server's own host: what uvicorn trusts by default

For every server the test checks the app's answer, the server's access log line (found by a
unique tag in the request path) and, for Bottle, Pyramid and Falcon, the framework's accessor:
with a legitimate chain, a spoofed one and a junk entry.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from e2e_harness import APP_IP, Service, free_ports, http_probe, request_json

APPS_DIR = Path(__file__).parent / "apps"
SRC_DIR = Path(__file__).resolve().parents[1] / "src"
PROXY = "127.0.0.3"
CLIENT = "127.0.0.5"
LOCAL = "127.0.0.1"
REAL = "203.0.113.9"  # the user behind the proxy
FORGED = "6.6.6.6"


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REALIP_") and k != "FORWARDED_ALLOW_IPS"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(APPS_DIR), str(SRC_DIR), env.get("PYTHONPATH", "")) if p
    )
    env["REALIP_E2E_TRUSTED"] = PROXY
    env.update(extra)
    return env


def _gunicorn(target: str, port: int, *extra: str) -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        target,
        "--bind",
        f"{APP_IP}:{port}",
        "--workers",
        "1",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "2",
        *extra,
    ]
    if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
        argv.append("--no-control-socket")  # newer gunicorn shares one under ~/.gunicorn
    return argv


def _uvicorn(port: int, *extra: str) -> list[str]:
    # As users type it: only host and port (plus what the test names).
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "stack_fastapi_app:app",
        "--host",
        APP_IP,
        "--port",
        str(port),
        "--timeout-graceful-shutdown",
        "2",
        *extra,
    ]


@dataclass
class Server:
    """One running server: where it listens and its log."""

    name: str
    port: int
    service: Service

    def get(self, path: str, source: str, xff: Optional[str] = None) -> tuple[Any, str]:
        """GET path?tag=... from ``source``; returns the JSON body and the tag."""
        tag = uuid.uuid4().hex[:12]
        headers = [("X-Forwarded-For", xff)] if xff is not None else []
        sep = "&" if "?" in path else "?"
        status, body = request_json(
            APP_IP, self.port, f"{path}{sep}tag={tag}", source=source, headers=headers
        )
        assert status == 200, body
        return body, tag

    def log_line(self, tag: str, timeout: float = 8.0) -> str:
        """The first line of the server's output that mentions ``tag`` (access logs are async)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.service.log_path.read_text(errors="replace")
            lines = [line for line in text.splitlines() if tag in line]
            access = [line for line in lines if "GET" in line]
            if access:
                return access[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {tag} in {self.name}:\n{text[-3000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.service.log_path.read_text(errors="replace")


def _specs(port: dict[str, int]) -> dict[str, tuple[list[str], dict[str, str]]]:
    wsgi_env = _env(REALIP_TRUSTED_PROXIES=PROXY)
    specs: dict[str, tuple[list[str], dict[str, str]]] = {
        "uvicorn-default": (_uvicorn(port["uvicorn-default"]), _env()),
        "uvicorn": (_uvicorn(port["uvicorn"], "--no-proxy-headers"), _env()),
        "gunicorn-uvicornworker-default": (
            _gunicorn(
                "stack_fastapi_app:app",
                port["gunicorn-uvicornworker-default"],
                "-k",
                "uvicorn.workers.UvicornWorker",
            ),
            _env(),
        ),
        "gunicorn-uvicornworker": (
            _gunicorn(
                "stack_fastapi_app:app",
                port["gunicorn-uvicornworker"],
                "-k",
                "uvicorn.workers.UvicornWorker",
                "--forwarded-allow-ips",
                "",
            ),
            _env(),
        ),
        "gunicorn-sync": (_gunicorn("stack_wsgi_apps:app", port["gunicorn-sync"]), wsgi_env),
        "aiohttp": (
            [
                sys.executable,
                str(APPS_DIR / "stack_aiohttp_app.py"),
                APP_IP,
                str(port["aiohttp"]),
                PROXY,
            ],
            _env(),
        ),
    }
    try:
        import waitress  # noqa: F401

        for name, extra in (
            ("waitress-default", []),
            ("waitress", ["--no-clear-untrusted-proxy-headers"]),
        ):
            specs[name] = (
                [
                    sys.executable,
                    "-m",
                    "waitress",
                    f"--listen={APP_IP}:{port[name]}",
                    *extra,
                    "stack_wsgi_apps:app",
                ],
                wsgi_env,
            )
    except ImportError:
        pass
    try:
        import hypercorn  # noqa: F401

        specs["hypercorn"] = (
            [
                sys.executable,
                "-m",
                "hypercorn",
                "stack_fastapi_app:app",
                "--bind",
                f"{APP_IP}:{port['hypercorn']}",
                "--access-logfile",
                "-",
                # The default line plus the query string, where the test's tag is.
                "--access-logformat",
                '%(h)s %(l)s %(l)s %(t)s "%(r)s" %(s)s %(q)s',
                "--graceful-timeout",
                "2",
            ],
            _env(),
        )
    except ImportError:
        pass
    try:
        import granian  # noqa: F401

        specs["granian"] = (
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--host",
                APP_IP,
                "--port",
                str(port["granian"]),
                "--access-log",
                # The default line's address, plus the query string, where the test's tag is.
                "--access-log-fmt",
                '%(addr)s - "%(method)s %(path)s?%(query_string)s %(protocol)s" %(status)d',
                "stack_fastapi_app:app",
            ],
            _env(),
        )
    except ImportError:
        pass
    try:
        import daphne  # noqa: F401

        specs["daphne"] = (
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                APP_IP,
                "-p",
                str(port["daphne"]),
                "--access-log",
                "-",
                "stack_fastapi_app:app",
            ],
            _env(),
        )
    except ImportError:
        pass
    try:
        import sanic  # noqa: F401

        specs["sanic"] = (
            [sys.executable, str(APPS_DIR / "stack_sanic_app.py"), APP_IP, str(port["sanic"])],
            _env(),
        )
    except ImportError:
        pass
    return specs


NAMES = (
    "uvicorn-default",
    "uvicorn",
    "gunicorn-uvicornworker-default",
    "gunicorn-uvicornworker",
    "gunicorn-sync",
    "aiohttp",
    "hypercorn",
    "sanic",
    "waitress-default",
    "waitress",
    "granian",
    "daphne",
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Every server of this module, started at once (their imports overlap) and stopped after."""
    log_dir = tmp_path_factory.mktemp("stack")
    port = dict(zip(NAMES, free_ports(APP_IP, len(NAMES))))
    running: dict[str, Server] = {}
    try:
        for name, (argv, env) in _specs(port).items():
            service = Service(name, argv, log_dir=log_dir, env=env).start()
            running[name] = Server(name, port[name], service)
        for server in running.values():
            server.service.wait_ready(http_probe(APP_IP, server.port, "/ready"))
        yield running
    finally:
        for server in running.values():
            server.service.stop()


def _server(servers: dict[str, Server], name: str) -> Server:
    if name not in servers:
        pytest.skip(f"{name.split('-')[0]} is not installed: pip install {name.split('-')[0]}")
    return servers[name]


# -- servers that rewrite the peer first: warn and fail closed ------------------------------


@pytest.mark.parametrize("name", ["uvicorn-default", "gunicorn-uvicornworker-default"])
@pytest.mark.parametrize("forged", [FORGED, f"{FORGED}:1234", "unknown"])
def test_default_flags_are_not_spoofable_from_localhost(
    servers: dict[str, Server], name: str, forged: str
) -> None:
    """README's example under the server's default flags: the forged peer is refused, loudly."""
    server = _server(servers, name)
    body, _ = server.get("/ip", LOCAL, forged)
    assert body["client_ip"] is None
    assert "rewrote the peer" in body["reason"]
    assert body["xff"] is None  # nothing verified: the header is gone
    output = server.output()
    assert "RealIPWarning" in output and "--no-proxy-headers" in output
    assert output.count("RealIPWarning") == 1  # once per process, not per request


@pytest.mark.parametrize("name", ["uvicorn-default", "gunicorn-uvicornworker-default"])
def test_default_flags_still_answer_clients_the_server_does_not_trust(
    servers: dict[str, Server], name: str
) -> None:
    server = _server(servers, name)
    body, _ = server.get("/ip", CLIENT, FORGED)
    assert body["client_ip"] == CLIENT
    body, _ = server.get("/ip", PROXY, REAL)
    assert body["client_ip"] == REAL


# -- ASGI servers with their proxy handling off: app, access log, logging filter ------------

ASGI_SAFE = ["uvicorn", "gunicorn-uvicornworker", "hypercorn", "granian"]


@pytest.mark.parametrize("name", ASGI_SAFE)
def test_asgi_legitimate_chain_reaches_app_access_log_and_log_filter(
    servers: dict[str, Server], name: str
) -> None:
    server = _server(servers, name)
    body, tag = server.get("/ip", PROXY, f"{FORGED}, {REAL}")
    assert (body["client"], body["client_ip"]) == (REAL, REAL)
    assert body["xff"] == REAL  # the client's prefix is dropped
    line = server.log_line(tag)
    assert REAL in line and PROXY not in line, line
    assert f"APPLOG client={REAL} handled {tag}" in server.output()


@pytest.mark.parametrize("name", ASGI_SAFE)
@pytest.mark.parametrize("source", [CLIENT, LOCAL])
def test_asgi_spoofed_header_is_ignored_everywhere(
    servers: dict[str, Server], name: str, source: str
) -> None:
    server = _server(servers, name)
    body, tag = server.get("/ip", source, FORGED)
    assert (body["client"], body["client_ip"], body["xff"]) == (source, source, None)
    line = server.log_line(tag)
    assert source in line and FORGED not in line, line


@pytest.mark.parametrize("name", ASGI_SAFE)
def test_asgi_junk_entry_fails_closed_and_logs_the_proxy(
    servers: dict[str, Server], name: str
) -> None:
    server = _server(servers, name)
    body, tag = server.get("/ip", PROXY, "unknown")
    assert body["client_ip"] is None and body["client"] == PROXY and body["xff"] is None
    assert "fail closed" in body["reason"]
    line = server.log_line(tag)
    assert PROXY in line and "unknown" not in line.split('"')[0], line
    assert f"APPLOG client=- handled {tag}" in server.output()
    assert "RealIPWarning" not in server.output()


# -- WSGI under gunicorn: the frameworks' own accessors and gunicorn's access log ------------


@pytest.mark.parametrize("framework", ["bottle", "pyramid", "falcon"])
@pytest.mark.parametrize(
    ("source", "xff", "expected"),
    [
        (PROXY, f"{FORGED}, {REAL}", REAL),  # legitimate chain after a client-written prefix
        (CLIENT, FORGED, CLIENT),  # spoofed, from an untrusted client
        (PROXY, "unknown", PROXY),  # junk: realip fails closed, the header is removed
    ],
    ids=["legitimate", "spoofed", "junk"],
)
def test_wsgi_framework_accessors_agree_with_realip(
    servers: dict[str, Server], framework: str, source: str, xff: str, expected: str
) -> None:
    server = _server(servers, "gunicorn-sync")
    body, tag = server.get(f"/{framework}/ip", source, xff)
    assert body["accessor"] == expected, body
    line = server.log_line(tag)
    assert line.split()[0] == expected, line  # gunicorn's %(h)s


# -- aiohttp's own server and Sanic's ------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "xff", "remote", "client_ip"),
    [
        (PROXY, f"{FORGED}, {REAL}", REAL, REAL),
        (CLIENT, FORGED, CLIENT, CLIENT),
        (PROXY, "unknown", PROXY, None),
    ],
    ids=["legitimate", "spoofed", "junk"],
)
def test_aiohttp_access_log_shows_the_client(
    servers: dict[str, Server], source: str, xff: str, remote: str, client_ip: Optional[str]
) -> None:
    server = _server(servers, "aiohttp")
    body, tag = server.get("/ip", source, xff)
    assert (body["remote"], body["client_ip"]) == (remote, client_ip)
    line = server.log_line(tag)
    assert line.split("ACCESS ", 1)[1].split()[0] == remote, line


@pytest.mark.parametrize(
    ("source", "xff", "client_ip"),
    [(PROXY, f"{FORGED}, {REAL}", REAL), (CLIENT, FORGED, CLIENT), (PROXY, "unknown", None)],
    ids=["legitimate", "spoofed", "junk"],
)
def test_sanic_own_server(
    servers: dict[str, Server], source: str, xff: str, client_ip: Optional[str]
) -> None:
    server = _server(servers, "sanic")
    body, _ = server.get("/ip", source, xff)
    assert body["client_ip"] == client_ip, body


# -- waitress: it strips the header unless told not to (issue 12.3) --------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("waitress-default", PROXY), ("waitress", REAL)],
    ids=["default-strips-the-header", "no-clear-untrusted-proxy-headers"],
)
def test_waitress_needs_clear_untrusted_proxy_headers_off(
    servers: dict[str, Server], name: str, expected: str
) -> None:
    server = _server(servers, name)
    body, _ = server.get("/bottle/ip", PROXY, REAL)
    assert body["accessor"] == expected, body


# -- daphne: the app is right; its access log reads the connection, not the scope -----------


def test_daphne_app_is_right_but_its_access_log_shows_the_proxy(servers: dict[str, Server]) -> None:
    server = _server(servers, "daphne")
    body, tag = server.get("/ip", PROXY, f"{FORGED}, {REAL}")
    assert (body["client"], body["client_ip"], body["xff"]) == (REAL, REAL, REAL)
    line = server.log_line(tag)
    assert PROXY in line and REAL not in line, line  # documented in docs/how-to/wsgi-asgi.md
    body, _ = server.get("/ip", CLIENT, FORGED)
    assert body["client_ip"] == CLIENT
