"""Find the peer and the header in any framework's request, and hand them to the resolver.

This is the one place that knows where WSGI environs, ASGI scopes, Django, Werkzeug,
Starlette, Falcon, Sanic and aiohttp requests keep the peer address and the headers. The
middlewares use the same functions, so every way into realip takes one resolution path.

The public names (``__all__``) are the API for adapter authors: the keys under which the
middlewares store what they found and what they replaced, the process-default resolver, and
the functions that resolve an environ, a scope or any supported request.
"""

from __future__ import annotations

import os
import warnings
from itertools import islice
from typing import Any, Iterable, List, Optional, Set, Tuple

from realip._errors import ConfigError, RealIPWarning
from realip._headers import (
    BLANKS,
    PaddingError,
    decode,
    environ_key,
    items_from_right,
    skip_empty_run,
)
from realip.resolver import (
    ENV_VARS,
    MAX_ITEMS,
    REMOTE_ADDR,
    Resolver,
    Result,
    _new,
)

__all__ = [
    "ORIGINAL_CLIENT_KEY",
    "ORIGINAL_HEADERS_KEY",
    "ORIGINAL_HEADER_KEY",
    "ORIGINAL_REMOTE_ADDR_KEY",
    "RESULT_KEY",
    "default_resolver",
    "get_client_ip",
    "get_result",
    "reset_default_resolver",
    "resolve_environ",
    "resolve_scope",
]

RESULT_KEY = "realip.result"
"""Where the middlewares store the :class:`Result` (WSGI environ, ASGI scope, Django META,
aiohttp request)."""
ORIGINAL_REMOTE_ADDR_KEY = "realip.original_remote_addr"
"""WSGI environ / Django META key holding REMOTE_ADDR as the server set it."""
ORIGINAL_CLIENT_KEY = "realip.original_client"
"""ASGI scope key holding ``scope["client"]`` as the server set it."""
ORIGINAL_HEADER_KEY = "realip.original_header"
"""WSGI environ / Django META key holding the header realip rewrote, as it arrived (str)."""
ORIGINAL_HEADERS_KEY = "realip.original_headers"
"""ASGI scope key holding the server's ``scope["headers"]``, when realip rewrote a header."""

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
_UNCONFIGURED_WARNING = (
    "realip: {who} was given no resolver and no REALIP_* environment variable is set, so it "
    "trusts no proxy and every request's client is its TCP peer. Pass resolver=, "
    "trusted_proxies= or topology=, or set REALIP_TOPOLOGY (REALIP_TOPOLOGY=pod-to-pod says "
    "'no proxies' explicitly)."
)

_default: Optional[Resolver] = None
_warned: Set[str] = set()


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


def _warn_once(key: str, message: str) -> None:
    # Once per process and kind: a misconfigured server would otherwise warn on every request.
    if key in _warned:
        return
    _warned.add(key)
    import logging  # only on this rare path: importing realip must stay cheap

    warnings.warn(message, RealIPWarning, stacklevel=3)
    logging.getLogger("realip").warning(message)


def _middleware_resolver(
    who: str,
    resolver: Optional[Resolver],
    trusted_proxies: Optional[Iterable[Any]],
    topology: Optional[str],
    header: Optional[str],
    pod_cidrs: Iterable[Any],
    node_cidrs: Iterable[Any],
    lb_cidrs: Iterable[Any],
) -> Resolver:
    # The keyword shortcuts of every middleware: one resolver, built once, at construction.
    options = {
        name: value
        for name, value in (
            ("trusted_proxies", trusted_proxies),
            ("topology", topology),
            ("header", header),
            ("pod_cidrs", pod_cidrs or None),
            ("node_cidrs", node_cidrs or None),
            ("lb_cidrs", lb_cidrs or None),
        )
        if value is not None
    }
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
    if header is not None and trusted_proxies is None and topology is None:
        raise ConfigError(
            f"{who}: header={header!r} alone trusts no proxy, so it would never be read; "
            "add trusted_proxies= or topology="
        )
    if given:
        # The same option rules as every other front end (realip._config), named as keywords.
        from realip._config import build

        return build(options, lambda name: f"{who}({name}=)", lambda name: f"{name}=")
    if not any((os.environ.get(var) or "").strip() for var in ENV_VARS):
        # A missing ConfigMap or a forgotten argument must not pass as "works": say so once.
        message = _UNCONFIGURED_WARNING.format(who=who)
        warnings.warn(message, RealIPWarning, stacklevel=3)
    return default_resolver()


