"""Proxy header grammar: comma lists, single-IP headers, and the limits every reader keeps.

These functions split; they never decide trust (``Forwarded`` elements: :mod:`realip._forwarded`). Lists are taken from the right
with :func:`items_from_right`, so the work done is proportional to the items taken, not to
the length of a header a client may have padded.
"""

from __future__ import annotations

from itertools import repeat
from typing import (
    Any,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
    overload,
)

HeaderValue = Union[str, bytes]
Headers = Union[Mapping[str, str], Mapping[bytes, bytes], Iterable[Tuple[HeaderValue, HeaderValue]]]

BLANKS = " \t"

MAX_ITEMS = 32
"""How many non-empty list items (from the right) anything in realip looks at before it gives
up; also the largest ``trusted_hops``."""
MAX_PAIRS = 8
"""More parameters than this in one Forwarded element make it malformed (RFC 7239 defines 4):
the cost of parsing an element a client wrote stays bounded."""
MAX_ELEMENT = 512
"""Longest ``Forwarded`` element (characters) realip parses; a longer one is malformed. The
four RFC 7239 parameters with a 255-character host fit with room to spare; a client's element
of escapes costs no more than a normal request."""
MAX_EMPTY_RUN = 1024
"""Characters of consecutive empty list items (commas and blanks) skipped in one place before
a header counts as padded: empty items don't count (RFC 9110 5.6.1), but skipping them must not
cost time in the length of a header a client padded."""


MAX_MEMO = 1024
"""Entries in a memo of trusted hops' elements; it fills up and never evicts."""


class HeadersTypeError(TypeError):
    """The headers container itself can't be read (the program's mistake, not the client's)."""


class PaddingError(ValueError):
    """A list header holds a run of empty items longer than :data:`MAX_EMPTY_RUN`."""


def environ_key(name: str) -> str:
    """The WSGI environ key (PEP 3333's CGI spelling) of the HTTP header ``name``."""
    return "HTTP_" + name.upper().replace("-", "_")


SEPARATORS = " \t,"
"""What a run of empty list items is made of: commas and blanks."""
_SEPARATORS_BYTES = SEPARATORS.encode()
_NEAR = 32
PADDED = f"more than {MAX_EMPTY_RUN} characters of empty list items"
"""What :class:`PaddingError` says."""
# Each separator byte as 0, every other byte as 1: one bytes.translate and one rfind (memrchr)
# find the last non-separator of a window in two C passes. rstrip(" \t,") tests each character
# against the set instead: on a 1 KiB run, measured on CPython 3.11, ~2.3 us for bytes and
# ~6.8 us for str, against ~0.5 us and ~0.6 us (str encoded first) this way.
_NOT_SEPARATOR = bytes(0 if byte in _SEPARATORS_BYTES else 1 for byte in range(256))


def skip_empty_run(value: Any, start: int) -> int:
    """Where the item before the run of separators (:data:`SEPARATORS`) that ends at ``start``
    ends (0: none).

    Looks at most :data:`MAX_EMPTY_RUN` characters back; raises :class:`PaddingError` beyond.
    """
    near = max(0, start - _NEAR)
    raw = isinstance(value, bytes)
    seps = _SEPARATORS_BYTES if raw else SEPARATORS
    # A short run (the honest case, ", ,"): one rstrip of a few characters.
    end: int = near + len(value[near:start].rstrip(seps))
    if end > near or near == 0:
        return end
    window = max(0, start - MAX_EMPTY_RUN)
    segment = value[window:near]
    if not raw:
        # Characters beyond latin-1 become "?": no separator, as they aren't.
        segment = segment.encode("latin-1", "replace")
    end = window + segment.translate(_NOT_SEPARATOR).rfind(1) + 1
    if end == window and window > 0:
        raise PaddingError(PADDED)
    return end


_STRIP: Dict[type, Any] = {str: str.strip, bytes: bytes.strip}
FIRST = 4
"""Items :func:`items_from_right` takes one by one before it takes them in batches: a walk
usually ends within them (a client a hop or two from the right), where a batch costs more."""
BATCH = MAX_ITEMS - FIRST + 1
"""Items per batch of :func:`items_from_right`: the first batch reaches MAX_ITEMS + 1 items."""
_WINDOW = 64
"""Characters per item of a batch's window: items longer than this on average (garbage, long
IPv6 zones) just mean a smaller batch, or one item at a time."""


