"""ASGI middleware: put the real client into ``scope["client"]``.

Wrap any ASGI app (FastAPI, Starlette, Quart, Litestar, Falcon, Django's ASGI handler)::

    from realip.asgi import RealIPMiddleware

    app = RealIPMiddleware(app, topology="ingress", pod_cidrs=["10.244.0.0/16"])

For ``http`` and ``websocket`` scopes the middleware writes into the server's own scope, so the
server's access log (uvicorn, hypercorn, granian) shows the same client as the app:

- ``scope["client"] = (client_ip, port)`` when a client was found (port 0 when the client came
  from a header: the peer's port belongs to the proxy);
- ``scope["realip.original_client"]``: ``scope["client"]`` as the server set it;
- ``scope["realip.result"]``: the :class:`~realip.Result`;
- the header realip read is rewritten to hold only what realip verified (the client's entry
  and the trusted proxies' entries; removed when nothing was verified), so frameworks that
  read ``X-Forwarded-For`` themselves find the resolved client; the server's header list is
  kept in ``scope["realip.original_headers"]``. ``rewrite_header=False`` turns this off.

A peer the server already rewrote from ``X-Forwarded-For`` (uvicorn's default
``--proxy-headers``) fails closed with a one-time :class:`~realip.RealIPWarning`: run the server
with ``--no-proxy-headers``. Other scopes (``lifespan``) pass through untouched.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, MutableMapping, Optional

from realip import _context
from realip._context import current
from realip.request import (
    ORIGINAL_CLIENT_KEY,
    RESULT_KEY,
    _checked_scope_result,
    _client_of,
    _middleware_resolver,
    _rewrite_scope,
    _scheme_from_scope,
    _scope_header,
    _strip_name,
)
from realip.resolver import _SHORT, REMOTE_ADDR, Resolver

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["RealIPMiddleware"]

_set = current.set


class RealIPMiddleware:
    """ASGI middleware that resolves the client IP once per request and exposes it in the scope.

    Give it a ``resolver``, or the shortcuts that build one (``trusted_proxies=`` or
    ``topology=`` with ``pod_cidrs=``/``node_cidrs=``/``lb_cidrs=``, and ``header=``); with
    neither, the ``REALIP_*`` environment variables configure it.
    """

    __slots__ = (
        "_name",
        "_resolve",
        "_resolver",
        "_rewrite",
        "_strip",
        "app",
        "forwarded_proto",
    )

    def __init__(
        self,
        app: ASGIApp,
        resolver: Optional[Resolver] = None,
        *,
        trusted_proxies: Optional[Iterable[Any]] = None,
        topology: Optional[str] = None,
        header: Optional[str] = None,
        pod_cidrs: Iterable[Any] = (),
        node_cidrs: Iterable[Any] = (),
        lb_cidrs: Iterable[Any] = (),
        forwarded_proto: bool = False,
        rewrite_header: bool = True,
    ) -> None:
        self.app = app
        self._resolver = _middleware_resolver(
            "realip.asgi.RealIPMiddleware",
            resolver,
            trusted_proxies,
            topology,
            header,
            pod_cidrs,
            node_cidrs,
            lb_cidrs,
        )
        # Looked up once: per request, every attribute load and bound method counts.
        self._resolve = self._resolver.resolve_value
        self._name = self._resolver.header_bytes
        self._rewrite = rewrite_header
        # A resolver that reads no header still drops the one frameworks read (see _strip_name).
        strip = _strip_name(self._resolver) if self._name is None and rewrite_header else None
        self._strip = strip.encode("ascii") if strip else None
        self.forwarded_proto = forwarded_proto

    @property
    def resolver(self) -> Resolver:
        """The resolver this middleware uses (fixed at construction)."""
        return self._resolver

    @property
    def rewrite_header(self) -> bool:
        """Whether the header read is rewritten to its verified part (fixed at construction)."""
        return self._rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if (kind != "http" and kind != "websocket") or RESULT_KEY in scope:
            # Not a request, or a realip middleware further out already resolved it: resolving
            # the rewritten client again would lose the original.
            await self.app(scope, receive, send)
            return
        # resolve_scope(), unrolled: this runs on every request, and a call frame is a
        # noticeable share of it.
        name = self._name
        client = scope.get("client")
        if client.__class__ is tuple and len(client) == 2:
            host, port = client
        else:
            host, port = _client_of(client)  # a list, None, or malformed (never raises)
        value = _scope_header(scope, name) if name else None
        result = self._resolve(host, value)
        ip = result.client_ip
        if value is None:
            if port == 0 or ip is None:
                # The rare path: a port-0 or non-address peer may be the server's own rewrite.
                result = _checked_scope_result(scope, host, port, result)
                ip = result.client_ip
            if self._strip is not None:
                # A resolver that reads no header: X-Forwarded-For holds nothing verified.
                found = _scope_header(scope, self._strip)
                if found is not None:
                    _rewrite_scope(scope, self._strip, found, result, True)
        elif ip is None or port == 0 or result.source == REMOTE_ADDR:
            # The rare path with the header: failed closed, or the peer answered although a
            # header came (a proxy's peer would be trusted) - it may be the server's rewrite.
            result = _checked_scope_result(scope, host, port, result)
            ip = result.client_ip
            if self._rewrite:
                _rewrite_scope(scope, name, value, result, False)  # type: ignore[arg-type]
        elif self._rewrite and (len(value) > _SHORT or value.count(b",") >= len(result.proxies)):
            # Rewritten only when there is something to drop: most requests have exactly the
            # client's entry and the proxies' (fewer commas than verified entries). A long
            # header is checked from the right instead (bounded), not counted whole.
            _rewrite_scope(scope, name, value, result, False)  # type: ignore[arg-type]
        # Written into the server's scope, not a copy: its access log reads this very dict.
        scope[ORIGINAL_CLIENT_KEY] = client
        scope[RESULT_KEY] = result
        if ip is not None:
            if result.source != REMOTE_ADDR or port.__class__ is not int:
                port = 0
            scope["client"] = (ip, port)
        if self.forwarded_proto:
            scheme = _scheme_from_scope(self._resolver, scope, result)
            if scheme is not None:
                scope["scheme"] = scheme
        # What realip.log's filter reads (once realip.log is imported). Not reset: ASGI servers
        # run each request in a task of its own, whose context ends with it (and the server's
        # access line, written from that task after the app returns, belongs to the request).
        if _context.enabled:
            _set(result)
        await self.app(scope, receive, send)
