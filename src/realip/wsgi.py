"""WSGI middleware: put the real client into ``environ["REMOTE_ADDR"]``.

Flask::

    from realip import Resolver
    from realip.wsgi import RealIPMiddleware

    app.wsgi_app = RealIPMiddleware(app.wsgi_app, Resolver(trusted_proxies=["10.0.0.0/8"]))

Django (WSGI): wrap the application in ``wsgi.py``, or use :mod:`realip.django`.
The server's value stays in ``environ["realip.original_remote_addr"]`` and the
:class:`~realip.Result` in ``environ["realip.result"]``. When no client IP is found,
``REMOTE_ADDR`` is left as the server set it and the result says why.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from realip.request import (
    ORIGINAL_REMOTE_ADDR_KEY,
    RESULT_KEY,
    default_resolver,
    scheme_from_environ,
)
from realip.resolver import Resolver

StartResponse = Callable[..., Any]
WSGIApp = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]

__all__ = ["RealIPMiddleware"]


class RealIPMiddleware:
    """WSGI middleware that resolves the client IP once per request and rewrites REMOTE_ADDR."""

    __slots__ = ("_key", "_resolve", "_resolver", "app", "forwarded_proto")

    def __init__(
        self, app: WSGIApp, resolver: Optional[Resolver] = None, *, forwarded_proto: bool = False
    ) -> None:
        self.app = app
        self._resolver = resolver if resolver is not None else default_resolver()
        # Looked up once: per request, every attribute load and bound method counts.
        self._resolve = self._resolver.resolve_value
        self._key = self._resolver.wsgi_key
        self.forwarded_proto = forwarded_proto

    @property
    def resolver(self) -> Resolver:
        """The resolver this middleware uses (fixed at construction)."""
        return self._resolver

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if RESULT_KEY in environ:
            # A realip middleware further out already resolved this request.
            return self.app(environ, start_response)
        # resolve_environ(), unrolled: this runs on every request, and a call frame is a
        # noticeable share of it.
        key = self._key
        remote_addr = environ.get("REMOTE_ADDR")
        result = self._resolve(remote_addr, environ.get(key) if key else None)
        environ[ORIGINAL_REMOTE_ADDR_KEY] = remote_addr
        environ[RESULT_KEY] = result
        if result.client_ip is not None:
            environ["REMOTE_ADDR"] = result.client_ip
        if self.forwarded_proto:
            scheme = scheme_from_environ(self._resolver, environ, result)
            if scheme is not None:
                environ["wsgi.url_scheme"] = scheme
        return self.app(environ, start_response)
