"""aiohttp middleware: the real client in ``request.remote``, the handlers and the access log.

::

    from aiohttp import web

    from realip.aiohttp import middleware

    app = web.Application(middlewares=[middleware(trusted_proxies=["10.0.0.0/8"])])

Per request it resolves the client once from ``request.remote`` (the socket peer) and the
headers, stores the :class:`~realip.Result` in ``request[realip.aiohttp.RESULT_KEY]`` (what
:func:`realip.get_result` returns in a handler) and the peer in
``request[realip.aiohttp.ORIGINAL_REMOTE_KEY]``, and makes ``request.remote`` the client on the request
object aiohttp created. aiohttp's access log (``%a``) reads ``remote`` from that object, not
from the one a handler gets from ``request.clone(remote=...)``; so the value is put where
aiohttp's own ``clone(remote=...)`` and constructor put it, in the request's property cache.
Should a future aiohttp store it elsewhere, the handlers get ``request.clone(remote=...)``
instead and only the access log keeps the peer. aiohttp is imported only by this module.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, Optional

from realip._extras import requires

with requires("realip.aiohttp"):
    from aiohttp import web

from realip import _context
from realip._adapters import (
    HeaderPlan,
    aiohttp_keys,
    middleware_resolver,
    rewritten_headers,
    shortcut_options,
)
from realip._context import current
from realip.resolver import Resolver

__all__ = ["ORIGINAL_REMOTE_KEY", "RESULT_KEY", "middleware"]

RESULT_KEY: Any
"""Where the middleware keeps the :class:`~realip.Result` in the request (a ``web.RequestKey``)."""
ORIGINAL_REMOTE_KEY: Any
"""Where the middleware keeps ``request.remote`` as aiohttp set it (the socket peer)."""
RESULT_KEY, ORIGINAL_REMOTE_KEY = aiohttp_keys()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_set = current.set
_reset = current.reset


def _set_remote(request: web.Request, ip: str) -> bool:
    # ``remote`` is a cached property whose cache is the request's ``_cache`` dict: the
    # constructor's ``remote=`` argument (used by ``clone``) is stored there too.
    cache = getattr(request, "_cache", None)
    if not isinstance(cache, dict):
        return False
    cache["remote"] = ip
    return request.remote == ip


def middleware(
    resolver: Optional[Resolver] = None,
    *,
    topology: Optional[str] = None,
    trusted_proxies: Optional[Iterable[Any]] = None,
    header: Optional[str] = None,
    trusted_hops: Optional[int] = None,
    pod_cidrs: Optional[Iterable[Any]] = None,
    node_cidrs: Optional[Iterable[Any]] = None,
    lb_cidrs: Optional[Iterable[Any]] = None,
    require_header: Optional[bool] = None,
    rewrite_header: bool = True,
    keep_headers: Iterable[str] = (),
) -> Any:
    """An aiohttp middleware that resolves the client of every request (see the module doc)."""
    chosen = middleware_resolver("realip.aiohttp.middleware", resolver, shortcut_options(locals()))
    resolve = chosen.resolve
    plan = HeaderPlan(chosen, keep_headers) if rewrite_header else None

    @web.middleware
    async def realip_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if RESULT_KEY in request:  # a sub-application's copy of this middleware: done already
            return await handler(request)
        peer = request.remote
        result = resolve(peer, request.headers)
        request[ORIGINAL_REMOTE_KEY] = peer
        request[RESULT_KEY] = result
        ip = result.client_ip
        headers = rewritten_headers(plan, request.headers, result) if plan is not None else None
        if headers is not None:
            # Only verified client addresses in what the handlers read: a copy of the request
            # (aiohttp's headers can't change); the access log keeps the original object.
            if ip is not None:
                _set_remote(request, ip)
                request = request.clone(headers=headers, remote=ip)
            else:
                request = request.clone(headers=headers)
        elif ip is not None and not _set_remote(request, ip):
            request = request.clone(remote=ip)
        if not _context.enabled:
            return await handler(request)
        # realip.log: this request's client while the handler runs, and no longer (aiohttp runs
        # the requests of a keep-alive connection one after the other in one task).
        token = _set(result)
        try:
            return await handler(request)
        finally:
            _reset(token)

    realip_middleware.resolver = chosen  # type: ignore[attr-defined]
    return realip_middleware
