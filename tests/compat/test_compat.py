"""The compatibility table: real servers on loopback, and the docs page generated from them.

``REALIP_REGEN=1 python -m pytest tests/compat`` rewrites docs/reference/compatibility.md from
the run; without it, a page that differs from the run fails the test with the difference.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import time
from typing import Iterable, List, Tuple

import compat_harness as h
import pytest

pytestmark = pytest.mark.compat

PAIRS = h.pairs()
# Read at import: the suite's autouse fixture clears every REALIP_* variable before each test.
REGEN = os.environ.get("REALIP_REGEN") == "1"


def _result(matrix: List[h.PairResult], fw: h.Framework, srv: h.Server) -> h.PairResult:
    return next(r for r in matrix if r.framework == fw and r.server == srv)


def test_page_is_what_the_run_produced(
    matrix: List[h.PairResult], consumers: List[h.consumers_harness.Outcome]
) -> None:
    page = h.render(matrix, consumers)
    if REGEN:
        h.PAGE.write_text(page)
    committed = h.PAGE.read_text() if h.PAGE.exists() else ""
    generated_with = h.page_python(committed)
    if generated_with is not None and generated_with != h.python_minor():
        pytest.skip(
            f"{h.PAGE.name} was generated under Python {generated_with} and this is "
            f"{h.python_minor()}: other package versions install here, so the page is compared "
            f"only under {generated_with}"
        )
    if h.comparable(committed) != h.comparable(page):
        diff = "".join(
            difflib.unified_diff(
                h.comparable(committed).splitlines(keepends=True),
                h.comparable(page).splitlines(keepends=True),
                "committed",
                "this run",
            )
        )
        pytest.fail(
            f"{h.PAGE} differs from this run; check the change and regenerate it with "
            f"REALIP_REGEN=1 python -m pytest tests/compat\n{diff}"
        )


@pytest.mark.parametrize(
    ("fw", "srv"), PAIRS, ids=[f"{fw.name}|{srv.name}".replace(" ", "_") for fw, srv in PAIRS]
)
def test_pair_ran_and_no_forged_client_got_through(
    matrix: List[h.PairResult], fw: h.Framework, srv: h.Server
) -> None:
    """Each pair runs (or skips saying what is missing); no forged or junk entry ever becomes
    the app's client unless the server itself put it into the header, and where realip finds no
    client, it says so in the server's log."""
    result = _result(matrix, fw, srv)
    if result.skipped:
        pytest.skip(f"{fw.name} under {srv.name}: {result.skipped}")
    for run in result.runs:
        if run.error is not None and not run.error.startswith("the app answered"):
            pytest.fail(f"{fw.name} under {srv.name} ({run.setting}) did not start: {run.error}")
        if run.error is not None:
            continue
        assert set(run.observations) == {kind.name for kind in h.KINDS}
        problems = [
            f"{kind.name}: the app got {run.observations[kind.name].app}"
            for kind in h.KINDS
            if run.observations[kind.name].app in (h.SPOOF, "unknown")
            # A server that merged the client's X_Forwarded_For into the header hands realip a
            # forged rightmost entry no WSGI app can tell apart; the page lists such servers.
            and not h.server_merged(kind, run.observations[kind.name])
        ]
        failed_closed = [k.name for k in h.KINDS if run.observations[k.name].app is None]
        if failed_closed and not h.warned(run):
            # A request realip could not answer is never silent: the server's log says why.
            problems.append(f"no warning in the server's log for {', '.join(failed_closed)}")
        assert not problems, (fw.name, srv.name, run.setting, problems)
    fixed_by = [run.setting for run in result.runs[1:] if run.error is None]
    if fixed_by and h.warned(result.runs[0]):
        # The warning names the setting the run found to fix it.
        flag = str(fixed_by[0]).split("=")[0]
        assert flag in result.runs[0].log_text.split("RealIPWarning", 1)[1], flag


