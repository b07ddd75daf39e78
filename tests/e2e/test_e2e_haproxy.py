"""Real haproxy sending PROXY protocol v1 and v2 to real uvicorn, gunicorn and realip serve.

Layout (each on its own loopback address, so the trust rules see real peers)::

    client 127.0.0.5 --> haproxy 127.0.0.6 ==source 127.0.0.7, send-proxy(-v2)==> apps 127.0.0.4

The apps run the ``lb-tcp-proxy`` topology trusting only 127.0.0.7 (haproxy's source address):
uvicorn with realip.uvicorn's protocol classes (h11 with wsproto websockets, httptools with the
websockets library), gunicorn with its own
``--proxy-protocol`` plus ``-c python:realip.gunicorn``, and ``realip serve --proxy-protocol``.
Each must show the client (127.0.0.5) in the app's answer and in its access log, on every
request of a keep-alive connection and over websockets; a client that writes its own PROXY
header is refused.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import websockets.sync.client
from e2e_harness import (
    APP_IP,
    CLIENT_IP,
    REQUEST_TIMEOUT,
    Service,
    connected_socket,
    find_program,
    free_ports,
    insecure_tls_context,
    tcp_probe,
    write_self_signed_cert,
)
from support.sockets import exchange

pytestmark = pytest.mark.e2e

HAPROXY_IP = "127.0.0.6"
HAPROXY_SOURCE_IP = "127.0.0.7"  # the only address the apps trust to send PROXY headers
APPS_DIR = Path(__file__).parent / "apps"
INSTALL_HAPROXY = (
    "haproxy is not installed: install it with `apt-get install haproxy` (Debian/Ubuntu), "
    "or point RIP_TEST_HAPROXY at the binary"
)
SERVERS = ("uvicorn-h11", "uvicorn-httptools", "gunicorn")
VERSIONS = ("v1", "v2")
# send-proxy-v2 with TLVs: the checksum (which the receivers verify) and a unique ID.
V2_OPTIONS = "proxy-v2-options unique-id,crc32c"
CHECKS = {
    "uvicorn-h11": "/ready",
    "uvicorn-httptools": "/ready",
    "gunicorn": "/ready",
    "serve": "/healthz",
}


@dataclass
class Lab:
    """Ports of the apps (direct) and of haproxy's frontends, and the apps' log files."""

    app_ports: Dict[str, int]
    frontends: Dict[Tuple[str, str], int]
    logs: Dict[str, Path]
    tls_port: Optional[int]
    stats: Path

    def log(self, server: str) -> str:
        return self.logs[server].read_text(errors="replace")


def _env() -> Dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REALIP_") and k != "FORWARDED_ALLOW_IPS"
    }
    env["REALIP_TOPOLOGY"] = "lb-tcp-proxy"
    env["REALIP_LB_CIDRS"] = f"{HAPROXY_SOURCE_IP}/32"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APPS_DIR), env.get("PYTHONPATH", "")) if p)
    return env


def _gunicorn_extra_args() -> List[str]:
    from gunicorn.config import KNOWN_SETTINGS

    # Newer gunicorn opens a control socket under ~/.gunicorn, shared by every instance.
    flags = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or ())}
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def _gunicorn_v1_only() -> bool:
    # realip.gunicorn itself needs REALIP_* to import; the version says the same (24.1 added v2).
    import gunicorn

    return tuple(gunicorn.version_info[:2]) < (24, 1)


def _skip_unsupported(server: str, version: str) -> None:
    if server == "gunicorn" and version == "v2" and _gunicorn_v1_only():
        pytest.skip(
            "this gunicorn decodes PROXY v1 only; v2 needs gunicorn 27 (pip install -U gunicorn)"
        )


def _uvicorn(port: int, protocol: str, ws: str) -> List[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "fastapi_app:app",
        "--app-dir",
        str(APPS_DIR),
        "--host",
        APP_IP,
        "--port",
        str(port),
        "--http",
        f"realip.uvicorn:{protocol}",
        # Both websocket implementations get the proxied transport on upgrade.
        "--ws",
        ws,
        # uvicorn's own X-Forwarded-For handling would hide what realip does.
        "--no-proxy-headers",
        "--log-level",
        "info",
        "--timeout-graceful-shutdown",
        "2",
    ]


def _haproxy_config(
    stats: Path,
    lab_ports: Dict[str, int],
    frontends: Dict[Tuple[str, str], int],
    serve_tls: Optional[Tuple[int, Path]],
) -> str:
    parts = [
        f"global\n    maxconn 200\n    stats socket {stats} mode 600 level admin\n",
        "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n"
        "    timeout server 30s\n    timeout check 2s\n",
    ]
    for server, path in CHECKS.items():
        # haproxy's own HTTP health checks, sent with a PROXY v2 LOCAL header (check-send-proxy).
        parts.append(
            f"backend be-check-{server}\n    source {HAPROXY_SOURCE_IP}\n"
            f"    option httpchk GET {path}\n"
            f"    server app {APP_IP}:{lab_ports[server]} send-proxy-v2 check check-send-proxy "
            "inter 300ms rise 1 fall 1\n"
        )
    for (server, version), port in frontends.items():
        name = f"{server}-{version}"
        send = "send-proxy" if version == "v1" else f"send-proxy-v2 {V2_OPTIONS}"
        parts.append(
            f"frontend fe-{name}\n    bind {HAPROXY_IP}:{port}\n"
            "    unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt\n"
            f"    default_backend be-{name}\n"
            f"backend be-{name}\n    source {HAPROXY_SOURCE_IP}\n"
            f"    server app {APP_IP}:{lab_ports[server]} {send}\n"
        )
    if serve_tls is not None:
        port, pem = serve_tls
        # haproxy terminates TLS and passes the SNI (authority) and TLS facts (ssl) as TLVs.
        parts.append(
            f"frontend fe-serve-tls\n    bind {HAPROXY_IP}:{port} ssl crt {pem}\n"
            "    unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt\n"
            "    default_backend be-serve-tls\n"
            f"backend be-serve-tls\n    source {HAPROXY_SOURCE_IP}\n"
            f"    server app {APP_IP}:{lab_ports['serve']} send-proxy-v2 "
            "proxy-v2-options ssl,authority,unique-id,crc32c\n"
        )
    return "\n".join(parts)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    binary = find_program("haproxy")
    if binary is None:
        pytest.skip(INSTALL_HAPROXY)
    pytest.importorskip("httptools", reason="uvicorn's httptools protocol needs httptools")
    pytest.importorskip(
        "wsproto", reason="uvicorn --ws wsproto needs wsproto (pip install wsproto)"
    )
    log_dir = tmp_path_factory.mktemp("haproxy-lab")
    env = _env()
    names = (*SERVERS, "serve")
    ports = dict(zip(names, free_ports(APP_IP, len(names))))
    services = {
        "uvicorn-h11": Service(
            "uvicorn-h11",
            _uvicorn(ports["uvicorn-h11"], "H11ProxyProtocol", "wsproto"),
            log_dir=log_dir,
            env=env,
        ),
        "uvicorn-httptools": Service(
            "uvicorn-httptools",
            _uvicorn(ports["uvicorn-httptools"], "HttpToolsProxyProtocol", "websockets"),
            log_dir=log_dir,
            env=env,
        ),
        "gunicorn": Service(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:realip.gunicorn",
                "flask_app:app",
                "--bind",
                f"{APP_IP}:{ports['gunicorn']}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "2",
                *_gunicorn_extra_args(),
            ],
            log_dir=log_dir,
            env=env,
        ),
        "serve": Service(
            "serve",
            [
                sys.executable,
                "-m",
                "realip",
                "serve",
                "--host",
                APP_IP,
                "--port",
                str(ports["serve"]),
                "--proxy-protocol",
            ],
            log_dir=log_dir,
            env=env,
        ),
    }
    keys = [(s, v) for s in (*SERVERS, "serve") for v in VERSIONS]
    *frontend_ports, tls_port = free_ports(HAPROXY_IP, len(keys) + 1)
    frontends = dict(zip(keys, frontend_ports))
    openssl = shutil.which("openssl")
    serve_tls: Optional[Tuple[int, Path]] = None
    if openssl:
        cert, key = write_self_signed_cert(log_dir, openssl)
        pem = log_dir / "haproxy.pem"
        pem.write_text(cert.read_text() + key.read_text())
        serve_tls = (tls_port, pem)
    conf = log_dir / "haproxy.cfg"
    stats = log_dir / "stats.sock"
    conf.write_text(_haproxy_config(stats, ports, frontends, serve_tls))
    haproxy = Service(
        "haproxy", [binary, "-db", "-f", str(conf)], log_dir=log_dir, extra_logs=[conf]
    )
    started = [service.start() for service in services.values()]
    try:
        for name, service in services.items():
            # Readiness from the trusted address would need a PROXY header; a TCP probe from
            # the default source (untrusted, no header: served as itself) is enough.
            service.wait_ready(tcp_probe(APP_IP, ports[name]))
        started.append(haproxy.start())
        for port in frontends.values():
            haproxy.wait_ready(tcp_probe(HAPROXY_IP, port))
        yield Lab(
            app_ports=ports,
            frontends=frontends,
            logs={name: service.log_path for name, service in services.items()},
            tls_port=serve_tls[0] if serve_tls else None,
            stats=stats,
        )
    finally:
        for service in reversed(started):
            service.stop()


def _get(conn: http.client.HTTPConnection, path: str) -> Tuple[int, Any]:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, body.decode("utf-8", "replace")


def _wait_for(lab: Lab, server: str, needle: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = lab.log(server)
        if needle in text:
            return text
        time.sleep(0.05)
    return lab.log(server)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server", SERVERS)
def test_app_and_access_log_show_the_client_on_every_keep_alive_request(
    lab: Lab, server: str, version: str
) -> None:
    _skip_unsupported(server, version)
    marker = uuid.uuid4().hex[:12]
    conn = http.client.HTTPConnection(
        HAPROXY_IP,
        lab.frontends[(server, version)],
        timeout=REQUEST_TIMEOUT,
        source_address=(CLIENT_IP, 0),
    )
    try:
        for n in range(3):  # one TCP connection: one PROXY header, three requests
            status, body = _get(conn, f"/ip?n={marker}-{n}")
            assert status == 200, body
            assert body["client"] == CLIENT_IP, body
            assert body["get_client_ip"] == CLIENT_IP, body
            assert body["original_client"] == CLIENT_IP, body  # the server's own peer: the client
            assert body["source"] == "remote_addr"
            assert body["n"] == f"{marker}-{n}"
    finally:
        conn.close()
    for n in range(3):
        log = _wait_for(lab, server, f"{marker}-{n}")
        line = next(line for line in log.splitlines() if f"{marker}-{n}" in line)
        if server == "gunicorn":  # '127.0.0.5 - - [date] "GET /ip?n=... HTTP/1.1" 200 ...'
            assert line.startswith(f"{CLIENT_IP} - "), line
        else:  # 'INFO:     127.0.0.5:PORT - "GET /ip?n=... HTTP/1.1" 200 OK'
            assert re.search(rf"INFO:\s+{re.escape(CLIENT_IP)}:\d+ - \"GET ", line), line
        assert HAPROXY_SOURCE_IP not in line, line


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server", ["uvicorn-h11", "uvicorn-httptools"])
def test_websocket_sees_the_client(lab: Lab, server: str, version: str) -> None:
    port = lab.frontends[(server, version)]
    sock = connected_socket(HAPROXY_IP, port, CLIENT_IP)
    with websockets.sync.client.connect(
        f"ws://{HAPROXY_IP}:{port}/ws", sock=sock, open_timeout=REQUEST_TIMEOUT
    ) as ws:
        data = json.loads(ws.recv(timeout=REQUEST_TIMEOUT))
    assert data["client"] == CLIENT_IP, data
    assert data["get_client_ip"] == CLIENT_IP, data


def _raw(host: str, port: int, source: str, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes (bounded by the timeout)."""
    return exchange(host, port, data, source=source, timeout=REQUEST_TIMEOUT)


