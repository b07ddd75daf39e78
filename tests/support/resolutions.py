"""Count how often the resolver walks a chain, to show a result is reused, not recomputed."""

from __future__ import annotations

import gc
from typing import Any, Callable, List

import pytest

from realip import Resolver


def record_resolutions(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """From now on (for this test), every resolution's arguments, in order.

    A resolution is a call of a resolver's per-request closure (``Resolver._resolve``), which
    ``Resolver.resolve_value`` runs and the middlewares call directly: it is wrapped in every
    resolver that exists now and in every one built later.
    """
    calls: List[Any] = []

    def wrap(resolver: Resolver) -> None:
        original: Callable[..., Any] = resolver._resolve

        def counting(*args: Any) -> Any:
            calls.append(args)
            return original(*args)

        monkeypatch.setattr(resolver, "_resolve", counting)

    for obj in gc.get_objects():
        if issubclass(type(obj), Resolver):  # type(): a lazy proxy (Django settings) stays lazy
            wrap(obj)
    apply = Resolver._apply

    def apply_and_wrap(self: Resolver, *args: Any) -> None:
        apply(self, *args)
        wrap(self)

    monkeypatch.setattr(Resolver, "_apply", apply_and_wrap)
    return calls
