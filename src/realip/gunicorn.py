"""PROXY protocol with gunicorn: its own decoder, plus what it lacks, as a config module.

gunicorn decodes PROXY headers itself (``--proxy-protocol``, from the addresses in
``--proxy-allow-from``; v1 and v2 since gunicorn 24.1, v1 only before) and puts the client in
``REMOTE_ADDR``, where realip's WSGI middleware finds it. Gaps remain, measured with gunicorn
27.0.1 behind a real haproxy: on a keep-alive connection of the default ``gthread`` worker only
the *first* request gets the client (the following ones show the load balancer); a trusted peer
that sends no header is served as if it were the client, where the specification says a
receiver must not guess; a LOCAL header (a health check) leaves ``REMOTE_ADDR`` empty instead of
the real peer; and on a dual-stack listener (``--bind [::]:PORT``) IPv4 peers arrive as
``::ffff:a.b.c.d``, which gunicorn never matches with an IPv4 range. Load this module as gunicorn
configuration to close them, with the trusted ranges taken from ``REALIP_*``::

    REALIP_TOPOLOGY=lb-tcp-proxy REALIP_LB_CIDRS=10.0.0.0/16 \\
        gunicorn -c python:realip.gunicorn app:app

It sets ``proxy_protocol`` (``"auto"``: v1 and v2), ``proxy_allow_ips`` to exactly the IP
networks realip trusts (each IPv4 range also in its ``::ffff:`` form), the :func:`pre_request`
hook, and the :func:`on_starting` hook, which stops gunicorn at start-up with a worker class the
hook cannot guard (``asgi``, ``tornado``, ``gevent_pywsgi``, third-party workers). A
configuration that trusts no load balancer stops it too (:class:`realip.ConfigError`). With your
own configuration file, import the hooks instead::

    from realip.gunicorn import on_starting, pre_request  # noqa: F401  (found by name)
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional, Tuple

from realip._errors import ConfigError
from realip._extras import requires
from realip._networks import UNIX
from realip.proxy_server import ProxyPolicy
from realip.resolver import Resolver

with requires("realip.gunicorn"):
    # A gunicorn configuration module means nothing without gunicorn.
    import gunicorn  # type: ignore[import-untyped]

__all__ = ["WorkerClassError", "on_starting", "pre_request", "proxy_allow_ips", "proxy_protocol"]

_lock = threading.Lock()
_resolver: Optional[Resolver] = None

_ENV_FIX = "set REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS to the load balancer's addresses"


def _env_resolver() -> Resolver:
    global _resolver
    with _lock:
        if _resolver is None:
            resolver = Resolver.from_env()
            # The same check (and wording) as realip.uvicorn and realip serve: a resolver that
            # trusts no load balancer would leave gunicorn's default (loopback) as the senders.
            ProxyPolicy.check_resolver(resolver, _ENV_FIX)
            _resolver = resolver
        return _resolver


def _gunicorn_version() -> Tuple[int, ...]:
    return tuple(int(part) for part in gunicorn.version_info[:2])


# gunicorn 24.1 added the v1/v2/auto mode and CIDRs in proxy_allow_ips; before, the setting is a
# switch (v1 only) and the list takes exact addresses compared as text.
_OLD_GUNICORN = _gunicorn_version() < (24, 1)


def allow_list(resolver: Resolver) -> str:
    """gunicorn's ``proxy_allow_ips`` for the peers ``resolver`` trusts: its IP networks only.

    The ``unix`` preset adds nothing (gunicorn never checks Unix-socket peers; the hook does),
    and every IPv4 network also appears as its IPv4-mapped IPv6 network, the form an IPv4 peer
    has on a dual-stack (``[::]``) listener: realip judges such a peer as its IPv4 address, so
    gunicorn must too. Empty when no IP network is trusted (no TCP peer may send a header).
    """
    items: List[str] = []
    for label, net in resolver.networks.entries:
        if label == UNIX:
            continue
        items.append(str(net))
        if net.version == 4:
            # Spelled out, not str(IPv6Network): Python 3.13 writes a mapped address dotted
            # (::ffff:10.0.0.0), earlier ones in hex (::ffff:a00:0); gunicorn parses both.
            items.append(f"::ffff:{net.network_address}/{96 + net.prefixlen}")
    return ",".join(dict.fromkeys(items))


def _allow_ips() -> str:
    # Older releases take exact addresses only and refuse a CIDR at start-up: there gunicorn
    # accepts the header from any peer and pre_request enforces realip's ranges instead.
    resolver = _env_resolver()
    return "*" if _OLD_GUNICORN else allow_list(resolver)


proxy_protocol: Any = True if _OLD_GUNICORN else "auto"
"""gunicorn setting: decode v1 and v2 headers (``"auto"``; ``True``, v1 only, before 24.1)."""
proxy_allow_ips = _allow_ips()
"""gunicorn setting: the peers realip trusts (``REALIP_*``) are the ones that may send one."""


class WorkerClassError(ConfigError, RuntimeError):
    """A gunicorn worker class that :func:`pre_request` cannot guard (gunicorn prints it)."""


# Worker classes that parse HTTP with gunicorn's own parser and call pre_request with a request
# that carries the real peer (peer_addr) and the connection's reader (unreader).
_GUARDED = (
    "gunicorn.workers.sync.SyncWorker",
    "gunicorn.workers.gthread.ThreadWorker",
    "gunicorn.workers.base_async.AsyncWorker",  # gevent, eventlet
)
# Subclasses of the above that hand connections to another HTTP server (gevent's pywsgi).
_UNGUARDED = ("gunicorn.workers.ggevent.GeventPyWSGIWorker",)


def check_worker_class(worker_class: Any) -> None:
    """Raise :class:`WorkerClassError` for a worker class :func:`pre_request` cannot guard.

    gunicorn's ``asgi`` worker calls the hook without the connection's peer, ``tornado`` and
    ``gevent_pywsgi`` parse HTTP (and skip the PROXY header) with another server, and other
    packages' workers (uvicorn's) ignore gunicorn's PROXY settings: a trusted load balancer
    sending no header would be served as the client, or no header would be decoded at all.
    """
    names = [f"{cls.__module__}.{cls.__qualname__}" for cls in getattr(worker_class, "__mro__", ())]
    if any(name in _GUARDED for name in names) and not any(n in _UNGUARDED for n in names):
        return
    shown = names[0] if names else repr(worker_class)
    raise WorkerClassError(
        f"realip.gunicorn cannot enforce PROXY protocol trust with the worker class {shown}: "
        "use -k sync, gthread, gevent or eventlet (for an ASGI app, run uvicorn with "
        "--http realip.uvicorn:H11ProxyProtocol, see docs/how-to/proxy-protocol.md)",
        "worker_class",
    )


def on_starting(server: Any) -> None:
    """gunicorn hook: refuse to start with a worker class the :func:`pre_request` hook cannot
    guard (see :func:`check_worker_class`)."""
    check_worker_class(getattr(server, "worker_class", None))


_NO_PEER = object()


def _forbidden(host: object) -> BaseException:
    from gunicorn.http.errors import ForbiddenProxyRequest  # type: ignore[import-untyped]

    return ForbiddenProxyRequest(str(host))  # type: ignore[no-any-return]


def pre_request(worker: Any, req: Any) -> None:
    """gunicorn hook: keep the PROXY client for every request of a connection; refuse a
    connection whose header came from a peer realip does not trust, or a trusted load balancer
    that sent none (403, connection closed)."""
    resolver = _env_resolver()
    peer = getattr(req, "peer_addr", _NO_PEER)
    if peer is _NO_PEER:
        # A worker that does not say who the peer is (gunicorn's asgi worker, when the
        # on_starting check was not installed): nothing can be verified, so nothing is served.
        worker.log.error(
            "realip: this gunicorn worker does not report the connection's peer, so PROXY "
            "protocol trust cannot be checked; refused (use -k sync, gthread or gevent)"
        )
        raise _forbidden("unknown peer")
    # AF_INET/AF_INET6 peers are (host, port, ...); a Unix-socket peer is a str (often "").
    host: Any = peer[0] if isinstance(peer, (tuple, list)) and peer else peer
    # Every request of one connection shares its unreader; the header comes on the first.
    carrier = getattr(req, "unreader", None)
    carried = getattr(carrier, "realip_proxy_protocol_info", None)
    info = getattr(req, "proxy_protocol_info", None) or carried
    if info:
        if not carried and not resolver.trusts(host):
            # gunicorn let the header through (its list is "*" before 24.1, or a configuration
            # file set its own): only a peer realip trusts may name the client.
            worker.log.warning(
                "realip: %s sent a PROXY header but is not a trusted load balancer; refused",
                host,
            )
            raise _forbidden(host)
        if carrier is not None:
            carrier.realip_proxy_protocol_info = info
        # LOCAL (a health check) and UNSPEC carry no address: the spec says to use the real
        # endpoints, where gunicorn would set REMOTE_ADDR to None.
        req.proxy_protocol_info = info if info.get("client_addr") else None
        return
    if isinstance(host, str) and host and resolver.trusts(host):
        worker.log.warning(
            "realip: %s is a trusted load balancer but sent no PROXY header; refused "
            "(is PROXY protocol on at the load balancer?)",
            host,
        )
        raise _forbidden(host)