def _strip_name(resolver: Resolver) -> str:
    """The header to rewrite: the one read, or the one a peer-only resolver ignores."""
    name = resolver.header
    if name is None:
        # Nothing is read, so nothing in a forwarding header was verified: frameworks that read
        # X-Forwarded-For themselves (Bottle, WebOb, Falcon) must not find the client's choice.
        name = resolver.configured_header or "x-forwarded-for"
    return name


def _strip_key(resolver: Resolver) -> str:
    """The environ key of :func:`_strip_name`'s header."""
    return resolver.wsgi_key or environ_key(_strip_name(resolver))


_BYTES_SEPARATORS: Tuple[Any, ...] = (b",", b" \t", b" \t,", b", ")
_TEXT_SEPARATORS: Tuple[Any, ...] = (",", BLANKS, BLANKS + ",", ", ")
# The characters that end an item early, as a set of one-character values: a set lookup of a
# one-byte bytes object costs a third of ``in b" \t,"`` (a substring search).
_STOPS = frozenset([*BLANKS, ",", *(c.encode() for c in BLANKS + ",")])
_WALK = object()  # _tail's answer when empty items make the quick look inconclusive


def _tail(value: Any, keep: int, comma: Any, blanks: Any) -> Any:
    """The last ``keep`` items of a comma list as written, None when nothing lies left of them,
    or _WALK when an empty item is in the way. Touches only the end of the value: a client's
    long prefix is neither scanned nor copied."""
    end = len(value)
    while keep:
        start = value.rfind(comma, 0, end)
        if start < 0:
            return None  # at most ``keep`` items: nothing to drop (the common case)
        if not value[start + 1 : end].strip(blanks):
            return _WALK
        end = start
        keep -= 1
    before = value[end - 1 : end]
    if not before or before in _STOPS:
        return _WALK  # an empty item (or only empty items) to their left
    return value[end + 1 :].strip(blanks)


def _rewrite(result: Result, value: Any, peer_only: bool) -> Any:
    """What the header read should hold after ``result``, in the type of ``value`` (str, or
    bytes from ASGI): empty to remove it, None to keep it as it is.

    Only what realip verified stays: the client's entry and the trusted proxies' entries to its
    right (``len(result.proxies)`` entries: the peer and the hops walked), as they were written.
    Called only when the header arrived and may hold more.
    """
    raw = value.__class__ is bytes
    if peer_only or result.client_ip is None or result.source == REMOTE_ADDR:
        # Failed closed, or the peer is the client: nothing in the header was verified.
        return b"" if raw else ""
    keep = len(result.proxies)
    comma, blanks, empties, separator = _BYTES_SEPARATORS if raw else _TEXT_SEPARATORS
    tail = _tail(value, keep, comma, blanks)
    if tail is not _WALK:
        return tail
    # Empty items in the way (rare): the resolver's walk from the right, skipping them, as far
    # as keep + 1 items.
    found: List[Any] = []
    end = len(value)
    try:
        while end > 0:
            start = value.rfind(comma, 0, end)
            item = value[start + 1 : end].strip(blanks)
            if item:
                if len(found) == keep:
                    found.reverse()  # one more item: something lies left of the verified ones
                    return separator.join(found)
                found.append(item)
                end = start
            else:
                end = skip_empty_run(value, start, empties) if start > 0 else 0
    except PaddingError:  # the resolver walked past this padding, so it can't be reached
        return b"" if raw else ""
    return None


def _rewrite_environ(resolver: Resolver, environ: Any, result: Result) -> None:
    """Make the header in a WSGI environ (or Django META) hold only what realip verified."""
    key = _strip_key(resolver)
    value = environ.get(key)
    if value is None or value.__class__ is not str:
        return
    new = _rewrite(result, value, resolver.header is None)
    if new is None:
        return
    environ[ORIGINAL_HEADER_KEY] = value
    if new:
        environ[key] = new
    else:
        del environ[key]