def items_from_right(value: Any, comma: Any = ",", blanks: Any = BLANKS) -> Iterator[Any]:
    """Non-empty items of a comma list (``str`` or ``bytes``), rightmost first, stripped.

    Every run of empty items (RFC 9110 5.6.1: they don't count) is skipped in one C call, so a
    padded header costs per item taken, not per byte; a run longer than
    :data:`MAX_EMPTY_RUN` raises :class:`PaddingError` when the iteration reaches it.

    The first :data:`FIRST` items are taken one at a time (rfind, slice, strip); after them,
    :data:`BATCH` at a time: one ``rsplit`` of a window and one ``map`` of ``strip``, a few C
    calls instead of three per item (the walk of 33 trusted items of a long header: ~19 ->
    ~14 us, CPython 3.11). A batch with an empty item in it, or a window without a whole item,
    is taken one item at a time again, so empty runs are skipped, and padding raises, exactly
    as one at a time.
    """
    end = len(value)
    # A counter, not a for loop over range(FIRST): ~100 ns less on a walk that ends at the
    # second item (bench.py's (e)), where the batches never start. After them it is negative
    # and never reaches 0 again.
    first = FIRST
    while end > 0:
        start = value.rfind(comma, 0, end)
        item = value[start + 1 : end].strip(blanks)
        if item:
            yield item
            end = start
            first -= 1
            if not first:
                end = yield from _batches(value, end, comma, blanks)
        else:
            end = skip_empty_run(value, start) if start > 0 else 0


def _batches(value: Any, end: int, comma: Any, blanks: Any) -> Generator[Any, None, int]:
    """:func:`items_from_right` after its first items: :data:`BATCH` items at a time, left of
    ``end``; returns where taking them one at a time goes on (0: the value is done)."""
    strip = _STRIP.get(value.__class__)
    empty = value[:0]
    while end > 0 and strip is not None:
        lo = end - _WINDOW * BATCH
        parts = (value[lo:end] if lo > 0 else value[:end]).rsplit(comma, BATCH)
        whole = lo <= 0 and len(parts) <= BATCH  # parts[0] is the value's first item
        if not whole and len(parts) < 2:
            break  # no whole item in the window
        items = list(map(strip, parts if whole else parts[1:], repeat(blanks, len(parts))))
        if empty in items:
            break  # an empty item: from this batch's right end, one at a time
        items.reverse()
        yield from items
        if whole:
            return 0
        end = (lo if lo > 0 else 0) + len(parts[0])
    return end