def test_the_checks_see_a_wrong_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Control: an app without realip behind the stand-in proxy fails every check it can."""
    bare = h.Framework("control", "compat_bare", ("starlette",), asgi="app")
    uvicorn = next(s for s in h.SERVERS if s.name == "uvicorn")
    if h.missing(bare.requires + uvicorn.requires):
        pytest.skip("starlette or uvicorn is not installed: pip install '.[test]'")
    [result] = h.run_matrix([(bare, uvicorn)], log_dir=tmp_path)
    default = result.runs[0]
    assert default.error is None, default.error
    legit = default.observations["legit"]
    assert legit.app == h.PROXY_IP and legit.log == h.PROXY_IP
    for column in h.COLUMNS:
        assert h.verdict(result, column).startswith("does not work"), column
    # The direct client is the peer, and the harness agrees without realip's help.
    assert default.observations["spoofed-direct"].app == h.CLIENT_IP


def test_an_answer_from_another_server_on_the_port_is_not_read(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch
) -> None:
    """A server that never binds (gunicorn retrying a taken port) while another one answers there
    is an error of the run, not a row of results read from the wrong server."""
    bare = h.Framework("control", "compat_bare", ("starlette",), asgi="app")
    uvicorn = next(s for s in h.SERVERS if s.name == "uvicorn")
    if h.missing(bare.requires + uvicorn.requires):
        pytest.skip("starlette or uvicorn is not installed: pip install '.[test]'")
    port = h.free_port(h.SERVER_IP)
    other = subprocess.Popen(
        uvicorn.command(h.target(bare, uvicorn), h.SERVER_IP, port),
        cwd=str(h.APPS_DIR),
        env=h.server_env(()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + h.READY_TIMEOUT
        while True:
            try:
                if h.request(port, "/ready", h.CLIENT_IP, None, timeout=2.0)[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "the other server did not start"
                time.sleep(0.05)
        monkeypatch.setattr(h, "free_port", lambda host: port)
        squatter = h.Server(
            "never binds", "asgi", (), lambda t, host, p: h._py("-c", "import time; time.sleep(60)")
        )
        run = h.run_once(bare, squatter, None, tmp_path)
    finally:
        h._stop(other)
    assert run.error is not None and "another server answered" in run.error
    assert run.observations == {}


@pytest.mark.parametrize(
    ("line", "kind", "expected"),
    [
        ('INFO:     127.0.0.2:51234 - "GET /ip/legit HTTP/1.1" 200 OK', "legit", "127.0.0.2"),
        ('127.0.0.3:38597 - - [30/Nov/2026:13:17:27] "GET /ip/spoofed-direct" 200 84',
         "spoofed-direct", "127.0.0.3"),
        ('[2026-11-30 13:17:27 +0000] 203.0.113.7 - "GET /ip/junk HTTP/1.1" 200 0.286', "junk",
         "203.0.113.7"),
        # "/ip/junk" is not "/ip/junk-localhost".
        ('127.0.0.1 - - "GET /ip/junk-localhost HTTP/1.1" 200', "junk", None),
        ('unknown - - "GET /ip/junk-localhost HTTP/1.1" 200', "junk-localhost", "unknown"),
        # A port glued to an address still counts; a longer address does not.
        ('127.0.0.10:80 - "GET /ip/legit HTTP/1.1"', "legit", "?"),
    ],
)  # fmt: skip
def test_log_line_address(line: str, kind: str, expected: object) -> None:
    assert h._log_address(line, kind) == expected


def _run(values: dict) -> h.Run:  # type: ignore[type-arg]
    run = h.Run(setting=None)
    for kind in h.KINDS:
        value = values.get(kind.name, kind.expected)
        run.observations[kind.name] = h.Observation(
            app=value, accessors={"x": value}, notes=[], log=value
        )
    return run


def test_verdicts_name_the_setting_and_the_misses() -> None:
    fw = h.FRAMEWORKS[0]
    uvicorn = next(s for s in h.SERVERS if s.name == "uvicorn")
    good = _run({})
    bad = _run({"spoofed-localhost": h.SPOOF, "junk-localhost": "unknown"})
    assert h.verdict(h.PairResult(fw, uvicorn, runs=[good]), "app") == "works"
    fixed = h.Run(setting="--no-proxy-headers", observations=good.observations)
    assert (
        h.verdict(h.PairResult(fw, uvicorn, runs=[bad, fixed]), "app")
        == "works with `--no-proxy-headers`"
    )
    assert h.verdict(h.PairResult(fw, uvicorn, runs=[bad]), "accessor") == (
        "does not work: `x`: spoofed-localhost → 198.51.100.66 (forged); "
        "junk-localhost → unknown (junk)"
    )
    waitress = next(s for s in h.SERVERS if s.name == "waitress")
    assert h.verdict(h.PairResult(fw, waitress, runs=[bad]), "log").startswith("n/a")
    skipped = h.PairResult(fw, uvicorn, skipped="not installed")
    assert h.verdict(skipped, "app") == "skipped"


def test_every_framework_and_server_of_the_issue_is_in_the_matrix() -> None:
    frameworks = {fw.name for fw, _ in PAIRS}
    servers = {srv.name for _, srv in PAIRS}
    for name in ("FastAPI", "Starlette", "Litestar", "Quart", "Falcon (ASGI)", "Falcon (WSGI)",
                 "Django (ASGI)", "Django (WSGI)", "Flask", "Bottle", "Pyramid", "aiohttp",
                 "Sanic"):  # fmt: skip
        assert name in frameworks
    for name in ("uvicorn", "hypercorn", "granian", "daphne", "gunicorn (sync)",
                 "gunicorn + UvicornWorker", "waitress", "Werkzeug dev server",
                 "Sanic's server", "aiohttp's server", "uWSGI"):  # fmt: skip
        assert name in servers


def _cells(matrix: List[h.PairResult], column: str, **where: str) -> dict:  # type: ignore[type-arg]
    return {
        (r.framework.name, r.server.name): h.verdict(r, column)
        for r in matrix
        if not r.skipped and all(getattr(r, key).name == value for key, value in where.items())
    }


@pytest.mark.parametrize(
    "server",
    ["uvicorn", "hypercorn", "granian", "gunicorn (sync)", "gunicorn + UvicornWorker",
     "aiohttp's server"],
)  # fmt: skip
def test_access_logs_show_the_resolved_client(matrix: List[h.PairResult], server: str) -> None:
    """Issue 12: these servers' access logs show realip's client (with the setting named)."""
    cells = _cells(matrix, "log", server=server)
    if not cells:
        pytest.skip(f"{server} did not run here (see the skip messages of its pairs)")
    wrong = {pair: cell for pair, cell in cells.items() if not cell.startswith("works")}
    # Django's own middleware writes the client into the server's scope too (the first run of
    # this table found it did not), so every framework's log line agrees.
    assert wrong == {}, _logs(matrix, wrong)


def _logs(matrix: List[h.PairResult], pairs: Iterable[Tuple[str, str]]) -> str:
    """The end of each named pair's last server log, so a failure in CI can be read there."""
    chosen = set(pairs)
    return "\n".join(
        f"--- {r.framework.name} under {r.server.name} ({len(r.runs)} runs):\n"
        + (r.runs[-1].log_text[-2000:] if r.runs else "(no run)")
        for r in matrix
        if (r.framework.name, r.server.name) in chosen
    )


