"""The hostile-input fast paths of issue 25 against the plain code they stand in for.

``items_from_right`` takes items in batches after the first few and skips empty runs with
``bytes.translate``; ``escaped_params`` reads quoted-pairs with ``replace``/``find`` instead of
the grammar's regular expression. Each must give exactly what the plain version gives: the
same items in the same order, padding raised at the same point, the same pairs or None.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator, List

from hypothesis import given, settings
from hypothesis import strategies as st

from realip._headers import (
    MAX_EMPTY_RUN,
    PaddingError,
    escaped_params,
    forwarded_params,
    items_from_right,
)


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
