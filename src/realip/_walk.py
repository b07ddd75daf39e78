"""The per-request work: the peer, then the header, read from the right, through trust.

:func:`compile_resolve` turns a configuration (a :class:`Plan`) into one closure,
``resolve(remote_addr, value)``, which :meth:`realip.Resolver.resolve_value` runs and the
middlewares call directly. What is fixed at configuration time (trusted ranges, memos,
prepared reasons) is a cell, not an attribute looked up per request. Its steps, in order:

1. **the peer** - a trusted peer seen before is one memo hit; any other is parsed and checked
   with one ``bisect``; an untrusted peer is the answer (:func:`peer_result`); a resolver that
   reads no header answers with :func:`peer_only`;
2. **the header** - missing: the trusted peer answers (``proxy_as_client``); a single-IP
   header: :func:`single`; hop mode: :func:`count`;
3. **the list walk** - items from the right; a trusted hop seen before is one memo hit, any
   other is read by :func:`read_hop` and checked; the first untrusted address is the client.

The rare outcomes (fail closed, SNAT, Unix sockets, ``require_header``) are plain functions of
the :class:`Plan`. Everything here is bounded by :data:`MAX_ITEMS` and never raises on
request input.
"""

from __future__ import annotations

# The C module behind ``socket`` (see realip._addresses): the client's IPv4 address is parsed
# inline, without parse_ip's call frame.
from _socket import AF_INET, inet_pton
from bisect import bisect_right
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple, Union

from realip._addresses import parse_ip
from realip._forwarded import forwarded_for
from realip._headers import (
    BLANKS,
    MAX_ELEMENT,
    MAX_ITEMS,
    PaddingError,
    items_from_right,
    last_item,
)
from realip._result import (
    PEER_ONLY,
    PROXY_SENDER,
    REMOTE_ADDR,
    UNTRUSTED_PEER,
    Result,
    bad_entry,
    new_result,
    padded,
    too_long,
    tuple_new,
)

SHORT = 128
"""Characters: a header up to this long is split whole (at most 129 items) in one C call."""
WINDOW = 64
"""Characters at the end of a longer header split in one C call before the walk goes on item
by item (room for a client and a proxy, IPv6 ones included)."""
PADDED_END = frozenset([",", " ", "\t", b",", b" ", b"\t"])
"""A header ending in one of these ends in an empty item: padding, not an address."""
MEMO_SIZE = 1024
"""Entries per memo of trusted texts (peers; list items); it fills up and never evicts."""
MEMO_KEY = 512
"""Longest list item kept in the memo (a trusted address is shorter, but for a long IPv6 zone
id): its keys stay small. Lookups are not guarded by length: the test cost ~2% of (b)'s walk,
so a new 64 KiB item is still hashed (~15 us) by the lookup that misses."""

PEER, LIST, SINGLE = "peer", "list", "single"
"""What a resolver reads: the peer only, a list header, or a single-IP header."""

RemoteAddr = Any
HeaderValue = Union[str, bytes, None]
Resolve = Callable[[RemoteAddr, HeaderValue], Result]

_from_bytes = int.from_bytes


class Plan:
    """What the per-request work needs, fixed at configuration time, by name."""

    __slots__ = (
        "bounds",
        "forwarded",
        "header",
        "hops",
        "kind",
        "memo",
        "no_header",
        "peer_memo",
        "require",
        "snat",
        "snat_service",
        "topology",
        "unix",
        "untrusted",
    )

    def __init__(
        self,
        *,
        kind: str,
        header: Optional[str],
        hops: Optional[int],
        bounds: List[int],
        snat: List[int],
        unix: bool,
        require: bool,
        topology: Optional[str],
        snat_service: str,
    ) -> None:
        self.kind = kind
        self.header = header
        """The header read (lower-case), or the configured one for a peer-only resolver."""
        self.hops = hops
        self.bounds = bounds
        """Trusted ranges as bisect boundaries, node (SNAT) ranges taken out."""
        self.snat = snat
        """Node ranges as bisect boundaries (empty: no SNAT detection)."""
        self.unix = unix
        self.require = require
        self.topology = topology
        self.snat_service = snat_service
        self.forwarded = header == "forwarded"
        self.untrusted = f"the rightmost untrusted {header} entry is the client"
        self.no_header = (
            f"the peer is a trusted proxy but no {header} header arrived, so the proxy's own "
            "address is the answer (proxy_as_client)",
            f"the peer is a trusted proxy but the {header} header was empty, so the proxy's own "
            "address is the answer (proxy_as_client)",
        )
        # Trusted texts only, so a client that isn't itself in a trusted range can't add its
        # own; keyed on the text exactly as it arrived (bytes from ASGI: a hit needs no
        # decoding). Peers and header items live apart: the same text can mean different
        # things in each (for Forwarded, "10.0.0.1" is an address as a peer but a malformed
        # element in the header).
        self.peer_memo: Dict[Optional[str], str] = {}
        self.memo: Dict[Union[str, bytes], str] = {}


