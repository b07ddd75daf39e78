"""WSGI middleware: put the real client into ``environ["REMOTE_ADDR"]``.

Flask::

    from realip.wsgi import RealIPMiddleware

    app.wsgi_app = RealIPMiddleware(app.wsgi_app, trusted_proxies=["10.0.0.0/8"])

Django (WSGI): wrap the application in ``wsgi.py``, or use :mod:`realip.django`.
The server's value stays in ``environ["realip.original_remote_addr"]`` and the
:class:`~realip.Result` in ``environ["realip.result"]``. When no client IP is found,
``REMOTE_ADDR`` is left as the server set it and the result says why.

Every client-address header (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``, ... see
:data:`realip._client_headers.CLIENT_HEADERS`) is made to hold only what realip verified: the
header realip read keeps the client's entry and the trusted proxies' entries, every other one is
removed. So Bottle's ``request.remote_addr``, WebOb's ``client_addr``, Falcon's ``access_route``
and sentry-sdk find the resolved client too; the header read as it arrived stays in
``environ["realip.original_header"]``, every changed one in ``environ["realip.original_headers"]``.
``keep_headers`` names headers to leave alone; ``rewrite_header=False`` turns the rewrite off.

A server that copied an ``X-Forwarded-For`` entry into ``REMOTE_ADDR`` (waitress
``trusted_proxy``, mod_wsgi ``--trust-proxy``) fails closed with a one-time
:class:`~realip.RealIPWarning`: turn the server's proxy handling off.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable

from realip import _context
from realip._adapters import (
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    checked_environ_result,
    rewrite_environ,
    scheme_from_environ,
)
from realip._context import wsgi_with_context
from realip._middleware import Middleware
from realip._wiring import warn_if_late, wsgi_marks
from realip.resolver import _SHORT

StartResponse = Callable[..., Any]
WSGIApp = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]

__all__ = ["RealIPMiddleware"]

_count = str.count  # unbound: no method lookup per request; raises TypeError on a non-str


class RealIPMiddleware(Middleware[WSGIApp]):
    """WSGI middleware that resolves the client IP once per request and rewrites REMOTE_ADDR.

    Give it a ``resolver``, or the options that build one (``trusted_proxies=`` or
    ``topology=`` with ``pod_cidrs=``/``node_cidrs=``/``lb_cidrs=``, ``header=``, ...); with
    neither, the ``REALIP_*`` environment variables configure it. ``keep_headers`` names
    client-address headers to leave as the server sent them; ``rewrite_header=False`` leaves
    every header alone.
    """

    __slots__ = ("_key", "_reads_xff", "_watch")

    _who = "realip.wsgi.RealIPMiddleware"

    def _prepare(self) -> None:
        # The environ key read, and every key whose presence sends a request down the rare path.
        self._key = self._resolver.wsgi_key
        self._reads_xff = self._key == "HTTP_X_FORWARDED_FOR"
        self._watch = self._plan.drop_keys | {RESULT_KEY} if self._plan is not None else None

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # One C-level pass over the environ's keys answers two questions: did a realip
        # middleware further out resolve this request already, and did a client-address header
        # arrive that the rewrite removes? The common request has neither.
        watch = self._watch
        rare = RESULT_KEY in environ if watch is None else not watch.isdisjoint(environ)
        if rare and RESULT_KEY in environ:
            # A realip middleware further out already resolved this request.
            return self.app(environ, start_response)
        if self._first:
            self._first = False
            warn_if_late(self._who, wsgi_marks(environ))
        # resolve_environ(), unrolled: this runs on every request, and a call frame is a
        # noticeable share of it.
        key = self._key
        remote_addr = environ.get("REMOTE_ADDR")
        value = environ.get(key) if key else None
        result = self._resolve(remote_addr, value)
        # A server that copied an entry into REMOTE_ADDR (waitress trusted_proxy, mod_wsgi
        # --trust-proxy): the peer is then the rightmost entry. Only an untrusted peer is judged
        # (see checked_environ_result), so a proxied request skips it: the substring test cost
        # ~6 us on (e)'s 8 KiB header (WSGI (e)/(b) 3.9x -> 2.0x).
        if not result.proxies:
            xff = value if self._reads_xff else environ.get("HTTP_X_FORWARDED_FOR")
            # A short header: one substring test first; a long one: a bounded look from the right.
            if (
                xff.__class__ is str
                and remote_addr.__class__ is str
                and (len(xff) > _SHORT or remote_addr in xff)
            ):
                result = checked_environ_result(environ, remote_addr, xff, result)
        environ[ORIGINAL_REMOTE_ADDR_KEY] = remote_addr
        environ[RESULT_KEY] = result
        ip = result.client_ip
        if ip is not None and ip is not remote_addr:  # the direct request: already there
            environ["REMOTE_ADDR"] = ip
        if self.forwarded_proto:
            # From the headers as they arrived, before the rewrite.
            scheme = scheme_from_environ(self._resolver, environ, result)
            if scheme is not None:
                environ["wsgi.url_scheme"] = scheme
        plan = self._plan
        if plan is not None:
            # The header read is rewritten only when there is something to drop: most requests
            # have exactly the client's entry and the proxies' (fewer commas than verified
            # entries; a peer answer has no proxies, so any header is dropped). A long header is
            # checked from the right instead (bounded), not counted whole. The others: ``rare``.
            drop = False
            if value is not None:
                try:
                    drop = (
                        ip is None
                        or len(value) > _SHORT
                        or _count(value, ",") >= len(result.proxies)
                    )
                except TypeError:  # not a str: a server that breaks PEP 3333; let it be judged
                    drop = True
            if drop or rare:
                rewrite_environ(plan, environ, result, value, rare)
        if _context.enabled:
            # realip.log: this request's client until the server closes the response.
            return wsgi_with_context(self.app, environ, start_response, result)
        return self.app(environ, start_response)
