"""Proxy header grammar: comma lists, RFC 7239 ``Forwarded`` elements, single-IP headers.

These functions split and unquote; they never decide trust. Lists are taken from the right
with :func:`items_from_right`, so the work done is proportional to the items taken, not to
the length of a header a client may have padded.
"""

from __future__ import annotations

from collections.abc import Mapping as _Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
    overload,
)

if TYPE_CHECKING:
    import re

HeaderValue = Union[str, bytes]
Headers = Union[Mapping[str, str], Mapping[bytes, bytes], Iterable[Tuple[HeaderValue, HeaderValue]]]

BLANKS = " \t"

# RFC 9110 §5.6: token, quoted-string (qdtext and quoted-pair), OWS.
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
QUOTED_STRING = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
OWS = r"[ \t]*"
# RFC 7239 §4: forwarded-pair = token "=" value, value = token / quoted-string. An unquoted
# value is taken leniently up to ';' (proxies do send for=1.2.3.4:80 unquoted); it still has
# to be an address afterwards.
UNQUOTED_VALUE = r'[^";, \t]+'
FORWARDED_PAIR = rf"{OWS}({TOKEN}){OWS}={OWS}(?:({QUOTED_STRING})|({UNQUOTED_VALUE})){OWS}(?:;|\Z)"
"""One ``name=value`` pair of a Forwarded element and its ``;``, as a regular expression."""

MAX_ITEMS = 32
"""How many non-empty list items (from the right) anything in realip looks at before it gives
up; also the largest ``trusted_hops``."""
MAX_PAIRS = 8
"""More parameters than this in one Forwarded element make it malformed (RFC 7239 defines 4):
the cost of parsing an element a client wrote stays bounded."""
MAX_EMPTY_RUN = 1024
"""Characters of consecutive empty list items (commas and blanks) skipped in one place before
a header counts as padded: empty items don't count (RFC 9110 5.6.1), but skipping them must not
cost time in the length of a header a client padded."""


class PaddingError(ValueError):
    """A list header holds a run of empty items longer than :data:`MAX_EMPTY_RUN`."""


def skip_empty_run(value: Any, start: int, separators: Any) -> int:
    """Where the item before the run of separators that ends at ``start`` ends (0: none).

    Looks at most :data:`MAX_EMPTY_RUN` characters back; raises :class:`PaddingError` beyond.
    """
    window = max(0, start - MAX_EMPTY_RUN)
    end = window + len(value[window:start].rstrip(separators))
    if end == window and window > 0:
        raise PaddingError(f"more than {MAX_EMPTY_RUN} characters of empty list items")
    return end


# Compiled on the first Forwarded element parsed: most apps never read Forwarded, and neither
# ``re`` nor compiling the pattern belongs in the cost of ``import realip``.
# (Two threads racing here compile the same pattern twice; either result is the same.)
_pair_match: Optional[Callable[[str, int, int], Optional[re.Match[str]]]] = None
_unescape: Optional[Callable[[str, str], str]] = None


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
    global _unescape
    if _unescape is None:
        import re

        _unescape = re.compile(r"\\(.)", re.DOTALL).sub
    return _unescape(r"\1", inner)


def forwarded_params(element: str) -> Optional[List[Tuple[str, str]]]:
    """The ``(lower-case name, value)`` pairs of one ``Forwarded`` element, None if malformed.

    ``element`` is the text between two commas: the caller splits on every comma first, so a
    quote left open by a client can never reach into the elements appended by proxies.
    """
    pairs: List[Tuple[str, str]] = []
    pos = 0
    end = len(element.rstrip(BLANKS))
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
    params = forwarded_params(element)
    if params is None:
        return False, None
    found: Optional[str] = None
    for key, value in params:
        if key == name:
            if found is not None:
                return False, None
            found = value
    return True, found


def items_from_right(value: Any, comma: Any = ",", blanks: Any = BLANKS) -> Iterator[Any]:
    """Non-empty items of a comma list (``str`` or ``bytes``), rightmost first, stripped.

    Every run of empty items (RFC 9110 5.6.1: they don't count) is skipped in one C call, so a
    padded header costs per item taken, not per byte; a run longer than
    :data:`MAX_EMPTY_RUN` raises :class:`PaddingError` when the iteration reaches it.
    """
    end = len(value)
    while end > 0:
        start = value.rfind(comma, 0, end)
        item = value[start + 1 : end].strip(blanks)
        if item:
            yield item
            end = start
        else:
            end = skip_empty_run(value, start, comma + blanks) if start > 0 else 0