FORGED = b"PROXY TCP4 6.6.6.6 10.0.0.1 4444 80\r\nGET /ip HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("server", [*SERVERS, "serve"])
def test_a_client_writing_its_own_header_is_refused(lab: Lab, server: str) -> None:
    answer = _raw(APP_IP, lab.app_ports[server], CLIENT_IP, FORGED)
    assert b"6.6.6.6" not in answer
    if server == "gunicorn":
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    elif server == "serve":  # a diagnostic server says why (issue 23)
        assert answer.startswith(b"HTTP/1.1 400") and b"not a trusted load balancer" in answer
    else:
        assert answer == b"", answer[:200]  # closed without an answer


@pytest.mark.parametrize("server", [*SERVERS, "serve"])
def test_the_load_balancer_without_a_header_is_refused(lab: Lab, server: str) -> None:
    plain = b"GET /ip HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"
    answer = _raw(APP_IP, lab.app_ports[server], HAPROXY_SOURCE_IP, plain)
    if server == "gunicorn":
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    elif server == "serve":
        assert answer.startswith(b"HTTP/1.1 400") and b"sent no PROXY header" in answer
    else:
        assert answer == b"", answer[:200]


@pytest.mark.parametrize("server", [*SERVERS, "serve"])
def test_a_client_bypassing_the_load_balancer_is_itself(lab: Lab, server: str) -> None:
    plain = (
        b"GET /ip HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n"
    )
    answer = _raw(APP_IP, lab.app_ports[server], CLIENT_IP, plain)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    report = json.loads(body)
    client = report["client"] if server != "serve" else report["resolution"]["client_ip"]
    assert client == CLIENT_IP, report


