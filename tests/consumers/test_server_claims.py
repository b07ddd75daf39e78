"""What the how-tos say about servers, checked on real server processes (issue 21, items 4, 6).

- logging.md's uvicorn ``--log-config`` file keeps uvicorn's access log, and its lines show the
  client realip resolved; the ``client_ip`` field reaches the app's own lines.
- wsgi-asgi.md: which servers' websocket access lines show the client (uvicorn, hypercorn) and
  which log the proxy from their own connection data (granian, daphne).
- uWSGI: its request log shows the proxy unless the app hands the client over with
  ``uwsgi.set_logvar`` (the recipe in wsgi-asgi.md); it merges a client's ``X_Forwarded_For``
  into ``HTTP_X_FORWARDED_FOR``, which is why the proxy must drop underscore headers.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import sys
from pathlib import Path
from typing import Callable, Dict, List

import consumers_harness as h
import pytest

DOCS = h.HERE.parent.parent / "docs" / "how-to"
LEGIT = h.KIND["legit"]
PY = sys.executable


def _yaml_block(page: Path, heading: str) -> str:
    """The first ```yaml block under ``heading`` in ``page``: the file the page tells users to write."""
    text = page.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no yaml block under {heading!r} in {page.name}"
    return match.group(1)


def test_the_uvicorn_log_config_of_logging_md_keeps_the_access_log(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    config = tmp_path / "logging.yaml"
    config.write_text(_yaml_block(DOCS / "logging.md", "## uvicorn's log configuration"))
    log = tmp_path / "uvicorn.log"
    argv = lambda port: [PY, "-m", "uvicorn", "server_app:asgi", "--host", h.SERVER_IP,  # noqa: E731
                         "--port", str(port), "--no-proxy-headers", "--log-config", str(config)]  # fmt: skip
    with h.serving(argv, log) as port:
        status, body = h.request(port, "/page", LEGIT)
        assert (status, body) == (200, h.REAL_CLIENT.encode())
        text = h.wait_for_text(log, '"GET /page')
    access = h.line_with(text, '"GET /page')
    assert access, f"no access line: the config silenced uvicorn.access\n{text}"
    assert f"{h.REAL_CLIENT}:0 - " in access, access
    # The app's own line carries the client through the filter.
    assert re.search(rf"{re.escape(h.REAL_CLIENT)} INFO app hit", text), text


def _websocket(port: int) -> bytes:
    """Open a websocket from the stand-in proxy with the legit chain; the first message."""
    with socket.socket() as sock:
        sock.bind((h.PROXY_IP, 0))
        sock.settimeout(h.REQUEST_TIMEOUT)
        sock.connect((h.SERVER_IP, port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: consumers.test\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"X-Forwarded-For: {h.REAL_CLIENT}, {h.INNER_PROXY}\r\n\r\n"
            ).encode()
        )
        data = b""
        while h.REAL_CLIENT.encode() not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


WEBSOCKET_SERVERS: Dict[str, Callable[[int], List[str]]] = {
    "uvicorn": lambda p: [PY, "-m", "uvicorn", "server_app:asgi", "--host", h.SERVER_IP,
                          "--port", str(p), "--no-proxy-headers"],
    "hypercorn": lambda p: [PY, "-m", "hypercorn", "server_app:asgi", "--bind",
                            f"{h.SERVER_IP}:{p}", "--access-logfile", "-"],
    "granian": lambda p: [PY, "-m", "granian", "--interface", "asgi", "--host", h.SERVER_IP,
                          "--port", str(p), "--access-log", "server_app:asgi"],
    "daphne": lambda p: [PY, "-m", "daphne", "--bind", h.SERVER_IP, "--port", str(p),
                         "--access-log", "-", "server_app:asgi"],
}  # fmt: skip
# What wsgi-asgi.md says each server's websocket access line shows.
WEBSOCKET_LINE_SHOWS = {
    "uvicorn": h.REAL_CLIENT,
    "hypercorn": h.REAL_CLIENT,
    "granian": h.PROXY_IP,
    "daphne": h.PROXY_IP,
}


@pytest.mark.parametrize("server", sorted(WEBSOCKET_SERVERS))
def test_websocket_access_lines_are_what_wsgi_asgi_md_says(server: str, tmp_path: Path) -> None:
    pytest.importorskip(server)
    log = tmp_path / f"{server}.log"
    with h.serving(WEBSOCKET_SERVERS[server], log) as port:
        data = _websocket(port)
        # The app sees the client whatever the server logs.
        assert h.REAL_CLIENT.encode() in data, data
        text = h.wait_for_text(log, "/ws")
    line = h.line_with(text, "/ws")
    assert line, f"{server} wrote no websocket access line:\n{text}"
    assert h._address(line) == WEBSOCKET_LINE_SHOWS[server], line
    page = (DOCS / "wsgi-asgi.md").read_text()
    assert "websocket" in page and server in page


def _uwsgi(module: str, *extra: str) -> Callable[[int], List[str]]:
    binary = str(Path(sys.executable).with_name("uwsgi"))
    return lambda port: [binary, "--http-socket", f"{h.SERVER_IP}:{port}", "--module", module,
                         "--home", sys.prefix, "--pythonpath", str(h.APPS_DIR), "--master",
                         "--processes", "1", "--die-on-term", *extra]  # fmt: skip


UWSGI_LOGFORMAT = '%(client) - [%(ltime)] "%(method) %(uri) %(proto)" %(status)'


@pytest.fixture
def uwsgi_installed() -> None:
    if not Path(sys.executable).with_name("uwsgi").exists():
        pytest.skip("uWSGI is not installed in this environment: pip install '.[test]'")


@pytest.mark.usefixtures("uwsgi_installed")
def test_uwsgi_logs_the_proxy_unless_the_app_hands_it_the_client(tmp_path: Path) -> None:
    plain, recipe = tmp_path / "plain.log", tmp_path / "recipe.log"
    with h.serving(_uwsgi("server_app:wsgi"), plain) as port:
        assert h.request(port, "/page", LEGIT) == (200, h.REAL_CLIENT.encode())
        text = h.wait_for_text(plain, "GET /page")
    assert h._address(h.line_with(text, "GET /page")) == h.PROXY_IP, text
    with h.serving(
        _uwsgi("server_uwsgi:application", "--logformat", UWSGI_LOGFORMAT), recipe
    ) as port:
        assert h.request(port, "/page", LEGIT) == (200, h.REAL_CLIENT.encode())
        text = h.wait_for_text(recipe, "GET /page")
    assert h.line_with(text, "GET /page").startswith(f"{h.REAL_CLIENT} - ["), text
    page = (DOCS / "wsgi-asgi.md").read_text()
    assert "uwsgi.set_logvar" in page and UWSGI_LOGFORMAT in page


@pytest.mark.usefixtures("uwsgi_installed")
def test_uwsgi_merges_a_clients_underscore_header(tmp_path: Path) -> None:
    """Why the threat model asks the proxy to drop underscore headers in front of uWSGI: the
    client's ``X_Forwarded_For`` lands in ``HTTP_X_FORWARDED_FOR`` as its rightmost entry."""
    log = tmp_path / "uwsgi.log"
    with h.serving(_uwsgi("server_app:wsgi"), log) as port:
        status, body = h.request(port, "/page", h.KIND["underscore"])
    assert status == 200
    # realip can't tell the merged entry from the proxy's: the forged address wins.
    assert body == h.SPOOF.encode(), body
    threat = (h.HERE.parent.parent / "docs" / "explanation" / "threat-model.md").read_text()
    assert "uWSGI" in threat and "underscores_in_headers" in threat