@overload
def last_item(value: str) -> Optional[str]: ...
@overload
def last_item(value: bytes) -> Optional[bytes]: ...
def last_item(value: Union[str, bytes]) -> Union[str, bytes, None]:
    """Rightmost non-empty item of a comma list (single-IP headers, ``X-Forwarded-Proto``).

    Works on ``str`` and ``bytes`` alike, in a fixed number of C-level calls; raises
    :class:`PaddingError` when more than :data:`MAX_EMPTY_RUN` characters of empty items trail.
    """
    end = skip_empty_run(value, len(value))
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

    ``headers`` is anything with ``items()`` (a dict, a multi-dict, ``email.message.Message``,
    Werkzeug or Starlette headers) or an iterable of ``(name, value)`` pairs, of ``str`` or
    ``bytes``; names always compare case-insensitively, whatever the container does. Several
    instances combine in order (RFC 9110 §5.3). WSGI environ keys (``HTTP_X_FORWARDED_FOR``) are
    deliberately *not* recognised: among real header pairs that would be a client header
    spelled with underscores, a spoofing vector.

    A container realip can't read raises :class:`TypeError` naming it: the container comes from
    the program, and quietly answering with the proxy's address would hide the mistake.
    """
    kind = headers.__class__
    items: Any
    items_method: Any = None
    if kind is dict:
        items = headers.items()  # type: ignore[union-attr]
    elif kind is list or kind is tuple:
        items = headers
    else:
        # Every multi-dict's items() yields each header instance, in order; its getall() may
        # compare names case-sensitively (multidict.MultiDict), so it is not used.
        items_method = getattr(headers, "items", None)
        if items_method is not None:
            try:
                items = list(items_method())
            except Exception as exc:
                raise HeadersTypeError(
                    f"cannot read headers from {_describe(headers)}: items() raised {exc!r}"
                ) from exc
        elif isinstance(headers, (str, bytes)) or not hasattr(headers, "__iter__"):
            raise HeadersTypeError(
                f"headers must be a mapping or (name, value) pairs, not {_describe(headers)}"
            )
        else:
            items = headers
    size = len(name)
    name_bytes = name.encode("latin-1")
    found: List[HeaderValue] = []
    if kind is dict or kind is list or kind is tuple or items_method is not None:
        # Pairs that are plain tuples of exact str or bytes (what dicts, lists and multi-dicts
        # hold): one quick pass, where a lower-case name needs no lower() and the values'
        # types are settled by the join (100 header lines: ~12 us -> ~4 us, CPython 3.11).
        # Anything else starts over in the checked loop below, which words the errors.
        try:
            for pair in items:
                if pair.__class__ is not tuple:
                    break
                key, val = pair  # not two: ValueError, and the checked loop words it
                if key.__class__ is str:
                    if key != name and (len(key) != size or key.lower() != name):
                        continue
                elif key.__class__ is not bytes:
                    break
                elif key != name_bytes and (len(key) != size or key.lower() != name_bytes):
                    continue
                if val.__class__ is not bytes and val.__class__ is not str:
                    break
                found.append(val)
            else:
                if not found:
                    return None
                if len(found) == 1:
                    return found[0]
                try:
                    return b",".join(found)  # type: ignore[arg-type]
                except TypeError:  # some are str
                    return ",".join(decode(v) for v in found)
        except Exception:  # the checked loop below says what is wrong
            pass
        found = []
    try:
        for pair in items:
            if len(pair) != 2 or not isinstance(pair, (tuple, list)):
                raise HeadersTypeError(
                    f"headers in {_describe(headers)} must be (name, value) pairs; "
                    f"found {_describe(pair)}"
                )
            key, val = pair
            # The length test keeps lower() off most names. (aiohttp's names are istr, a str
            # subclass.)
            if len(key) == size and key.lower() == (name if isinstance(key, str) else name_bytes):
                if val.__class__ is str or val.__class__ is bytes:
                    found.append(val)
                elif val is not None and not isinstance(val, (str, bytes)):
                    raise HeadersTypeError(
                        f"the value of header {name!r} in {_describe(headers)} must be str or "
                        f"bytes, not {_describe(val)}"
                    )
                elif val is not None:
                    found.append(val)
            elif not isinstance(key, (str, bytes)):
                raise HeadersTypeError(
                    f"header names in {_describe(headers)} must be str or bytes, "
                    f"not {_describe(key)}"
                )
    except HeadersTypeError:
        raise
    except Exception as exc:
        raise HeadersTypeError(f"cannot read headers from {_describe(headers)}: {exc!r}") from exc
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    if all(v.__class__ is bytes for v in found):
        return b",".join(found)  # type: ignore[arg-type]
    return ",".join(decode(v) for v in found)


def _describe(obj: object) -> str:
    kind = type(obj)
    return (
        f"a {kind.__module__}.{kind.__qualname__}"
        if kind.__module__ != "builtins"
        else (f"a {kind.__qualname__}")
    )


def scheme_value(value: Union[str, bytes, None], websocket: bool) -> Optional[str]:
    """A reported scheme as the server should set it: ``http``/``https`` (case-insensitive),
    ``ws``/``wss`` for websockets; None for anything else."""
    if value is None:
        return None
    proto = decode(value).strip(BLANKS).lower()
    if proto not in ("http", "https"):
        return None
    if websocket:
        return "wss" if proto == "https" else "ws"
    return proto
