"""The typed usage file (tests/typing/usage.py) runs, so its examples stay real code.

mypy checks it in CI (``mypy``: files are set in pyproject.toml); here it is imported and its
functions called, so an example that type-checks but fails at run time fails too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
