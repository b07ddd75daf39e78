"""Shared set-up of the security tests: importable helpers and a minimal Django.

Django is configured only if nobody configured it first (another folder's conftest may have);
each Django test then overrides the settings it needs (``REALIP``, ``MIDDLEWARE``, the URLconf).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

import django
import pytest
from django.conf import settings

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "fuzz"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="realip-security-tests",
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_TZ=True,
    )
django.setup()

with warnings.catch_warnings():
    # Starlette asks for its httpx fork; the installed httpx works and is what the extras name.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import starlette.testclient  # noqa: F401


@pytest.fixture(autouse=True)
def _no_realip_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No REALIP_* variable from outside, and no process-default resolver cached across tests."""
    from realip.request import reset_default_resolver

    for var in [v for v in os.environ if v.startswith("REALIP_")]:
        monkeypatch.delenv(var)
    reset_default_resolver()
    yield
    reset_default_resolver()
