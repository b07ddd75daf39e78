"""Every consumer scenario runs once per session (one server per app and setting, a few at
once); the tests read the results. Every server started is stopped when the run ends."""

from __future__ import annotations

import time
from typing import Dict, Iterator

import consumers_harness as h
import pytest


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[int, h.Outcome]]:
    """Each scenario's outcome, by the scenario's index in ``SCENARIOS``."""
    started = time.monotonic()
    try:
        found = h.run_all(work=tmp_path_factory.mktemp("consumers"))
        h.LAST_RUN_SECONDS = time.monotonic() - started
        yield dict(enumerate(found))
    finally:
        h.stop_all()
