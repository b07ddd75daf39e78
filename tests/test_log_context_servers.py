"""One request's client never lands on another's log lines, under real servers (issue 20.4).

Each test starts a real server process (gunicorn sync and gthread, uvicorn with pipelined
requests) whose app logs through ``realip.log.ClientIPFilter`` into a file, sends a sequence of
requests, and reads the lines: a line written for a request realip did not handle (a path an
outer layer answers, gunicorn's "Invalid request") carries ``-``, and a line written before
realip runs for a pipelined request does not carry the previous request's client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

LOG_SETUP = """
import logging
import os

from realip.log import ClientIPFilter

handler = logging.FileHandler(os.environ["CTX_LOG"])
handler.addFilter(ClientIPFilter())
handler.setFormatter(logging.Formatter("%(client_ip)s|%(name)s|%(message)s"))
for name in ("app", "gunicorn.error", "uvicorn.error"):
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
log = logging.getLogger("app")
"""

WSGI_APP = (
    LOG_SETUP
    + """
from realip.wsgi import RealIPMiddleware


def inner(environ, start_response):
    path = environ["PATH_INFO"]
    log.info("inner %s", path)
    if path == "/boom":
        raise RuntimeError("boom")
    start_response("200 OK", [("Content-Type", "text/plain")])
    if path == "/stream":

        def body():
            log.info("streaming %s", path)
            yield b"streamed"

        return body()
    return [b"ok"]


realip_app = RealIPMiddleware(inner, trusted_proxies=["127.0.0.0/8"])


def application(environ, start_response):
    # An outer layer that answers some paths itself (a health check): realip never sees them.
    log.info("outer %s", environ["PATH_INFO"])
    if environ["PATH_INFO"] == "/outer":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"outer"]
    return realip_app(environ, start_response)
"""
)

ASGI_APP = (
    LOG_SETUP
    + """
from realip.asgi import RealIPMiddleware


async def inner(scope, receive, send):
    log.info("inner %s", scope["path"])
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class Before:
    # Code that runs before realip (an error reporter, a tracer, a rate limiter).

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            log.info("before %s", scope["path"])
        await self.app(scope, receive, send)


application = Before(RealIPMiddleware(inner, trusted_proxies=["127.0.0.0/8"]))
"""
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _exchange(port: int, raw: bytes, timeout: float = 20.0) -> bytes:
    """Send ``raw`` on one connection (its last request says ``Connection: close``) and read
    everything until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
        return data


def _get(path: str, xff: str = "") -> bytes:
    header = f"X-Forwarded-For: {xff}\r\n" if xff else ""
    return f"GET {path} HTTP/1.1\r\nHost: app\r\n{header}Connection: close\r\n\r\n".encode()


def _lines(log: Path, needle: str = "") -> List[str]:
    return [line for line in log.read_text().splitlines() if needle in line]