def is_unix_peer(remote_addr: object) -> bool:
    """Whether a peer that is not an address stands for a Unix socket (None, "", a path)."""
    return (
        remote_addr is None
        or remote_addr == ""
        or (
            # "@" marks Linux abstract socket names (and is what Go servers report for a Unix peer).
            isinstance(remote_addr, str)
            and (remote_addr[:1] in ("/", "@") or remote_addr[:5] == "unix:")
        )
    )


def not_an_address(remote_addr: object) -> Optional[Result]:
    """The answer for a peer that is neither an address nor a Unix socket; None otherwise."""
    if remote_addr is not None and not isinstance(remote_addr, str):
        return new_result(
            None,
            REMOTE_ADDR,
            (),
            f"the peer address ({type(remote_addr).__name__}) is not an IP address",
        )
    if is_unix_peer(remote_addr):
        return None
    return new_result(
        None,
        REMOTE_ADDR,
        (),
        f"the peer address {str(remote_addr)[:64]!r} is not an IP address, so it is "
        "neither a client nor a trusted proxy",
    )


def first_of(remote_addr: Any) -> Any:
    """A ``(host, port)`` peer's host; any other peer as given."""
    if isinstance(remote_addr, (tuple, list)):
        return remote_addr[0] if remote_addr else None
    return remote_addr


def peer_only(plan: Plan, remote_addr: RemoteAddr) -> Result:
    """The answer of a resolver that reads no header: the peer, whatever the headers say."""
    remote_addr = first_of(remote_addr)
    parsed = parse_ip(remote_addr) if remote_addr and isinstance(remote_addr, str) else None
    if parsed is None:
        refused = not_an_address(remote_addr)
        if refused is not None:
            return refused
        return peer_result(plan, None, None, remote_addr, PEER_ONLY)
    key, text = parsed
    if bisect_right(plan.bounds, key) & 1:
        # lb-tcp-proxy: the load balancer itself is the peer, so no PROXY header was
        # decoded for this connection (a LOCAL health check, or a server without it).
        return peer_result(plan, key, text, remote_addr, PROXY_SENDER, True)
    return peer_result(plan, key, text, remote_addr, PEER_ONLY)


def untrusted_unix_peer(plan: Plan, remote_addr: RemoteAddr) -> Result:
    """A peer that is not an address: refused, or an untrusted Unix socket (no client IP)."""
    refused = not_an_address(remote_addr)
    if refused is not None:
        return refused
    return peer_result(plan, None, None, remote_addr, UNTRUSTED_PEER)


