"""PROXY protocol with gunicorn: its own decoder, plus what it lacks, as a config module.

gunicorn decodes PROXY headers itself (``--proxy-protocol``, from the addresses in
``--proxy-allow-from``; v1 and v2 in gunicorn 27, v1 only in older releases) and puts the client
in ``REMOTE_ADDR``, where realip's WSGI middleware finds it. Three gaps remain, measured with gunicorn 27.0.1 behind a real haproxy: on a keep-alive
connection of the default ``gthread`` worker only the *first* request gets the client (the
following ones show the load balancer); a trusted peer that sends no header is served as if it
were the client, where the specification says a receiver must not guess; and a LOCAL header (a
health check) leaves ``REMOTE_ADDR`` empty instead of the real peer. Load this module as gunicorn
configuration to close them, with the trusted ranges taken from ``REALIP_*``::

    REALIP_TOPOLOGY=lb-tcp-proxy REALIP_LB_CIDRS=10.0.0.0/16 \\
        gunicorn -c python:realip.gunicorn app:app

It sets ``proxy_protocol`` (``"auto"``: v1 and v2), ``proxy_allow_ips`` to the resolver's trusted ranges and the
:func:`pre_request` hook. With your own configuration file, import the hook instead::

    from realip.gunicorn import pre_request  # noqa: F401  (gunicorn finds it by name)
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from realip._extras import requires
from realip.resolver import Resolver

with requires("realip.gunicorn"):
    # A gunicorn configuration module means nothing without gunicorn; without this import it
    # would load and take gunicorn for an old release.
    import gunicorn  # type: ignore[import-untyped]  # noqa: F401

__all__ = ["pre_request", "proxy_allow_ips", "proxy_protocol"]

_lock = threading.Lock()
_resolver: Optional[Resolver] = None


def _env_resolver() -> Resolver:
    global _resolver
    with _lock:
        if _resolver is None:
            _resolver = Resolver.from_env()
        return _resolver


def _allow_ips() -> str:
    # gunicorn 27 takes a comma-separated list of addresses and CIDRs; presets ("cgnat") are
    # realip's own names, so the resolved networks are given instead. Older releases take exact
    # addresses only and refuse a CIDR at start-up: there gunicorn accepts the header from any
    # peer and pre_request enforces realip's ranges instead.
    if _OLD_GUNICORN:
        return "*"
    networks = [str(net) for _, net in _env_resolver().networks.entries]
    return ",".join(networks) if networks else "127.0.0.1,::1"


def _proxy_protocol_mode() -> Any:
    # gunicorn 27 takes a mode (off, v1, v2, auto); older releases a switch and v1 only.
    try:
        from gunicorn.config import ProxyProtocol  # type: ignore[import-untyped]
    except ImportError:
        return True
    validator = getattr(ProxyProtocol, "validator", None)
    return True if getattr(validator, "__name__", "") == "validate_bool" else "auto"


proxy_protocol = _proxy_protocol_mode()
_OLD_GUNICORN = proxy_protocol is True
"""gunicorn setting: decode v1 and v2 headers (``"auto"``; ``True``, v1 only, on old gunicorn)."""
proxy_allow_ips = _allow_ips()
"""gunicorn setting: the peers realip trusts (``REALIP_*``) are the ones that may send one."""


def pre_request(worker: Any, req: Any) -> None:
    """gunicorn hook: keep the PROXY client for every request of a connection; refuse a
    connection from a trusted load balancer that sent no header (403, connection closed)."""
    # Every request of one connection shares its unreader; the header comes on the first.
    carrier = getattr(req, "unreader", None)
    info = getattr(req, "proxy_protocol_info", None) or getattr(
        carrier, "realip_proxy_protocol_info", None
    )
    if info:
        peer = getattr(req, "peer_addr", None)
        host = peer[0] if isinstance(peer, (tuple, list)) and peer else None
        # proxy_allow_ips is "*" on old gunicorn (see _allow_ips): the first request of a
        # connection is where the header arrived, and only a trusted peer may send one.
        if (
            _OLD_GUNICORN
            and carrier is not None
            and not getattr(carrier, "realip_proxy_protocol_info", None)
            and (host is None or not _env_resolver().trusts(host))
        ):
            from gunicorn.http.errors import (  # type: ignore[import-untyped]
                ForbiddenProxyRequest,
            )

            worker.log.warning(
                "realip: %s sent a PROXY header but is not a trusted load balancer; refused",
                host,
            )
            raise ForbiddenProxyRequest(host)
        if carrier is not None:
            carrier.realip_proxy_protocol_info = info
        # LOCAL (a health check) and UNSPEC carry no address: the spec says to use the real
        # endpoints, where gunicorn would set REMOTE_ADDR to None.
        req.proxy_protocol_info = info if info.get("client_addr") else None
        return
    peer = getattr(req, "peer_addr", None)
    host = peer[0] if isinstance(peer, (tuple, list)) and peer else None
    if host is not None and _env_resolver().trusts(host):
        from gunicorn.http.errors import ForbiddenProxyRequest

        worker.log.warning(
            "realip: %s is a trusted load balancer but sent no PROXY header; refused "
            "(is PROXY protocol on at the load balancer?)",
            host,
        )
        raise ForbiddenProxyRequest(host)
