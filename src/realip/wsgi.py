"""WSGI middleware: put the real client into ``environ["REMOTE_ADDR"]``.

Flask::

    from realip.wsgi import RealIPMiddleware

    app.wsgi_app = RealIPMiddleware(app.wsgi_app, trusted_proxies=["10.0.0.0/8"])

Django (WSGI): wrap the application in ``wsgi.py``, or use :mod:`realip.django`.
The server's value stays in ``environ["realip.original_remote_addr"]`` and the
:class:`~realip.Result` in ``environ["realip.result"]``. When no client IP is found,
``REMOTE_ADDR`` is left as the server set it and the result says why.

The header realip read is rewritten to hold only what realip verified (the client's entry and
the trusted proxies' entries; removed when nothing was verified), so Bottle's
``request.remote_addr``, WebOb's ``client_addr`` and Falcon's ``access_route`` find the
resolved client too; the header as it arrived stays in ``environ["realip.original_header"]``.
``rewrite_header=False`` turns this off.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from realip import _context
from realip._context import current
from realip.request import (
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    _middleware_resolver,
    _rewrite_environ,
    _scheme_from_environ,
    _strip_key,
)
from realip.resolver import _SHORT, Resolver

StartResponse = Callable[..., Any]
WSGIApp = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]

__all__ = ["RealIPMiddleware"]

_set = current.set
_count = str.count  # unbound: no method lookup per request; raises TypeError on a non-str


class RealIPMiddleware:
    """WSGI middleware that resolves the client IP once per request and rewrites REMOTE_ADDR.

    Give it a ``resolver``, or the shortcuts that build one (``trusted_proxies=`` or
    ``topology=`` with ``pod_cidrs=``/``node_cidrs=``/``lb_cidrs=``, and ``header=``); with
    neither, the ``REALIP_*`` environment variables configure it.
    """

    __slots__ = (
        "_key",
        "_resolve",
        "_resolver",
        "_rewrite",
        "_strip",
        "app",
        "forwarded_proto",
    )

    def __init__(
        self,
        app: WSGIApp,
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
            "realip.wsgi.RealIPMiddleware",
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
        self._key = self._resolver.wsgi_key
        self._rewrite = rewrite_header
        # A resolver that reads no header still drops the one frameworks read (see _strip_name).
        self._strip = _strip_key(self._resolver) if self._key is None and rewrite_header else None
        self.forwarded_proto = forwarded_proto

    @property
    def resolver(self) -> Resolver:
        """The resolver this middleware uses (fixed at construction)."""
        return self._resolver

    @property
    def rewrite_header(self) -> bool:
        """Whether the header read is rewritten to its verified part (fixed at construction)."""
        return self._rewrite

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if RESULT_KEY in environ:
            # A realip middleware further out already resolved this request.
            return self.app(environ, start_response)
        # resolve_environ(), unrolled: this runs on every request, and a call frame is a
        # noticeable share of it.
        key = self._key
        remote_addr = environ.get("REMOTE_ADDR")
        value = environ.get(key) if key else None
        result = self._resolve(remote_addr, value)
        environ[ORIGINAL_REMOTE_ADDR_KEY] = remote_addr
        environ[RESULT_KEY] = result
        ip = result.client_ip
        if ip is not None:
            environ["REMOTE_ADDR"] = ip
        if value is None:
            if self._strip is not None and self._strip in environ:
                # A resolver that reads no header: X-Forwarded-For holds nothing verified.
                _rewrite_environ(self._resolver, environ, result)
        elif self._rewrite:
            # Rewritten only when there is something to drop: most requests have exactly the
            # client's entry and the proxies' (fewer commas than verified entries; a peer answer
            # has no proxies, so any header is dropped). A long header is checked from the
            # right instead (bounded), not counted whole.
            try:
                drop = (
                    ip is None or len(value) > _SHORT or _count(value, ",") >= len(result.proxies)
                )
            except TypeError:  # not a str: a server that breaks PEP 3333; let the slow path judge
                drop = True
            if drop:
                _rewrite_environ(self._resolver, environ, result)
        if self.forwarded_proto:
            scheme = _scheme_from_environ(self._resolver, environ, result)
            if scheme is not None:
                environ["wsgi.url_scheme"] = scheme
        # For realip.log's filter. Not reset: the response body is iterated (and the server's
        # access line written) after this call returns, in the same thread; the next request
        # in the thread sets it again.
        if _context.enabled:
            _set(result)
        return self.app(environ, start_response)
