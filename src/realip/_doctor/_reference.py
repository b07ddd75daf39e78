"""The generated parts of ``docs/reference/doctor.md``: providers, client-header settings, findings.

``python -m realip._doctor._reference docs/reference/doctor.md`` rewrites the parts between the
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` markers; a test fails when the page
differs from what this module renders, so the page follows the code.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, Dict

from realip._doctor._catalogue import render_table
from realip._doctor._controller_evidence import CLIENT_HEADER_SETTINGS
from realip._doctor._controllers import CONTROLLERS
from realip._doctor._providers import PROVIDERS


def render_providers() -> str:
    """The provider registry as a Markdown table."""
    rows = [
        "| provider | recognised by | kube-proxy in the path | upstream source |",
        "| --- | --- | --- | --- |",
    ]
    for p in PROVIDERS:
        rows.append(f"| {p.name} (`{p.key}`) | {p.recognised_by} | {p.kube_proxy} | {p.source} |")
    return "\n".join(rows) + "\n"


def render_client_header_settings() -> str:
    """The controller settings that believe (or drop) a client-written header."""
    names = {c.key: c.name for c in CONTROLLERS.values()}
    rows = [
        "| controller | setting | verdict | what it does | upstream source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in CLIENT_HEADER_SETTINGS:
        verdict = "`lost`" if rule.drops else "`spoofable`"
        rows.append(
            f"| {names[rule.controller]} | `{rule.setting}` | {verdict} | {rule.effect} | "
            f"{rule.source} |"
        )
    return "\n".join(rows) + "\n"


SECTIONS: Dict[str, Callable[[], str]] = {
    "providers": render_providers,
    "client-header-settings": render_client_header_settings,
    "findings": render_table,
}


def render_page(text: str) -> str:
    """``text`` with every generated section replaced by what the code renders now."""
    for name, render in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.DOTALL)
        found = pattern.search(text)
        if found is None:
            raise ValueError(f"no '<!-- generated: {name} -->' section in the page")
        start, end = found.span()
        head, tail = f"<!-- generated: {name} -->\n", f"<!-- end: {name} -->"
        text = text[:start] + head + render() + tail + text[end:]
    return text


def main(path: str) -> int:
    """Rewrite the generated sections of the page at ``path``."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_page(text))
    return 0


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    sys.exit(main(sys.argv[1]))
