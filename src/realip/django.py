"""Django middleware: ``request.client_ip`` and a corrected ``REMOTE_ADDR``, sync or async.

Add it near the top of ``settings.MIDDLEWARE``::

    MIDDLEWARE = ["realip.django.RealIPMiddleware", ...]
    REALIP = {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"]}

``settings.REALIP`` is a dict of options - the same names as the
:class:`~realip.Resolver` keywords and the ``REALIP_*`` variables (``trusted_proxies``,
``header``, ``trusted_hops``, ``require_header``; or a ``topology`` with its
``pod_cidrs``/``node_cidrs``/``lb_cidrs``) - a topology name alone, or a ``Resolver``. Without it, the ``REALIP_*`` environment variables configure realip.
A bad value raises ``ImproperlyConfigured`` naming the key when Django loads the middleware.

In views, :func:`client_ip` (``Optional[str]``) is the typed way to read the answer;
``request.client_ip`` works too, and :class:`RealIPRequest` types it for annotations. Every
client-address header in ``META`` is rewritten to hold only what realip verified, as the WSGI
middleware does (the originals stay in ``META["realip.original_headers"]``); a subclass sets
``keep_headers`` or ``rewrite_header = False`` to keep them.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, Optional, Tuple

from realip._extras import requires

with requires("realip.django"):
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.http import HttpRequest

from realip import _context
from realip._adapters import (
    ORIGINAL_CLIENT_KEY,
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    HeaderPlan,
    client_of,
    rewrite_environ,
    scope_checked,
    warn_if_unconfigured,
)
from realip._config import BY_NAME
from realip._config import resolver_from_settings as resolver_from_dict
from realip._context import current, restore
from realip._errors import ConfigError
from realip.request import get_result
from realip.resolver import REMOTE_ADDR, Resolver, Result

__all__ = ["RealIPMiddleware", "RealIPRequest", "client_ip", "resolver_from_settings"]

_set = current.set
_reset = current.reset


def _asgi_scope(scope: Any) -> Optional[Dict[str, Any]]:
    # The server's scope of a Django ASGI request, when it has a well-formed peer.
    if (
        isinstance(scope, dict)
        and scope.get("type") in ("http", "websocket")
        and isinstance(scope.get("client"), (tuple, list))
        and len(scope["client"]) == 2
    ):
        return scope
    return None


def resolver_from_settings(value: Any = None) -> Resolver:
    """Build the resolver from ``settings.REALIP`` (or the environment when it is not set).

    ``settings.REALIP`` is a dict of options (the keyword names: ``topology``, ``pod_cidrs``,
    ``trusted_proxies``, ``require_header``, ...), a topology name, or a ``Resolver``; a bad value
    raises ``ImproperlyConfigured`` naming its key.
    """
    if value is None:
        value = getattr(settings, "REALIP", None)
    try:
        if value is None:
            return Resolver.from_env()
        if isinstance(value, Resolver):
            return value
        if isinstance(value, str):
            return resolver_from_dict({"topology": value})
        if not isinstance(value, dict):
            raise ImproperlyConfigured(
                f"settings.REALIP must be a dict, a topology name or a realip.Resolver, "
                f"not {type(value).__name__}"
            )
        for key in value:
            if key not in BY_NAME:
                raise ImproperlyConfigured(
                    f"settings.REALIP[{key!r}] is not a known key; use one of {', '.join(BY_NAME)}"
                )
        return resolver_from_dict(value)
    except ConfigError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


class RealIPRequest(HttpRequest):
    """An ``HttpRequest`` after :class:`RealIPMiddleware`: for annotations, so ``client_ip`` types.

    Never instantiated by realip: annotate a view's parameter with it (``request:
    RealIPRequest``) when the middleware is installed, or call :func:`client_ip` instead.
    """

    client_ip: Optional[str]


def client_ip(request: HttpRequest) -> Optional[str]:
    """The client IP :class:`RealIPMiddleware` found for ``request`` (resolved now if it didn't)."""
    stored = getattr(request, "client_ip", _MISSING)
    if stored is None or isinstance(stored, str):
        return stored
    # Not through the middleware (or the attribute was overwritten): resolve it now.
    return get_result(request).client_ip


_MISSING = object()


class RealIPMiddleware:
    """Django middleware (sync and async) that resolves the client IP of every request."""

    sync_capable = True
    async_capable = True
    rewrite_header = True
    """Rewrite the client-address headers in ``META`` to what realip verified (set False in a
    subclass to leave every header as the server sent it)."""
    keep_headers: Tuple[str, ...] = ()
    """Client-address headers to leave as the server sent them (set in a subclass)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.resolver = resolver_from_settings()
        if getattr(settings, "REALIP", None) is None:
            warn_if_unconfigured(
                "realip.django.RealIPMiddleware (no settings.REALIP)",
                "Set settings.REALIP (or REALIP_TOPOLOGY)",
            )
        try:
            self._plan = (
                HeaderPlan(self.resolver, self.keep_headers) if self.rewrite_header else None
            )
        except ConfigError as exc:
            raise ImproperlyConfigured(f"{type(self).__name__}: {exc}") from exc
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _apply(self, request: HttpRequest) -> Result:
        meta = request.META
        # A realip WSGI/ASGI middleware in front already did the work; don't resolve twice.
        result = get_result(request, self.resolver)
        if RESULT_KEY not in meta:
            scope = getattr(request, "scope", None)
            if isinstance(scope, dict) and RESULT_KEY in scope:
                # The ASGI middleware rewrote scope["client"] and the headers, which Django
                # copied into META.
                original = scope.get(ORIGINAL_CLIENT_KEY)
                meta[ORIGINAL_REMOTE_ADDR_KEY] = original[0] if original else None
            else:
                asgi = _asgi_scope(scope)
                if asgi is not None:
                    result = self._checked(asgi, meta, result)
                meta[ORIGINAL_REMOTE_ADDR_KEY] = meta.get("REMOTE_ADDR")
                if result.client_ip is not None:
                    meta["REMOTE_ADDR"] = result.client_ip
                    if asgi is not None:
                        # Django's ASGI request holds the server's own scope: written there, the
                        # server's access log (uvicorn, hypercorn, granian) shows the client too.
                        asgi[ORIGINAL_CLIENT_KEY] = asgi["client"]
                        port = asgi["client"][1] if result.source == REMOTE_ADDR else 0
                        asgi["client"] = (result.client_ip, port)
                        asgi[RESULT_KEY] = result
                if self._plan is not None:
                    rewrite_environ(self._plan, meta, result)
                    # request.headers is built from META once; a reader before this middleware
                    # (an error reporter) may have built it from the server's values.
                    request.__dict__.pop("headers", None)
            meta[RESULT_KEY] = result
        # HttpRequest declares no such attribute; RealIPRequest and client_ip() are the typed way.
        setattr(request, "client_ip", result.client_ip)  # noqa: B010
        return result

    def _checked(self, scope: Dict[str, Any], meta: Any, result: Result) -> Result:
        # As the ASGI middleware does: a peer the server rewrote from X-Forwarded-For (port 0
        # beside a forwarding header, or the peer is itself an entry) fails closed with a
        # warning. META has no port, so the scope is where the mark is.
        host, port = client_of(scope.get("client"))
        key = self.resolver.wsgi_key
        return scope_checked(
            scope, host, port, result, key is not None and meta.get(key) is not None
        )

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        result = self._apply(request)
        if not _context.enabled:
            return self.get_response(request)
        # realip.log: this request's client while Django handles it, and no longer.
        token = _set(result)
        try:
            response = self.get_response(request)
        finally:
            _reset(token)
        return _streamed_in_context(response, result)

    async def __acall__(self, request: HttpRequest) -> Any:
        result = self._apply(request)
        if not _context.enabled:
            return await self.get_response(request)
        token = _set(result)
        try:
            response = await self.get_response(request)
        finally:
            _reset(token)
        return _streamed_in_context(response, result)


def _streamed_in_context(response: Any, result: Result) -> Any:
    # A streaming response's content is produced after the middleware returned, while the
    # server sends it: it runs with the request's client too, and the context is restored when
    # the stream ends or is closed.
    if not getattr(response, "streaming", False):
        return response
    if getattr(response, "is_async", False):
        response.streaming_content = _async_in_context(response.streaming_content, result)
    else:
        response.streaming_content = _in_context(response.streaming_content, result)
    return response


def _in_context(content: Iterable[Any], result: Result) -> Iterator[Any]:
    token = _set(result)
    try:
        yield from content
    finally:
        restore(token)


async def _async_in_context(content: Any, result: Result) -> AsyncIterator[Any]:
    token = _set(result)
    try:
        async for chunk in content:
            yield chunk
    finally:
        restore(token)
