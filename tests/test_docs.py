"""The documentation runs: every Python example in docs/ and README.md, and the MkDocs build.

Collection. Every fenced code block whose info string starts with ``python`` (or ``py``) in
``README.md`` and ``docs/**/*.md`` is one test, with the id ``path:line`` of its opening fence.
Fences may be indented (inside content tabs, admonitions or lists); the indentation is removed.
Blocks in any other language (``sh``, ``yaml``, ``text``, ``json``, ``nginx``, ...) are not run.

Namespace. The blocks of one page share one namespace and run in page order, like a notebook:
pages read top to bottom and later examples build on names defined earlier (a resolver, an app),
which keeps each example short. Each page runs in its own module object, registered in
``sys.modules`` under a private name while the suite runs (so ``Flask(__name__)``, dataclasses
and typing behave as in a real module); pages never share names. The test of block N runs
blocks 1..N-1 of its page first if they have not run yet, so any single test can be selected
and run alone; each block runs at most once per session and its own test reports its outcome.
A block after a failing one still runs (its failure message names the earlier failure).

Opting out. A ``<!-- no-run: reason -->`` comment on the line before a block skips it, with the
reason as the skip message (a reason is mandatory). A skipped block is not run as setup for
later blocks either, so later blocks must not depend on it. ``<!-- requires: module, ... -->``
runs the block only when those modules are importable and skips it otherwise; it is meant for
examples that show another library (python-ipware) which is not a test dependency.

Command output. A block after ``<!-- output: realip ARGS -->`` (usually ``text``) must equal,
line for line, what ``python -m realip ARGS`` prints now (with no ``REALIP_*`` variables set), so
sample output in the docs cannot go stale either. Other non-Python blocks are never checked.

The site. ``mkdocs build --strict`` runs into a temporary directory (skipped, saying what to
install, when MkDocs or the Material theme is missing), so a broken link or anchor, a page left
out of the nav or a nav entry without a page fails the suite. Drift checks make sure every
public name, environment variable, CLI command, topology and preset appears in the reference.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import traceback
import types
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from realip import _context

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MARKER = re.compile(
    r"^\s*<!--\s*(?P<kind>no-run|requires|output|serve-answer)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$"
)
PYTHON_LANGUAGES = {"python", "py", "python3"}


@dataclass
class Block:
    """One fenced code block of a Markdown page."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    language: str = "python"
    skip: Optional[str] = None
    requires: Tuple[str, ...] = ()
    output_of: Optional[str] = None  # the realip command whose output the block shows
    serve_args: Optional[str] = None  # the `realip serve` options whose answer the block shows

    @property
    def name(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path.as_posix()}:{self.line}"


@dataclass
class Page:
    """The blocks of one page and what running them has produced so far."""

    path: Path
    blocks: List[Block]
    module: Optional[types.ModuleType] = None
    outcomes: Dict[int, Optional[BaseException]] = field(default_factory=dict)


def markdown_files() -> List[Path]:
    """README.md and every page under docs/, in a stable order."""
    files = [README] if README.exists() else []
    files += sorted(DOCS.rglob("*.md"))
    return files


def _language(info: str) -> str:
    word = info.strip().split(None, 1)[0] if info.strip() else ""
    return word.strip("{}.").lower()


def parse_blocks(path: Path) -> Tuple[List[Block], List[str]]:
    """The fenced blocks of a page (all languages), and problems with their markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    problems: List[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, info = match.group("indent"), match.group("fence"), match.group("info")
        start = i
        body: List[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t"))
            i += 1
        i += 1
        block = Block(path, start + 1, "\n".join(body) + "\n", _language(info))
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = MARKER.match(lines[previous]) if previous >= 0 else None
        if marker is not None:
            value = (marker.group("value") or "").strip()
            if not value:
                problems.append(f"{block.name}: <!-- {marker.group('kind')}: ... --> needs a value")
            elif marker.group("kind") == "no-run":
                block.skip = value
            elif marker.group("kind") == "serve-answer":
                block.serve_args = value
            elif marker.group("kind") == "output":
                if not value.startswith("realip "):
                    problems.append(f"{block.name}: <!-- output: ... --> must run `realip ...`")
                block.output_of = value
            else:
                block.requires = tuple(m.strip() for m in value.split(",") if m.strip())
        blocks.append(block)
    return blocks, problems


def collect() -> Tuple[Dict[Path, Page], List[Block], List[str]]:
    """Python blocks by page, blocks that show a command's output, and marker problems."""
    pages: Dict[Path, Page] = {}
    outputs: List[Block] = []
    problems: List[str] = []
    for path in markdown_files():
        blocks, found = parse_blocks(path)
        problems += found
        python = [block for block in blocks if block.language in PYTHON_LANGUAGES]
        if python:
            pages[path] = Page(path, python)
        outputs += [b for b in blocks if b.output_of is not None or b.serve_args is not None]
    return pages, outputs, problems


