"""realip.gunicorn in real gunicorn processes: who may send a PROXY header, on every kind of bind.

Loopback stands in for the network: 127.0.0.2 (or ::1) is the load balancer realip trusts,
127.0.0.3 a client that connects directly. On a dual-stack bind (``[::]:PORT``) every IPv4 peer
arrives as ``::ffff:a.b.c.d``; realip judges it as its IPv4 address, and gunicorn must too (issue
20: the ``unix`` preset's placeholder let every IPv4 client send a header there, and the load
balancer's own headers were refused). Each server answers with what the app sees.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

pytest.importorskip("gunicorn")

from e2e_harness import Service, ServiceError, free_port, tcp_probe

from realip import ConfigError, Resolver
from realip.proxy_protocol import PROXY, ProxyHeader, encode

LB = "127.0.0.2"
CLIENT = "127.0.0.3"
FORGED = "6.6.6.6"
REAL_CLIENT = "203.0.113.9"

_APP = """
import json
from realip import Resolver
from realip.wsgi import RealIPMiddleware


def inner(environ, start_response):
    result = environ["realip.result"]
    body = json.dumps({"remote_addr": environ.get("REMOTE_ADDR"), "client": result.client_ip})
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body.encode()]


app = RealIPMiddleware(inner, resolver=Resolver.from_env())


