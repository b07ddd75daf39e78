"""The lab is built once per pytest session and torn down at its end (and on any exit)."""

from __future__ import annotations

from typing import Iterator

import pytest

from .netlab import leftovers, unavailable_reason
from .run import Run, collect, start


@pytest.fixture(scope="session")
def lab_reason() -> str:
    """Why the lab cannot run here ("" when it can)."""
    return unavailable_reason() or ""


@pytest.fixture(scope="session")
def lab_run(lab_reason: str) -> Iterator[Run]:
    """The built lab with every path's requests sent and doctor asked."""
    if lab_reason:
        pytest.skip(lab_reason)
    run = start()
    try:
        collect(run)
        yield run
    finally:
        prefix = run.cluster.lab.prefix if run.cluster.lab else ""
        run.cluster.close()
        # The finaliser itself must leave nothing behind; a leak fails the session loudly.
        left = leftovers(prefix) if prefix else []
        assert not left, f"lab namespaces left behind: {left}"