def compile_resolve(plan: Plan, unix_trusted: bool) -> Resolve:
    """The per-request work of one configuration: ``resolve(remote_addr, value) -> Result``.

    ``value`` is the combined header (str, or ASGI bytes; None when it did not come). A closure,
    so that what is fixed at configuration time (trusted ranges, memos, prepared reasons) is
    read from cells, not looked up per request, and the peer step and the list walk share one
    call frame (a second frame, plus the attribute loads, cost ~150 ns of (b)'s ~1.6 us on
    CPython 3.11). ``unix_trusted``: a trusted range stands for Unix sockets.
    """
    if plan.kind == PEER:

        def resolve_peer_only(remote_addr: RemoteAddr, value: HeaderValue) -> Result:
            return peer_only(plan, remote_addr)

        return resolve_peer_only

    header = plan.header or ""
    bounds = plan.bounds
    snat = plan.snat or None
    memo = plan.memo
    peer_memo = plan.peer_memo
    hops = plan.hops
    check_peer = hops is None  # hop mode trusts positions, not the peer
    is_single = plan.kind == SINGLE
    forwarded = plan.forwarded
    untrusted = plan.untrusted
    no_header, empty_header = plan.no_header

    def resolve(remote_addr: RemoteAddr, value: HeaderValue) -> Result:
        # 1. The peer: a trusted peer seen before is one memo hit; any other is parsed and
        # checked with one bisect, and an untrusted one is the answer.
        if remote_addr.__class__ is not str:
            remote_addr = first_of(remote_addr)
            if remote_addr is not None and not isinstance(remote_addr, str):
                return untrusted_unix_peer(plan, remote_addr)
        peer = peer_memo.get(remote_addr)
        if peer is None:
            parsed = parse_ip(remote_addr) if remote_addr else None
            if parsed is None:
                if (check_peer and not unix_trusted) or not is_unix_peer(remote_addr):
                    return untrusted_unix_peer(plan, remote_addr)
            else:
                key, peer = parsed
                if check_peer:
                    if not bisect_right(bounds, key) & 1:
                        if snat is None:  # the direct request: answered without another call
                            return tuple_new(
                                Result, (peer, REMOTE_ADDR, (), UNTRUSTED_PEER, False, peer, False)
                            )
                        return peer_result(plan, key, peer, remote_addr, UNTRUSTED_PEER)
                    if len(peer_memo) < MEMO_SIZE:
                        peer_memo[remote_addr] = peer
        # 2. The header, read only from a trusted peer (or, in hop mode, any peer).
        if value is None:
            if hops is not None:
                return no_hops(plan, peer, 0)
            return peer_result(plan, None, peer, remote_addr, no_header, True)
        if is_single:
            return single(plan, value, peer, remote_addr)
        if hops is not None:
            return count(plan, value, peer)
        # 3. The list walk: right to left, one item at a time, so the work is proportional to
        # the hops walked, and nothing left of the client's own entry (what the client wrote)
        # is even looked at - not even decoded, when the header arrives as ASGI bytes.
        proxies: Tuple[str, ...] = (peer or "unix",)
        raw_bytes = value.__class__ is bytes
        # Typed loosely on purpose: the same loop serves str and bytes without a call per item.
        comma: Any = b"," if raw_bytes else ","
        blanks: Any = b" \t" if raw_bytes else BLANKS
        # A short header splits in one C call. A long one: only its last WINDOW characters
        # are split, and the cut item at the window's left edge (None) hands the rest of the
        # walk to items_from_right, which goes only as far as needed, so padding costs nothing.
        # For (e)'s 8 KiB header the client is in the window: ~0.6 us less than starting
        # items_from_right (a generator, and three C calls per item) on CPython 3.11.
        if len(value) <= SHORT:
            items: Iterable[Any] = reversed(value.split(comma))
        else:
            tail = value[-WINDOW:]
            if tail[-1:] in PADDED_END or comma not in tail:
                # Empty items at the end (padding): items_from_right skips a run in one call,
                # where this loop would take them one by one (64 KiB of commas after the
                # client: 1.9x -> 3.8x a normal request). No comma: one long item, nothing
                # for the window to split (an 8 KiB Forwarded element: +0.3x).
                items = items_from_right(value, comma, blanks)
            else:
                parts: List[Any] = tail.split(comma)
                parts[0] = None
                items = reversed(parts)
        walked = 0
        try:
            while True:
                for item in items:
                    if item is None:
                        break  # the window is used up
                    item = item.strip(blanks)
                    if not item:
                        continue  # empty list elements don't count (RFC 9110 5.6.1)
                    walked += 1
                    if walked > MAX_ITEMS:
                        return too_long(header, proxies, peer)
                    hop = memo.get(item)  # a trusted hop seen before
                    if hop is None:
                        if forwarded and len(item) > MAX_ELEMENT:
                            # Malformed whatever it holds (see forwarded_param): not decoded whole
                            # (64 KiB: ~7.6 us) to say so.
                            return bad_entry(
                                header,
                                item[:64].decode("latin-1") if raw_bytes else item[:64],
                                proxies,
                                peer,
                                "is not a well-formed element",
                            )
                        text = item.decode("latin-1") if raw_bytes else item
                        # read_hop's IPv4 case, inlined: the client is read on every request, and
                        # the call and its Hop cost ~250 ns of (b)'s ~1.9 us (CPython 3.11).
                        key = 0
                        address = text
                        if not forwarded and ":" not in text:
                            try:
                                key = _from_bytes(inet_pton(AF_INET, text), "big")
                            except (OSError, ValueError):
                                key = 0
                        if not key:
                            try:
                                key, address = read_hop(text, forwarded)
                            except BadEntry as exc:
                                return bad_entry(header, text, proxies, peer, exc.what)
                        if not bisect_right(bounds, key) & 1:
                            if snat is not None and bisect_right(snat, key) & 1:
                                return snat_result(plan, address, header, proxies, peer)
                            return tuple_new(
                                Result, (address, header, proxies, untrusted, False, peer, False)
                            )
                        if len(memo) < MEMO_SIZE and len(item) <= MEMO_KEY:
                            memo[item] = address
                        hop = address
                    proxies += (hop,)
                else:
                    break  # every item walked
                # The rest, exactly as items_from_right gives it from the right end, after the
                # non-empty items already walked: it measures a run of empty items across the
                # cut too (a run inside the window can't reach MAX_EMPTY_RUN).
                items = islice(items_from_right(value, comma, blanks), walked, None)
        except PaddingError as exc:
            return padded(header, proxies, peer, exc)
        if len(proxies) == 1:
            return peer_result(plan, None, peer, remote_addr, empty_header, True)
        client = proxies[-1]
        return new_result(
            client,
            header,
            proxies[:-1],
            f"every {header} entry is trusted, so the leftmost one, {client}, is the client",
            False,
            peer,
        )

    return resolve


