"""The compatibility matrix runs once per session; every test in this folder reads its results.

Every server process the harness starts is stopped when the run ends, and again (whatever is
left) when the session ends, so an interrupted run leaves nothing listening.
"""

from __future__ import annotations

import time
from typing import Iterator, List

import compat_harness  # tests/compat is on pytest's pythonpath (pyproject.toml)
import pytest


@pytest.fixture(scope="session")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[List[compat_harness.PairResult]]:
    """Every (framework, server) pair, run once as real processes on loopback."""
    log_dir = tmp_path_factory.mktemp("compat")
    started = time.monotonic()
    try:
        results = compat_harness.run_matrix(log_dir=log_dir)
        compat_harness.LAST_RUN_SECONDS = time.monotonic() - started
        yield results
    finally:
        compat_harness.stop_all()


@pytest.fixture(scope="session")
def consumers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[List[compat_harness.consumers_harness.Outcome]]:
    """tests/consumers' scenarios, run once more for the page's consumer rows."""
    try:
        yield compat_harness.consumer_outcomes(tmp_path_factory.mktemp("consumers"))
    finally:
        compat_harness.consumers_harness.stop_all()
