"""PROXY protocol for uvicorn: HTTP protocol classes that decode the header before h11/httptools.

uvicorn has no PROXY protocol support. These classes strip the header from the start of each
connection and give uvicorn the client as the connection's peer, so ``scope["client"]``, the
access log and websocket connections all show it. Configure realip with the ``REALIP_*``
variables (the ``lb-tcp-proxy`` topology) and pass the class to ``--http``::

    REALIP_TOPOLOGY=lb-tcp-proxy REALIP_LB_CIDRS=10.0.0.0/16 \\
        uvicorn app:app --http realip.uvicorn:H11ProxyProtocol --no-proxy-headers

(``realip.uvicorn:HttpToolsProxyProtocol`` for httptools). Or build a class from a resolver::

    from realip import Resolver
    from realip.uvicorn import proxy_protocol_class

    resolver = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=["10.0.0.0/16"])
    uvicorn.run(app, http=proxy_protocol_class(resolver), proxy_headers=False)

Only peers the resolver trusts may send a header (others are served as themselves, or refused
when they send one); a trusted peer that sends none is refused. See :mod:`realip.proxy_server`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional, Type

from uvicorn.protocols.http.h11_impl import H11Protocol

from realip.proxy_protocol import DEFAULT_MAX_SIZE
from realip.proxy_server import DEFAULT_HEADER_TIMEOUT, ProxyPolicy, ProxyProtocolMixin
from realip.resolver import Resolver

__all__ = [
    "H11ProxyProtocol",
    "proxy_protocol_class",
]  # and HttpToolsProxyProtocol, built on access

_lock = threading.Lock()
_env_policy: Optional[ProxyPolicy] = None


def _policy_from_env() -> ProxyPolicy:
    global _env_policy
    with _lock:
        if _env_policy is None:
            _env_policy = ProxyPolicy(Resolver.from_env())
        return _env_policy


class H11ProxyProtocol(ProxyProtocolMixin, H11Protocol):
    """uvicorn's h11 protocol behind a PROXY protocol decoder configured by ``REALIP_*``."""

    proxy_log = logging.getLogger("uvicorn.error")

    def get_proxy_policy(self) -> ProxyPolicy:
        """The policy of the ``REALIP_*`` environment (read once)."""
        return self.proxy_policy if self.proxy_policy is not None else _policy_from_env()


_httptools_class: Optional[Type[Any]] = None


def _httptools() -> Optional[Type[Any]]:
    # Built on first use: httptools is optional for uvicorn (its "standard" extra).
    global _httptools_class
    if _httptools_class is None:
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:
            return None

        class HttpToolsProxyProtocol(ProxyProtocolMixin, HttpToolsProtocol):
            """uvicorn's httptools protocol behind a PROXY protocol decoder (``REALIP_*``)."""

            proxy_log = logging.getLogger("uvicorn.error")
            __module__ = __name__

            def get_proxy_policy(self) -> ProxyPolicy:
                """The policy of the ``REALIP_*`` environment (read once)."""
                return self.proxy_policy if self.proxy_policy is not None else _policy_from_env()

        _httptools_class = HttpToolsProxyProtocol
    return _httptools_class


def __getattr__(name: str) -> Any:
    # ``--http realip.uvicorn:HttpToolsProxyProtocol`` looks the class up with getattr.
    if name == "HttpToolsProxyProtocol":
        cls = _httptools()
        if cls is None:
            raise AttributeError(
                "HttpToolsProxyProtocol needs httptools: pip install httptools "
                "(or uvicorn[standard])"
            )
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def proxy_protocol_class(
    resolver: Resolver,
    http: str = "h11",
    *,
    required: bool = True,
    untrusted: str = "direct",
    max_size: int = DEFAULT_MAX_SIZE,
    timeout: float = DEFAULT_HEADER_TIMEOUT,
) -> Type[Any]:
    """A uvicorn ``http=`` protocol class that decodes PROXY headers trusted by ``resolver``.

    ``http`` is ``"h11"`` or ``"httptools"``; the other options are :class:`ProxyPolicy`'s.
    Raises :class:`realip.ConfigError` for a resolver that trusts no load balancer.
    """
    from realip._errors import ConfigError

    base = H11ProxyProtocol if http == "h11" else _httptools() if http == "httptools" else None
    if base is None:
        raise ConfigError(
            f"http={http!r} must be 'h11' or 'httptools'"
            + (" (httptools is not installed)" if http == "httptools" else "")
        )
    policy = ProxyPolicy(
        resolver, required=required, untrusted=untrusted, max_size=max_size, timeout=timeout
    )
    name = f"{base.__name__}For{resolver.topology or 'Resolver'}".replace("-", "_")
    return type(name, (base,), {"proxy_policy": policy, "__module__": __name__})
