"""Count how often the resolver walks a chain, to show a result is reused, not recomputed."""

from __future__ import annotations

from typing import Any, List

import pytest

from realip import Resolver


def record_resolutions(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """From now on (for this test), every ``Resolver.resolve_value`` call's arguments, in order."""
    calls: List[Any] = []
    original = Resolver.resolve_value

    def counting(self: Resolver, *args: Any) -> Any:
        calls.append(args)
        return original(self, *args)

    monkeypatch.setattr(Resolver, "resolve_value", counting)
    return calls
