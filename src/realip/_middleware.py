"""What the WSGI and ASGI middlewares share: their options and what is fixed at construction.

:class:`Middleware` takes the options (a ``Resolver``, or the keywords that build one, plus
``forwarded_proto``, ``rewrite_header`` and ``keep_headers``), builds the resolver and the
header rewrite plan once, and exposes them; :mod:`realip.wsgi` and :mod:`realip.asgi` add only
the per-request translation of their protocol.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterable, Optional, TypeVar

from realip._adapters import HeaderPlan, middleware_resolver, shortcut_options
from realip._result import Result
from realip.resolver import Resolver

__all__ = ["Middleware"]

App = TypeVar("App")


class Middleware(Generic[App]):
    """Options and construction-time state of a realip middleware (subclassed, never used alone).

    The options are those of :class:`realip.asgi.RealIPMiddleware` and
    :class:`realip.wsgi.RealIPMiddleware`, whose docstrings describe them for users.
    """

    __slots__ = ("_first", "_plan", "_resolve", "_resolver", "app", "forwarded_proto")

    _who = "realip middleware"
    """The name its messages give it (``realip.wsgi.RealIPMiddleware``, ...)."""

    def __init__(
        self,
        app: App,
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
        forwarded_proto: bool = False,
        rewrite_header: bool = True,
        keep_headers: Iterable[str] = (),
    ) -> None:
        self.app = app
        self._resolver = middleware_resolver(self._who, resolver, shortcut_options(locals()))
        # Looked up once: per request, every attribute load and bound method counts.
        self._resolve: Callable[[Any, Any], Result] = self._resolver._resolve
        self._plan = HeaderPlan(self._resolver, keep_headers) if rewrite_header else None
        self.forwarded_proto = forwarded_proto
        self._first = True  # the first request looks for a consumer that ran before realip
        self._prepare()

    def _prepare(self) -> None:
        """What the protocol's per-request work needs from the options, worked out once."""

    @property
    def resolver(self) -> Resolver:
        """The resolver this middleware uses (fixed at construction)."""
        return self._resolver

    @property
    def rewrite_header(self) -> bool:
        """Whether client-address headers are rewritten to what realip verified."""
        return self._plan is not None
