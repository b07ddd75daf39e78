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
import os
import re
import shlex
import subprocess
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MARKER = re.compile(
    r"^\s*<!--\s*(?P<kind>no-run|requires|output)\s*(?::\s*(?P<value>.*?))?\s*-->\s*$"
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
        outputs += [block for block in blocks if block.output_of is not None]
    return pages, outputs, problems


PAGES, OUTPUT_BLOCKS, MARKER_PROBLEMS = collect()
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
        try:
            exec(code, _module_for(page).__dict__)
        except BaseException as exc:  # report anything, including SystemExit, as a failure
            page.outcomes[index] = exc
        else:
            page.outcomes[index] = None
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