def _wait_lines(log: Path, needle: str, timeout: float = 10.0) -> List[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and _lines(log, needle):
            return _lines(log, needle)
        time.sleep(0.05)
    raise AssertionError(f"no line with {needle!r} in {log.read_text() if log.exists() else ''}")


def _client_of(lines: List[str], message: str) -> List[str]:
    """The client_ip field of every line whose message is ``message``."""
    fields = [line.split("|", 2) for line in lines]  # a traceback's lines have no fields
    return [f[0] for f in fields if len(f) == 3 and f[2] == message]


@pytest.fixture
def server_env(tmp_path: Path) -> Iterator[Dict[str, str]]:
    env = dict(os.environ)
    env["CTX_LOG"] = str(tmp_path / "app.log")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    for name in [k for k in env if k.startswith("REALIP_")]:
        del env[name]
    yield env


def _start(cmd: List[str], env: Dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_lines_outside_realip_carry_no_client(
    worker: str, tmp_path: Path, server_env: Dict[str, str]
) -> None:
    pytest.importorskip("gunicorn")
    (tmp_path / "ctx_wsgi_app.py").write_text(textwrap.dedent(WSGI_APP))
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", worker, "--threads", "1"]
    cmd += ["-b", f"127.0.0.1:{port}", "--log-level", "debug", "ctx_wsgi_app:application"]
    proc = _start(cmd, server_env, tmp_path)
    log = Path(server_env["CTX_LOG"])
    try:
        _wait_port(port, proc)
        assert b"200 OK" in _exchange(port, _get("/app", "203.0.113.7"))
        assert b"outer" in _exchange(port, _get("/outer"))
        assert b"streamed" in _exchange(port, _get("/stream", "203.0.113.8"))
        assert b"outer" in _exchange(port, _get("/outer"))
        _exchange(port, _get("/boom", "203.0.113.9"))
        assert b"outer" in _exchange(port, _get("/outer"))
        _exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
        _wait_lines(log, "Invalid request")
    finally:
        _stop(proc)
    lines = _lines(log)
    # What realip handled carries its client, streaming body included ...
    assert _client_of(lines, "inner /app") == ["203.0.113.7"]
    assert _client_of(lines, "streaming /stream") == ["203.0.113.8"]
    assert _client_of(lines, "inner /boom") == ["203.0.113.9"]
    # ... and nothing else does: not the outer layer's lines, not the server's own.
    assert _client_of(lines, "outer /outer") == ["-", "-", "-"]
    assert _client_of(lines, "outer /app") == ["-"]
    invalid = [line for line in lines if "Invalid request" in line]
    assert invalid and all(line.startswith("-|") for line in invalid), invalid


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_uvicorn_pipelined_request_starts_without_the_previous_client(
    http: str, tmp_path: Path, server_env: Dict[str, str]
) -> None:
    pytest.importorskip("uvicorn")
    if http == "httptools":
        pytest.importorskip("httptools")
    (tmp_path / "ctx_asgi_app.py").write_text(textwrap.dedent(ASGI_APP))
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "ctx_asgi_app:application", "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--http", http, "--lifespan", "off", "--no-proxy-headers"]
    proc = _start(cmd, server_env, tmp_path)
    log = Path(server_env["CTX_LOG"])
    keep = "Connection: keep-alive\r\n"
    pipelined = (
        f"GET /one HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 203.0.113.7\r\n{keep}\r\n"
        f"GET /two HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 203.0.113.8\r\n{keep}\r\n"
        "GET /three HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        _wait_port(port, proc)
        answer = _exchange(port, pipelined)
        assert answer.count(b"HTTP/1.1 200") == 3, answer
        _wait_lines(log, "inner /three")
    finally:
        _stop(proc)
    lines = _lines(log)
    assert _client_of(lines, "inner /one") == ["203.0.113.7"]
    assert _client_of(lines, "inner /two") == ["203.0.113.8"]
    # The peer 127.0.0.1 is a trusted proxy that sent no header: its own address is the answer.
    assert _client_of(lines, "inner /three") == ["127.0.0.1"]
    # Before realip runs, no request carries the one before it.
    assert _client_of(lines, "before /one") == ["-"]
    assert _client_of(lines, "before /two") == ["-"]
    assert _client_of(lines, "before /three") == ["-"]


def test_gunicorn_hook_refusal_line_carries_no_client(
    tmp_path: Path, server_env: Dict[str, str]
) -> None:
    # realip.gunicorn's own warning (a trusted load balancer that sent no PROXY header) is
    # written before any app code runs: it must not name the previous request's client.
    pytest.importorskip("gunicorn")
    (tmp_path / "ctx_wsgi_app.py").write_text(textwrap.dedent(WSGI_APP))
    server_env.update(REALIP_TOPOLOGY="lb-tcp-proxy", REALIP_LB_CIDRS="127.0.0.0/8")
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:realip.gunicorn", "-w", "1"]
    cmd += ["-k", "sync", "-b", f"127.0.0.1:{port}", "ctx_wsgi_app:application"]
    proc = _start(cmd, server_env, tmp_path)
    log = Path(server_env["CTX_LOG"])
    proxied = b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n" + _get("/app")
    try:
        _wait_port(port, proc)
        assert b"200 OK" in _exchange(port, proxied)
        assert b"200 OK" not in _exchange(port, _get("/app"))  # refused: no PROXY header
        refused = _wait_lines(log, "sent no PROXY header")
    finally:
        _stop(proc)
    assert _client_of(_lines(log), "inner /app") == ["203.0.113.7"]
    assert refused and all(line.startswith("-|gunicorn.error|") for line in refused), refused
