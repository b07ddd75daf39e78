"""ASGI middleware: put the real client into ``scope["client"]``.

Wrap any ASGI app (FastAPI, Starlette, Quart, Litestar, Django's ASGI handler)::

    from realip import Resolver
    from realip.asgi import RealIPMiddleware

    app = RealIPMiddleware(app, Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"]))

For ``http`` and ``websocket`` scopes the app receives a copy of the scope with
``scope["client"] = (client_ip, port)`` when a client was found (port 0 when the client came
from a header: the peer's port belongs to the proxy), the server's value under
``scope["realip.original_client"]`` and the :class:`~realip.Result` under
``scope["realip.result"]``. Other scopes (``lifespan``) pass through untouched.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping, Optional

from realip.request import (
    ORIGINAL_CLIENT_KEY,
    RESULT_KEY,
    default_resolver,
    scheme_from_scope,
    scope_header,
)
from realip.resolver import Resolver

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["RealIPMiddleware"]


class RealIPMiddleware:
    """ASGI middleware that resolves the client IP once per request and exposes it in the scope."""

    __slots__ = ("_name", "_resolve", "_resolver", "app", "forwarded_proto")

    def __init__(
        self, app: ASGIApp, resolver: Optional[Resolver] = None, *, forwarded_proto: bool = False
    ) -> None:
        self.app = app
        self._resolver = resolver if resolver is not None else default_resolver()
        # Looked up once: per request, every attribute load and bound method counts.
        self._resolve = self._resolver.resolve_value
        self._name = self._resolver.header_bytes
        self.forwarded_proto = forwarded_proto

    @property
    def resolver(self) -> Resolver:
        """The resolver this middleware uses (fixed at construction)."""
        return self._resolver

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
        result = self._resolve(
            client[0] if client else None, scope_header(scope, name) if name else None
        )
        # Copy before writing: the server (or another app) may hold the same scope.
        scope = dict(scope)
        scope[ORIGINAL_CLIENT_KEY] = client
        scope[RESULT_KEY] = result
        ip = result.client_ip
        if ip is not None:
            port = client[1] if client and result.source == "remote_addr" else 0
            scope["client"] = (ip, port)
        if self.forwarded_proto:
            scheme = scheme_from_scope(self._resolver, scope, result)
            if scheme is not None:
                scope["scheme"] = scheme
        await self.app(scope, receive, send)
