"""A bounded load run through the ingress path: every answer goes back to the request that asked."""

from __future__ import annotations

import pytest

from .load import LOAD_CLIENTS, PER_CLIENT, check, measure
from .run import Run

pytestmark = pytest.mark.lab


def test_load_through_ingress(lab_run: Run) -> None:
    """4,800 requests from three client namespaces at once, kept alive and not, with and without
    realip: each answer names its sender and its request, nothing crossed."""
    results = measure(lab_run)
    for key, result in results.items():
        assert result["requests"] == PER_CLIENT * len(LOAD_CLIENTS), key
        assert check(lab_run, result, with_realip=key.startswith("load-realip")) == [], key
        assert result["rps"] > 0
