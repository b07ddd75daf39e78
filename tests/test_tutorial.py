"""The tutorial reads well on GitHub and says what to install for every block it runs."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import sysconfig
from pathlib import Path
from typing import Set

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
TEXT = TUTORIAL.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, flags=re.M | re.S)
# Import name -> the name pip installs it under, where they differ.
DISTRIBUTIONS = {"yaml": "pyyaml"}


def is_stdlib(name: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return name in names
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    stdlib = sysconfig.get_paths()["stdlib"]
    return origin in ("built-in", "frozen") or bool(origin and origin.startswith(stdlib))


def imported_top_level(source: str) -> Set[str]:
    names: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_in_an_install_command() -> None:
    assert PYTHON_BLOCKS
    installs = " ".join(re.findall(r"^pip install (.+)$", TEXT, flags=re.M))
    needed = set().union(*(imported_top_level(block) for block in PYTHON_BLOCKS))
    third_party = {
        DISTRIBUTIONS.get(name, name) for name in needed - {"realip"} if not is_stdlib(name)
    }
    # FastAPI's TestClient is built on httpx: the block needs it without importing it.
    if "fastapi" in third_party:
        third_party.add("httpx")
    assert third_party <= set(installs.split()), (third_party, installs)


def test_no_content_tabs_that_github_shows_as_plain_text() -> None:
    # MkDocs Material's `=== "Title"` tabs indent their content: on GitHub the marker shows as
    # text and the code as an indented block. Headings read the same in both places.
    assert not re.search(r'^=== "', TEXT, flags=re.M)
    assert not re.search(r"^    ```", TEXT, flags=re.M)
