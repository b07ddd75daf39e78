"""Header grammar: Forwarded elements, comma lists, header lookup, scheme."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from realip._forwarded import forwarded_params, forwarded_proto, forwarded_value
from realip._headers import last_item, lookup, scheme_value


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


@pytest.mark.parametrize(
    "headers",
    [
        [("only-one-item",)],
        [(1, 2)],
        [("x-forwarded-for", "1.2.3.4"), ("broken",)],
        [("x-forwarded-for", 42)],
        "x-forwarded-for: 1.2.3.4",
        42,
    ],
    ids=["one-tuple", "int-name", "bad-pair-after-xff", "int-value", "str", "int"],
)
def test_lookup_names_a_container_it_cannot_read(headers: Any) -> None:
    # The container is the program's, not the client's: quietly answering "no header" would
    # make realip answer with the proxy's address.
    with pytest.raises(TypeError, match=r"header|pairs"):
        lookup(headers, "x-forwarded-for")


class _CaseSensitive(dict):  # type: ignore[type-arg]
    """Like multidict.MultiDict: getall() compares names exactly."""

    def getall(self, name: str) -> List[str]:
        return [self[name]] if name in self else []


class _RaisingGetall(dict):  # type: ignore[type-arg]
    def getall(self, name: str) -> List[str]:
        raise RuntimeError("broken")


def test_lookup_reads_case_sensitive_and_odd_containers() -> None:
    import email.message

    assert lookup(_CaseSensitive({"X-Forwarded-For": "1.2.3.4"}), "x-forwarded-for") == "1.2.3.4"
    assert lookup(_RaisingGetall({"X-Forwarded-For": "1.2.3.4"}), "x-forwarded-for") == "1.2.3.4"
    message = email.message.Message()
    message["X-Forwarded-For"] = "1.2.3.4"
    message["x-forwarded-for"] = "5.6.7.8"
    assert lookup(message, "x-forwarded-for") == "1.2.3.4,5.6.7.8"


def test_lookup_reads_multidict_when_installed() -> None:
    multidict = pytest.importorskip("multidict", reason="multidict comes with aiohttp")
    headers = multidict.MultiDict([("X-Forwarded-For", "1.2.3.4"), ("X-FORWARDED-FOR", "5.6.7.8")])
    assert lookup(headers, "x-forwarded-for") == "1.2.3.4,5.6.7.8"


class _BrokenItems(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("no")


def test_lookup_names_a_container_whose_items_raise() -> None:
    with pytest.raises(TypeError, match="_BrokenItems"):
        lookup(_BrokenItems(), "x-forwarded-for")


@pytest.mark.parametrize(
    ("value", "websocket", "expected"),
    [
        ("https", False, "https"),
        (" HTTPS ", False, "https"),
        (b"http", False, "http"),
        ("https", True, "wss"),
        ("http", True, "ws"),
        ("gopher", False, None),
        ("wss", False, None),
        ("", False, None),
        (None, False, None),
    ],
)
def test_scheme_value(value: Any, websocket: bool, expected: Optional[str]) -> None:
    assert scheme_value(value, websocket) == expected


@pytest.mark.parametrize(
    ("forwarded", "elements", "expected"),
    [
        # The client's element has proto: it is the one the first trusted proxy wrote.
        ("for=1.2.3.4;proto=https", 1, "https"),
        # Nothing in or right of the client's element: a proto left of it is the client's own.
        ("for=6.6.6.6;proto=https, for=203.0.113.9", 1, None),
        ("for=6.6.6.6;proto=https, for=203.0.113.9, for=10.0.0.2", 2, None),
        # The nearest element right of the client's that has one.
        ("for=203.0.113.9, for=10.0.0.2;proto=http, for=10.0.0.3;proto=https", 3, "http"),
        ("for=203.0.113.9;proto=https, for=10.0.0.2;proto=http", 2, "https"),
        ('for="1.2.3.4;proto=https', 1, None),
        ("for=1.2.3.4;proto=https", 2, None),  # fewer elements than walked: don't guess
    ],
)
def test_forwarded_proto_never_looks_left_of_the_client(
    forwarded: str, elements: int, expected: Optional[str]
) -> None:
    assert forwarded_proto(forwarded, elements) == expected


def test_forwarded_proto_looks_at_a_bounded_number_of_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import realip._forwarded as grammar
    from realip._headers import MAX_ITEMS

    calls: List[str] = []
    original = grammar.forwarded_param

    def counting(element: str, name: str) -> Tuple[bool, Optional[str]]:
        calls.append(element)
        return original(element, name)

    monkeypatch.setattr(grammar, "forwarded_param", counting)
    padded = ", ".join(["for=6.6.6.6"] * 10_000)
    assert forwarded_proto("for=1.1.1.1;proto=https, " + padded, MAX_ITEMS) is None
    assert len(calls) == MAX_ITEMS  # the elements walked, each read once
    calls.clear()
    assert forwarded_proto("for=1.1.1.1;proto=https, " + padded, 10_000) is None
    assert len(calls) <= MAX_ITEMS
    calls.clear()
    assert forwarded_proto("for=1.1.1.1;proto=https" + "," * 70_000, 1) is None
    assert calls == []  # padding: given up before parsing anything
    assert forwarded_proto(padded + ", for=1.1.1.1;proto=https,,", 1) == "https"


def test_items_from_right_skips_empty_runs_and_bounds_them() -> None:
    from realip._headers import MAX_EMPTY_RUN, PaddingError, items_from_right

    assert list(items_from_right(" a ,, b,\t, c ,")) == ["c", "b", "a"]
    assert list(items_from_right(b"x,,y", b",", b" \t")) == [b"y", b"x"]
    assert list(items_from_right(",,, ,")) == []
    taken = items_from_right("a" + "," * (MAX_EMPTY_RUN + 5) + "b")
    assert next(taken) == "b"
    with pytest.raises(PaddingError):
        next(taken)


# -- the split fast path of Forwarded parameters agrees with the grammar -----------------

_FWD_ALPHABET = list('for=;FOR proto \t1.2.3.4:[]"\\,ab_=é\x00\x7f\u0100')
_FWD_PIECES = [
    "for=1.2.3.4", "proto=https", " for = x ", "by=_h", "for=[::1]:80", "", " ", "for=", "a",
    ";", 'for="[::1]:80"', 'for="a;b"', '"', 'for=""', 'x="', 'for="\x7f"', 'for="é"',
    'proto="https" ', 'for="a\\"b"', "PROTO=HTTP",
]  # fmt: skip


@hyp_settings(max_examples=3000)
@given(
    element=st.one_of(
        st.text(st.sampled_from(_FWD_ALPHABET), max_size=40),
        st.lists(st.sampled_from(_FWD_PIECES), max_size=12).map(";".join),
    ),
    name=st.sampled_from(["for", "proto", "by"]),
)
def test_forwarded_param_fast_path_matches_the_grammar(element: str, name: str) -> None:
    from realip._forwarded import forwarded_param

    assert forwarded_param(element, name) == forwarded_value(element, name)