PAGES, SHOWN_BLOCKS, MARKER_PROBLEMS = collect()
OUTPUT_BLOCKS = [block for block in SHOWN_BLOCKS if block.output_of is not None]
SERVE_BLOCKS = [block for block in SHOWN_BLOCKS if block.serve_args is not None]
ALL_BLOCKS = [block for page in PAGES.values() for block in page.blocks]


def _missing(modules: Tuple[str, ...]) -> List[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def _runnable(block: Block) -> bool:
    return block.skip is None and not _missing(block.requires)


def _module_for(page: Page) -> types.ModuleType:
    if page.module is None:
        slug = re.sub(r"\W", "_", page.path.relative_to(ROOT).as_posix())
        module = types.ModuleType(f"_realip_docs_{slug}")
        module.__file__ = str(page.path)
        sys.modules[module.__name__] = module
        page.module = module
    return page.module


def _run(page: Page, index: int) -> Optional[BaseException]:
    """Run block ``index`` of ``page`` once; return (and remember) its exception, if any."""
    if index not in page.outcomes:
        block = page.blocks[index]
        # Pad with newlines so tracebacks point at the block's lines in the Markdown file.
        code = compile("\n" * block.line + block.code, str(block.path), "exec")
        # Per-request recording for realip.log is one switch for the whole process: each block
        # starts with it off, as a reader's program does, so a snippet that reads the context
        # without enable() (or a ClientIPFilter) fails here instead of riding on an earlier one.
        recording = _context.enabled
        _context.enabled = False
        try:
            exec(code, _module_for(page).__dict__)
        except BaseException as exc:  # report anything, including SystemExit, as a failure
            page.outcomes[index] = exc
        else:
            page.outcomes[index] = None
        finally:
            _context.enabled = recording
    return page.outcomes[index]


@pytest.fixture(scope="module", autouse=True)
def _forget_page_modules() -> Iterator[None]:
    yield
    for page in PAGES.values():
        if page.module is not None:
            sys.modules.pop(page.module.__name__, None)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[block.name for block in ALL_BLOCKS])
def test_python_block_runs(block: Block) -> None:
    """The example runs without error (its asserts hold) after the page's earlier blocks."""
    if block.skip is not None:
        pytest.skip(f"no-run: {block.skip}")
    missing = _missing(block.requires)
    if missing:
        pytest.skip(f"requires {', '.join(missing)}, which is not installed: pip install '.[test]'")
    page = PAGES[block.path]
    index = page.blocks.index(block)
    earlier_failures = []
    for before in range(index):
        if _runnable(page.blocks[before]) and _run(page, before) is not None:
            earlier_failures.append(page.blocks[before].name)
    error = _run(page, index)
    if error is not None:
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        note = f" (earlier blocks failed: {', '.join(earlier_failures)})" * bool(earlier_failures)
        pytest.fail(f"{block.name} raised{note}:\n{details}", pytrace=False)


