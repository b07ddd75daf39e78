"""The generated parts of docs/reference/doctor.md follow the code (issue 22: one registry)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Set

from realip._doctor._catalogue import FINDINGS
from realip._doctor._providers import PROVIDERS
from realip._doctor._reference import render_page

ROOT = Path(__file__).parent.parent.parent
PAGE = ROOT / "docs" / "reference" / "doctor.md"


def test_generated_sections_are_current() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert render_page(text) == text, (
        "docs/reference/doctor.md is out of date: run "
        "`python -m realip._doctor._reference docs/reference/doctor.md`"
    )


def test_every_code_and_provider_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for code in FINDINGS:
        assert f"| `{code}` |" in text, code
    for provider in PROVIDERS:
        assert f"(`{provider.key}`)" in text, provider.key


def _literal_codes() -> Set[str]:
    """Every finding code written as a literal in doctor's source."""
    found: Set[str] = set()
    for path in (ROOT / "src" / "realip" / "_doctor").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None)
            index = {
                "Finding": 1,
                "http_front": 2,
                "unknown_proxy_front": 2,
                "passthrough_front": 2,
            }.get(name or "")
            if index is not None and len(node.args) > index:
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_the_catalogue_has_every_code_the_source_writes_and_no_other() -> None:
    written = _literal_codes()
    assert written - set(FINDINGS) == set()
    # Codes built from data: the PROXY-protocol providers' "<provider>-no-proxy-protocol".
    built = {f"{p.key}-no-proxy-protocol" for p in PROVIDERS}
    assert set(FINDINGS) - written - built == set()
