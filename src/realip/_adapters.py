"""What realip's adapters share: storage keys, options, the header rewrite, the request context.

The WSGI, ASGI, Django and aiohttp adapters (and :mod:`realip.request`) translate their
framework's request into a call of the resolver and write the answer back where that framework's
readers look. Everything they have in common lives here once: the keys under which they store
what they found, the keyword shortcuts that build a resolver, the rewrite that leaves only
verified client addresses in the headers, the check for a server that rewrote the peer before
realip ran, and setting (and restoring) the request's context for :mod:`realip.log`.
"""

from __future__ import annotations

import os
import warnings
from itertools import islice
from typing import (
    Any,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
)

from realip._client_headers import NAMES, spellings
from realip._errors import ConfigError, RealIPWarning
from realip._headers import (
    BLANKS,
    PADDED,
    PaddingError,
    decode,
    environ_key,
    items_from_right,
    skip_empty_run,
)
from realip._result import padded
from realip._walk import SHORT, WINDOW
from realip.resolver import ENV_VARS, MAX_ITEMS, REMOTE_ADDR, Resolver, Result, _new

# -- storage keys ------------------------------------------------------------------------------

RESULT_KEY = "realip.result"
"""Where the middlewares store the :class:`Result` (WSGI environ, ASGI scope, Django META)."""
ORIGINAL_REMOTE_ADDR_KEY = "realip.original_remote_addr"
"""WSGI environ / Django META key holding REMOTE_ADDR as the server set it."""
ORIGINAL_CLIENT_KEY = "realip.original_client"
"""ASGI scope key holding ``scope["client"]`` as the server set it."""
ORIGINAL_HEADER_KEY = "realip.original_header"
"""WSGI environ / Django META key holding the header realip read, as it arrived (str), when
realip rewrote it."""
ORIGINAL_HEADERS_KEY = "realip.original_headers"
"""Where the client-address headers realip changed are kept as they arrived: in an ASGI scope,
the server's ``scope["headers"]`` list; in a WSGI environ or Django META, a dict of environ key
to value."""

_aiohttp_keys: Optional[Tuple[Any, Any]] = None


def aiohttp_keys() -> Tuple[Any, Any]:
    """``(result key, original remote key)`` in an aiohttp request's storage.

    aiohttp >= 3.12 wants typed keys (string keys draw ``NotAppKeyWarning``); older releases take
    strings. aiohttp is imported here only when asked, by realip.aiohttp or for an aiohttp request.
    """
    global _aiohttp_keys
    if _aiohttp_keys is None:
        from aiohttp import web

        make: Any = getattr(web, "RequestKey", None)
        if make is None:
            _aiohttp_keys = ("realip.result", "realip.original_remote")
        else:
            _aiohttp_keys = (make("result", Result), make("original_remote", str))
    return _aiohttp_keys


# -- configuration -----------------------------------------------------------------------------

_UNCONFIGURED_WARNING = (
    "realip: {who} was given no resolver and no REALIP_* environment variable is set, so it "
    "trusts no proxy and every request's client is its TCP peer. {fix} (REALIP_TOPOLOGY="
    "pod-to-pod says 'no proxies' explicitly)."
)
_MIDDLEWARE_FIX = "Pass resolver=, trusted_proxies= or topology=, or set REALIP_TOPOLOGY"

