"""Header grammar: Forwarded elements, comma lists, header lookup, scheme."""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

from realip._headers import forwarded_params, forwarded_value, last_item, lookup, pick_scheme


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ("for=192.0.2.60", [("for", "192.0.2.60")]),
        (
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            [("for", "192.0.2.60"), ("proto", "http"), ("by", "203.0.113.43")],
        ),
        ('For="[2001:db8:cafe::17]:4711"', [("for", "[2001:db8:cafe::17]:4711")]),
        (" for = 1.2.3.4 ; proto = https ", [("for", "1.2.3.4"), ("proto", "https")]),
        ("\tfor=1.2.3.4;\tproto=https", [("for", "1.2.3.4"), ("proto", "https")]),
        ('for="\\"q\\\\"', [("for", '"q\\')]),
        ("for=unknown", [("for", "unknown")]),
        ("for=_hidden;by=_proxy", [("for", "_hidden"), ("by", "_proxy")]),
        ("for=1.2.3.4;", [("for", "1.2.3.4")]),
        ("for=1.2.3.4:8080", [("for", "1.2.3.4:8080")]),
    ],
)
def test_forwarded_elements_parse(element: str, expected: list) -> None:
    assert forwarded_params(element) == expected


@pytest.mark.parametrize(
    "element",
    [
        'for="1.2.3.4',  # unbalanced quote
        'for="1.2.3.4"x',  # junk after the closing quote
        'for="1.2.3.4" x',
        "for",
        "for=",
        "=1.2.3.4",
        "for=1.2.3.4 5.6.7.8",
        'for=a"b',
        "fo r=1.2.3.4",
        ";for=1.2.3.4",
        "for=1.2.3.4;;proto=http",
        'for="\x01"',
    ],
)
def test_malformed_forwarded_elements_are_rejected(element: str) -> None:
    assert forwarded_params(element) is None


def test_forwarded_value_rejects_duplicates_and_reports_absence() -> None:
    assert forwarded_value("for=1.2.3.4;for=5.6.7.8", "for") == (False, None)
    assert forwarded_value("proto=https", "for") == (True, None)
    assert forwarded_value("FOR=1.2.3.4", "for") == (True, "1.2.3.4")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a, b", "b"), ("a, b, ", "b"), (" , ,", None), ("", None), ("a", "a"), ("a,,", "a")],
)
def test_last_item(value: str, expected: Optional[str]) -> None:
    assert last_item(value) == expected


def test_lookup_combines_repeated_headers_in_order() -> None:
    pairs = [(b"X-Forwarded-For", b"1.1.1.1"), (b"host", b"h"), (b"x-forwarded-for", b"2.2.2.2")]
    assert lookup(pairs, "x-forwarded-for") == "1.1.1.1,2.2.2.2"
    assert lookup({"X-FORWARDED-FOR": "3.3.3.3"}, "x-forwarded-for") == "3.3.3.3"
    # A WSGI-style key among HTTP headers is a client header spelled with underscores.
    assert lookup({"HTTP_X_FORWARDED_FOR": "4.4.4.4"}, "x-forwarded-for") is None
    assert lookup([("X_Forwarded_For", "4.4.4.4")], "x-forwarded-for") is None
    assert lookup({"Other": "x"}, "x-forwarded-for") is None
    assert lookup([("x-real-ip", "é")], "x-real-ip") == "é"
    assert lookup([(b"x-real-ip", b"\xe9")], "x-real-ip") == "\xe9"


def test_lookup_survives_broken_input() -> None:
    assert lookup([("only-one-item",)], "x-forwarded-for") is None  # type: ignore[list-item]
    assert lookup([(1, 2)], "x-forwarded-for") is None  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("xfp", "forwarded", "websocket", "expected"),
    [
        ("https", None, False, "https"),
        ("http, https", None, False, "https"),
        ("HTTPS", None, False, "https"),
        ("https", None, True, "wss"),
        ("http", None, True, "ws"),
        ("gopher", None, False, None),
        ("javascript", None, False, None),
        (None, "for=1.2.3.4;proto=https", False, "https"),
        (None, "proto=http, for=1.2.3.4;proto=https", False, "https"),
        (None, 'for="1.2.3.4;proto=https', False, None),
        (None, None, False, None),
    ],
)
def test_pick_scheme(
    xfp: Optional[str], forwarded: Optional[str], websocket: bool, expected: Optional[str]
) -> None:
    assert pick_scheme(xfp, forwarded, websocket) == expected


def test_pick_scheme_looks_at_a_bounded_number_of_forwarded_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import realip._headers as headers

    calls: List[str] = []
    original = headers.forwarded_value

    def counting(element: str, name: str) -> Tuple[bool, Optional[str]]:
        calls.append(element)
        return original(element, name)

    monkeypatch.setattr(headers, "forwarded_value", counting)
    padded = ", ".join(["for=6.6.6.6"] * 10_000)
    assert pick_scheme(None, "for=1.1.1.1;proto=https, " + padded, False) is None
    assert len(calls) == headers.MAX_ITEMS
    calls.clear()
    assert pick_scheme(None, "for=1.1.1.1;proto=https" + "," * 70_000, False) is None
    assert calls == []  # padding: given up before parsing anything
    assert pick_scheme(None, padded + ", for=1.1.1.1;proto=https,,", False) == "https"


def test_items_from_right_skips_empty_runs_and_bounds_them() -> None:
    from realip._headers import MAX_EMPTY_RUN, PaddingError, items_from_right

    assert list(items_from_right(" a ,, b,\t, c ,")) == ["c", "b", "a"]
    assert list(items_from_right(b"x,,y", b",", b" \t")) == [b"y", b"x"]
    assert list(items_from_right(",,, ,")) == []
    taken = items_from_right("a" + "," * (MAX_EMPTY_RUN + 5) + "b")
    assert next(taken) == "b"
    with pytest.raises(PaddingError):
        next(taken)
