"""Every server configuration snippet in the docs, loaded by that server in a real process.

A snippet a server reads (a gunicorn configuration file, a uvicorn ``--log-config`` file, ...) is
marked with ``<!-- server-config: SERVER -->`` among the comment lines right above its fence;
the test takes the snippet from the page as it is, writes it to a file, starts the server with
it, sends a request and checks the server answered and stayed up (for logging configurations,
that its lines come out in the snippet's format, with realip's client field). So the docs cannot
ship a recipe that stops the server (issue 20: gunicorn 27 refused the logging page's
``logconfig_dict`` with "Unable to configure root logger").

A block that looks like a server configuration but carries no marker fails the suite, so a new
recipe is loaded too, or says why not.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from e2e_harness import Service, free_port
from test_docs import Block, markdown_files, parse_blocks

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"^\s*<!--\s*server-config:\s*(?P<server>[\w-]+)\s*-->\s*$")
COMMENT = re.compile(r"^\s*<!--.*-->\s*$")

# What makes a block a server configuration, by language: gunicorn settings assigned at the top
# of a Python file, a logging dictConfig in YAML or JSON, a TOML server file.
_GUNICORN_SETTING = re.compile(
    r"^(logconfig_dict|logconfig|bind|workers|worker_class|threads|proxy_protocol|"
    r"proxy_allow_ips|forwarded_allow_ips|accesslog|errorlog|access_log_format|pre_request|"
    r"post_request|on_starting)\s*=|^from realip\.gunicorn import",
    re.M,
)
_DICT_CONFIG = re.compile(r"""^\s*\{?\s*["']?version["']?\s*:\s*1\b""", re.M)


def _looks_like_server_config(block: Block) -> bool:
    if block.language in ("python", "py", "python3"):
        return bool(_GUNICORN_SETTING.search(block.code))
    if block.language in ("yaml", "yml", "json"):
        return bool(_DICT_CONFIG.search(block.code)) and "handlers" in block.code
    return block.language == "toml"


def _marker(block: Block) -> Optional[str]:
    lines = block.path.read_text(encoding="utf-8").splitlines()
    index = block.line - 2
    while index >= 0 and (not lines[index].strip() or COMMENT.match(lines[index])):
        match = MARK.match(lines[index])
        if match:
            return match.group("server")
        index -= 1
    return None


def _snippets() -> List[Tuple[str, Block]]:
    found = []
    for path in markdown_files():
        blocks, _ = parse_blocks(path)
        for block in blocks:
            server = _marker(block)
            if server is not None:
                found.append((server, block))
    return found


SNIPPETS = _snippets()

_APP = """
import logging

from realip.asgi import RealIPMiddleware as RealIPASGIMiddleware
from realip.wsgi import RealIPMiddleware


def inner(environ, start_response):
    logging.getLogger("app").warning("handled")
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


app = RealIPMiddleware(inner, trusted_proxies=["127.0.0.2"])


async def asgi_inner(scope, receive, send):
    if scope["type"] != "http":
        return
    logging.getLogger("app").warning("handled")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


asgi_app = RealIPASGIMiddleware(asgi_inner, trusted_proxies=["127.0.0.2"])
"""


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    # Enough for snippets that configure PROXY protocol; others ignore it.
    env.update(REALIP_TOPOLOGY="lb-tcp-proxy", REALIP_LB_CIDRS="127.0.0.2", PYTHONUNBUFFERED="1")
    return env


def _gunicorn(snippet: Path, app_dir: Path, port: int) -> List[str]:
    from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped]

    flags = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or ())}
    extra = ["--no-control-socket"] if "--no-control-socket" in flags else []
    return [
        sys.executable, "-m", "gunicorn", "-c", str(snippet), "app:app", "--chdir", str(app_dir),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "1", *extra,
    ]  # fmt: skip


def _uvicorn_log_config(snippet: Path, app_dir: Path, port: int) -> List[str]:
    return [
        sys.executable, "-m", "uvicorn", "app:asgi_app", "--app-dir", str(app_dir),
        "--log-config", str(snippet), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


# server -> (file suffix by block language, command line)
LOADERS: Dict[str, Callable[[Path, Path, int], List[str]]] = {
    "gunicorn": _gunicorn,
    "uvicorn-log-config": _uvicorn_log_config,
}
_SUFFIX = {"python": ".py", "py": ".py", "yaml": ".yaml", "yml": ".yaml", "json": ".json"}


def test_every_server_configuration_in_the_docs_is_marked() -> None:
    marked = {(block.path, block.line) for _, block in SNIPPETS}
    unmarked = [
        block.name
        for path in markdown_files()
        for block in parse_blocks(path)[0]
        if _looks_like_server_config(block) and (block.path, block.line) not in marked
    ]
    assert not unmarked, (
        "these blocks look like server configuration: mark them <!-- server-config: SERVER --> "
        f"so a test loads them in that server: {unmarked}"
    )
    assert len(SNIPPETS) >= 3, SNIPPETS  # logging: uvicorn and gunicorn; PROXY: gunicorn


@pytest.mark.parametrize(("server", "block"), SNIPPETS, ids=[b.name for _, b in SNIPPETS])
def test_the_server_loads_the_snippet(server: str, block: Block, tmp_path: Path) -> None:
    assert server in LOADERS, f"{block.name}: no loader for server {server!r}"
    if server == "gunicorn":
        pytest.importorskip("gunicorn")
    if block.language in ("yaml", "yml"):
        pytest.importorskip("yaml")
    (tmp_path / "app.py").write_text(_APP)
    snippet = tmp_path / f"snippet{_SUFFIX[block.language]}"
    snippet.write_text(block.code)
    port = free_port("127.0.0.1")
    service = Service(
        server, LOADERS[server](snippet, tmp_path, port), log_dir=tmp_path, env=_env()
    ).start()
    try:
        status = _get(service, port)
        assert status == 200, service.logs()
        logs = _wait_for(service, "handled")
        if "ClientIPFilter" in block.code:
            # The snippet's format, with realip's field: the client of the request, or "-".
            formatted = re.compile(
                r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (127\.0\.0\.1|-) \w+ ", re.M
            )
            assert formatted.search(logs), logs
            assert re.search(r"127\.0\.0\.1 WARNING (app )?handled", logs), logs
    finally:
        service.stop()


def _get(service: Service, port: int) -> int:
    deadline = time.monotonic() + 45
    while True:
        assert service.proc is not None
        if service.proc.poll() is not None:
            pytest.fail(f"{service.name} exited with {service.proc.returncode}:\n{service.logs()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            return conn.getresponse().status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            conn.close()


def _wait_for(service: Service, text: str) -> str:
    deadline = time.monotonic() + 10
    logs = service.logs()
    while text not in logs and time.monotonic() < deadline:
        time.sleep(0.1)
        logs = service.logs()
    return logs


def test_snippet_selection_is_by_marker_and_content(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- server-config: gunicorn -->\n<!-- no-run: a config file -->\n```python\n"
        "bind = '0.0.0.0:8000'\n```\n\n```python\nlogconfig_dict = {}\n```\n"
        '```json\n{"version": 1, "handlers": {}}\n```\n```python\nx = 1\n```\n'
    )
    blocks = parse_blocks(page)[0]
    assert [_marker(b) for b in blocks] == ["gunicorn", None, None, None]
    assert [_looks_like_server_config(b) for b in blocks] == [True, True, True, False]
    assert json.loads(blocks[2].code)["version"] == 1
