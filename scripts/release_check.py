"""Build realip's release artefacts and check them the way a user and a distributor use them.

Run from the repository root, in a venv with the test extra (``pip install '.[test]'``)::

    python scripts/release_check.py            # isolated build (fetches setuptools from PyPI)
    python scripts/release_check.py --offline  # build with this venv's setuptools, no network

Steps, each of which stops the check with a non-zero exit when it fails:

1. build the sdist and the wheel into a fresh directory (``python -m build``);
2. ``twine check --strict`` on both (the long description renders on the package index);
3. both carry the version of ``src/realip/_version.py``, which the top release in CHANGELOG.md
   names with a date;
4. install the wheel alone into a fresh venv and run ``realip --version`` and ``realip demo``
   there (no test extra, no source tree on the path);
5. unpack the sdist: it holds exactly the files git tracks (nothing left uncommitted slips in),
   and the fast suite passes in it, importing realip from the unpacked ``src/``.

The artefacts stay in ``--dist`` (default ``dist/``) for ``twine upload`` (see RELEASING.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
# The fast suite: what a contributor runs many times a day, and what a plain `pytest` selects
# (tests/support/suites.py). The system-level suites (real nginx and haproxy, the root-only
# topology lab, the framework x server matrix) are left to CI. Named, not spelled as a marker
# expression, so a suite the house adds is left out here too.
FAST_SUITE = ["--suite", "quick"]


def version_in_tree() -> str:
    """``__version__`` as ``src/realip/_version.py`` spells it (the one source of the version)."""
    text = (ROOT / "src" / "realip" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if match is None:
        raise SystemExit("release check: no __version__ line in src/realip/_version.py")
    return match.group(1)


def changelog_release() -> Optional[str]:
    """The newest dated release heading in CHANGELOG.md (``## [X.Y.Z] - YYYY-MM-DD``)."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", text, re.M)
    return match.group(1) if match else None


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(command: Sequence[str], **kwargs: object) -> None:
    print("$ " + " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)  # type: ignore[call-overload]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="where to put the artefacts")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="build with this venv's setuptools (python -m build --no-isolation)",
    )
    parser.add_argument(
        "--skip-suite", action="store_true", help="do not run the fast suite in the sdist"
    )
    args = parser.parse_args(argv)

    version = version_in_tree()
    step(f"version {version}")
    released = changelog_release()
    if released != version:
        print(
            f"release check: CHANGELOG.md's newest release is {released!r}, the package says "
            f"{version!r}: date the release's section (## [{version}] - YYYY-MM-DD)",
            file=sys.stderr,
        )
        return 1

    # setuptools adds every file a leftover egg-info lists to the sdist, hiding a file that
    # MANIFEST.in no longer includes; build/ may hold files deleted from the tree since.
    shutil.rmtree(ROOT / "src" / "realip.egg-info", ignore_errors=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    dist = Path(args.dist)
    if dist.exists():
        shutil.rmtree(dist)
    step("build the sdist and the wheel")
    build = [sys.executable, "-m", "build", "--outdir", dist]
    run([*build, *(["--no-isolation"] if args.offline else []), ROOT])
    sdists = sorted(dist.glob("realip-*.tar.gz"))
    wheels = sorted(dist.glob("realip-*.whl"))
    if [p.name for p in sdists] != [f"realip-{version}.tar.gz"] or len(wheels) != 1:
        print(f"release check: unexpected artefacts {os.listdir(dist)}", file=sys.stderr)
        return 1
    if not wheels[0].name.startswith(f"realip-{version}-"):
        print(f"release check: the wheel {wheels[0].name} is not {version}", file=sys.stderr)
        return 1

    step("twine check")
    run([sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels])

    with tempfile.TemporaryDirectory(prefix="realip-release-") as tmp:
        work = Path(tmp)
        step("install the wheel alone in a fresh venv")
        venv.create(work / "venv", with_pip=True)
        bindir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
        run([bindir / "python", "-m", "pip", "install", "-q", "--no-deps", wheels[0]])
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("REALIP_", "PYTHON"))}
        shown = subprocess.run(
            [bindir / "realip", "--version"],
            check=True,
            capture_output=True,
            text=True,
            cwd=work,
            env=clean_env,
        ).stdout.strip()
        if shown != f"realip {version}":
            print(f"release check: the installed wheel says {shown!r}", file=sys.stderr)
            return 1
        run([bindir / "realip", "demo"], cwd=work, env=clean_env, stdout=subprocess.DEVNULL)
        print("realip demo: every sample resolved as expected")

        step("unpack the sdist and run the fast suite in it")
        with tarfile.open(sdists[0]) as archive:
            # Our own archive, built a moment ago; "data" refuses links out of the tree.
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(work / "sdist", **safe)  # type: ignore[arg-type]
        tree = work / "sdist" / f"realip-{version}"
        if (ROOT / ".git").exists() and shutil.which("git"):
            step("the sdist holds exactly the tracked files")
            listed = subprocess.run(
                ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.split("\n")
            tracked = {name for name in listed if name} - {".gitignore"}
            shipped = {
                p.relative_to(tree).as_posix()
                for p in tree.rglob("*")
                if p.is_file() and ".egg-info/" not in p.as_posix()
            } - {"PKG-INFO", "setup.cfg"}
            if tracked != shipped:
                print(
                    "release check: the sdist differs from git ls-files (commit or remove):\n"
                    f"  missing: {sorted(tracked - shipped)[:20]}\n"
                    f"  not tracked: {sorted(shipped - tracked)[:20]}",
                    file=sys.stderr,
                )
                return 1
            print(f"{len(shipped)} files, as tracked")
        if args.skip_suite:
            print("skipped (--skip-suite)")
        else:
            # Only the quick suite runs here: a suite requirement set for another run is not ours.
            env = {**clean_env, "PYTHONPATH": str(tree / "src")}
            env.pop("RIP_TEST_REQUIRE_SUITES", None)
            run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_SUITE],
                cwd=tree,
                env=env,
            )
    step(f"realip {version} is ready: twine upload {dist}/*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
