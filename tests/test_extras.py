"""Importing a framework module of realip without its framework says what to install.

Each case runs in a fresh interpreter whose import system refuses the framework's modules, as
on a machine where only realip's wheel is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Dict, Optional

import pytest

from realip._extras import EXTRAS, requires

PROBE = textwrap.dedent(
    """
    import sys

    BLOCKED = set(sys.argv[2].split(","))

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    try:
        __import__(sys.argv[1])
    except ModuleNotFoundError as exc:
        print(f"{exc.name}|{exc}")
    else:
        print("imported")
    """
)


def probe(module: str, blocked: str, config: Optional[Dict[str, str]] = None) -> str:
    """Import ``module`` with ``blocked`` refused, under exactly the ``REALIP_*`` of ``config``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module, blocked],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, **(config or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_missing_framework_names_what_to_install(module: str) -> None:
    needs, extra, provided = EXTRAS[module]
    # Every module that comes with the framework missing, as with only realip's wheel installed.
    name, _, message = probe(module, ",".join(provided)).partition("|")
    assert name in provided
    assert message.startswith(f"{module} needs {needs}, which is not installed"), message
    assert f"pip install 'realip[{extra}]'" in message


def test_django_missing_names_django_not_asgiref() -> None:
    """The finding: asgiref is the first import, so Python's own error named it."""
    name, _, message = probe("realip.django", "django,asgiref").partition("|")
    assert name == "asgiref"
    assert "realip.django needs Django" in message


# What a module needs configured before it loads: realip.gunicorn refuses to load trusting nothing
# (a ConfigError, tested in test_proxy_protocol_servers.py), as gunicorn's -c would run it.
CONFIGURED = {
    "realip.gunicorn": {"REALIP_TOPOLOGY": "lb-tcp-proxy", "REALIP_LB_CIDRS": "10.0.0.0/8"},
}


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_modules_import_with_their_framework(module: str) -> None:
    pytest.importorskip(EXTRAS[module][2][0])
    assert probe(module, "nothing-blocked", CONFIGURED.get(module)) == "imported"


def test_other_import_errors_pass_through_unchanged() -> None:
    """A missing module that is not the framework's is a different problem: not rewritten."""
    original = ModuleNotFoundError("No module named 'somethingelse'", name="somethingelse")
    with pytest.raises(ModuleNotFoundError) as raised, requires("realip.django"):
        raise original
    assert raised.value is original


def test_import_realip_never_needs_a_framework() -> None:
    blocked = ",".join(sorted({name for _, _, names in EXTRAS.values() for name in names}))
    assert probe("realip", blocked) == "imported"
    for module in ("realip.asgi", "realip.wsgi", "realip.log", "realip.proxy_protocol"):
        assert probe(module, blocked) == "imported", module


def test_reference_lists_each_module_and_its_extra() -> None:
    from pathlib import Path

    api = (Path(__file__).resolve().parent.parent / "docs" / "reference" / "api.md").read_text()
    for module, (needs, extra, _) in EXTRAS.items():
        row = f"| `{module}` | {needs} | `pip install 'realip[{extra}]'` |"
        assert row in api, row