@pytest.mark.parametrize("server", SERVERS)
def test_a_header_forged_through_haproxy_is_only_http_garbage(lab: Lab, server: str) -> None:
    _skip_unsupported(server, "v2")
    # haproxy puts its own header first; the client's "PROXY ..." line is then an invalid
    # request line, never a client address.
    answer = _raw(HAPROXY_IP, lab.frontends[(server, "v2")], CLIENT_IP, FORGED)
    # Refused as a bad request line (gunicorn's 400 page quotes the line back), never served.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]


@pytest.mark.parametrize("version", VERSIONS)
def test_realip_serve_shows_the_client_and_the_header(lab: Lab, version: str) -> None:
    conn = http.client.HTTPConnection(
        HAPROXY_IP,
        lab.frontends[("serve", version)],
        timeout=REQUEST_TIMEOUT,
        source_address=(CLIENT_IP, 0),
    )
    try:
        for _ in range(2):
            status, report = _get(conn, "/?format=json")
            assert status == 200, report
            assert report["peer"]["address"] == CLIENT_IP
            assert report["resolution"]["client_ip"] == CLIENT_IP
            header = report["proxy_protocol"]
            assert header["source"] == CLIENT_IP
            assert header["destination"] == HAPROXY_IP
            assert header["version"] == (1 if version == "v1" else 2)
            if version == "v2":
                assert header["crc32c"].startswith("0x")
                assert header["unique_id"].startswith("7F000005"), (
                    header
                )  # %{+X}o%ci: client in hex
    finally:
        conn.close()
    log = lab.log("serve")
    assert f"{CLIENT_IP}:" in log


