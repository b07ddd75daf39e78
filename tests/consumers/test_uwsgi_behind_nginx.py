"""uWSGI behind a real nginx: the proxy setting that stops a client's underscore header.

uWSGI merges a client's ``X_Forwarded_For`` into ``HTTP_X_FORWARDED_FOR`` (see
test_server_claims.py), so the docs (threat model, wsgi-asgi.md, flask.md) say: run it behind a
proxy that drops header names with underscores — nginx by default (``underscores_in_headers
off``, ``ignore_invalid_headers on``). This checks that default with nginx itself, and the
control: with ``underscores_in_headers on`` the client's header reaches uWSGI and wins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import consumers_harness as h
import pytest

pytestmark = pytest.mark.e2e

CLIENT = "127.0.0.5"  # connects to nginx; trusted by nobody


def _nginx() -> Optional[str]:
    for candidate in (os.environ.get("RIP_TEST_NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _config(prefix: Path, port: int, upstream: int, underscores: str) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    {temp}
    server {{
        listen {h.SERVER_IP}:{port};
        underscores_in_headers {underscores};
        location / {{
            proxy_pass http://{h.SERVER_IP}:{upstream};
            proxy_bind {h.PROXY_IP};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def uwsgi_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = Path(sys.executable).with_name("uwsgi")
    if not binary.exists():
        pytest.skip("uWSGI is not installed in this environment: pip install '.[test]'")
    argv = lambda port: [str(binary), "--http-socket", f"{h.SERVER_IP}:{port}",  # noqa: E731
                         "--module", "server_app:wsgi", "--home", sys.prefix, "--pythonpath",
                         str(h.APPS_DIR), "--master", "--processes", "1", "--die-on-term"]  # fmt: skip
    with h.serving(argv, tmp_path_factory.mktemp("uwsgi") / "uwsgi.log") as port:
        yield port


@pytest.mark.parametrize(
    ("underscores", "client"),
    [
        ("off", CLIENT),  # nginx's default: the client's X_Forwarded_For never reaches uWSGI
        ("on", h.SPOOF),  # control: passed on, merged by uWSGI, and the rightmost entry
    ],
)
def test_nginx_default_keeps_a_clients_underscore_header_from_uwsgi(
    uwsgi_port: int, tmp_path: Path, underscores: str, client: str
) -> None:
    nginx = _nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / kind).mkdir()
    port = h.free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(_config(tmp_path, port, uwsgi_port, underscores))
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        ready = h.wait_until_listening(port)
        assert ready, (tmp_path / "error.log").read_text(errors="replace")
        kind = h.Kind("underscore-via-nginx", CLIENT, (("X_Forwarded_For", h.SPOOF),), CLIENT, "")
        status, body = h.request(port, "/page", kind)
    finally:
        h._stop(proc)
    assert (status, body.decode()) == (200, client)