async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = json.dumps({"client": list(scope["client"] or ())}).encode()
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": body})
"""


def _env(lb_cidrs: Optional[str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    if lb_cidrs is not None:
        env["REALIP_TOPOLOGY"] = "lb-tcp-proxy"
        env["REALIP_LB_CIDRS"] = lb_cidrs
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _gunicorn_v1_only() -> bool:
    import gunicorn  # type: ignore[import-untyped]

    return tuple(gunicorn.version_info[:2]) < (24, 1)


def _extra_args() -> List[str]:
    from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped]

    # Newer gunicorn opens a control socket under ~/.gunicorn, shared by every instance.
    flags = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or ())}
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def _gunicorn_argv(
    app_dir: Path, bind: str, worker: str, *, app: str = "app:app", config: str = ""
) -> List[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        config or "python:realip.gunicorn",
        app,
        "--chdir",
        str(app_dir),
        "--bind",
        bind,
        "-k",
        worker,
        "--workers",
        "1",
        "--graceful-timeout",
        "1",
        *_extra_args(),
    ]


def _exchange(host: str, port: int, source: str, data: bytes) -> bytes:
    """Send ``data`` from ``source`` and read until the server closes."""
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.bind((source, 0))
        sock.connect((host, port))
        sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    return out


_REQUEST = b"GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"


def _answer(raw: bytes) -> Tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head:
        return 0, None
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def _v1(source: str, family: str = "TCP4") -> bytes:
    dest = "10.0.0.1" if family == "TCP4" else "2001:db8::1"
    return f"PROXY {family} {source} {dest} 5555 443\r\n".encode()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("gunicorn_app")
    (directory / "app.py").write_text(_APP)
    return directory


class Running(SimpleNamespace):
    host: str
    port: int
    service: Service


def _free_port() -> int:
    # Free on IPv4 and IPv6 at once: a dual-stack bind needs both (a port free on 127.0.0.1 only
    # can be taken on [::] by another process).
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
        return int(sock.getsockname()[1])


def _start(
    app_dir: Path, log_dir: Path, bind_host: str, worker: str, lb_cidrs: str, **kw: Any
) -> Running:
    probe_host = "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host
    shown = f"[{bind_host}]" if ":" in bind_host else bind_host
    for attempt in range(3):
        port = _free_port()
        service = Service(
            f"gunicorn-{worker}-{bind_host.replace(':', '_')}-{attempt}",
            _gunicorn_argv(app_dir, f"{shown}:{port}", worker, **kw),
            log_dir=log_dir,
            env=_env(lb_cidrs),
        ).start()
        try:
            service.wait_ready(tcp_probe(probe_host, port))
        except ServiceError:
            service.stop()
            if attempt == 2 or "Address already in use" not in service.logs():
                raise
            continue
        return Running(host=probe_host, port=port, service=service)
    raise AssertionError("unreachable")


# The configuration: the unix preset next to the load balancer, and ::1 as an IPv6 one.
_TRUST = f"unix, 10.9.9.9, {LB}, ::1"


@pytest.fixture(
    scope="module",
    params=[
        ("::", "sync", _TRUST),
        ("::", "gthread", _TRUST),
        # Without the unix preset (whose placeholder used to admit every IPv4 peer), gunicorn
        # answered 403 to the load balancer's own headers on this bind.
        ("::", "sync", f"{LB}, ::1"),
        ("0.0.0.0", "sync", _TRUST),
    ],
    ids=["dual-stack-sync", "dual-stack-gthread", "dual-stack-no-unix", "ipv4-sync"],
)
def server(
    request: pytest.FixtureRequest, app_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    bind_host, worker, trust = request.param
    running = _start(app_dir, tmp_path_factory.mktemp("logs"), bind_host, worker, trust)
    running.bind_host = bind_host
    try:
        yield running
    finally:
        running.service.stop()


def test_a_forged_header_from_an_untrusted_ipv4_peer_is_refused(server: Running) -> None:
    # Before the fix, on [::] the client matched the unix preset's ::ffff:0:0/96 placeholder and
    # the app saw 6.6.6.6.
    status, body = _answer(_exchange(server.host, server.port, CLIENT, _v1(FORGED) + _REQUEST))
    assert status != 200 and FORGED not in str(body), (status, body)


def test_the_trusted_ipv4_load_balancer_is_served(server: Running) -> None:
    # Before the fix, on [::] gunicorn compared ::ffff:127.0.0.2 with 127.0.0.2 and answered 403.
    status, body = _answer(_exchange(server.host, server.port, LB, _v1(REAL_CLIENT) + _REQUEST))
    assert (status, body) == (200, {"remote_addr": REAL_CLIENT, "client": REAL_CLIENT}), (
        server.service.logs()
    )


def test_the_trusted_load_balancer_without_a_header_is_refused(server: Running) -> None:
    status, body = _answer(_exchange(server.host, server.port, LB, _REQUEST))
    assert status == 403, (status, body)


def test_a_direct_client_is_served_as_itself(server: Running) -> None:
    status, body = _answer(_exchange(server.host, server.port, CLIENT, _REQUEST))
    assert status == 200 and body["client"] == CLIENT, (status, body)


def test_the_ipv6_load_balancer(server: Running) -> None:
    if server.bind_host == "0.0.0.0":
        pytest.skip("an IPv4 bind has no IPv6 peers")
    v2 = encode(ProxyHeader(2, PROXY, "INET6", "STREAM", "2001:db8::9", 5555, "2001:db8::1", 443))
    # v1 for every gunicorn; v2 where gunicorn reads it (24.1 and later).
    for header in (_v1("2001:db8::9", "TCP6"), v2)[: 1 if _gunicorn_v1_only() else 2]:
        status, body = _answer(_exchange("::1", server.port, "::1", header + _REQUEST))
        assert (status, body) == (200, {"remote_addr": "2001:db8::9", "client": "2001:db8::9"})
    status, body = _answer(_exchange("::1", server.port, "::1", _REQUEST))
    assert status == 403


def test_an_ipv6_lb_does_not_let_ipv4_clients_send_headers(app_dir: Path, tmp_path: Path) -> None:
    # Only ::1 is trusted: 127.0.0.1 (::ffff:127.0.0.1 on this bind) is just a client.
    running = _start(app_dir, tmp_path, "::", "sync", "::1")
    try:
        status, body = _answer(
            _exchange("127.0.0.1", running.port, "127.0.0.1", _v1(FORGED) + _REQUEST)
        )
        assert status != 200 and FORGED not in str(body)
        status, body = _answer(_exchange("127.0.0.1", running.port, "127.0.0.1", _REQUEST))
        assert status == 200 and body["client"] == "127.0.0.1"
    finally:
        running.service.stop()


# -- what goes to gunicorn ---------------------------------------------------------------------


def _load(monkeypatch: pytest.MonkeyPatch, lb_cidrs: Optional[str]) -> Any:
    for key in [k for k in os.environ if k.startswith("REALIP_")]:
        monkeypatch.delenv(key)
    if lb_cidrs is not None:
        monkeypatch.setenv("REALIP_TOPOLOGY", "lb-tcp-proxy")
        monkeypatch.setenv("REALIP_LB_CIDRS", lb_cidrs)
    import realip.gunicorn

    realip.gunicorn._resolver = None
    return importlib.reload(realip.gunicorn)


@pytest.mark.parametrize(
    ("lb_cidrs", "expected"),
    [
        # The unix preset adds nothing (gunicorn does not check Unix-socket peers).
        ("unix, 10.9.9.9", "10.9.9.9/32,::ffff:10.9.9.9/128"),
        ("unix", ""),
        (
            "10.0.0.0/16, cgnat",
            "10.0.0.0/16,::ffff:10.0.0.0/112,100.64.0.0/10,::ffff:100.64.0.0/106",
        ),
        ("2001:db8::/32", "2001:db8::/32"),
    ],
)
def test_proxy_allow_ips_is_exactly_what_realip_trusts(
    monkeypatch: pytest.MonkeyPatch, lb_cidrs: str, expected: str
) -> None:
    import ipaddress

    rg = _load(monkeypatch, lb_cidrs)
    assert rg.allow_list(rg._env_resolver()) == expected
    if _gunicorn_v1_only():
        assert rg.proxy_allow_ips == "*"  # exact addresses only there: the hook checks
        return
    assert rg.proxy_allow_ips == expected
    # gunicorn's own parser takes it, and its check gives realip's answer for every peer.
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("proxy_allow_ips", rg.proxy_allow_ips)
    nets = cfg.proxy_allow_networks()
    resolver = rg._env_resolver()
    for peer in ("10.9.9.9", "::ffff:10.9.9.9", "10.0.3.4", "::ffff:10.0.3.4", "100.64.0.1",
                 "::ffff:100.64.0.1", "127.0.0.1", "::ffff:127.0.0.1", "2001:db8::5", "::1",
                 "::ffff:0:0", "0.0.0.0"):  # fmt: skip
        ip = ipaddress.ip_address(peer)
        assert any(ip in net for net in nets) == resolver.trusts(peer), peer


def test_nothing_configured_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, app_dir: Path, tmp_path: Path
) -> None:
    # gunicorn's default would let 127.0.0.1 and ::1 send headers that realip never checks.
    with pytest.raises(ConfigError, match="REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS"):
        _load(monkeypatch, None)
    port = free_port("127.0.0.1")
    done = subprocess.run(
        _gunicorn_argv(app_dir, f"127.0.0.1:{port}", "sync"),
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PROXY protocol needs the load balancer's addresses to be trusted" in done.stderr


# -- worker classes ----------------------------------------------------------------------------


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    ("worker", "needs"),
    [("asgi", "gunicorn.workers.gasgi"), ("tornado", "tornado"), ("gevent_pywsgi", "gevent")],
)
def test_workers_the_hook_cannot_guard_are_refused_at_start_up(
    app_dir: Path, worker: str, needs: str
) -> None:
    if not _installed(needs.split(".")[0]) or (
        "." in needs and importlib.util.find_spec(needs) is None
    ):
        pytest.skip(f"{needs} is not installed")
    port = free_port("127.0.0.1")
    app = "app:asgi_app" if worker == "asgi" else "app:app"
    done = subprocess.run(
        _gunicorn_argv(app_dir, f"127.0.0.1:{port}", worker, app=app),
        env=_env(LB),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0, done.stderr[-2000:]
    assert "realip.gunicorn cannot enforce PROXY protocol trust with the worker class" in (
        done.stderr
    ), done.stderr[-2000:]


def test_the_hook_alone_under_the_asgi_worker_serves_no_unverified_request(
    app_dir: Path, tmp_path: Path
) -> None:
    # A configuration file that imports only pre_request (no on_starting): the asgi worker gives
    # the hook no peer, so the trusted load balancer's header-less request must not be served as
    # the client (before: it was).
    if importlib.util.find_spec("gunicorn.workers.gasgi") is None:
        pytest.skip("this gunicorn has no asgi worker")
    config = tmp_path / "conf.py"
    config.write_text(
        "from realip.gunicorn import pre_request, proxy_allow_ips, proxy_protocol  # noqa\n"
    )
    running = _start(
        app_dir, tmp_path, "127.0.0.1", "asgi", LB, app="app:asgi_app", config=str(config)
    )
    try:
        status, body = _answer(_exchange(running.host, running.port, LB, _REQUEST))
        assert status != 200, (status, body)
    finally:
        running.service.stop()


@pytest.mark.parametrize("worker", ["sync", "gthread", "gevent", "eventlet"])
def test_guarded_workers_start(app_dir: Path, tmp_path: Path, worker: str) -> None:
    needs = {"gevent": "gevent", "eventlet": "eventlet"}.get(worker)
    if needs is not None and not _installed(needs):
        pytest.skip(f"{needs} is not installed")
    from gunicorn.workers import SUPPORTED_WORKERS  # type: ignore[import-untyped]

    if worker not in SUPPORTED_WORKERS:
        pytest.skip(f"this gunicorn has no {worker} worker")
    running = _start(app_dir, tmp_path, "127.0.0.1", worker, LB)
    try:
        status, body = _answer(
            _exchange(running.host, running.port, LB, _v1(REAL_CLIENT) + _REQUEST)
        )
        assert (status, body["client"]) == (200, REAL_CLIENT)
        assert _answer(_exchange(running.host, running.port, LB, _REQUEST))[0] == 403
        status, body = _answer(
            _exchange(running.host, running.port, CLIENT, _v1(FORGED) + _REQUEST)
        )
        assert status != 200
    finally:
        running.service.stop()


def test_check_worker_class_accepts_subclasses_of_guarded_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gunicorn.workers.sync import SyncWorker  # type: ignore[import-untyped]

    rg = _load(monkeypatch, LB)
    check_worker_class, WorkerClassError = rg.check_worker_class, rg.WorkerClassError

    class MyWorker(SyncWorker):  # type: ignore[misc]
        pass

    check_worker_class(MyWorker)
    with pytest.raises(WorkerClassError, match="worker class") as caught:
        check_worker_class(object)
    assert isinstance(caught.value, RuntimeError)  # gunicorn prints RuntimeErrors as "Error: ..."


# -- the hook in-process (gunicorn's request objects stood in for) ------------------------------


class _Unreader:
    pass


def _req(info: Optional[Dict[str, Any]], unreader: _Unreader, peer: Any) -> SimpleNamespace:
    return SimpleNamespace(proxy_protocol_info=info, unreader=unreader, peer_addr=peer)


class _Log:
    def __init__(self) -> None:
        self.lines: List[str] = []

    def warning(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    error = warning


def test_gunicorn_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.http.errors import ForbiddenProxyRequest  # type: ignore[import-untyped]

    rg = _load(monkeypatch, f"{LB}/32")
    log = _Log()
    worker = SimpleNamespace(log=log)
    info = {
        "proxy_protocol": "TCP4",
        "client_addr": REAL_CLIENT,
        "client_port": 1,
        "proxy_addr": "x",
        "proxy_port": 2,
    }
    conn = _Unreader()
    first, second = _req(info, conn, (LB, 4000)), _req(None, conn, (LB, 4000))
    rg.pre_request(worker, first)
    rg.pre_request(worker, second)  # keep-alive: the same connection's unreader
    assert second.proxy_protocol_info == info
    local = dict.fromkeys(info)
    local["proxy_protocol"] = "LOCAL"
    health = _req(local, _Unreader(), (LB, 4000))
    rg.pre_request(worker, health)
    assert health.proxy_protocol_info is None  # gunicorn keeps the real peer
    with pytest.raises(ForbiddenProxyRequest):
        rg.pre_request(worker, _req(None, _Unreader(), (LB, 4000)))
    assert "sent no PROXY header" in log.lines[-1]
    # On a dual-stack bind the load balancer is ::ffff:127.0.0.2, and still the load balancer.
    with pytest.raises(ForbiddenProxyRequest):
        rg.pre_request(worker, _req(None, _Unreader(), (f"::ffff:{LB}", 4000, 0, 0)))
    mapped = _req(info, _Unreader(), (f"::ffff:{LB}", 4000, 0, 0))
    rg.pre_request(worker, mapped)
    assert mapped.proxy_protocol_info == info
    direct = _req(None, _Unreader(), (REAL_CLIENT, 4000))
    rg.pre_request(worker, direct)  # an untrusted direct peer is served as itself
    assert direct.proxy_protocol_info is None
    # A header gunicorn let through from a peer realip does not trust (its list is "*" before
    # 24.1, or a configuration file set a wider one): refused, whatever the gunicorn.
    with pytest.raises(ForbiddenProxyRequest):
        rg.pre_request(worker, _req(dict(info, client_addr=FORGED), _Unreader(), (CLIENT, 1)))
    assert "is not a trusted load balancer" in log.lines[-1]
    # A Unix-socket peer (gunicorn reports "") may send one only with the unix preset.
    with pytest.raises(ForbiddenProxyRequest):
        rg.pre_request(worker, _req(info, _Unreader(), ""))
    rg.pre_request(worker, _req(None, _Unreader(), ""))
    # No peer at all (gunicorn's asgi worker): nothing is served unverified.
    with pytest.raises(ForbiddenProxyRequest):
        rg.pre_request(worker, SimpleNamespace(proxy_protocol_info=None))
    assert "does not report the connection's peer" in log.lines[-1]


def test_unix_preset_lets_unix_socket_peers_send_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    rg = _load(monkeypatch, "unix")
    info = {"proxy_protocol": "TCP4", "client_addr": REAL_CLIENT, "client_port": 1}
    req = _req(info, _Unreader(), "")
    rg.pre_request(SimpleNamespace(log=_Log()), req)
    assert req.proxy_protocol_info == info


def test_gunicorn_before_24_1_gets_a_switch_and_every_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gunicorn before 24.1 takes exact addresses in proxy_allow_ips (compared as text, so never a
    # mapped peer) and refuses a CIDR at start-up: realip.gunicorn allows "*" there, and the hook
    # checks realip's ranges itself (tested above).
    import gunicorn

    monkeypatch.setattr(gunicorn, "version_info", (24, 0, 0))
    rg = _load(monkeypatch, f"{LB}/32")
    assert (rg.proxy_protocol, rg.proxy_allow_ips) == (True, "*")
    monkeypatch.setattr(gunicorn, "version_info", (24, 1, 0))
    rg = _load(monkeypatch, f"{LB}/32")
    assert (rg.proxy_protocol, rg.proxy_allow_ips) == ("auto", f"{LB}/32,::ffff:{LB}/128")


def test_warnings_of_the_configuration_are_shown_at_start_up(app_dir: Path, tmp_path: Path) -> None:
    # The resolver's lints (here: a redundant range) reach gunicorn's output, as they reach
    # uvicorn's and realip serve's: one lint path for every PROXY front end.
    running = _start(app_dir, tmp_path, "127.0.0.1", "sync", f"{LB}, 127.0.0.0/24")
    try:
        deadline = time.monotonic() + 10
        while "RealIPWarning" not in running.service.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"trusted proxy {LB}/32 is redundant" in running.service.logs()
    finally:
        running.service.stop()


def test_resolver_trust_is_what_the_hook_uses() -> None:
    resolver = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=[LB])
    assert resolver.trusts(f"::ffff:{LB}") and not resolver.trusts(f"::ffff:{CLIENT}")