_warned: Set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Warn (and log) ``message`` once per process and ``key``: a misconfigured server would
    otherwise warn on every request."""
    if key in _warned:
        return
    _warned.add(key)
    import logging  # only on this rare path: importing realip must stay cheap

    warnings.warn(message, RealIPWarning, stacklevel=3)
    logging.getLogger("realip").warning(message)


def warn_if_unconfigured(who: str, fix: str = _MIDDLEWARE_FIX, stacklevel: int = 2) -> None:
    """Warn when no ``REALIP_*`` variable is set, so ``who`` trusts no proxy by omission
    (``stacklevel`` counts from the caller, as :func:`warnings.warn` does)."""
    if not any((os.environ.get(var) or "").strip() for var in ENV_VARS):
        # A missing ConfigMap or a forgotten argument must not pass as "works": say so.
        message = _UNCONFIGURED_WARNING.format(who=who, fix=fix)
        warnings.warn(message, RealIPWarning, stacklevel=stacklevel + 1)


def shortcut_options(names: Mapping[str, Any]) -> Dict[str, Any]:
    """The resolver options a middleware's keywords gave (``locals()``), unset ones left out."""
    from realip._config import OPTIONS

    options = {}
    for option in OPTIONS:
        value = names.get(option.name)
        # An empty list of topology CIDRs says nothing (it used to be the default); an empty
        # trusted_proxies says "trust no proxy", which is a choice.
        if value is None or (option.name in _TOPOLOGY_CIDRS and not value):
            continue
        options[option.name] = value
    return options


_TOPOLOGY_CIDRS = ("pod_cidrs", "node_cidrs", "lb_cidrs")


def middleware_resolver(
    who: str, resolver: Optional[Resolver], options: Dict[str, Any]
) -> Resolver:
    """The resolver of a middleware: ``resolver``, or the one its keyword ``options`` build, or
    the process default (``REALIP_*``); built once, at construction."""
    given = list(options)
    if resolver is not None:
        if given:
            raise ConfigError(
                f"{who}: resolver= and {', '.join(n + '=' for n in given)} were both given; "
                "pass either a Resolver or the shortcuts that build one"
            )
        if not isinstance(resolver, Resolver):
            raise ConfigError(
                f"{who}: resolver={resolver!r} is not a realip.Resolver "
                "(use trusted_proxies= or topology= to build one)"
            )
        return resolver
    if "header" in options and not {"trusted_proxies", "topology", "trusted_hops"} & set(options):
        raise ConfigError(
            f"{who}: header={options['header']!r} alone trusts no proxy, so it would never "
            "be read; add trusted_proxies= or topology="
        )
    if given:
        # The same option rules as every other front end (realip._config), named as keywords.
        from realip._config import build

        return build(options, lambda name: f"{who}({name}=)", lambda name: f"{name}=")
    warn_if_unconfigured(who, stacklevel=3)
    return default_resolver()


_default: Optional[Resolver] = None


def default_resolver() -> Resolver:
    """The process default: ``Resolver.from_env()``, built on first use and then kept."""
    global _default
    if _default is None:
        _default = Resolver.from_env()
    return _default


def reset_default_resolver() -> None:
    """Forget the process default, so the next use reads the environment again."""
    global _default
    _default = None


# -- which headers to rewrite ------------------------------------------------------------------


class HeaderPlan:
    """Which client-address headers a middleware rewrites, worked out once per middleware.

    The header the resolver reads keeps its verified part; every other header of
    :data:`realip._client_headers.CLIENT_HEADERS` (both spellings) is removed, except those
    named in ``keep``. Per request a middleware only looks the names up.
    """

    __slots__ = (
        "drop_keys",
        "drop_lower",
        "drop_names",
        "original_key",
        "peer_only",
        "read",
        "read_key",
        "watch",
    )

    def __init__(self, resolver: Resolver, keep: Iterable[str] = ()) -> None:
        kept = _kept_names(keep)
        read = resolver.header
        self.peer_only = read is None
        self.read: Optional[bytes] = None
        """The header read, lower-case bytes (None: none is read, or it is kept)."""
        self.read_key: Optional[str] = None
        """Its WSGI environ key."""
        if read is not None and read.replace("_", "-") not in kept:
            self.read = read.encode("ascii")
            self.read_key = environ_key(read)
        drop: Set[str] = set()
        for name in NAMES | ({read} if read else set()):
            if name not in kept:
                drop.update(spellings(name))
        if self.read is not None:
            drop.discard(read)
        self.drop_names: FrozenSet[bytes] = frozenset(n.encode("ascii") for n in drop)
        """Lower-case header names (ASGI) to remove, both spellings."""
        self.drop_lower: FrozenSet[str] = frozenset(drop)
        """The same, as text (aiohttp)."""
        keys = {environ_key(n) for n in drop}
        if self.read_key is not None:
            keys.discard(self.read_key)  # the underscore spelling merges into it (see docs)
        self.drop_keys: FrozenSet[str] = frozenset(keys)
        """WSGI environ keys to remove."""
        self.watch: FrozenSet[bytes] = self.drop_names | ({self.read} if self.read else set())
        """Every ASGI header name the scan stops at."""
        # The header whose value as it arrived goes under ORIGINAL_HEADER_KEY: the one read,
        # or, reading none, the one configured (X-Forwarded-For by default).
        self.original_key = environ_key(resolver.configured_header or "x-forwarded-for")


