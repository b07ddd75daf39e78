"""What a release publishes: one version, a dated changelog, a complete sdist, clean metadata.

The sdist is built once per module (``python -m build --sdist --no-isolation``: this venv's
setuptools, no network) and unpacked. Distributors (Debian, conda-forge) build and test from
it, so it must hold every file of the repository that the tests, the docs and the benchmarks
need, and the fast tests must pass inside it. ``scripts/release_check.py`` does the same with
the wheel too, ``twine check`` and a fresh venv (see RELEASING.md).
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
from email.message import Message
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

import realip
from realip.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = ROOT / "CHANGELOG.md"
RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\S+))?$", re.M)

# A quick slice of the suite that needs conftest.py, tests/support, the data files and the docs:
# what was missing from the 0.1 sdist.
SDIST_SUITE = [
    "tests/test_addresses.py",
    "tests/test_support.py",
    "tests/test_docs.py::test_blocks_were_collected",
    "tests/test_docs.py::test_run_markers_are_complete",
]


def releases() -> List[Tuple[str, str]]:
    """``(version, date)`` of every ``## [...]`` heading in CHANGELOG.md, newest first."""
    text = CHANGELOG.read_text(encoding="utf-8")
    return [(m.group("version"), m.group("date") or "") for m in RELEASE.finditer(text)]


def test_version_is_the_changelogs_newest_release() -> None:
    """``realip.__version__`` is the newest dated section; ``[Unreleased]`` sits above it."""
    found = releases()
    assert found[0] == ("Unreleased", ""), found[:2]
    dated = found[1:]
    assert dated and dated[0][0] == realip.__version__, (dated[:1], realip.__version__)
    dates = [date for _, date in dated]
    for date in dates:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), f"undated or malformed release: {date!r}"
    assert dates == sorted(dates, reverse=True), "releases are listed newest first"


def test_changelog_sections_use_keep_a_changelog_headings() -> None:
    """Every release's ``###`` headings are Keep a Changelog's categories, in its order."""
    order = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
    text = CHANGELOG.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) >= 3
    for section in sections:
        headings = re.findall(r"^### (.+)$", section, re.M)
        assert all(h in order for h in headings), (section.splitlines()[0], headings)
        assert headings == sorted(headings, key=order.index), (section.splitlines()[0], headings)
    newest = sections[1]
    assert {"Added", "Changed", "Fixed", "Security"} <= set(re.findall(r"^### (.+)$", newest, re.M))
    assert "Behaviour changes" in newest


def test_version_option_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"realip {realip.__version__}"


def test_readme_first_screen_is_two_commands_starting_with_a_venv() -> None:
    """Above the first section: two one-line shell commands, the first making a venv (Debian's
    python3 refuses `pip install` outside one) and installing realip, the second the tests."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = readme.split("\n## ", 1)[0]
    commands = re.findall(r"^```sh\n(.*?)\n```$", first_screen, re.M | re.S)
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands), commands
    assert commands[0].startswith("python3 -m venv ") and "pip install ." in commands[0]
    assert commands[0].endswith("realip demo")
    assert "<!-- test-command -->" in first_screen


def _links(markdown: str) -> List[str]:
    inline = re.findall(r"\]\(\s*<?([^)\s>]+)", markdown)
    references = re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", markdown, re.M)
    images = re.findall(r"<img[^>]*\ssrc=[\"']([^\"']+)", markdown)
    hrefs = re.findall(r"<a[^>]*\shref=[\"']([^\"']+)", markdown)
    return inline + references + images + hrefs


def test_long_description_has_no_relative_links() -> None:
    """README.md is the package index's long description, where relative links are dead."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^readme = "README.md"$', pyproject, re.M)
    links = _links((ROOT / "README.md").read_text(encoding="utf-8"))
    relative = [link for link in links if not re.match(r"(https?://|mailto:)", link)]
    assert relative == [], f"relative links in README.md, dead on the package index: {relative}"


def test_link_finder_finds_relative_links() -> None:
    """The check above can fail: it sees each way Markdown spells a link."""
    sample = (
        "[a](docs/a.md) [b]( <docs/b.md> ) ![c](img/c.png)\n[d]: docs/d.md\n"
        '<img src="e.png"> <a href="f.md">f</a> [g](https://example.org/g)\n'
    )
    assert _links(sample) == [
        "docs/a.md",
        "docs/b.md",
        "img/c.png",
        "https://example.org/g",
        "docs/d.md",
        "e.png",
        "f.md",
    ]


