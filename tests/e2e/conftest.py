"""Fixtures that run real servers on loopback: uvicorn (FastAPI), gunicorn (Flask) and nginx.

Layout (each on its own loopback address, so the trust rules see real peers):

    client 127.0.0.5 --> nginx 127.0.0.2 ==proxy_bind 127.0.0.3==> uvicorn / gunicorn 127.0.0.4

The apps trust only 127.0.0.3 (REALIP_TRUSTED_PROXIES in their environment). The processes are
started once per session and stopped at its end; a failing test gets their logs in its report
(tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest
from e2e_harness import (
    APP_IP,
    INSTALL_NGINX,
    NGINX_IP,
    NGINX_SOURCE_IP,
    Service,
    find_nginx,
    free_ports,
    http_probe,
    nginx_conf,
    tcp_probe,
    write_self_signed_cert,
)

APPS_DIR = Path(__file__).parent / "apps"


def _app_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REALIP_") and k != "FORWARDED_ALLOW_IPS"
    }
    env["REALIP_TRUSTED_PROXIES"] = NGINX_SOURCE_IP
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APPS_DIR), env.get("PYTHONPATH", "")) if p)
    return env


def _gunicorn_has_option(flag: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(flag in (setting.cli or ()) for setting in KNOWN_SETTINGS)


@dataclass
class Apps:
    """Where the app servers listen (on APP_IP)."""

    uvicorn_port: int
    gunicorn_port: int


@pytest.fixture(scope="session")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    """uvicorn serving tests/e2e/apps/fastapi_app.py and gunicorn serving flask_app.py."""
    log_dir = tmp_path_factory.mktemp("apps")
    env = _app_env()
    uvicorn_port, gunicorn_port = free_ports(APP_IP, 2)
    uvicorn = Service(
        "uvicorn",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--app-dir",
            str(APPS_DIR),
            "--host",
            APP_IP,
            "--port",
            str(uvicorn_port),
            # uvicorn's own proxy-header handling would hide what realip does.
            "--no-proxy-headers",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
            "--timeout-graceful-shutdown",
            "2",
        ],
        log_dir=log_dir,
        env=env,
    )
    gunicorn_argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "flask_app:app",
        "--bind",
        f"{APP_IP}:{gunicorn_port}",
        "--workers",
        "1",
        "--threads",
        "8",
        "--graceful-timeout",
        "2",
        "--timeout",
        "30",
        "--log-level",
        "warning",
        # gunicorn's own scheme handling trusts 127.0.0.1 only, which is not nginx here.
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]
    if _gunicorn_has_option("--no-control-socket"):
        # Newer gunicorn opens a control socket under ~/.gunicorn, shared by every instance.
        gunicorn_argv.append("--no-control-socket")
    gunicorn = Service("gunicorn", gunicorn_argv, log_dir=log_dir, env=env)
    # Both start at once: their imports overlap, which halves the wait on a slow machine.
    started = [uvicorn.start(), gunicorn.start()]
    try:
        uvicorn.wait_ready(http_probe(APP_IP, uvicorn_port, "/ready"))
        gunicorn.wait_ready(http_probe(APP_IP, gunicorn_port, "/ready"))
        yield Apps(uvicorn_port=uvicorn_port, gunicorn_port=gunicorn_port)
    finally:
        for service in started:
            service.stop()


@dataclass
class Nginx:
    """nginx's listeners on NGINX_IP, one plain and one TLS per upstream app."""

    uvicorn_port: int
    gunicorn_port: int
    uvicorn_tls_port: Optional[int]
    gunicorn_tls_port: Optional[int]

    def port(self, app: str, tls: bool = False) -> int:
        port = getattr(self, f"{app}_tls_port" if tls else f"{app}_port")
        if port is None:
            pytest.skip(
                "openssl is not installed, so nginx has no TLS listener: apt-get install openssl"
            )
        return int(port)


_LOCATION = """
        location / {{
            proxy_pass http://{upstream};
            proxy_bind {source};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_connect_timeout 10s;
            proxy_read_timeout 30s;
        }}"""


def nginx_servers(apps: Apps, ports: dict[str, int], tls: Optional[tuple[Path, Path]]) -> str:
    """The http block of the session's nginx: a plain and a TLS server per app."""
    servers = ["    map $http_upgrade $connection_upgrade { default upgrade; '' close; }"]
    for app, upstream_port in (("uvicorn", apps.uvicorn_port), ("gunicorn", apps.gunicorn_port)):
        location = _LOCATION.format(upstream=f"{app}_app", source=NGINX_SOURCE_IP)
        servers.append(
            f"    upstream {app}_app {{ server {APP_IP}:{upstream_port}; }}\n"
            f"    server {{\n        listen {NGINX_IP}:{ports[app]};{location}\n    }}"
        )
        if tls is not None:
            cert, key = tls
            servers.append(
                f"    server {{\n        listen {NGINX_IP}:{ports[app + '_tls']} ssl;\n"
                f"        ssl_certificate {cert};\n"
                f"        ssl_certificate_key {key};{location}\n    }}"
            )
    return "\n".join(servers)


@pytest.fixture(scope="session")
def nginx(apps: Apps, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """A real nginx reverse proxy in front of both apps (skips when nginx is not installed)."""
    binary = find_nginx()
    if binary is None:
        pytest.skip(INSTALL_NGINX)
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "tmp").mkdir()
    openssl = shutil.which("openssl")
    tls = write_self_signed_cert(prefix, openssl) if openssl else None
    names = ("uvicorn", "gunicorn", "uvicorn_tls", "gunicorn_tls")
    ports = dict(zip(names, free_ports(NGINX_IP, len(names))))
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(binary, prefix, nginx_servers(apps, ports, tls)))
    service = Service(
        "nginx",
        # -e: the startup error log, before nginx.conf is read, must not go to /var/log.
        [binary, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")],
        log_dir=prefix,
        extra_logs=[prefix / "error.log", conf],
    )
    service.start()
    try:
        for name, port in ports.items():
            if tls is not None or not name.endswith("_tls"):
                service.wait_ready(tcp_probe(NGINX_IP, port))
        yield Nginx(
            uvicorn_port=ports["uvicorn"],
            gunicorn_port=ports["gunicorn"],
            uvicorn_tls_port=ports["uvicorn_tls"] if tls else None,
            gunicorn_tls_port=ports["gunicorn_tls"] if tls else None,
        )
    finally:
        service.stop()