@pytest.mark.parametrize("framework", ["Bottle", "Pyramid", "Falcon (WSGI)", "Falcon (ASGI)"])
def test_header_reading_accessors_show_the_resolved_client(
    matrix: List[h.PairResult], framework: str
) -> None:
    """Issue 12: accessors that read X-Forwarded-For themselves agree with realip by default,
    under every server that keeps the header as the proxy sent it (waitress needs its
    setting)."""
    cells = _cells(matrix, "accessor", framework=framework)
    if not cells:
        pytest.skip(f"{framework} did not run here (see the skip messages of its pairs)")
    merging = h.merging_servers(matrix)  # no accessor can work there: the page says why
    for (fw, srv), cell in cells.items():
        if srv in merging:
            continue
        expected = (
            "works"
            if srv not in ("waitress", "uvicorn", "gunicorn + UvicornWorker")
            else ("works with")
        )
        assert cell.startswith(expected), (fw, srv, cell)


def test_a_missing_package_skips_the_pair_and_says_which(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What can't be installed is reported as such, never run or faked."""
    absent = h.Framework("absent", "compat_bare", ("realip_no_such_framework",), asgi="app")
    uvicorn = next(s for s in h.SERVERS if s.name == "uvicorn")
    result = h.run_pair(absent, uvicorn, tmp_path)
    assert result.runs == []
    assert result.skipped is not None and "realip_no_such_framework" in result.skipped
    assert "pip install" in result.skipped
    assert all(h.verdict(result, column) == "skipped" for column in h.COLUMNS)
    assert "realip_no_such_framework" in h.render([result])


def test_underscore_merging_is_measured_not_assumed(matrix: List[h.PairResult]) -> None:
    """The servers the page lists as merging X_Forwarded_For are exactly those whose header,
    as handed to the app, carried the client's underscore value; Werkzeug's and gunicorn's do
    not, so the check can tell the two apart."""
    merging = h.merging_servers(matrix)
    for result in matrix:
        if result.skipped or not result.runs or result.runs[0].error:
            continue
        obs = result.runs[0].observations["spoofed-underscore"]
        assert (result.server.name in merging) == (h.SPOOF in (obs.raw or "")), result.server.name
        if result.server.name in merging:
            assert h.verdict(result, "app").startswith("does not work"), result.server.name
    # Control: gunicorn drops header names with underscores by default (its documented
    # `header_map = "drop"` since 22.0), so the check must not see a merge there.
    if any(r.server.name == "gunicorn (sync)" and not r.skipped for r in matrix):
        assert "gunicorn (sync)" not in merging


def test_the_whole_run_fits_its_time_budget(matrix: List[h.PairResult]) -> None:
    """One server per pair, reused for every request, a few at once: CI can afford the table."""
    assert h.LAST_RUN_SECONDS is not None
    ran = sum(len(r.runs) for r in matrix)
    assert h.LAST_RUN_SECONDS < h.BUDGET, (
        f"{ran} server runs took {h.LAST_RUN_SECONDS:.0f}s, over the {h.BUDGET:.0f}s budget"
    )