class Hop(NamedTuple):
    """One list entry read as an address."""

    key: int
    """The address's key (see realip._addresses)."""
    address: str
    """Its canonical text."""


class BadEntry(Exception):
    """A list entry that is not an address (``what`` says how, for the reason)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def read_hop(text: str, forwarded: bool) -> Hop:
    """The address in one list entry (a ``Forwarded`` element's ``for=``); raises BadEntry."""
    if forwarded:
        ok, entry = forwarded_for(text)
        if entry is None:
            raise BadEntry("has no single for= value" if ok else "is not a well-formed element")
        text = entry
    parsed = parse_ip(text)
    if parsed is None:
        raise BadEntry("is not an IP address")
    return tuple_new(Hop, parsed)


def peer_result(
    plan: Plan,
    key: Optional[int],
    text: Optional[str],
    raw: object,
    why: str,
    trusted: bool = False,
) -> Result:
    """The peer as the answer; ``key``/``text`` None for a Unix socket.

    ``why`` is a prepared sentence. ``trusted``: the peer is a trusted proxy that forwarded no
    client (no or an empty header), so ``require_header`` fails closed; ``key`` is only needed
    for an untrusted peer (a trusted one is never a node: node ranges are taken out of trust).
    """
    if trusted and plan.require:
        shown = text if text is not None else str(raw or "unix socket")[:64]
        if plan.kind == PEER:
            why_none = (
                f"the trusted PROXY protocol sender {shown} is the peer: no PROXY header was "
                "decoded for this connection, and require_header is set (fail closed)"
            )
        else:
            why_none = (
                f"the trusted proxy {shown} forwarded no client ({plan.header} missing or "
                "empty) and require_header is set (fail closed): a server or proxy on the "
                "way may have stripped the header (waitress does unless "
                "clear_untrusted_proxy_headers=False; a client's 'Connection: "
                f"{plan.header}' makes hop-by-hop stripping proxies drop it)"
            )
        return new_result(
            None,
            (plan.header if plan.kind != PEER else None) or REMOTE_ADDR,
            (text or "unix",),
            why_none,
            False,
            text,
        )
    if text is None:
        return new_result(
            None,
            REMOTE_ADDR,
            (),
            f"the peer {str(raw or 'unix socket')[:64]!r} is a Unix socket with no IP address: "
            f"{why}",
            False,
            None,
            trusted,
        )
    if key is None or not bisect_right(plan.snat, key) & 1:
        return tuple_new(Result, (text, REMOTE_ADDR, (), why, False, text, trusted))
    return snat_result(plan, text, REMOTE_ADDR, (), text)


def snat_result(
    plan: Plan, text: str, source: str, proxies: Tuple[str, ...], peer: Optional[str]
) -> Result:
    """``text`` is a node address: the request was SNAT'ed and the client is lost."""
    where = "the peer" if source == REMOTE_ADDR else f"the {source} entry"
    reason = (
        f"{where} {text} is a node address: externalTrafficPolicy: Cluster SNAT'ed the "
        f"request to a node address before {plan.snat_service}, so the client IP is lost; "
        "set externalTrafficPolicy: Local on that Service to keep the client IP"
    )
    if source == REMOTE_ADDR and plan.topology == "lb-http":
        # lb-http: the load balancer's header would hold the client, but a node peer can't
        # be trusted to forward it - a client reaching the NodePort directly is SNAT'ed too.
        reason += (
            f" (or restrict who can reach the NodePort; {plan.header} is not read from a "
            "node, since a client reaching the NodePort directly is SNAT'ed to a node too)"
        )
    return new_result(text, source, proxies, reason, True, peer)


def single(plan: Plan, value: Union[str, bytes], peer: Optional[str], raw: object) -> Result:
    """A single-IP header from a trusted peer: its rightmost value."""
    # The rightmost value is the one the nearest (trusted) proxy wrote: a client's own copy,
    # sent repeated or as a list, can neither win nor sabotage it.
    header = plan.header or ""
    proxies = (peer or "unix",)
    try:
        found = last_item(value)
    except PaddingError as exc:
        return new_result(None, header, proxies, f"{header}: {exc} (fail closed)", False, peer)
    if found is None:
        return peer_result(plan, None, peer, raw, plan.no_header[1], True)
    item = found.decode("latin-1") if isinstance(found, bytes) else found
    parsed = parse_ip(item)
    if parsed is None:
        return new_result(
            None,
            header,
            proxies,
            f"the {header} value {item[:64]!r} is not a single IP address",
            False,
            peer,
        )
    key, text = parsed
    if bisect_right(plan.snat, key) & 1:
        return snat_result(plan, text, header, proxies, peer)
    return new_result(
        text, header, proxies, f"the trusted proxy {proxies[0]} set {header}: {text}", False, peer
    )


def count(plan: Plan, value: Union[str, bytes], peer: Optional[str]) -> Result:
    """Hop mode: the N-th non-empty item from the right, whatever the items before it are."""
    header = plan.header or ""
    hops = plan.hops or 0
    proxies = [peer or "unix"]
    text: Any = value.decode("latin-1") if isinstance(value, bytes) else value
    seen = 0
    try:
        for item in items_from_right(text):
            seen += 1
            if seen < hops:
                # Counted, not trusted: shown canonical, or quoted so logs stay clean.
                counted = parse_ip(item)
                proxies.append(counted[1] if counted else repr(item[:64]))
                continue
            try:
                key, found = read_hop(item, plan.forwarded)
            except BadEntry as exc:
                return bad_entry(header, item, proxies, peer, exc.what)
            if bisect_right(plan.snat, key) & 1:
                return snat_result(plan, found, header, tuple(proxies), peer)
            return new_result(
                found,
                header,
                tuple(proxies),
                f"{found} is entry {hops} from the right of {header} (trusted_hops={hops})",
                False,
                peer,
            )
    except PaddingError as exc:
        return new_result(
            None, header, tuple(proxies), f"{header}: {exc} (fail closed)", False, peer
        )
    return no_hops(plan, peer, seen, tuple(proxies))


def no_hops(plan: Plan, peer: Optional[str], seen: int, proxies: Tuple[str, ...] = ()) -> Result:
    """Hop mode with fewer items than hops (a missing or empty header included): fail closed."""
    # In hop mode the peer is a proxy by assumption, so it is never the answer: a header
    # that is missing, empty or shorter than the hop count all mean the same thing.
    header = plan.header
    entries = "no entries" if seen == 0 else f"{seen} entr{'y' if seen == 1 else 'ies'}"
    return new_result(
        None,
        header or REMOTE_ADDR,
        proxies or (peer or "unix",),
        f"{header} has {entries}, fewer than trusted_hops={plan.hops}: a proxy is missing, "
        "was bypassed or stripped the header (fail closed)",
        False,
        peer,
    )