def _kept_names(keep: Iterable[str]) -> FrozenSet[str]:
    if isinstance(keep, (str, bytes)) or not isinstance(keep, Iterable):
        raise ConfigError(f"keep_headers={keep!r} must be a list of header names")
    kept = set()
    for name in keep:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"keep_headers: {name!r} is not a header name")
        lower = name.strip().lower().replace("_", "-")
        if lower not in NAMES:
            raise ConfigError(
                f"keep_headers: {name!r} is not a header realip rewrites; they are "
                + ", ".join(sorted(NAMES))
            )
        kept.add(lower)
    return frozenset(kept)


# -- the rewrite -------------------------------------------------------------------------------

_BYTES_SEPARATORS: Tuple[Any, ...] = (b",", b" \t", b", ")
_TEXT_SEPARATORS: Tuple[Any, ...] = (",", BLANKS, ", ")
# The characters that end an item early, as a set of one-character values: a set lookup of a
# one-byte bytes object costs a third of ``in b" \t,"`` (a substring search).
_STOPS = frozenset([*BLANKS, ",", *(c.encode() for c in BLANKS + ",")])
_WALK = object()  # _tail's answer when empty items make the quick look inconclusive


def _tail(value: Any, keep: int, comma: Any, blanks: Any, separator: Any) -> Any:
    """What :func:`rewrite_value` keeps of a comma list when no empty item is among the last
    ``keep`` items: None when nothing lies left of them, the items as written when an item
    does, the items joined with ``separator`` when empty items do; _WALK when an empty item is
    among them. Touches only the end of the value: a client's long prefix is neither scanned
    nor copied."""
    end = len(value)
    found = []
    while keep:
        start = value.rfind(comma, 0, end)
        if start < 0:
            return None  # at most ``keep`` items: nothing to drop (the common case)
        item = value[start + 1 : end].strip(blanks)
        if not item:
            return _WALK
        found.append(item)
        end = start
        keep -= 1
    before = value[end - 1 : end]
    if not before or before in _STOPS:
        # Empty items (or only empty items) to their left: the walk below would find exactly
        # these items and stop, so they are joined here rather than found again (a client's
        # 64 KiB of commas before its entry: ~1.5 us of WSGI's and ASGI's rewrite).
        found.reverse()
        return separator.join(found)
    return value[end + 1 :].strip(blanks)


