"""Suite-wide set-up: which suites run, hypothesis profiles, one minimal Django, a clean
REALIP_* environment.

A plain ``pytest`` runs the quick suite; ``--suite all`` adds e2e, lab and compat (the rules are
in support/suites.py, loaded below as a plugin).

``ci`` (loaded when the ``CI`` environment variable is set) runs every property with 2,000
examples and no per-example deadline, because CI machines are shared and their timing is noisy.
Locally the default profile keeps a full run quick.

Django is configured once here, minimally; each Django test overrides what it needs
(``REALIP``, ``MIDDLEWARE``, the URLconf). The URLconf module is support/django_urls.py;
Django imports it only when a test resolves a URL.
"""

from __future__ import annotations

import os
import warnings
from typing import Iterator

import django
import pytest
from django.conf import settings as django_settings
from e2e_harness import RUNNING
from hypothesis import settings
from support.environment import realip_settings

# --suite and the quick default run (support/suites.py); pytester tests that selection.
pytest_plugins = ("support.suites", "pytester")

settings.register_profile("ci", max_examples=2000, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

if not django_settings.configured:
    django_settings.configure(
        DEBUG=False,
        SECRET_KEY="realip-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="support.django_urls",
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
def _clean_realip_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No REALIP_* variable from the outside, and no process default cached across tests.

    The harness's own RIP_TEST_* variables stay (see support/environment.py).
    """
    from realip.request import reset_default_resolver

    for var in realip_settings(os.environ):
        monkeypatch.delenv(var)
    reset_default_resolver()
    yield
    reset_default_resolver()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A failing test gets the logs of every server process still running (e2e_harness.Service)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for service in RUNNING:
            report.sections.append((f"log of {service.name}", service.logs()))