@overload
def last_item(value: str) -> Optional[str]: ...
@overload
def last_item(value: bytes) -> Optional[bytes]: ...
def last_item(value: Union[str, bytes]) -> Union[str, bytes, None]:
    """Rightmost non-empty item of a comma list (single-IP headers, ``X-Forwarded-Proto``).

    Works on ``str`` and ``bytes`` alike, in a fixed number of C-level calls; raises
    :class:`PaddingError` when more than :data:`MAX_EMPTY_RUN` characters of empty items trail.
    """
    end = skip_empty_run(value, len(value), b" \t," if isinstance(value, bytes) else " \t,")
    if isinstance(value, bytes):
        found: Union[str, bytes] = value[value.rfind(b",", 0, end) + 1 : end].strip(b" \t")
    else:
        found = value[value.rfind(",", 0, end) + 1 : end].strip(BLANKS)
    return found if found else None


def decode(value: HeaderValue) -> str:
    """Header bytes as text: latin-1, as HTTP/1.1 and ASGI servers deliver them."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def lookup(headers: Headers, name: str) -> Optional[str]:
    """All values of header ``name`` (lower-case) in ``headers``, combined with commas, as text.

    See :func:`lookup_raw`.
    """
    value = lookup_raw(headers, name)
    return value if value is None or value.__class__ is str else decode(value)


def lookup_raw(headers: Headers, name: str) -> Union[str, bytes, None]:
    """All values of header ``name`` (lower-case) in ``headers``, combined with commas.

    Left as ``bytes`` when the values are bytes, so the resolver decodes only what it walks.

    ``headers`` is a mapping or an iterable of ``(name, value)`` pairs, of ``str`` or ``bytes``;
    names compare case-insensitively. Several instances combine in order (RFC 9110 §5.3).
    WSGI environ keys (``HTTP_X_FORWARDED_FOR``) are deliberately *not* recognised: among real
    header pairs that would be a client header spelled with underscores, a spoofing vector.
    """
    items: Iterable[Tuple[HeaderValue, HeaderValue]]
    kind = headers.__class__
    if kind is dict or (kind is not list and kind is not tuple and isinstance(headers, _Mapping)):
        getall = getattr(headers, "getall", None) or getattr(headers, "getlist", None)
        if getall is not None:
            # Multi-dicts (aiohttp, werkzeug, starlette) keep repeated headers apart.
            try:
                values = [decode(v) for v in getall(name)]
            except Exception:
                values = []
            return ",".join(values) if values else None
        items = headers.items()  # type: ignore[union-attr]
    else:
        items = headers  # type: ignore[assignment]
    size = len(name)
    name_bytes = name.encode("latin-1")
    found: List[HeaderValue] = []
    try:
        for key, val in items:
            # The length test keeps lower() (and the type checks) off most names.
            if len(key) != size:
                continue
            key_kind = key.__class__
            wanted = name if key_kind is str else name_bytes if key_kind is bytes else None
            if wanted is not None and key.lower() == wanted and val.__class__ in (str, bytes):
                found.append(val)
    except (TypeError, ValueError):  # not an iterable of pairs
        return None
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    if all(v.__class__ is bytes for v in found):
        return b",".join(found)  # type: ignore[arg-type]
    return ",".join(decode(v) for v in found)


def pick_scheme(xfp: Optional[str], forwarded: Optional[str], websocket: bool) -> Optional[str]:
    """The scheme a trusted proxy reported, or None if it reported nothing usable.

    ``X-Forwarded-Proto`` is preferred, then ``proto=`` of the rightmost ``Forwarded`` element
    that has one. Only ``http``/``https`` are accepted (``ws``/``wss`` for websockets).
    """
    proto: Optional[str] = None
    if xfp is not None:
        try:
            proto = last_item(xfp)
        except PaddingError:
            return None
    if proto is None and forwarded is not None:
        # Bounded like the resolver's walk: a client-padded Forwarded header must not cost
        # time in its length (it did: ~12 ms for 10,000 elements).
        try:
            for taken, element in enumerate(items_from_right(forwarded)):
                if taken == MAX_ITEMS:
                    return None
                ok, proto = forwarded_value(element, "proto")
                if ok and proto is not None:
                    break
                proto = None
        except PaddingError:
            return None
    if proto is None:
        return None
    proto = proto.lower()
    if proto not in ("http", "https"):
        return None
    if websocket:
        return "wss" if proto == "https" else "ws"
    return proto