def rewrite_value(result: Result, value: Any, peer_only: bool) -> Any:
    """What the header read should hold after ``result``, in the type of ``value`` (str, or
    bytes from ASGI): empty to remove it, None to keep it as it is.

    Only what realip verified stays: the client's entry and the trusted proxies' entries to its
    right (``len(result.proxies)`` entries: the peer and the hops walked), as they were written,
    with no empty item left of the client (Bottle, WebOb and Falcon would read ``''``).
    """
    raw = value.__class__ is bytes
    if peer_only or result.client_ip is None or result.source == REMOTE_ADDR:
        # Failed closed, or the peer is the client: nothing in the header was verified.
        return b"" if raw else ""
    keep = len(result.proxies)
    comma, blanks, separator = _BYTES_SEPARATORS if raw else _TEXT_SEPARATORS
    if len(value) > SHORT:
        # A long header: split its last WINDOW characters once and read the kept items (and
        # the character left of them) there, when they are in it: (e)'s 8 KiB header cost
        # ~0.6 us less than _tail's rfind, slice and strip per item (CPython 3.11).
        parts = value[-WINDOW:].split(comma)
        if len(parts) > keep and (keep + 1 < len(parts) or parts[0]):
            kept = parts[-keep:]
            for item in kept:
                if not item.strip(blanks):
                    return _walk_to_kept(value, keep, comma, blanks, separator, raw)
            before = parts[-keep - 1][-1:]
            if not before or before in _STOPS:
                return separator.join([item.strip(blanks) for item in kept])
            return comma.join(kept).strip(blanks)
    found = _tail(value, keep, comma, blanks, separator)
    if found is not _WALK:
        return found
    return _walk_to_kept(value, keep, comma, blanks, separator, raw)


def _walk_to_kept(value: Any, keep: int, comma: Any, blanks: Any, separator: Any, raw: bool) -> Any:
    """rewrite_value's answer when an empty item is among the last ``keep`` items."""
    # Empty items in the way (rare): the resolver's walk from the right, skipping them, as far
    # as ``keep`` items; whatever lies left of them (items or empty ones) goes.
    found: List[Any] = []
    end = len(value)
    try:
        while end > 0 and len(found) < keep:
            start = value.rfind(comma, 0, end)
            item = value[start + 1 : end].strip(blanks)
            if item:
                found.append(item)
                end = start
            else:
                end = skip_empty_run(value, start) if start > 0 else 0
    except PaddingError:  # the resolver walked past this padding, so it can't be reached
        return b"" if raw else ""
    if end < 0:
        return None  # the client's entry starts the value: nothing lies left of it
    found.reverse()
    return separator.join(found)


def rewrite_environ(
    plan: HeaderPlan, environ: Any, result: Result, value: Any = None, others: bool = True
) -> None:
    """Make the client-address headers of a WSGI environ (or Django ``META``) hold only what
    realip verified: the header read its verified part, the others removed. ``others=False``:
    the caller knows none of the others is there (the WSGI middleware's one look at the keys),
    so they are not looked up one by one (~0.5 us of WSGI (e))."""
    originals: Dict[str, Any] = environ.get(ORIGINAL_HEADERS_KEY) or {}
    key = plan.read_key
    if key is not None:
        if value is None:
            value = environ.get(key)
        if value is not None and value.__class__ is str:
            new = rewrite_value(result, value, plan.peer_only)
            if new is not None:
                environ[ORIGINAL_HEADER_KEY] = value
                originals[key] = value
                if new:
                    environ[key] = new
                else:
                    del environ[key]
    for key in plan.drop_keys if others else ():
        if key in environ:
            originals[key] = environ.pop(key)
            if key == plan.original_key:
                environ[ORIGINAL_HEADER_KEY] = originals[key]
    if originals:
        environ[ORIGINAL_HEADERS_KEY] = originals


def rewrite_scope(plan: HeaderPlan, scope: Any, value: Optional[bytes], result: Result) -> None:
    """Make the client-address headers of an ASGI scope hold only what realip verified.

    ``value`` is the header read as scanned (None when it did not come); the server's list stays
    intact under ORIGINAL_HEADERS_KEY: the new one is a copy.
    """
    name = plan.read
    new = rewrite_value(result, value, plan.peer_only) if value is not None else None
    drop = plan.drop_names if new is None else plan.watch
    headers = scope.get("headers") or ()
    try:
        rewritten = [pair for pair in headers if pair[0] not in drop]
    except (TypeError, IndexError):  # not pairs: a broken server, left alone
        return
    if new:
        # Header order only matters among lines of one name, and the verified value is one line.
        rewritten.append((name, new))
    if len(rewritten) != len(headers) or new:
        scope[ORIGINAL_HEADERS_KEY] = headers
        scope["headers"] = rewritten


