"""PROXY protocol for uvicorn: HTTP protocol classes that decode the header before h11/httptools.

uvicorn has no PROXY protocol support. These classes strip the header from the start of each
connection and give uvicorn the client as the connection's peer, so ``scope["client"]``, the
access log and websocket connections all show it. Configure realip with the ``REALIP_*``
variables (the ``lb-tcp-proxy`` topology) and pass the class to ``--http``::

    REALIP_TOPOLOGY=lb-tcp-proxy REALIP_LB_CIDRS=10.0.0.0/16 \\
        uvicorn app:app --http realip.uvicorn:H11ProxyProtocol --no-proxy-headers

(``realip.uvicorn:HttpToolsProxyProtocol`` for httptools; the ``REALIP_*`` settings are read when
uvicorn loads the class, so a bad one stops it at start-up). Or build a class from a resolver::

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
from typing import Any, Dict, Optional, Type

from realip._extras import requires

with requires("realip.uvicorn"):
    from uvicorn.protocols.http.h11_impl import H11Protocol

from realip.proxy_protocol import DEFAULT_MAX_SIZE
from realip.proxy_server import DEFAULT_HEADER_TIMEOUT, ProxyPolicy, ProxyProtocolMixin
from realip.resolver import Resolver

# H11ProxyProtocol and HttpToolsProxyProtocol are built on first access (see __getattr__), so
# that uvicorn, which looks them up while loading its configuration, fails at start-up on a bad
# REALIP_* setting instead of on every connection.
__all__ = ["proxy_protocol_class"]

_lock = threading.Lock()
_env_classes: Dict[str, Type[Any]] = {}


class _H11Base(ProxyProtocolMixin, H11Protocol):
    """uvicorn's h11 protocol behind a PROXY protocol decoder."""

    proxy_log = logging.getLogger("uvicorn.error")


_httptools_class: Optional[Type[Any]] = None


def _httptools() -> Optional[Type[Any]]:
    # Built on first use: httptools is optional for uvicorn (its "standard" extra).
    global _httptools_class
    if _httptools_class is None:
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:
            return None

        class _HttpToolsBase(ProxyProtocolMixin, HttpToolsProtocol):
            """uvicorn's httptools protocol behind a PROXY protocol decoder."""

            proxy_log = logging.getLogger("uvicorn.error")

        _httptools_class = _HttpToolsBase
    return _httptools_class


_ENV_NAMES = {"h11": "H11ProxyProtocol", "httptools": "HttpToolsProxyProtocol"}


def _env_class(http: str) -> Type[Any]:
    with _lock:
        if http not in _env_classes:
            resolver = Resolver.from_env()
            ProxyPolicy.check_resolver(
                resolver,
                "set REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS to the load balancer's "
                "addresses",
            )
            cls = proxy_protocol_class(resolver, http)
            cls.__name__ = cls.__qualname__ = _ENV_NAMES[http]
            cls.__doc__ = f"uvicorn's {http} protocol decoding PROXY headers (policy: REALIP_*)."
            _env_classes[http] = cls
        return _env_classes[http]


def __getattr__(name: str) -> Any:
    # ``--http realip.uvicorn:H11ProxyProtocol``: uvicorn looks the class up with getattr.
    if name == "H11ProxyProtocol":
        return _env_class("h11")
    if name == "HttpToolsProxyProtocol":
        if _httptools() is None:
            raise AttributeError(
                "HttpToolsProxyProtocol needs httptools: pip install httptools "
                "(or uvicorn[standard])"
            )
        return _env_class("httptools")
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

    base = _H11Base if http == "h11" else _httptools() if http == "httptools" else None
    if base is None:
        raise ConfigError(
            f"http={http!r} must be 'h11' or 'httptools'"
            + (" (httptools is not installed)" if http == "httptools" else "")
        )
    policy = ProxyPolicy(
        resolver, required=required, untrusted=untrusted, max_size=max_size, timeout=timeout
    )
    return type(_ENV_NAMES[http], (base,), {"proxy_policy": policy, "__module__": __name__})