@pytest.mark.parametrize("block", OUTPUT_BLOCKS, ids=[block.name for block in OUTPUT_BLOCKS])
def test_command_output_is_current(block: Block) -> None:
    """A block after ``<!-- output: realip ... -->`` shows exactly what that command prints."""
    assert block.output_of is not None
    args = shlex.split(block.output_of)[1:]
    env = {key: value for key, value in os.environ.items() if not key.startswith("REALIP_")}
    done = subprocess.run(
        [sys.executable, "-m", "realip", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    shown, actual = block.code.rstrip("\n"), done.stdout.rstrip("\n")
    if shown != actual:
        diff = "\n".join(
            difflib.unified_diff(
                shown.splitlines(), actual.splitlines(), "in the docs", "printed now", lineterm=""
            )
        )
        pytest.fail(
            f"{block.name}: `{block.output_of}` prints something else:\n{diff}", pytrace=False
        )


def _keys(value: object) -> object:
    """The dict keys of a JSON value, nested; lists and scalars by type only."""
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items() if key != "headers"}
    return type(value).__name__


@pytest.mark.parametrize("block", SERVE_BLOCKS, ids=[block.name for block in SERVE_BLOCKS])
def test_serve_answer_is_current(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block after ``<!-- serve-answer: OPTIONS -->`` is, exactly, what ``realip serve OPTIONS``
    answers to the request the block shows (its peer and headers); a real ``realip serve``
    answers with the same fields."""
    from realip._cli_options import resolver_from_args
    from realip._serve_report import observe
    from realip.cli import build_parser

    assert block.serve_args is not None
    shown = json.loads(block.code)
    for key in [key for key in os.environ if key.startswith("REALIP_")]:
        monkeypatch.delenv(key)
    options = shlex.split(block.serve_args)
    resolver = resolver_from_args(build_parser(["serve"]).parse_args(["serve", *options]))
    request = shown["request"]
    headers = [("Host", request["host"])] if request["host"] is not None else []
    headers += [(header["name"], header["value"]) for header in shown["proxy_headers"]]
    answer = observe(
        resolver,
        shown["peer"]["address"],
        headers,
        peer_port=shown["peer"]["port"],
        method=request["method"],
        path=request["path"],
        version=request["version"],
    )
    if answer != shown:
        diff = difflib.unified_diff(
            block.code.splitlines(),
            json.dumps(answer, indent=2).splitlines(),
            "in the docs",
            "realip serve answers",
            lineterm="",
        )
        pytest.fail(f"{block.name}: stale answer:\n" + "\n".join(diff), pytrace=False)

    server = subprocess.Popen(
        [sys.executable, "-m", "realip", "serve", "--host", "127.0.0.1", "--port", "0", *options],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("REALIP_")},
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        url = re.search(r"http://\S+/", line)
        assert url, line
        sent = urllib.request.Request(url.group(0), headers=dict(headers[1:]))
        with urllib.request.urlopen(sent, timeout=30) as response:
            served = json.loads(response.read())
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert _keys(served) == _keys(shown)


def test_blocks_were_collected() -> None:
    """The collector finds the examples (a broken fence pattern would silently find none)."""
    assert README in PAGES and len(PAGES[README].blocks) >= 2
    for page in ("tutorial.md", "how-to/flask.md", "reference/api.md", "migration/nginx.md"):
        assert DOCS / page in PAGES, page
    assert len(ALL_BLOCKS) > 50
    assert any(block.output_of == "realip demo" for block in OUTPUT_BLOCKS)


def test_run_markers_are_complete() -> None:
    """Every no-run/requires marker says why (or what)."""
    assert MARKER_PROBLEMS == []


def test_no_run_is_used_sparingly() -> None:
    """Opting out is the exception: at most one block in ten is skipped."""
    skipped = [block.name for block in ALL_BLOCKS if block.skip is not None]
    assert len(skipped) * 10 <= len(ALL_BLOCKS), skipped


def test_parser_handles_indented_fences_and_markers(tmp_path: Path) -> None:
    """Tabs indent their blocks; markers apply to the block right after them."""
    page = tmp_path / "page.md"
    page.write_text(
        '=== "tab"\n\n'
        "    ```python\n"
        "    x = 1\n"
        "    ```\n\n"
        "<!-- no-run: starts a server -->\n"
        "```python\n"
        "serve()\n"
        "```\n\n"
        "<!-- requires: some_module, other -->\n"
        "```py\n"
        "y = 2\n"
        "```\n\n"
        "```sh\n"
        "echo not python\n"
        "```\n\n"
        "<!-- no-run -->\n"
        "```python\n"
        "z = 3\n"
        "```\n\n"
        "<!-- output: realip --version -->\n"
        "~~~~text\n"
        "realip 1.2.3\n"
        "~~~~\n",
        encoding="utf-8",
    )
    blocks, problems = parse_blocks(page)
    assert [(b.line, b.language, b.code, b.skip, b.requires, b.output_of) for b in blocks] == [
        (3, "python", "x = 1\n", None, (), None),
        (8, "python", "serve()\n", "starts a server", (), None),
        (13, "py", "y = 2\n", None, ("some_module", "other"), None),
        (17, "sh", "echo not python\n", None, (), None),
        (22, "python", "z = 3\n", None, (), None),
        (27, "text", "realip 1.2.3\n", None, (), "realip --version"),
    ]
    assert len(problems) == 1 and "needs a value" in problems[0]


# -- the reference covers what exists -----------------------------------------------------


def _text(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def test_reference_names_every_public_name() -> None:
    import realip
    import realip.aiohttp
    import realip.asgi
    import realip.django
    import realip.log
    import realip.request
    import realip.resolver
    import realip.wsgi

    api = _text("reference/api.md")

    def documented(name: str) -> bool:
        # As `name`, `name(...)`, or qualified: `realip.asgi.name`, `Resolver.name(...)`.
        return re.search(rf"[`.]{re.escape(name)}\b", api) is not None

    modules = (
        realip,
        realip.request,
        realip.resolver,
        realip.asgi,
        realip.wsgi,
        realip.django,
        realip.aiohttp,
        realip.log,
    )
    for module in modules:
        for name in module.__all__:
            assert documented(name), f"{module.__name__}.{name} is not in reference/api.md"
    for name in (*realip.Result._fields, "ip_address", "via_proxies"):
        assert f"`{name}`" in api, f"Result.{name} is not in reference/api.md"
    for name in [n for n in dir(realip.Resolver) if not n.startswith("_")]:
        assert documented(name), f"Resolver.{name} is not in reference/api.md"


def test_reference_names_every_setting() -> None:
    from realip import TOPOLOGIES
    from realip._networks import PRESETS
    from realip.resolver import ENV_VARS

    configuration = _text("reference/configuration.md")
    for var in ENV_VARS:
        assert f"`{var}`" in configuration, var
    for name in TOPOLOGIES:
        assert f"`{name}`" in configuration, name
    for preset in PRESETS:
        assert f"`{preset}`" in configuration, preset


def test_reference_names_every_command_and_option() -> None:
    import argparse

    from realip.cli import build_parser

    cli = _text("reference/cli.md")
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) >= {"demo", "explain", "serve", "doctor"}
    for name, sub in commands.choices.items():
        assert f"## `realip {name}`" in cli, f"realip {name} has no section in reference/cli.md"
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in cli, f"realip {name} {flag} is not in reference/cli.md"


# -- the pages read the same on GitHub ---------------------------------------------------

# Syntax that MkDocs extensions render but GitHub shows as raw text: content tabs, admonitions
# and collapsible blocks, definition lists, attribute lists.
GITHUB_UNRENDERED = (
    (re.compile(r'^\s*===\+? +"'), 'content tab (=== "..."): use a bold label line'),
    (re.compile(r"^\s*(!!!|\?\?\?\+?) *\w"), "admonition (!!!): use a blockquote, > **Note:** ..."),
    (re.compile(r"^ {0,3}: {1,4}\S"), "definition list (term / :   text): use a plain list"),
    (re.compile(r"\{\s*[:#.][^}]*\}\s*$"), "attribute list ({: ...}, {#id}): GitHub shows it"),
)


def github_unrendered(text: str) -> List[Tuple[int, str]]:
    """``(line, problem)`` for each construct GitHub would show as raw text (code excluded)."""
    problems: List[Tuple[int, str]] = []
    fence = ""
    previous = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            continue
        if match is not None:
            fence = match.group("fence")
            continue
        # Inline code may show anything; a line may start with the rest of a code span.
        prose = re.sub(r"`[^`]*`", "", line)
        for pattern, problem in GITHUB_UNRENDERED:
            if problem.startswith("definition"):
                if previous and pattern.search(line):
                    problems.append((number, problem))
            elif pattern.search(prose):
                problems.append((number, problem))
        previous = line.strip()
    return problems


def test_pages_use_only_markdown_github_renders() -> None:
    """README and every page read right on GitHub too: no tabs, admonitions, definition lists."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {problem}"
        for path in markdown_files()
        for number, problem in github_unrendered(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "\n".join(found)


def test_github_check_finds_each_construct() -> None:
    sample = (
        '=== "uvicorn"\n    text\n\n!!! note "Title"\n    body\n\n??? tip\n    body\n\n'
        "`term`\n:   definition\n\n## Heading {#anchor}\n\n"
        '```text\n=== "in code"\n!!! note\n```\n\nSee `{.items[*]}` and: this.\n'
    )
    assert [number for number, _ in github_unrendered(sample)] == [1, 4, 7, 11, 13]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_anchor_links_resolve_on_github() -> None:
    """``page.md#anchor`` links land on a heading under GitHub's anchors too (MkDocs' strict
    build checks its own, which differ for repeated spaces, hyphens and punctuation)."""
    anchors: Dict[Path, set] = {}
    for path in markdown_files():
        text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
        found = {github_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
        found |= set(re.findall(r'<a id="([^"]+)"', text))
        anchors[path.resolve()] = found
    broken, checked = [], 0
    for path in markdown_files():
        for target in re.findall(r"\]\(([^)\s]*#[^)\s]+)\)", path.read_text(encoding="utf-8")):
            page, _, anchor = target.partition("#")
            linked = (path.parent / page).resolve() if page else path.resolve()
            if linked in anchors:
                checked += 1
                if anchor not in anchors[linked]:
                    broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []
    assert checked > 20  # the link pattern finds the docs' anchor links
    assert github_slug("2. Watch it work: `realip demo`") == "2-watch-it-work-realip-demo"


def split_tables(text: str) -> List[int]:
    """Lines where a table goes on after a blank line (which ends it in every renderer)."""
    lines = text.splitlines()
    return [
        number + 1
        for number in range(2, len(lines))
        if lines[number].startswith("|")
        and not lines[number - 1].strip()
        and lines[number - 2].startswith("|")
        and not (number + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|\s*$", lines[number + 1]))
    ]


def test_tables_are_not_split_by_blank_lines() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in markdown_files()
        for number in split_tables(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert split_tables("| a | b |\n| --- | --- |\n| 1 | 2 |\n\n| 3 | 4 |\n") == [5]


# -- every realip command shown in the docs is valid ---------------------------------------

SHELL_LANGUAGES = {"sh", "bash", "console", "shell", ""}


def realip_commands() -> List[Tuple[str, List[str]]]:
    """``(where, argv)`` of each ``realip ...`` command in the shell blocks (after ``|``,
    ``&&`` and ``;`` too, line continuations joined, ``VAR=value`` prefixes dropped)."""
    found = []
    for path in markdown_files():
        for block in parse_blocks(path)[0]:
            if block.language not in SHELL_LANGUAGES:
                continue
            for line in block.code.replace("\\\n", " ").splitlines():
                for part in re.split(r"\|\||&&|\||;", line):
                    words = shlex.split(part, comments=True)
                    while words and re.match(r"^[A-Z_]+=", words[0]):
                        words.pop(0)
                    if words and words[0] == "realip":
                        found.append((block.name, words[1:]))
    return found


REALIP_COMMANDS = realip_commands()


@pytest.mark.parametrize(("where", "argv"), REALIP_COMMANDS, ids=[w for w, _ in REALIP_COMMANDS])
def test_realip_command_in_the_docs_is_valid(where: str, argv: List[str]) -> None:
    """Each command parses with today's options; ``explain`` commands run without a usage or
    configuration error (``serve`` would not return and ``doctor`` reads the reader's files)."""
    from realip.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{where}: `realip {' '.join(argv)}` is refused (exit {exc.code})")
    if argv[:1] == ["explain"]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
        done = subprocess.run(
            [sys.executable, "-m", "realip", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode in (0, 1), f"{where}: {done.stderr}"


def test_realip_commands_were_collected() -> None:
    commands = {argv[0] for _, argv in REALIP_COMMANDS if argv}
    assert {"demo", "explain", "serve", "doctor"} <= commands


# -- each how-to says what to install, and its app runs as an app ------------------------

# What an import or a command in a how-to needs installed (the page's "Install:" line must name
# it, or realip's extra that brings it).
NEEDS = {
    "aiohttp": ("aiohttp", "realip[aiohttp]"),
    "bottle": ("bottle",),
    "django": ("django", "realip[django]"),
    "falcon": ("falcon",),
    "fastapi": ("fastapi",),
    "flask": ("flask",),
    "gunicorn": ("gunicorn", "realip[gunicorn]"),
    "litestar": ("litestar",),
    "opentelemetry": ("opentelemetry-sdk",),
    "sanic": ("sanic",),
    "starlette": ("starlette",),
    "structlog": ("structlog",),
    "uvicorn": ("uvicorn", "uvicorn[standard]", "realip[uvicorn]"),
    "waitress-serve": ("waitress",),
    "webob": ("webob",),
    "httpx": ("httpx",),
}
HOW_TOS = sorted(p for p in (DOCS / "how-to").glob("*.md") if p.name != "index.md")


def _needed(path: Path) -> List[str]:
    needed = set()
    for block in parse_blocks(path)[0]:
        if block.language in PYTHON_LANGUAGES:
            needed |= set(re.findall(r"^\s*(?:from|import) (\w+)", block.code, re.M))
            if "testclient" in block.code:
                needed.add("httpx")  # Starlette's and FastAPI's test clients run on httpx
        elif block.language in ("sh", "bash", "console"):
            needed |= {line.split()[0] for line in block.code.splitlines() if line.strip()}
    return sorted(needed & set(NEEDS))


@pytest.mark.parametrize("path", HOW_TOS, ids=[path.name for path in HOW_TOS])
def test_how_to_says_what_to_install(path: Path) -> None:
    """An ``**Install:**`` paragraph under the title names a package for each framework,
    server or library the page's examples import or run."""
    text = path.read_text(encoding="utf-8")
    paragraphs = text.split("\n\n")
    assert paragraphs[1].startswith("**Install:** "), (
        f"{path.name}: no Install line under the title"
    )
    installs = " ".join(re.findall(r"`pip\s+install\s+([^`]+)`", paragraphs[1]))
    packages = {word.strip("'\"").lower() for word in installs.split()}
    assert "realip" in packages or any(p.startswith("realip[") for p in packages), installs
    missing = [name for name in _needed(path) if not packages & set(NEEDS[name])]
    assert missing == [], f"{path.name} uses {missing} but its Install line does not say so"


def test_examples_use_setattr_for_wsgi_app() -> None:
    """The Flask guide recommends ``setattr(app, "wsgi_app", ...)`` (mypy's [method-assign]
    rejects the assignment): no example assigns realip's middleware the other way."""
    found = [
        block.name
        for block in ALL_BLOCKS
        if re.search(r"\.wsgi_app\s*=\s*RealIPMiddleware", block.code)
    ]
    assert found == []


@pytest.mark.parametrize(
    "page", ["README.md", "docs/how-to/fastapi.md", "docs/how-to/starlette.md"]
)
def test_app_block_runs_as_an_app_under_uvicorn(page: str, tmp_path: Path) -> None:
    """The first block of the page, saved as ``app.py``, serves under a real uvicorn without
    httpx (which only the test client needs)."""
    pytest.importorskip("uvicorn")
    first = PAGES[ROOT / page].blocks[0]
    assert "testclient" not in first.code, "the app block must not import a test client"
    (tmp_path / "app.py").write_text(first.code, encoding="utf-8")
    # The app's process cannot import httpx, as on a machine with only the app's packages.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoHttpx:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'httpx':\n"
        "            raise ModuleNotFoundError(name, name=name)\n"
        "sys.meta_path.insert(0, _NoHttpx())\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    env["PYTHONPATH"] = str(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", "0", "--no-proxy-headers"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stderr is not None
        url = None
        for line in server.stderr:
            found = re.search(r"running on (http://\S+)", line, re.I)
            if found:
                url = found.group(1)
                break
        assert url, "uvicorn did not start"
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            body = json.loads(response.read())
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert body["client"] == "127.0.0.1"


# -- the site builds ----------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: broken links, anchors and nav entries fail the suite."""
    missing = _missing(("mkdocs", "material"))
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install '.[docs]' to build the site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--clean",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # the theme's end-of-life banner
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
