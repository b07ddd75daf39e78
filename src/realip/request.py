"""Find the peer and the header in any framework's request, and hand them to the resolver.

This is the one place that knows where WSGI environs, ASGI scopes, Django, Werkzeug,
Starlette and aiohttp requests keep the peer address and the headers. The middlewares use
the same functions, so every way into realip takes one resolution path.
"""

from __future__ import annotations

from typing import Any, List, MutableMapping, Optional

from realip.resolver import Resolver, Result

__all__ = [
    "ORIGINAL_CLIENT_KEY",
    "ORIGINAL_REMOTE_ADDR_KEY",
    "RESULT_KEY",
    "default_resolver",
    "get_client_ip",
    "get_result",
    "reset_default_resolver",
    "resolve_environ",
    "resolve_scope",
    "scheme_from_environ",
    "scheme_from_scope",
    "scope_header",
]

RESULT_KEY = "realip.result"
"""Where the middlewares store the :class:`Result` (WSGI environ, ASGI scope, Django META)."""
ORIGINAL_REMOTE_ADDR_KEY = "realip.original_remote_addr"
"""WSGI environ / Django META key holding REMOTE_ADDR as the server set it."""
ORIGINAL_CLIENT_KEY = "realip.original_client"
"""ASGI scope key holding ``scope["client"]`` as the server set it."""

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


def resolve_environ(resolver: Resolver, environ: Any) -> Result:
    """Resolve a WSGI environ (or Django ``request.META``)."""
    key = resolver.wsgi_key
    value = environ.get(key) if key is not None else None
    return resolver.resolve_value(environ.get("REMOTE_ADDR"), value)


def scope_header(scope: Any, name: bytes) -> Optional[bytes]:
    """Every value of header ``name`` in an ASGI scope, joined with commas, as bytes (or None)."""
    found: Optional[bytes] = None
    more: Optional[List[bytes]] = None
    # The ASGI spec requires lower-case names, so a plain comparison is enough; a server that
    # broke that rule would only make the header invisible (the peer answers), never spoofable.
    for key, value in scope.get("headers") or ():
        if key == name:
            if found is None:
                found = value
            elif more is None:
                more = [found, value]
            else:
                more.append(value)
    # Left as bytes: the resolver decodes only the items it walks.
    return b",".join(more) if more is not None else found


def resolve_scope(resolver: Resolver, scope: Any) -> Result:
    """Resolve an ASGI ``http`` or ``websocket`` scope."""
    name = resolver.header_bytes
    value = scope_header(scope, name) if name is not None else None
    client = scope.get("client")
    return resolver.resolve_value(client[0] if client else None, value)


def scheme_from_environ(resolver: Resolver, environ: Any, result: Result) -> Optional[str]:
    """The scheme the trusted proxies reported for this request, or None (see Resolver.scheme)."""
    return resolver.scheme(
        result, environ.get("HTTP_X_FORWARDED_PROTO"), environ.get("HTTP_FORWARDED")
    )


def scheme_from_scope(resolver: Resolver, scope: Any, result: Result) -> Optional[str]:
    """The scheme the trusted proxies reported for this scope (``ws``/``wss`` for websockets)."""
    return resolver.scheme(
        result,
        scope_header(scope, b"x-forwarded-proto"),
        scope_header(scope, b"forwarded"),
        websocket=scope.get("type") == "websocket",
    )


def _stored(container: Any) -> Optional[Result]:
    try:
        result = container.get(RESULT_KEY)
    except Exception:
        return None
    return result if isinstance(result, Result) else None


def get_result(request: Any, resolver: Optional[Resolver] = None) -> Result:
    """The full :class:`Result` for a request of any supported framework.

    Accepts a WSGI environ, an ASGI scope, a Werkzeug/Flask, Django, Starlette/FastAPI
    (``Request`` or ``WebSocket``) or aiohttp request. When a realip middleware already
    resolved the request, its stored result is returned as is.
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
    meta = getattr(request, "META", None)
    if isinstance(meta, dict):  # Django HttpRequest (WSGI or ASGI)
        stored = _stored(meta) or _stored(getattr(request, "scope", None) or {})
        if stored is not None:
            return stored
        return resolve_environ(resolver or default_resolver(), meta)
    environ = getattr(request, "environ", None)
    if isinstance(environ, dict):  # Werkzeug / Flask
        return get_result(environ, resolver)
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):  # Starlette / FastAPI Request and WebSocket
        return get_result(scope, resolver)
    if hasattr(request, "remote") and any(
        cls.__module__.startswith("aiohttp.") for cls in type(request).__mro__
    ):
        return (resolver or default_resolver()).resolve(request.remote, request.headers)
    raise TypeError(
        f"get_client_ip() does not know how to read a {type(request).__module__}."
        f"{type(request).__qualname__}; pass a WSGI environ, an ASGI scope, or a Django, "
        "Werkzeug/Flask, Starlette/FastAPI or aiohttp request"
    )


def get_client_ip(request: Any, resolver: Optional[Resolver] = None) -> Optional[str]:
    """The client IP of a request of any supported framework, or None (see :func:`get_result`)."""
    return get_result(request, resolver).client_ip


def store(container: MutableMapping[str, Any], result: Result) -> None:
    """Record ``result`` where :func:`get_result` finds it."""
    container[RESULT_KEY] = result
