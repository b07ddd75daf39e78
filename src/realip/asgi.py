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
- every client-address header (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``, ..., in both
  spellings) is made to hold only what realip verified: the header read keeps the client's entry
  and the trusted proxies' entries, the others are removed; so frameworks and consumers that read
  them find the resolved client. The server's header list is kept in
  ``scope["realip.original_headers"]``. ``keep_headers`` names headers to leave alone;
  ``rewrite_header=False`` turns the rewrite off.

A peer the server already rewrote from ``X-Forwarded-For`` (uvicorn's default
``--proxy-headers``) fails closed with a one-time :class:`~realip.RealIPWarning`: run the server
with ``--no-proxy-headers``. Other scopes (``lifespan``) pass through untouched.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping

from realip import _context
from realip._adapters import (
    ORIGINAL_CLIENT_KEY,
    RESULT_KEY,
    checked_scope_result,
    client_of,
    rewrite_scope,
    scheme_from_scope,
)
from realip._context import asgi_send_outside, current
from realip._middleware import Middleware
from realip._wiring import asgi_marks, warn_if_late
from realip.resolver import _SHORT, REMOTE_ADDR

# The ASGI spec's shapes, for readers. The middleware itself takes and is an app of any typing
# (Any): Starlette types scopes as MutableMapping[str, Any], asgiref, hypercorn, Quart and
# Litestar as unions of TypedDicts, and neither is assignable to the other, so a precise type
# here would reject one family or the other in mypy --strict and pyright strict.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

__all__ = ["RealIPMiddleware"]

_set = current.set
_reset = current.reset


class RealIPMiddleware(Middleware[Any]):
    """ASGI middleware that resolves the client IP once per request and exposes it in the scope.

    Give it a ``resolver``, or the options that build one (``trusted_proxies=`` or
    ``topology=`` with ``pod_cidrs=``/``node_cidrs=``/``lb_cidrs=``, ``header=``, ...); with
    neither, the ``REALIP_*`` environment variables configure it. ``keep_headers`` names
    client-address headers to leave as the server sent them; ``rewrite_header=False`` leaves
    every header alone.
    """

    __slots__ = ("_name", "_watch")

    _who = "realip.asgi.RealIPMiddleware"

    def _prepare(self) -> None:
        self._name = self._resolver.header_bytes
        # Every header name the one scan of the headers stops at: the one read and the ones
        # the rewrite removes (decided here, once).
        watch = set(self._plan.drop_names) if self._plan is not None else set()
        if self._name is not None:
            watch.add(self._name)
        self._watch = frozenset(watch)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if (kind != "http" and kind != "websocket") or RESULT_KEY in scope:
            # Not a request, or a realip middleware further out already resolved it: resolving
            # the rewritten client again would lose the original.
            await self.app(scope, receive, send)
            return
        if self._first:
            self._first = False
            warn_if_late(self._who, asgi_marks())
        # resolve_scope(), unrolled: this runs on every request, and a call frame is a
        # noticeable share of it.
        client = scope.get("client")
        if client.__class__ is tuple and len(client) == 2:
            host, port = client
        else:
            host, port = client_of(client)  # a list, None, or malformed (never raises)
        # One pass over the headers finds the one read and any other client-address header.
        # The ASGI spec requires lower-case names, so a set lookup is enough; a server that
        # broke that rule would only make a header invisible (the peer answers), never
        # spoofable.
        name = self._name
        watch = self._watch
        value = None
        more = None
        other = False
        try:
            for key, item in scope.get("headers") or ():
                if key in watch:
                    if key != name:
                        other = True
                    elif value is None:
                        value = item
                    elif more is None:
                        more = [value, item]
                    else:
                        more.append(item)
        except (TypeError, ValueError):  # not pairs: a broken server, treated as no header
            value = more = None
            other = False
        if more is not None:
            value = b",".join(more)  # left as bytes: the resolver decodes only what it walks
        result = self._resolve(host, value)
        ip = result.client_ip
        rewrite = other
        if value is None:
            if port == 0 or ip is None:
                # The rare path: a port-0 or non-address peer may be the server's own rewrite.
                result = checked_scope_result(scope, host, port, result)
                ip = result.client_ip
        elif ip is None or port == 0 or result.source == REMOTE_ADDR:
            # The rare path with the header: failed closed, or the peer answered although a
            # header came (a proxy's peer would be trusted) - it may be the server's rewrite.
            result = checked_scope_result(scope, host, port, result)
            ip = result.client_ip
            rewrite = True
        elif len(value) > _SHORT or value.count(b",") >= len(result.proxies):
            # Rewritten only when there is something to drop: most requests have exactly the
            # client's entry and the proxies' (fewer commas than verified entries). A long
            # header is checked from the right instead (bounded), not counted whole.
            rewrite = True
        if self.forwarded_proto:
            scheme = scheme_from_scope(self._resolver, scope, result)
            if scheme is not None:
                scope["scheme"] = scheme
        if rewrite and self._plan is not None:
            rewrite_scope(self._plan, scope, value if self._plan.read else None, result)
        # Written into the server's scope, not a copy: its access log reads this very dict.
        scope[ORIGINAL_CLIENT_KEY] = client
        scope[RESULT_KEY] = result
        if ip is not None:
            if result.source != REMOTE_ADDR or port.__class__ is not int:
                scope["client"] = (ip, 0)
            elif ip is not host or client.__class__ is not tuple:
                scope["client"] = (ip, port)
            # Otherwise the peer answered and scope["client"] holds it already, as this tuple
            # (the direct request): not building it again saves ~50 ns of ASGI (a).
        if not _context.enabled:
            await self.app(scope, receive, send)
            return
        # realip.log: this request's client while the app runs, and no longer: the context
        # goes back as it was, and the response's last message leaves without it (see
        # asgi_send_outside), so a request the server starts next begins with no client.
        token = _set(result)
        try:
            await self.app(scope, receive, asgi_send_outside(send))
        finally:
            _reset(token)
