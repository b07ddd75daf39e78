"""Django middleware: ``request.client_ip`` and a corrected ``REMOTE_ADDR``, sync or async.

Add it near the top of ``settings.MIDDLEWARE``::

    MIDDLEWARE = ["realip.django.RealIPMiddleware", ...]
    REALIP = {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"]}

``settings.REALIP`` is a dict of options - the same names as the
:class:`~realip.Resolver` keywords and the ``REALIP_*`` variables (``trusted_proxies``,
``header``, ``trusted_hops``, ``require_header``; or a ``topology`` with its
``pod_cidrs``/``node_cidrs``/``lb_cidrs``) - a topology name alone, or a ``Resolver``. Without it, the ``REALIP_*`` environment variables configure realip.
A bad value raises ``ImproperlyConfigured`` naming the key when Django loads the middleware.
"""

from __future__ import annotations

from typing import Any, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from realip._config import BY_NAME
from realip._config import resolver_from_settings as resolver_from_dict
from realip._errors import ConfigError
from realip.request import ORIGINAL_CLIENT_KEY, ORIGINAL_REMOTE_ADDR_KEY, RESULT_KEY, get_result
from realip.resolver import Resolver

__all__ = ["RealIPMiddleware", "resolver_from_settings"]


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


class RealIPMiddleware:
    """Django middleware (sync and async) that resolves the client IP of every request."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.resolver = resolver_from_settings()
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
            meta[RESULT_KEY] = result
        request.client_ip = result.client_ip

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self._apply(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        self._apply(request)
        return await self.get_response(request)