def test_realip_serve_decodes_tls_facts_and_sni(lab: Lab) -> None:
    if lab.tls_port is None:
        pytest.skip(
            "openssl is not installed, so haproxy has no TLS frontend: apt-get install openssl"
        )
    context: ssl.SSLContext = insecure_tls_context()
    conn = http.client.HTTPSConnection(
        HAPROXY_IP,
        lab.tls_port,
        timeout=REQUEST_TIMEOUT,
        source_address=(CLIENT_IP, 0),
        context=context,
    )
    # The SNI the client sends is what haproxy forwards as the AUTHORITY TLV.
    conn.host = "app.example"
    conn._create_connection = lambda address, timeout, source_address: socket.create_connection(  # type: ignore[method-assign]
        (HAPROXY_IP, lab.tls_port), timeout, source_address
    )
    try:
        status, report = _get(conn, "/?format=json")
    finally:
        conn.close()
    assert status == 200, report
    header = report["proxy_protocol"]
    assert header["source"] == CLIENT_IP
    assert header["authority"] == "app.example"
    assert header["ssl"]["client"] & 1 and header["ssl"]["version"].startswith("TLSv1")
    assert header["crc32c"].startswith("0x")


LOCAL_V2 = b"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"  # a health check: use the real peer


@pytest.mark.parametrize("server", [*SERVERS, "serve"])
def test_a_local_health_check_from_the_load_balancer_is_served(lab: Lab, server: str) -> None:
    _skip_unsupported(server, "v2")
    request = b"GET /ip HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"
    answer = _raw(APP_IP, lab.app_ports[server], HAPROXY_SOURCE_IP, LOCAL_V2 + request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    report = json.loads(body)
    client = report["client"] if server != "serve" else report["resolution"]["client_ip"]
    assert client == HAPROXY_SOURCE_IP, report


def _check_status(stats: Path) -> Dict[str, Tuple[str, str]]:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(REQUEST_TIMEOUT)
        sock.connect(str(stats))
        sock.sendall(b"show stat\n")
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    lines = out.decode("utf-8", "replace").splitlines()
    fields = lines[0].lstrip("# ").split(",")
    status = {}
    for line in lines[1:]:
        row = dict(zip(fields, line.split(",")))
        if row.get("pxname", "").startswith("be-check-") and row.get("svname") == "app":
            status[row["pxname"][len("be-check-") :]] = (row["status"], row["check_status"])
    return status


def test_haproxy_health_checks_with_a_local_header_pass(lab: Lab) -> None:
    # An old gunicorn (v1 only) cannot read the v2 LOCAL header haproxy's checks send.
    servers = [s for s in CHECKS if s != "gunicorn" or not _gunicorn_v1_only()]
    deadline = time.monotonic() + REQUEST_TIMEOUT
    status: Dict[str, Tuple[str, str]] = {}
    while time.monotonic() < deadline:
        status = {k: v for k, v in _check_status(lab.stats).items() if k in servers}
        if len(status) == len(servers) and all(s == ("UP", "L7OK") for s in status.values()):
            break
        time.sleep(0.2)
    assert status == {server: ("UP", "L7OK") for server in servers}, status