def rewritten_headers(plan: HeaderPlan, headers: Any, result: Result) -> Optional[List[Any]]:
    """The header pairs of an aiohttp request with only verified client addresses, or None when
    nothing changes (``headers`` is a case-insensitive multidict)."""
    drop = plan.drop_lower
    read = plan.read.decode("ascii") if plan.read is not None else None
    changed = False
    pairs: List[Any] = []
    values: List[str] = []
    for name, value in headers.items():
        lower = name.lower()
        if lower in drop:
            changed = True
        elif lower == read:
            values.append(value)
        else:
            pairs.append((name, value))
    if values:
        new = rewrite_value(result, ",".join(values), plan.peer_only)
        if new is not None:
            changed = True
            if new:
                pairs.append((read, new))
        else:
            pairs.extend((read, v) for v in values)
    return pairs if changed else None


# -- reading a scope ---------------------------------------------------------------------------


def scope_header(scope: Any, name: bytes) -> Optional[bytes]:
    """Every value of header ``name`` in an ASGI scope, joined with commas, as bytes (or None)."""
    found: Optional[bytes] = None
    more: Optional[List[bytes]] = None
    # The ASGI spec requires lower-case names, so a plain comparison is enough; a server that
    # broke that rule would only make the header invisible (the peer answers), never spoofable.
    try:
        for key, value in scope.get("headers") or ():
            if key == name:
                if found is None:
                    found = value
                elif more is None:
                    more = [found, value]
                else:
                    more.append(value)
    except (TypeError, ValueError):  # not pairs: a broken server, treated as no header
        return None
    # Left as bytes: the resolver decodes only the items it walks.
    return b",".join(more) if more is not None else found


def client_of(client: Any) -> Tuple[Any, Any]:
    """``(host, port)`` of an ASGI ``scope["client"]``; ``(None, None)`` when it is malformed."""
    # The spec says a [host, port] pair or None; a server that sends anything else (a 1-tuple,
    # a bare string) must not crash the app: its peer is treated as unknown.
    if client.__class__ in (tuple, list) and len(client) == 2:
        return client[0], client[1]
    return None, None


# -- a peer the server rewrote -----------------------------------------------------------------

# Forwarding headers whose presence beside a port-0 peer shows the server rewrote the peer.
_FORWARDING = (b"x-forwarded-for", b"forwarded")
_REWRITTEN_REASON = (
    "the server already rewrote the peer from a forwarding header ({mark}), so the real peer "
    "is unknown and the address realip sees may be the client's own choice; turn off the "
    "server's proxy-header handling (fail closed)"
)
_REWRITTEN_WARNING = (
    "realip: the ASGI server rewrote scope['client'] from a forwarding header before realip ran "
    "({mark}): any client it trusts can choose its own address, and realip answers None for "
    "such requests. Turn the server's proxy handling off: uvicorn --no-proxy-headers (or "
    "uvicorn.run(..., proxy_headers=False)); gunicorn -k uvicorn.workers.UvicornWorker: "
    "--forwarded-allow-ips '' (or a worker subclass with CONFIG_KWARGS = "
    "{{'proxy_headers': False}}); hypercorn: do not wrap the app in "
    "hypercorn.middleware.ProxyFixMiddleware; granian: do not wrap the app in "
    "granian's proxy-headers wrapper. See docs/reference/warnings.md."
)


_XFF_PADDED = padded("x-forwarded-for", (), None, PADDED).reason


