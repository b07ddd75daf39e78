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
from realip._context import current
from realip.request import _middleware_resolver
from realip.resolver import Resolver, Result

__all__ = ["ORIGINAL_REMOTE_KEY", "RESULT_KEY", "middleware"]

# aiohttp >= 3.12 wants typed keys in a request's storage (string keys draw NotAppKeyWarning);
# older releases only have strings.
_RequestKey: Any = getattr(web, "RequestKey", None)
RESULT_KEY: Any = _RequestKey("result", Result) if _RequestKey else "realip.result"
"""Where the middleware keeps the :class:`~realip.Result` in the request (a ``web.RequestKey``)."""
ORIGINAL_REMOTE_KEY: Any = (
    _RequestKey("original_remote", str) if _RequestKey else ("realip.original_remote")
)
"""Where the middleware keeps ``request.remote`` as aiohttp set it (the socket peer)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    trusted_proxies: Optional[Iterable[Any]] = None,
    topology: Optional[str] = None,
    header: Optional[str] = None,
    pod_cidrs: Iterable[Any] = (),
    node_cidrs: Iterable[Any] = (),
    lb_cidrs: Iterable[Any] = (),
) -> Any:
    """An aiohttp middleware that resolves the client of every request (see the module doc)."""
    chosen = _middleware_resolver(
        "realip.aiohttp.middleware",
        resolver,
        trusted_proxies,
        topology,
        header,
        pod_cidrs,
        node_cidrs,
        lb_cidrs,
    )
    resolve = chosen.resolve

    @web.middleware
    async def realip_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if RESULT_KEY in request:  # a sub-application's copy of this middleware: done already
            return await handler(request)
        peer = request.remote
        result = resolve(peer, request.headers)
        request[ORIGINAL_REMOTE_KEY] = peer
        request[RESULT_KEY] = result
        ip = result.client_ip
        if ip is not None and not _set_remote(request, ip):
            request = request.clone(remote=ip)
        # Not reset: aiohttp runs each request in a task of its own, and its access log line,
        # written after the handler returns, belongs to the request too.
        if _context.enabled:
            current.set(result)
        return await handler(request)

    realip_middleware.resolver = chosen  # type: ignore[attr-defined]
    return realip_middleware