def _rewrite_scope(scope: Any, name: bytes, value: bytes, result: Result, peer_only: bool) -> None:
    new = _rewrite(result, value, peer_only)
    if new is None:
        return
    headers = scope.get("headers") or ()
    # A new list: the server's own stays intact under ORIGINAL_HEADERS_KEY. The verified value
    # goes last (header order only matters among lines of the same name, and it has one line).
    rewritten = [pair for pair in headers if pair[0] != name]
    if new:
        rewritten.append((name, new))
    scope[ORIGINAL_HEADERS_KEY] = headers
    scope["headers"] = rewritten


def resolve_environ(resolver: Resolver, environ: Any) -> Result:
    """Resolve a WSGI environ (or Django ``request.META``)."""
    key = resolver.wsgi_key
    value = environ.get(key) if key is not None else None
    return resolver.resolve_value(environ.get("REMOTE_ADDR"), value)


def _scope_header(scope: Any, name: bytes) -> Optional[bytes]:
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


def _client_of(client: Any) -> Tuple[Any, Any]:
    """``(host, port)`` of an ASGI ``scope["client"]``; ``(None, None)`` when it is malformed."""
    # The spec says a [host, port] pair or None; a server that sends anything else (a 1-tuple,
    # a bare string) must not crash the app: its peer is treated as unknown.
    if client.__class__ in (tuple, list) and len(client) == 2:
        return client[0], client[1]
    return None, None


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
            if _scope_header(scope, forwarding) is not None:
                return f"{mark} beside {forwarding.decode()}"
        return None
    # Otherwise the server copied an entry as it was: the peer itself is one of the entries
    # (a test client's "testclient" is not, so it is no rewrite).
    xff = _scope_header(scope, b"x-forwarded-for")
    if xff is None:
        return None
    text = (
        (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") if port.__class__ is int else ""
    )
    odd = result.client_ip is None and result.peer is None
    # A substring test first (one C call): a direct client that sends the header pays no more.
    if not (text and text.encode("latin-1", "replace") in xff) and not (
        odd and host.encode("latin-1", "replace") in xff
    ):
        return None
    try:
        entries = list(islice(items_from_right(decode(xff)), MAX_ITEMS))
    except PaddingError:
        return None
    if text and text in entries:
        return f"the peer {text[:64]!r} is an X-Forwarded-For entry"
    if odd and host in entries:
        return f"the peer {host[:64]!r} is not an IP address but an X-Forwarded-For entry"
    return None


def _checked_scope_result(scope: Any, host: Any, port: Any, result: Result) -> Result:
    # Slow path of every scope resolution: only reached for port 0, an unresolved peer, or a
    # peer that answered although a header was there (a proxy's peer would be trusted).
    mark = _rewritten_mark(scope, host, port, result)
    if mark is None:
        return result
    _warn_once("rewritten-peer", _REWRITTEN_WARNING.format(mark=mark))
    return _new(None, REMOTE_ADDR, (), _REWRITTEN_REASON.format(mark=mark), False, result.peer)


def _scope_checked(scope: Any, host: Any, port: Any, result: Result, has_header: bool) -> Result:
    """``result``, or a fail-closed one when the scope's peer looks rewritten by the server.

    The cheap test of when to look closer lives here once; the ASGI middleware inlines it.
    """
    if port == 0 or result.client_ip is None or (has_header and result.source == REMOTE_ADDR):
        return _checked_scope_result(scope, host, port, result)
    return result


def resolve_scope(resolver: Resolver, scope: Any) -> Result:
    """Resolve an ASGI ``http`` or ``websocket`` scope.

    A peer the server already rewrote from a forwarding header (port 0 beside
    ``X-Forwarded-For``/``Forwarded``, or a peer that is itself an ``X-Forwarded-For`` entry)
    fails closed, with a one-time warning.
    """
    name = resolver.header_bytes
    value = _scope_header(scope, name) if name is not None else None
    host, port = _client_of(scope.get("client"))
    return _scope_checked(scope, host, port, resolver.resolve_value(host, value), value is not None)


def _scheme_from_environ(resolver: Resolver, environ: Any, result: Result) -> Optional[str]:
    """The scheme the trusted hops that produced ``result`` reported (see Resolver.scheme)."""
    # The server's values: the header realip read may have been rewritten to its verified part.
    original = environ.get(ORIGINAL_HEADER_KEY)
    forwarded = environ.get("HTTP_FORWARDED")
    if original is not None and resolver.wsgi_key == "HTTP_FORWARDED":
        forwarded = original
    return resolver.scheme(result, environ.get("HTTP_X_FORWARDED_PROTO"), forwarded)


def _scheme_from_scope(resolver: Resolver, scope: Any, result: Result) -> Optional[str]:
    """The scheme the trusted hops that produced ``result`` reported (``ws``/``wss`` for
    websockets; see Resolver.scheme)."""
    # The server's headers: Forwarded may have been rewritten to the verified part already.
    headers = {"headers": scope.get(ORIGINAL_HEADERS_KEY, scope.get("headers"))}
    return resolver.scheme(
        result,
        _scope_header(headers, b"x-forwarded-proto"),
        _scope_header(headers, b"forwarded"),
        websocket=scope.get("type") == "websocket",
    )


def _stored(container: Any) -> Optional[Result]:
    try:
        result = container.get(RESULT_KEY)
    except Exception:
        return None
    return result if isinstance(result, Result) else None


def _attribute(request: Any, name: str) -> Any:
    # Some frameworks' properties raise on access (Sanic's ``scope`` outside ASGI mode raises
    # NotImplementedError): an attribute that can't be read is an attribute that isn't there.
    try:
        return getattr(request, name, None)
    except Exception:
        return None


def _from_module(request: Any, package: str) -> bool:
    return any(cls.__module__.startswith(package) for cls in type(request).__mro__)


def get_result(request: Any, resolver: Optional[Resolver] = None) -> Result:
    """The full :class:`Result` for a request of any supported framework.

    Accepts a WSGI environ, an ASGI scope, a Werkzeug/Flask, Django, Starlette/FastAPI
    (``Request`` or ``WebSocket``), Falcon (WSGI or ASGI), Sanic or aiohttp request. When a
    realip middleware already resolved the request, its stored result is returned as is.
    """
    if isinstance(request, dict):
        stored = _stored(request)
        if stored is not None:
            return stored
        if "type" in request and "REQUEST_METHOD" not in request:
            return resolve_scope(resolver or default_resolver(), request)
        if "REQUEST_METHOD" in request or "wsgi.version" in request or "REMOTE_ADDR" in request:
            return resolve_environ(resolver or default_resolver(), request)
        raise TypeError(
            "get_client_ip() got a dict that is neither a WSGI environ nor an ASGI scope"
        )
    meta = _attribute(request, "META")
    if isinstance(meta, dict):  # Django HttpRequest (WSGI or ASGI)
        stored = _stored(meta) or _stored(_attribute(request, "scope") or {})
        if stored is not None:
            return stored
        return resolve_environ(resolver or default_resolver(), meta)
    # Werkzeug / Flask keep the environ in .environ, Falcon (WSGI) in .env.
    for name in ("environ", "env"):
        environ = _attribute(request, name)
        if isinstance(environ, dict):
            return get_result(environ, resolver)
    scope = _attribute(request, "scope")
    if isinstance(scope, dict):  # Starlette / FastAPI, Falcon ASGI, Sanic in ASGI mode
        return get_result(scope, resolver)
    if _from_module(request, "aiohttp."):
        # aiohttp is loaded already (this is its request), so realip.aiohttp costs no import.
        from realip.aiohttp import RESULT_KEY as AIOHTTP_RESULT_KEY

        stored = request.get(AIOHTTP_RESULT_KEY)  # a request is a mapping: the middleware's
        if isinstance(stored, Result):
            return stored
        return (resolver or default_resolver()).resolve(request.remote, request.headers)
    if _from_module(request, "sanic."):
        # Sanic's own server: the socket peer is request.ip ("" for a Unix socket).
        return (resolver or default_resolver()).resolve(
            _attribute(request, "ip") or None, request.headers
        )
    raise TypeError(
        f"get_client_ip() does not know how to read a {type(request).__module__}."
        f"{type(request).__qualname__}; pass a WSGI environ, an ASGI scope, or a Django, "
        "Werkzeug/Flask, Starlette/FastAPI, Falcon, Sanic or aiohttp request"
    )


def get_client_ip(request: Any, resolver: Optional[Resolver] = None) -> Optional[str]:
    """The client IP of a request of any supported framework, or None (see :func:`get_result`)."""
    return get_result(request, resolver).client_ip
