"""Hostile input answers exactly as before issue 25's fast paths, in every column.

hostile_answers.json holds what main answered (recorded before the hostile-input work, see
hostile_shapes.py) for every case of benchmarks/hostile.py, every shape of
test_hostile_input.py and ~450 seeded shapes around the limits the fast paths work near. Each
shape goes through ``Resolver.resolve``, the WSGI middleware and the ASGI middleware, and
the full ``Result`` of each, the rewritten headers, the client and the scheme must be the same,
with cold and warm memos alike.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Dict, Optional

import pytest
from hostile_shapes import ANSWERS, Lines, answers, shapes

from realip import RealIPWarning

RECORDED: Dict[str, Any] = json.loads(ANSWERS.read_text())
SHAPES = shapes()


def test_every_shape_has_a_recorded_answer() -> None:
    ids = [shape_id for shape_id, *_ in SHAPES]
    assert len(ids) == len(set(ids))
    missing = sorted(set(ids) - set(RECORDED))
    assert not missing, f"new shapes: record their answers from main first: {missing[:5]}"
    assert len(ids) > 500


@pytest.mark.parametrize(
    ("resolver", "peer", "lines"),
    [pytest.param(r, p, lines, id=i) for i, r, p, lines in SHAPES],
)
def test_answers_are_unchanged(
    resolver: str, peer: Optional[str], lines: Lines, request: Any
) -> None:
    expected = RECORDED[request.node.callspec.id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        for _ in range(2):  # memos cold (or as earlier shapes left them), then warm
            assert answers(resolver, peer, lines) == expected
