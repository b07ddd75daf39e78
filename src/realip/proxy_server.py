"""Server side of the PROXY protocol: who may send the header, and what the peer becomes.

A PROXY header names the client, so it is only believed from a peer that the resolver trusts as
the load balancer (:meth:`realip.Resolver.trusts`, i.e. the same ``trusted_proxies`` or topology
ranges): anyone else could write their own. Per connection, :class:`ProxyPolicy` decides:

=====================  ===========================  =========================================
peer                   sends a PROXY header          sends none
=====================  ===========================  =========================================
trusted (the LB)       accepted: the peer becomes    refused when ``required`` (the default:
                       the header's source           the spec says a receiver must not guess);
                                                     else served as the peer
not trusted            refused (a forged header)     served as itself (its address is true),
                                                     or refused with ``untrusted="refuse"``
=====================  ===========================  =========================================

LOCAL headers (health checks), v1 ``UNKNOWN`` and v2 ``UNSPEC`` are accepted from a trusted
peer and keep the real peer, as the spec says. A malformed header refuses the connection.

:class:`ProxyPolicy` is sans-IO (:mod:`realip._proxy_policy`); :func:`accept_socket` runs it on
a blocking socket (:mod:`realip._proxy_sockets`); :class:`ProxiedTransport` and
:class:`ProxyProtocolMixin` put it in front of an asyncio protocol (:mod:`realip._proxy_asyncio`,
``realip.uvicorn`` uses them). This module is their public face.
"""

from __future__ import annotations

from realip._proxy_asyncio import ProxiedTransport, ProxyProtocolMixin
from realip._proxy_policy import DEFAULT_HEADER_TIMEOUT, Decision, ProxyConnection, ProxyPolicy
from realip._proxy_sockets import accept_socket
from realip.proxy_protocol import header_report

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "Decision",
    "ProxiedTransport",
    "ProxyConnection",
    "ProxyPolicy",
    "ProxyProtocolMixin",
    "accept_socket",
    "header_report",
]
