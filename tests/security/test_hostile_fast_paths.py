"""The hostile-input fast paths of issue 25 against the plain code they stand in for.

``items_from_right`` takes items in batches after the first few and skips empty runs with
``bytes.translate``; ``escaped_params`` reads quoted-pairs with ``replace``/``find`` instead of
the grammar's regular expression. Each must give exactly what the plain version gives: the
same items in the same order, padding raised at the same point, the same pairs or None.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realip._adapters
import realip._walk
from realip import Resolver
from realip._adapters import rewrite_value
from realip._forwarded import escaped_params, forwarded_params
from realip._headers import MAX_EMPTY_RUN, PaddingError, items_from_right
from realip._result import Result
from realip._walk import SHORT


def plain_items(value: Any, comma: Any, blanks: Any) -> Iterator[Any]:
    """items_from_right as it was: one item at a time, empty runs skipped with rstrip."""
    separators = comma + blanks
    end = len(value)
    while end > 0:
        start = value.rfind(comma, 0, end)
        item = value[start + 1 : end].strip(blanks)
        if item:
            yield item
            end = start
        elif start > 0:
            window = max(0, start - MAX_EMPTY_RUN)
            end = window + len(value[window:start].rstrip(separators))
            if end == window and window > 0:
                raise PaddingError("padded")
        else:
            end = 0


def taken(items: Iterator[Any], count: int) -> List[Any]:
    out: List[Any] = []
    try:
        out.extend(islice(items, count))
    except PaddingError:
        out.append("<padded>")
    return out


PIECES = ["10.0.0.7", "203.0.113.9", "fe80::1%eth0", " ", "\t", ",", ", ,", "x" * 90, "é", "\uff12"]
RUNS = st.sampled_from([",", ", ", " ,\t", "  "]).flatmap(
    lambda unit: st.integers(1, 2 * MAX_EMPTY_RUN + 40).map(lambda n: (unit * n)[:n])
)
LISTS = st.lists(st.one_of(st.sampled_from(PIECES), RUNS), max_size=80).map("".join)


@settings(max_examples=400)
@given(LISTS, st.sampled_from([1, 2, 4, 5, 32, 33, 10_000]))
def test_items_from_right_takes_what_one_at_a_time_takes(value: str, count: int) -> None:
    assert taken(items_from_right(value), count) == taken(plain_items(value, ",", " \t"), count)
    raw = value.encode("utf-8")
    assert taken(items_from_right(raw, b",", b" \t"), count) == taken(
        plain_items(raw, b",", b" \t"), count
    )


def test_long_chains_cross_batches_exactly() -> None:
    for hops in (3, 4, 5, 32, 33, 34, 100):
        for spelling in (", ", ",", " , "):
            value = spelling.join(f"10.0.{i}.7" for i in range(hops))
            assert list(items_from_right(value)) == list(plain_items(value, ",", " \t"))
    chain = ", ".join(["10.0.0.7"] * 40) + "," * (MAX_EMPTY_RUN + 5) + ", 203.0.113.9"
    assert taken(items_from_right(chain), 100) == taken(plain_items(chain, ",", " \t"), 100)


QUOTED = st.lists(
    st.one_of(
        st.sampled_from(['"', "\\", ";", "=", " ", "\t", ",", "for", "proto", "a", "\x00", "é"]),
        st.sampled_from(["\x7f", "\u0101", "1.2.3.4", "[::1]:80", "\\\\", '\\"', "\\a"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=1000)
@given(st.sampled_from(["", "for=", 'for="', 'a=b;for="', ' for = "', "proto=https;for="]), QUOTED)
def test_escaped_params_reads_what_the_grammar_reads(prefix: str, rest: str) -> None:
    element = prefix + rest
    assert escaped_params(element) == forwarded_params(element)


def test_escaped_params_on_clients_shapes() -> None:
    for element in [
        'for="' + "\\a" * 120 + '"',
        'for="' + '\\"' * 120 + '"',
        'for="' + "\\\\" * 120 + '"',
        'for="\\1\\0.0.0.1";proto="ht\\tps"',
        'for="' + "\\a" * 300 + '"',
        'for="a;b";proto=https',
        'for="\\"";by=x',
        'for="\\a\x00"',
        'for="\\a\x7f";proto=https',
        'for="\\a\u0101"',
        'for="\\a\x1f"',
    ]:
        assert escaped_params(element) == forwarded_params(element)


# -- the walk's window over the end of a long header ---------------------------------------

WINDOW_PIECES = st.sampled_from(
    ["10.0.0.7", "10.1.2.3:80", "fd00::9", "[fd00::8]:443", "203.0.113.9", "6.6.6.6", "junk", ""]
)


@settings(max_examples=500)
@given(
    left=st.lists(WINDOW_PIECES, max_size=6),
    run=st.integers(0, MAX_EMPTY_RUN + 60),
    unit=st.sampled_from([",", ", ", " ,\t", " "]),
    right=st.lists(WINDOW_PIECES, max_size=12),
    header=st.sampled_from(["x-forwarded-for", "forwarded"]),
    as_bytes=st.booleans(),
)
def test_the_walk_of_a_long_header_is_the_walk_item_by_item(
    left: List[str],
    run: int,
    unit: str,
    right: List[str],
    header: str,
    as_bytes: bool,
) -> None:
    """Splitting the last WINDOW characters first gives every Result field exactly as walking
    item by item from the right end (WINDOW=1: the cut comes first), runs of empty items across
    the cut and MAX_EMPTY_RUN included."""
    spell = (lambda e: f"for={e}") if header == "forwarded" else (lambda e: e)
    value: Any = (
        ", ".join(spell(e) for e in left) + (unit * run)[:run] + ", ".join(spell(e) for e in right)
    )
    if as_bytes:
        value = value.encode()

    def answer() -> Any:
        resolver = Resolver(trusted_proxies=["10.0.0.0/8", "fd00::/8"], header=header)
        return resolver.resolve_value("10.0.0.1", value)

    windowed = answer()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(realip._walk, "WINDOW", 1)
        item_by_item = answer()
    assert item_by_item == windowed, value


TAIL_PIECES = st.sampled_from(["203.0.113.9", "10.0.0.7:80", "fd00::9", "x" * 70, "", " ", "\t"])


@settings(max_examples=500)
@given(
    items=st.lists(
        st.tuples(TAIL_PIECES, st.sampled_from([",", ", ", " , ", " ,"])), min_size=1, max_size=30
    ),
    keep=st.integers(1, 5),
    as_bytes=st.booleans(),
)
def test_the_rewrite_reads_a_long_header_s_end_as_item_by_item(
    items: List[Tuple[str, str]], keep: int, as_bytes: bool
) -> None:
    """What the rewrite keeps of a long header is the same whether its end is split at once or
    read item by item from the right (WINDOW=1: _tail's way)."""
    value: Any = "".join(piece + comma for piece, comma in items)[:-1]
    if len(value) <= SHORT:
        value = "6.6.6.6," * (SHORT // 8 + 1) + value
    if as_bytes:
        value = value.encode()
    result = _verified(keep)
    windowed = rewrite_value(result, value, False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(realip._adapters, "WINDOW", 1)
        assert rewrite_value(result, value, False) == windowed, value


def _verified(keep: int) -> Result:
    """A Result that verified ``keep`` entries of the header: the client and the proxies."""
    proxies = ("10.0.0.1",) + ("10.0.0.7",) * (keep - 1)
    return Result("203.0.113.9", "x-forwarded-for", proxies, "", False, "10.0.0.1")


def test_the_rewrite_looks_left_of_a_window_that_starts_at_a_comma() -> None:
    # The window's first part is empty: what lies left of the kept items is outside it.
    kept = "a" * 31 + "," + "b" * 31
    value = "x" * 200 + "," + kept
    assert len(value) - value.index(kept) + 1 == realip._adapters.WINDOW
    assert rewrite_value(_verified(2), value, False) == kept
    assert rewrite_value(_verified(2), value.encode(), False) == kept.encode()
