"""Django middleware: ``request.client_ip`` and a corrected ``REMOTE_ADDR``, sync or async.

Add it near the top of ``settings.MIDDLEWARE``::

    MIDDLEWARE = ["realip.django.RealIPMiddleware", ...]
    REALIP = {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"]}

``settings.REALIP`` is a dict of :class:`~realip.Resolver` keyword arguments
(``trusted_proxies``, ``header``, ``trusted_hops``), or of a ``topology`` with its
``pod_cidrs``/``node_cidrs``/``lb_cidrs``/``header``, a topology name alone, or a
``Resolver``. Without it, the ``REALIP_*`` environment variables configure realip.
A bad value raises ``ImproperlyConfigured`` naming the key when Django loads the middleware.

In views, :func:`client_ip` (``Optional[str]``) is the typed way to read the answer;
``request.client_ip`` works too, and :class:`RealIPRequest` types it for annotations. The header
realip read is rewritten in ``META`` to hold only what realip verified (the original stays in
``META["realip.original_header"]``).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Dict, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from realip import _context
from realip._context import current
from realip._errors import ConfigError, RealIPWarning
from realip.request import (
    ORIGINAL_CLIENT_KEY,
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    _rewrite_environ,
    get_result,
)
from realip.resolver import ENV_VARS, Resolver

__all__ = ["RealIPMiddleware", "RealIPRequest", "client_ip", "resolver_from_settings"]

_set = current.set

_RESOLVER_KEYS = ("trusted_proxies", "header", "trusted_hops")
_TOPOLOGY_KEYS = ("topology", "pod_cidrs", "node_cidrs", "lb_cidrs", "header")


def resolver_from_settings(value: Any = None) -> Resolver:
    """Build the resolver from ``settings.REALIP`` (or the environment when it is not set)."""
    if value is None:
        value = getattr(settings, "REALIP", None)
    try:
        if value is None:
            return Resolver.from_env()
        if isinstance(value, Resolver):
            return value
        if isinstance(value, str):
            return Resolver.for_topology(value)
        if not isinstance(value, dict):
            raise ImproperlyConfigured(
                f"settings.REALIP must be a dict, a topology name or a realip.Resolver, "
                f"not {type(value).__name__}"
            )
        allowed = _TOPOLOGY_KEYS if "topology" in value else _RESOLVER_KEYS
        for key in value:
            if key not in allowed:
                raise ImproperlyConfigured(
                    f"settings.REALIP[{key!r}] is not a known key; use one of {', '.join(allowed)}"
                )
        kwargs: Dict[str, Any] = dict(value)
        if "topology" in kwargs:
            return Resolver.for_topology(kwargs.pop("topology"), **kwargs)
        return Resolver(**kwargs)
    except ConfigError as exc:
        raise ImproperlyConfigured(f"settings.REALIP: {exc}") from exc


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
    """Rewrite the header read to its verified part in ``META`` (set False in a subclass)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.resolver = resolver_from_settings()
        if getattr(settings, "REALIP", None) is None and not any(
            (os.environ.get(var) or "").strip() for var in ENV_VARS
        ):
            warnings.warn(
                "realip: realip.django.RealIPMiddleware has no settings.REALIP and no REALIP_* "
                "environment variable is set, so it trusts no proxy and every request's client "
                "is its TCP peer. Set settings.REALIP (or REALIP_TOPOLOGY; "
                "REALIP_TOPOLOGY=pod-to-pod says 'no proxies' explicitly).",
                RealIPWarning,
                stacklevel=2,
            )
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _apply(self, request: HttpRequest) -> None:
        meta = request.META
        # A realip WSGI/ASGI middleware in front already did the work; don't resolve twice.
        result = get_result(request, self.resolver)
        if RESULT_KEY not in meta:
            scope = getattr(request, "scope", None)
            if isinstance(scope, dict) and RESULT_KEY in scope:
                # The ASGI middleware rewrote scope["client"], which Django copied into META.
                original = scope.get(ORIGINAL_CLIENT_KEY)
                meta[ORIGINAL_REMOTE_ADDR_KEY] = original[0] if original else None
            else:
                meta[ORIGINAL_REMOTE_ADDR_KEY] = meta.get("REMOTE_ADDR")
                if result.client_ip is not None:
                    meta["REMOTE_ADDR"] = result.client_ip
                if self.rewrite_header:
                    _rewrite_environ(self.resolver, meta, result)
            meta[RESULT_KEY] = result
        # HttpRequest declares no such attribute; RealIPRequest and client_ip() are the typed way.
        setattr(request, "client_ip", result.client_ip)  # noqa: B010
        if _context.enabled:
            _set(result)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self._apply(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        self._apply(request)
        return await self.get_response(request)
