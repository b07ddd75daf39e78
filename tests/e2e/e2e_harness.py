"""Start, probe and stop real server processes on loopback for the end-to-end tests.

Every process gets its own session, its own log file and a hard stop: SIGTERM, then SIGKILL to
its whole process group (nginx and gunicorn fork workers) if it has not exited in time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

# Distinct loopback addresses, so that "who connected to whom" is real, not simulated.
CLIENT_IP = "127.0.0.5"  # the browser
NGINX_IP = "127.0.0.2"  # where nginx listens
NGINX_SOURCE_IP = (
    "127.0.0.3"  # where nginx connects upstream from (proxy_bind): the only trusted proxy
)
APP_IP = "127.0.0.4"  # where uvicorn and gunicorn listen

READY_TIMEOUT = 45.0  # a cold FastAPI import on a loaded 2-core CI machine can take seconds
STOP_TIMEOUT = 8.0
REQUEST_TIMEOUT = 15.0
INSTALL_NGINX = (
    "nginx is not installed: install it with `apt-get install nginx-light` (Debian/Ubuntu), "
    "or point RIP_TEST_NGINX at an nginx binary"
)

RUNNING: list[Service] = []


def free_port(host: str) -> int:
    """A port that is free on ``host`` right now (the kernel picks it)."""
    return free_ports(host, 1)[0]


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports free on ``host`` right now.

    The sockets are held open together while the kernel picks: one at a time, a port closed
    after picking can be handed out again by the next pick, and two servers told the same port
    leave one answering for both.
    """
    with contextlib.ExitStack() as stack:
        socks = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


class ServiceError(RuntimeError):
    """A server process did not start, with its log attached."""


class Service:
    """One real server process with a log file and a readiness probe."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        env: Optional[dict[str, str]] = None,
        extra_logs: Sequence[Path] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.extra_logs = list(extra_logs)
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> Service:
        with open(self.log_path, "wb") as log:
            # A new session makes the process a group leader, so teardown can reach its workers.
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        RUNNING.append(self)
        return self

    def wait_ready(self, probe: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
        """Poll ``probe`` until it returns True; fail fast with the log if the process dies."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last_error: Optional[BaseException] = None
        delay = 0.02
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {self.proc.returncode} before it was ready\n"
                    f"command: {' '.join(self.argv)}\n{self.logs()}"
                )
            try:
                if probe():
                    return
            except OSError as exc:
                last_error = exc
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
        raise ServiceError(
            f"{self.name} not ready after {timeout:.0f}s (last probe error: {last_error!r})\n"
            f"command: {' '.join(self.argv)}\n{self.logs()}"
        )

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # Still alive (so its group id is still ours): kill it with its workers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        if self in RUNNING:
            RUNNING.remove(self)

    def logs(self, limit: int = 6000) -> str:
        """The tail of every log of this service, for failure reports."""
        parts = []
        for path in [self.log_path, *self.extra_logs]:
            try:
                text = path.read_text(errors="replace")
            except OSError as exc:
                text = f"<unreadable: {exc}>"
            parts.append(f"--- {path} ---\n{text[-limit:]}")
        return "\n".join(parts)


def tcp_probe(host: str, port: int) -> Callable[[], bool]:
    def probe() -> bool:
        with socket.create_connection((host, port), timeout=1.0):
            return True

    return probe


def http_probe(host: str, port: int, path: str) -> Callable[[], bool]:
    def probe() -> bool:
        status, _ = request_json(host, port, path, source=None, timeout=2.0)
        return status == 200

    return probe


def insecure_tls_context() -> ssl.SSLContext:
    """TLS to our own self-signed nginx: encryption is not what these tests are about."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request_json(
    host: str,
    port: int,
    path: str = "/ip",
    *,
    source: Optional[str] = CLIENT_IP,
    headers: Sequence[tuple[str, str]] = (),
    tls: bool = False,
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, Any]:
    """GET ``path`` from ``source`` (a loopback address to connect from) and decode the JSON body.

    ``headers`` is a list of pairs so that a header can be sent more than once.
    """
    source_address = (source, 0) if source else None
    conn: http.client.HTTPConnection
    if tls:
        conn = http.client.HTTPSConnection(
            host,
            port,
            timeout=timeout,
            source_address=source_address,
            context=insecure_tls_context(),
        )
    else:
        conn = http.client.HTTPConnection(
            host, port, timeout=timeout, source_address=source_address
        )
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, body.decode("utf-8", "replace")


def connected_socket(
    host: str, port: int, source: str, timeout: float = REQUEST_TIMEOUT
) -> socket.socket:
    """A TCP socket from ``source`` to ``host:port`` (for clients that accept a ready socket)."""
    return socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))


def write_self_signed_cert(directory: Path, openssl: str) -> tuple[Path, Path]:
    """A throwaway certificate for nginx's TLS listener (EC: generating it takes milliseconds)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def find_program(name: str) -> Optional[str]:
    """RIP_TEST_<NAME> if set, else ``name`` on PATH, else Debian's /usr/sbin/<name>.

    (RIP_TEST_*, not REALIP_*: the autouse clean-up clears REALIP_* before every test.)
    """
    override = os.environ.get(f"RIP_TEST_{name.upper()}")
    candidates = [override] if override else [shutil.which(name), f"/usr/sbin/{name}"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_nginx() -> Optional[str]:
    """The nginx binary the end-to-end tests run (RIP_TEST_NGINX overrides)."""
    return find_program("nginx")


def nginx_conf(nginx: str, prefix: Path, http: str, *, worker_connections: int = 1024) -> str:
    """A whole nginx.conf whose ``http`` block holds ``http``; everything nginx writes stays
    under ``prefix`` (whose ``tmp`` folder must exist)."""
    done = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=10)
    build_flags = done.stdout + done.stderr
    temp_paths = [
        f"client_body_temp_path {prefix}/tmp/body;",
        f"proxy_temp_path {prefix}/tmp/proxy;",
    ]
    for module in ("fastcgi", "uwsgi", "scgi"):
        # Compiled-in modules create their temp dirs under /var/lib/nginx unless told otherwise;
        # naming a compiled-out module's directive is an error.
        if f"--without-http_{module}_module" not in build_flags:
            temp_paths.append(f"{module}_temp_path {prefix}/tmp/{module};")
    # As root, workers would drop to "nobody" and could not write into pytest's temp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{ worker_connections {worker_connections}; }}
http {{
    access_log {prefix}/access.log;
    {" ".join(temp_paths)}
{http}
}}
"""
