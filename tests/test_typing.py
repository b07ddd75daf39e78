"""The typed usage file (tests/typing/usage.py) runs, so its examples stay real code.

mypy checks it in CI (``mypy``: files are set in pyproject.toml); here it is imported and its
functions called, so an example that type-checks but fails at run time fails too.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import List

import pytest

from realip import ConfigError

USAGE = Path(__file__).parent / "typing" / "usage.py"


@pytest.fixture(scope="module")
def usage() -> ModuleType:
    spec = importlib.util.spec_from_file_location("realip_typed_usage", USAGE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_core_examples_run(usage: ModuleType) -> None:
    assert usage.resolve_by_hand() == "203.0.113.9"
    assert usage.configure_from_outside({"REALIP_TOPOLOGY": "pod-to-pod"}).topology == "pod-to-pod"
    with pytest.raises(SystemExit, match="REALIP_TOPOLOGY"):
        usage.configure_from_outside({"REALIP_TOPOLOGY": "nope"})
    assert issubclass(ConfigError, ValueError)
    messages = usage.lint("0.0.0.0/0")
    assert messages and all("0.0.0.0/0" in m for m in messages)
    assert usage.lint("10.0.0.0/8") == []


def test_flask_setattr_idiom_puts_realip_in_front(usage: ModuleType) -> None:
    response = usage.flask_app.test_client().get(
        "/",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.244.2.15"},
    )
    assert (response.json["remote_addr"], response.json["client"]) == ("203.0.113.9",) * 2
    assert "x-forwarded-for" in response.json["why"]  # decided by the header, not the peer


# -- issue 21.5: the TypedDict-based ASGI types, both directions; the README as written -----

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ROOT / "tests" / "typing" / "frameworks"
PYRIGHT_CONFIG = ROOT / "tests" / "typing" / "pyrightconfig.json"


def _readme_examples(tmp_path: Path) -> List[Path]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "the README has no Python example"
    files = []
    for number, block in enumerate(blocks):
        path = tmp_path / f"readme_example_{number}.py"
        path.write_text(block)
        files.append(path)
    return files


def _mypy(paths: List[Path], cwd: Path) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version"]
    done = subprocess.run(
        [*cmd, version, *map(str, paths)], capture_output=True, text=True, timeout=600, cwd=cwd
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _pyright(paths: List[Path], cwd: Path) -> None:
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent))
    if pyright is None:
        pytest.skip("pyright is not installed (it is in the test extra)")
    cmd = [pyright, "--pythonpath", sys.executable, "--project", str(PYRIGHT_CONFIG)]
    done = subprocess.run(
        [*cmd, *map(str, paths)], capture_output=True, text=True, timeout=600, cwd=cwd
    )
    if "npm" in done.stderr and done.returncode != 0 and "error:" not in done.stdout:
        pytest.skip(f"pyright could not be fetched: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stdout + done.stderr


def test_asgi_middleware_types_pass_mypy_strict_with_every_framework() -> None:
    _mypy(sorted(FRAMEWORKS.glob("*.py")), ROOT)


def test_asgi_middleware_types_pass_pyright_strict_with_every_framework() -> None:
    _pyright(sorted(FRAMEWORKS.glob("*.py")), ROOT)


def test_readme_examples_pass_mypy_strict_as_written(tmp_path: Path) -> None:
    _mypy(_readme_examples(tmp_path), tmp_path)


def test_readme_examples_pass_pyright_strict_as_written(tmp_path: Path) -> None:
    _pyright(_readme_examples(tmp_path), tmp_path)