def _rewritten_mark(scope: Any, host: Any, port: Any, result: Result) -> Optional[str]:
    """Why the scope's peer looks rewritten by the server, or None when it looks like TCP's."""
    # A real TCP peer has a port and an address, and its own "ip:port" is in no header: a
    # proxy writes the address it saw, the peer being the proxy. uvicorn's (and hypercorn's)
    # proxy handling writes a header entry into the scope: port 0, or the entry's own port,
    # or a non-address ("unknown") as it was.
    if host.__class__ is not str or host[:1] in ("/", "@") or host[:5] == "unix:":
        return None  # no peer, a malformed one, or a Unix socket: not a rewrite
    if port == 0:
        mark = f"the peer {host[:64]!r} has port 0"
        for forwarding in _FORWARDING:
            if scope_header(scope, forwarding) is not None:
                return f"{mark} beside {forwarding.decode()}"
        return None
    # Otherwise the server copied an entry as it was: the peer itself is one of the entries
    # (a test client's "testclient" is not, so it is no rewrite).
    xff = scope_header(scope, b"x-forwarded-for")
    if xff is None:
        return None
    text = (
        (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") if port.__class__ is int else ""
    )
    odd = result.client_ip is None and result.peer is None
    if xff.__class__ is not bytes:  # a server that broke the spec: compared as latin-1 too
        xff = decode(xff).encode("latin-1", "replace")
    try:
        needle = text.encode("latin-1") if text else None
        bare = host.encode("latin-1") if odd else None
    except UnicodeEncodeError:
        return None  # not latin-1 text, so no header entry can be equal to it
    # A short header: a substring test first (one C call), so a direct client that sends the
    # header pays no more. A long one is only looked at from the right, as far as the entries
    # compared below: a test over the whole value cost ~57 us per request on 10,000 trusted
    # entries (benchmarks/hostile.py, ASGI 19x a normal request).
    if len(xff) <= SHORT and not (needle and needle in xff) and not (bare and bare in xff):
        return None
    if result.reason == _XFF_PADDED and len(result.proxies) <= MAX_ITEMS:
        # The walk of this very value hit padding after fewer than MAX_ITEMS items, so the
        # look below would hit it too: not looked for again (a client's 64 KiB of commas after
        # its entry: ~2 us of ASGI's ~11 us).
        return None
    try:
        entries = list(islice(items_from_right(xff, b",", b" \t"), MAX_ITEMS))
    except PaddingError:
        return None
    if needle and needle in entries:
        return f"the peer {text[:64]!r} is an X-Forwarded-For entry"
    if bare and bare in entries:
        return f"the peer {host[:64]!r} is not an IP address but an X-Forwarded-For entry"
    return None


def checked_scope_result(scope: Any, host: Any, port: Any, result: Result) -> Result:
    """``result``, or a fail-closed one (with a one-time warning) when the scope's peer looks
    rewritten by the server. The slow path: only for port 0, an unresolved peer, or a peer that
    answered although a header was there (a proxy's peer would be trusted)."""
    mark = _rewritten_mark(scope, host, port, result)
    if mark is None:
        return result
    warn_once("rewritten-peer", _REWRITTEN_WARNING.format(mark=mark))
    return _new(None, REMOTE_ADDR, (), _REWRITTEN_REASON.format(mark=mark), False, result.peer)


_ENVIRON_REWRITTEN_WARNING = (
    "realip: REMOTE_ADDR looks rewritten from a forwarding header by the WSGI server before "
    "realip ran ({mark}): then any client the server trusts can choose its own address, so "
    "realip answers None for such requests (a client that connects directly and writes its own "
    "address into X-Forwarded-For looks the same, and gets None too). If the server does this, "
    "turn the server's proxy handling off: waitress: no trusted_proxy (or no "
    "x-forwarded-for/forwarded in trusted_proxy_headers); mod_wsgi: no --trust-proxy / "
    "WSGITrustedProxies (and no --trust-proxy-header / WSGITrustedProxyHeaders). See "
    "docs/reference/warnings.md."
)


def environ_rewritten_mark(environ: Any, remote_addr: Any, xff: Any) -> Optional[str]:
    """Why a WSGI environ's REMOTE_ADDR looks rewritten by the server from ``xff`` (the
    X-Forwarded-For value as it arrived), or None when it looks like a TCP peer's.

    waitress (``trusted_proxy``, ``trusted_proxy_headers={"x-forwarded-for"}``) and mod_wsgi
    (``--trust-proxy``) copy the rightmost entry into REMOTE_ADDR and keep the header. A real
    peer is never the rightmost entry: a proxy appends the address *it* saw, not its own; only
    the entries left of it are anyone's to write, so the peer's address there means nothing.
    The port is no help: waitress keeps the TCP port, and no WSGI server is known to write 0.
    """
    if remote_addr.__class__ is not str or xff.__class__ is not str or not remote_addr:
        return None
    if len(xff) <= SHORT and remote_addr not in xff:
        return None  # one C-level substring test; a long header is only looked at from the right
    try:
        last = next(items_from_right(xff), "")
    except PaddingError:
        return None
    host = last
    if last[:1] == "[":
        host = last[1 : last.find("]")] if "]" in last else last
    elif last.count(":") == 1:
        host = last.partition(":")[0]  # an IPv4 entry with a port, split off as waitress does
    if remote_addr in (last, host):
        return f"REMOTE_ADDR {remote_addr[:64]!r} is the rightmost X-Forwarded-For entry"
    return None


def checked_environ_result(environ: Any, remote_addr: Any, xff: Any, result: Result) -> Result:
    """``result``, or a fail-closed one (with a one-time warning naming the server setting)
    when the environ's REMOTE_ADDR looks rewritten by the server.

    Only an untrusted peer is judged: a trusted proxy's address as the rightmost entry is also
    what a client on the proxy's own host produces (curl to a local nginx), and without the
    port (waitress keeps the TCP one) the two can't be told apart. A server rewriting to a
    trusted address takes a client that bypasses the proxy and names a proxy's address: the
    threat model lists it.
    """
    if result.proxies:
        return result
    mark = environ_rewritten_mark(environ, remote_addr, xff)
    if mark is None:
        return result
    warn_once("rewritten-remote-addr", _ENVIRON_REWRITTEN_WARNING.format(mark=mark))
    return _new(None, REMOTE_ADDR, (), _REWRITTEN_REASON.format(mark=mark), False, result.peer)


def scope_checked(scope: Any, host: Any, port: Any, result: Result, has_header: bool) -> Result:
    """:func:`checked_scope_result` behind the cheap test of when to look closer (the ASGI
    middleware inlines the test)."""
    if port == 0 or result.client_ip is None or (has_header and result.source == REMOTE_ADDR):
        return checked_scope_result(scope, host, port, result)
    return result


# -- scheme ------------------------------------------------------------------------------------


def scheme_from_environ(resolver: Resolver, environ: Any, result: Result) -> Optional[str]:
    """The scheme the trusted hops that produced ``result`` reported (see Resolver.scheme)."""
    # The server's values: the rewrite may have changed or removed Forwarded already.
    originals = environ.get(ORIGINAL_HEADERS_KEY) or {}
    forwarded = originals.get("HTTP_FORWARDED", environ.get("HTTP_FORWARDED"))
    return resolver.scheme(result, environ.get("HTTP_X_FORWARDED_PROTO"), forwarded)


def scheme_from_scope(resolver: Resolver, scope: Any, result: Result) -> Optional[str]:
    """The scheme the trusted hops that produced ``result`` reported (``ws``/``wss`` for
    websockets; see Resolver.scheme)."""
    if result.client_ip is None or result.snat:
        return None  # Resolver.scheme reads no header for these: no scan of the headers
    # The server's headers: Forwarded may have been rewritten or removed already. Only the one
    # header Resolver.scheme reads is looked for: each scan is a pass over every header line
    # (100 repeated lines: two scans cost ~8 us of ASGI's ~25 us).
    headers = {"headers": scope.get(ORIGINAL_HEADERS_KEY, scope.get("headers"))}
    websocket = scope.get("type") == "websocket"
    if resolver.header == "forwarded":
        return resolver.scheme(result, None, scope_header(headers, b"forwarded"), websocket)
    return resolver.scheme(result, scope_header(headers, b"x-forwarded-proto"), None, websocket)