# -- the sdist ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    """The sdist built from this tree, and the directory it unpacks to."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the release checks need `build`: pip install '.[test]'")
    out = tmp_path_factory.mktemp("sdist")
    # Built from a copy, as from a fresh clone: setuptools adds every file a leftover egg-info's
    # SOURCES.txt lists, so a complete one from an earlier build in this tree would hide a file
    # MANIFEST.in no longer includes (and building here would write into the developer's tree).
    clone = out / "clone"
    if _in_git():
        for name in _tracked_files():
            if (ROOT / name).is_file():
                (clone / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, clone / name)
    else:
        junk = ("*.egg-info", "__pycache__", ".venv*", "build", "dist", ".git", "*cache*")
        shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(*junk))
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), "."],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"python -m build --sdist failed:\n{done.stdout}\n{done.stderr}"
    [archive] = out.glob("realip-*.tar.gz")
    with tarfile.open(archive) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(out / "unpacked", **safe)  # type: ignore[arg-type]
    [tree] = (out / "unpacked").iterdir()
    return archive, tree


def _metadata(tree: Path) -> Message:
    return email.parser.Parser().parsestr((tree / "PKG-INFO").read_text(encoding="utf-8"))


def test_sdist_carries_the_version(sdist: Tuple[Path, Path]) -> None:
    archive, tree = sdist
    assert archive.name == f"realip-{realip.__version__}.tar.gz"
    assert _metadata(tree)["Version"] == realip.__version__


def test_sdist_holds_what_its_tests_docs_and_benchmarks_need(sdist: Tuple[Path, Path]) -> None:
    _, tree = sdist
    for name in (
        "README.md",
        "CHANGELOG.md",
        "SECURITY.md",
        "RELEASING.md",
        "LICENSE",
        "mkdocs.yml",
        "tests/conftest.py",
        "tests/support/__init__.py",
        "tests/data/doctor",
        "tests/typing/usage.py",
        "docs/index.md",
        "docs/kubernetes/README.md",
        "benchmarks",
        "scripts/release_check.py",
    ):
        assert (tree / name).exists(), f"{name} is missing from the sdist"


def _in_git() -> bool:
    return shutil.which("git") is not None and (ROOT / ".git").exists()


def _tracked_files() -> Set[str]:
    if not _in_git():
        pytest.skip("not a git checkout: the sdist is compared with `git ls-files` there")
    done = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    return {name for name in done.stdout.decode().split("\0") if name}


def test_sdist_holds_every_tracked_file(sdist: Tuple[Path, Path]) -> None:
    """Every file in git is in the sdist, except git's own ignore list."""
    _, tree = sdist
    shipped = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}
    missing = sorted(_tracked_files() - shipped - {".gitignore"})
    assert missing == [], f"{len(missing)} tracked files are not in the sdist: {missing[:20]}"
    stray = sorted(p for p in shipped if "__pycache__" in p or p.endswith(".pyc"))
    assert stray == []


def test_fast_tests_pass_in_the_unpacked_sdist(sdist: Tuple[Path, Path]) -> None:
    """``pytest`` in the unpacked sdist runs, importing realip from the sdist's own ``src``."""
    _, tree = sdist
    # Nor the caller's suite requirement: CI sets RIP_TEST_REQUIRE_SUITES for its own run, and
    # this one runs only quick tests. Nor CI's coverage: measuring the sdist's copy of the
    # package would count each of its files as a second, barely covered module.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REALIP_", "PYTHON", "COVERAGE_")) and k != "RIP_TEST_REQUIRE_SUITES"
    }
    env["PYTHONPATH"] = str(tree / "src")
    where = subprocess.run(
        [sys.executable, "-c", "import realip; print(realip.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(tree), where.stdout + where.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_SUITE],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-500:]


def test_metadata_classifiers_are_known_and_extras_list_each_package_once(
    sdist: Tuple[Path, Path],
) -> None:
    _, tree = sdist
    metadata = _metadata(tree)
    classifiers = metadata.get_all("Classifier") or []
    for prefix in ("Development Status ::", "Programming Language :: Python :: 3.", "Framework ::"):
        assert any(c.startswith(prefix) for c in classifiers), prefix
    assert "Typing :: Typed" in classifiers
    assert metadata["Keywords"]
    if importlib.util.find_spec("trove_classifiers") is not None:
        from trove_classifiers import classifiers as known

        assert [c for c in classifiers if c not in known] == []
    from realip._extras import EXTRAS

    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {extra for _, extra, _ in EXTRAS.values()} <= extras, extras
    seen: Dict[Tuple[str, str], str] = {}
    duplicates = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        spec, _, marker = requirement.partition(";")
        extras = re.findall(r'extra == "([^"]+)"', marker)
        name = re.split(r"[<>=!~\[ (]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")
        rest = re.sub(r'(and )?extra == "[^"]+"', "", marker).strip()
        for extra in extras:
            key = (extra, name)
            if key in seen and seen[key] == rest:
                duplicates.append(key)
            seen[key] = rest
    assert duplicates == [], f"listed twice: {duplicates}"
