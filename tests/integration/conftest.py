"""Django is configured once, minimally; each Django test overrides what it needs.

The helper modules next to this file (integration_scenarios, integration_django_urls) are made
importable whatever pytest's import mode is.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import django
import pytest
from django.conf import settings

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="realip-integration-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="integration_django_urls",
        MIDDLEWARE=["realip.django.RealIPMiddleware"],
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
def _clean_realip_environment(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """No REALIP_* variable from the outside, and no process default cached across tests."""
    from realip.request import reset_default_resolver

    for var in [v for v in os.environ if v.startswith("REALIP_")]:
        monkeypatch.delenv(var)
    reset_default_resolver()
    yield
    reset_default_resolver()
