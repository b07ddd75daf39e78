"""Every consumer scenario runs once per session (one server per app and setting, a few at
once); the tests read the results. Every server started is stopped when the run ends."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest

# The harness sits next to this file; make it importable in any pytest import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
import consumers_harness as h


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
