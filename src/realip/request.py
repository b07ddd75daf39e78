"""Find the peer and the header in any framework's request, and hand them to the resolver.

This is the one place that knows where WSGI environs, ASGI scopes, Django, Werkzeug,
Starlette, Falcon, Sanic and aiohttp requests keep the peer address and the headers. The
middlewares use the same functions, so every way into realip takes one resolution path.

The public names (``__all__``) are the API for adapter authors: the keys under which the
middlewares store what they found and what they replaced, the process-default resolver, and
the functions that resolve an environ, a scope or any supported request.
"""

from __future__ import annotations

from typing import Any, Optional

from realip import _adapters
from realip._adapters import (
    ORIGINAL_CLIENT_KEY,
    ORIGINAL_HEADER_KEY,
    ORIGINAL_HEADERS_KEY,
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    client_of,
    default_resolver,
    reset_default_resolver,
    scope_checked,
    scope_header,
)
from realip.resolver import Resolver, Result

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


def resolve_environ(resolver: Resolver, environ: Any) -> Result:
    """Resolve a WSGI environ (or Django ``request.META``)."""
    key = resolver.wsgi_key
    value = environ.get(key) if key is not None else None
    return resolver._resolve(environ.get("REMOTE_ADDR"), value)


def resolve_scope(resolver: Resolver, scope: Any) -> Result:
    """Resolve an ASGI ``http`` or ``websocket`` scope.

    A peer the server already rewrote from a forwarding header (port 0 beside
    ``X-Forwarded-For``/``Forwarded``, or a peer that is itself an ``X-Forwarded-For`` entry)
    fails closed, with a one-time warning.
    """
    name = resolver.header_bytes
    value = scope_header(scope, name) if name is not None else None
    host, port = client_of(scope.get("client"))
    return scope_checked(scope, host, port, resolver._resolve(host, value), value is not None)


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
        # aiohttp is loaded already (this is its request), so its keys cost no import.
        stored = request.get(
            _adapters.aiohttp_keys()[0]
        )  # a request is a mapping: the middleware's
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
