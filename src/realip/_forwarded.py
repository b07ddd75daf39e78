"""RFC 7239 ``Forwarded`` elements: their parameters, ``for=`` and ``proto=``.

One element is parsed by the grammar below (RFC 9110 tokens and quoted-strings), with two
cheaper paths that give the same answers: :func:`forwarded_param` splits an element without
escapes with ``str.split``, :func:`escaped_params` reads one with quoted-pairs in a few C calls
per pair. Everything is bounded (:data:`~realip._headers.MAX_PAIRS` parameters,
:data:`~realip._headers.MAX_ELEMENT` characters); nothing here decides trust.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from realip._headers import (
    BLANKS,
    MAX_ELEMENT,
    MAX_ITEMS,
    MAX_MEMO,
    MAX_PAIRS,
    HeaderValue,
    PaddingError,
    decode,
    items_from_right,
)

if TYPE_CHECKING:
    import re

# RFC 9110 §5.6: token, quoted-string (qdtext and quoted-pair), OWS.
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# Written as "unrolled loop" (a run of qdtext, then any number of quoted-pair + run): one
# alternation per character backtracked badly on a string of escapes (2.4 ms for 8 KiB).
_QDTEXT = r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]"
QUOTED_STRING = rf'"{_QDTEXT}*(?:\\[\t \x21-\x7e\x80-\xff]{_QDTEXT}*)*"'
OWS = r"[ \t]*"
# RFC 7239 §4: forwarded-pair = token "=" value, value = token / quoted-string. An unquoted
# value is taken leniently up to ';' (proxies do send for=1.2.3.4:80 unquoted); it still has
# to be an address afterwards.
UNQUOTED_VALUE = r'[^";, \t]+'
FORWARDED_PAIR = rf"{OWS}({TOKEN}){OWS}={OWS}(?:({QUOTED_STRING})|({UNQUOTED_VALUE})){OWS}(?:;|\Z)"
"""One ``name=value`` pair of a Forwarded element and its ``;``, as a regular expression."""


# Compiled on the first Forwarded element parsed: most apps never read Forwarded, and neither
# ``re`` nor compiling the pattern belongs in the cost of ``import realip``.
# (Two threads racing here compile the same pattern twice; either result is the same.)
_pair_match: Optional[Callable[[str, int, int], Optional[re.Match[str]]]] = None


def _forwarded_pair_matcher() -> Callable[[str, int, int], Optional[re.Match[str]]]:
    global _pair_match
    if _pair_match is None:
        import re

        _pair_match = re.compile(FORWARDED_PAIR).match
    return _pair_match


def unquote(quoted: str) -> str:
    """Value of a quoted-string (surrounding quotes included), backslash escapes undone."""
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    # Three C-level passes instead of a regex substitution per escape (re.sub with a template
    # cost ~2 us per quoted-pair). The grammar admits no NUL in a quoted-string, so it can
    # stand in for an escaped backslash while the other escapes drop their backslash.
    return inner.replace("\\\\", "\x00").replace("\\", "").replace("\x00", "\\")


def forwarded_params(element: str) -> Optional[List[Tuple[str, str]]]:
    """The ``(lower-case name, value)`` pairs of one ``Forwarded`` element, None if malformed.

    ``element`` is the text between two commas: the caller splits on every comma first, so a
    quote left open by a client can never reach into the elements appended by proxies.
    """
    pairs: List[Tuple[str, str]] = []
    pos = 0
    end = len(element.rstrip(BLANKS))
    if end > MAX_ELEMENT:
        return None
    match = _pair_match or _forwarded_pair_matcher()
    while pos < end:
        m = match(element, pos, end)
        if m is None or len(pairs) == MAX_PAIRS:
            return None
        quoted = m.group(2)
        pairs.append((m.group(1).lower(), unquote(quoted) if quoted is not None else m.group(3)))
        pos = m.end()
    return pairs if pairs else None


def forwarded_value(element: str, name: str) -> Tuple[bool, Optional[str]]:
    """``(well_formed, value)`` of parameter ``name`` in a ``Forwarded`` element.

    A malformed element, or one that names the parameter twice, is ``(False, None)``.
    """
    return _named(forwarded_params(element), name)


def _named(params: Optional[List[Tuple[str, str]]], name: str) -> Tuple[bool, Optional[str]]:
    if params is None:
        return False, None
    found: Optional[str] = None
    for key, value in params:
        if key == name:
            if found is not None:
                return False, None
            found = value
    return True, found


_TOKEN_CHARS = frozenset(
    "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"
)
_NOT_UNQUOTED = frozenset('";, \t')
# qdtext (RFC 9110 5.6.4) without the backslash: what a quoted value holds when it has no escapes.
_QDTEXT_CHARS = frozenset(
    "\t " + "".join(chr(c) for c in range(0x21, 0x100) if c not in (0x22, 0x5C, 0x7F))
)


# What a quoted-string may hold (qdtext and the characters a quoted-pair may escape, RFC 9110
# 5.6.4), as latin-1 bytes for bytes.translate: what is left after deleting these is invalid.
_QUOTED_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_unquoted_match: Optional[Callable[[str, int, int], Optional[re.Match[str]]]] = None


def escaped_params(element: str) -> Optional[List[Tuple[str, str]]]:
    """:func:`forwarded_params` of an element with quoted-pairs, in C calls per pair.

    The grammar's regular expression steps through a quoted-string one quoted-pair at a time
    (~40 ns each: a client's element of 120 escapes cost ~6 us); here the closing quote is
    found with two ``replace`` and one ``find`` (escaped backslashes, then escaped quotes, are
    masked with characters of the same length that a quoted-string cannot hold) and the content
    checked with one ``translate``. Same pairs, same None, for every element.
    """
    global _unquoted_match
    if _unquoted_match is None:
        import re

        _unquoted_match = re.compile(UNQUOTED_VALUE).match
    end = len(element.rstrip(BLANKS))
    if end > MAX_ELEMENT:
        return None
    text = element[:end]
    pairs: List[Tuple[str, str]] = []
    pos = 0
    while pos < end:
        if len(pairs) == MAX_PAIRS:
            return None
        equals = text.find("=", pos)
        if equals < 0:
            return None
        key = text[pos:equals].strip(BLANKS)
        if not key or not _TOKEN_CHARS.issuperset(key):
            return None
        rest = text[equals + 1 :]
        start = equals + 1 + len(rest) - len(rest.lstrip(BLANKS))
        if text[start : start + 1] == '"':
            masked = text[start + 1 :].replace("\\\\", "\x00\x00").replace('\\"', "\x01\x01")
            close = masked.find('"')
            if close < 0:
                return None
            close += start + 1
            try:
                inner = text[start + 1 : close].encode("latin-1")
            except UnicodeEncodeError:
                return None
            if inner.translate(None, _QUOTED_BYTES):
                return None
            # unquote(), on the bytes: deleting the escapes' backslashes is one translate, where
            # str.replace took ~2 us for 120 of them.
            value = (
                inner.replace(b"\\\\", b"\x00")
                .translate(None, b"\\")
                .replace(b"\x00", b"\\")
                .decode("latin-1")
            )
            after = close + 1
        else:
            m = _unquoted_match(text, start, end)
            if m is None:
                return None
            value = m.group()
            after = m.end()
        rest = text[after:]
        tail = rest.lstrip(BLANKS)
        if tail and tail[0] != ";":
            return None
        pairs.append((key.lower(), value))
        pos = end if not tail else after + len(rest) - len(tail) + 1
    return pairs if pairs else None


def forwarded_param(element: str, name: str) -> Tuple[bool, Optional[str]]:
    """``(well_formed, value)`` of parameter ``name`` (lower-case) in a ``Forwarded`` element.

    The same answer as :func:`forwarded_value`. An element without backslashes whose quotes
    close within their own pair - what proxies write, e.g.
    ``for="[2001:db8::1]:4711";proto=https`` - is read with ``str.split`` instead of the
    regular expression (measured on CPython 3.11: ~1.65 us instead of ~2.0 us for that
    element, on a loaded 2-CPU machine); an element with quoted-pairs through
    :func:`escaped_params`; anything else through the grammar.
    """
    if "\\" in element:
        return _named(escaped_params(element), name)
    text = element.rstrip(BLANKS)
    if len(text) > MAX_ELEMENT:
        return False, None
    # The grammar lets the last pair end with ";" as well as at the end.
    parts = (text[:-1] if text[-1:] == ";" else text).split(";")
    if len(parts) > MAX_PAIRS:
        # Quotes may hold some of those ";" (then the grammar counts the pairs).
        return forwarded_value(element, name) if '"' in text else (False, None)
    found: Optional[str] = None
    for part in parts:
        key, equals, value = part.partition("=")
        key = key.strip(BLANKS)
        value = value.strip(BLANKS)
        if not equals or not key or not value or not _TOKEN_CHARS.issuperset(key):
            return False, None
        if value[0] == '"':
            inner = value[1:-1]
            if len(value) < 2 or value[-1] != '"' or not _QDTEXT_CHARS.issuperset(inner):
                # A quote that does not close in this pair (a quoted ";", say): the grammar
                # decides.
                return forwarded_value(element, name)
            value = inner
        elif not _NOT_UNQUOTED.isdisjoint(value):
            return False, None
        if key.lower() == name:
            if found is not None:
                return False, None
            found = value
    return True, found


def forwarded_for(element: str) -> Tuple[bool, Optional[str]]:
    """``(well_formed, value)`` of ``for=`` in a ``Forwarded`` element: the one ``for=`` parser."""
    return forwarded_param(element, "for")


_MALFORMED = '"'
"""Stands for a Forwarded element too long to parse: as malformed as it, and short."""


def forwarded_proto(
    forwarded: HeaderValue,
    elements: int,
    memo: Optional[Dict[str, Optional[str]]] = None,
) -> Optional[str]:
    """``proto=`` of the ``elements``-th element from the right of a ``Forwarded`` header, or
    else of the nearest element to its right that has one; None if none does.

    The caller passes how many elements the resolver walked (the client's included), so
    nothing left of the client's own element - what the client wrote - is ever looked at.
    ``memo`` (element -> its proto) keeps what the elements right of that one - the trusted
    hops, which repeat on every request - were read as; each element is read at most once.
    """
    taken: List[str] = []
    if len(forwarded) <= 1024:
        # Up to 1 KiB (a walk-limit chain of 32 elements fits) the header splits in one C
        # call: cheaper than 32 steps from the right, and no run of empty items this short
        # can be padding. A longer one is read from the right, as far as needed.
        for element in reversed(decode(forwarded).split(",")):
            element = element.strip(BLANKS)
            if element:
                taken.append(element)
                if len(taken) >= elements:
                    break
    else:
        # Not decoded whole (64 KiB: ~7.6 us): only the elements taken are, and one longer
        # than MAX_ELEMENT is malformed (so it has no proto) whatever it holds.
        raw = isinstance(forwarded, bytes)
        try:
            for item in items_from_right(
                forwarded, b"," if raw else ",", b" \t" if raw else BLANKS
            ):
                if len(item) > MAX_ELEMENT:
                    taken.append(_MALFORMED)
                else:
                    taken.append(item.decode("latin-1") if raw else item)
                if len(taken) >= min(elements, MAX_ITEMS):
                    break
        except PaddingError:
            return None
    if len(taken) < elements:
        return None
    last = len(taken) - 1
    for index in range(last, -1, -1):
        element = taken[index]
        if memo is not None and element in memo:
            proto = memo[element]
        else:
            ok, proto = forwarded_param(element, "proto")
            if not ok:
                proto = None
            if memo is not None and index < last and len(memo) < MAX_MEMO:
                memo[element] = proto  # a trusted hop's element, not the client's
        if proto is not None:
            return proto
    return None
