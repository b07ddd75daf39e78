"""PROXY headers in front of an asyncio protocol (``realip.uvicorn`` uses this).

:class:`ProxyProtocolMixin` holds a connection back from the wrapped protocol until the policy
has decided (the event loop calls ``data_received`` when bytes arrive: nothing polls), then
hands it a :class:`ProxiedTransport` that reports the header's source as the peer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, Tuple

from realip._proxy_policy import Decision, Peer, ProxyPolicy, log, peer_tuple, show_peer
from realip.proxy_protocol import ProxyHeader

if TYPE_CHECKING:  # asyncio is imported where it is used: realip serve never needs it
    import asyncio


class SocketView:
    """A socket whose ``getpeername()`` answers the PROXY source; everything else delegates."""

    __slots__ = ("_peer", "_sock")

    def __init__(self, sock: Any, peer: Tuple[str, int]) -> None:
        self._sock = sock
        self._peer = peer

    def getpeername(self) -> Tuple[str, int]:
        return self._peer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ProxiedTransport:
    """An asyncio transport that reports the PROXY header's source as its peer.

    ``get_extra_info("peername")`` (and the socket's ``getpeername()``) give the client;
    ``get_extra_info("proxy_protocol")`` the :class:`ProxyHeader`, and
    ``get_extra_info("realip.lb_peername")`` the load balancer's own address. Everything else
    is the wrapped transport's.
    """

    __slots__ = ("_header", "_peer", "_transport")

    def __init__(self, transport: Any, peer: Peer, header: Optional[ProxyHeader]) -> None:
        self._transport = transport
        self._peer = peer
        self._header = header

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Like the wrapped transport's, with the peer replaced."""
        if name == "peername":
            return self._peer if self._peer is not None else default
        if name == "socket":
            sock = self._transport.get_extra_info("socket")
            return SocketView(sock, self._peer) if sock is not None and self._peer else sock
        if name == "proxy_protocol":
            return self._header
        if name == "realip.lb_peername":
            return self._transport.get_extra_info("peername", default)
        return self._transport.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def __repr__(self) -> str:
        return f"<ProxiedTransport peer={self._peer!r} of {self._transport!r}>"


class ProxyProtocolMixin:
    """Put before an ``asyncio.Protocol`` class to decode PROXY headers in front of it.

    The subclass sets ``proxy_policy`` (a :class:`ProxyPolicy`) or overrides
    :meth:`get_proxy_policy`. Until the header is decided the wrapped protocol sees nothing;
    then it gets ``connection_made`` with a :class:`ProxiedTransport` and the bytes after the
    header, so everything it builds (an ASGI scope, an access log line, a websocket upgrade)
    sees the client.
    """

    proxy_policy: Optional[ProxyPolicy] = None
    proxy_log: logging.Logger = log
    """Where refusals are logged (``realip.uvicorn`` uses uvicorn's error log)."""

    def get_proxy_policy(self) -> ProxyPolicy:
        """The policy for this server (``proxy_policy`` unless overridden)."""
        if self.proxy_policy is None:
            raise RuntimeError(f"{type(self).__name__} has no proxy_policy")
        return self.proxy_policy

    _realip_state = "new"  # "pending" -> "active" (wrapped protocol told) or "closed"

    def connection_made(self, transport: Any) -> None:
        """Start waiting for the PROXY header; the wrapped protocol is told later."""
        policy = self.get_proxy_policy()
        self._realip_transport = transport
        self._realip_timer: Optional[asyncio.TimerHandle] = None
        self._realip_pending = policy.connection(transport.get_extra_info("peername"))
        self._realip_state = "pending"
        if self._realip_pending.decision is not None:
            self._realip_decide(self._realip_pending.decision)
            return
        import asyncio

        loop = asyncio.get_running_loop()
        self._realip_timer = loop.call_later(policy.timeout, self._realip_timeout)

    def _realip_timeout(self) -> None:
        if self._realip_state == "pending":
            self._realip_state = "closed"
            self.proxy_log.warning(
                "PROXY protocol: closed %s: nothing decisive arrived in %gs",
                show_peer(self._realip_pending.peer),
                self._realip_pending.policy.timeout,
            )
            self._realip_transport.abort()

    def _realip_decide(self, decision: Decision) -> None:
        if self._realip_timer is not None:
            self._realip_timer.cancel()
            self._realip_timer = None
        transport = self._realip_transport
        if not decision.accepted:
            self._realip_state = "closed"
            self.proxy_log.warning("PROXY protocol: refused %s", decision.reason)
            transport.abort()
            return
        if decision.header is not None or decision.peer != _peer_of(transport):
            transport = ProxiedTransport(transport, decision.peer, decision.header)
        self._realip_state = "active"
        super().connection_made(transport)  # type: ignore[misc]
        if decision.rest:
            super().data_received(decision.rest)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        """Feed the header state until decided, then pass bytes straight through."""
        state = self._realip_state
        if state == "active":
            super().data_received(data)  # type: ignore[misc]
        elif state == "pending":
            decision = self._realip_pending.feed(data)
            if decision is not None:
                self._realip_decide(decision)
        # "closed": the connection is being aborted; drop what still arrives.

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        """Forward to the wrapped protocol only if it was ever told about the connection."""
        if self._realip_state == "active":
            super().connection_lost(exc)  # type: ignore[misc]
            return
        if self._realip_timer is not None:
            self._realip_timer.cancel()
            self._realip_timer = None
        self._realip_state = "closed"

    def eof_received(self) -> Any:
        """Forward once established; before that, an EOF closes the connection."""
        if self._realip_state == "active":
            return super().eof_received()  # type: ignore[misc]
        return None

    def pause_writing(self) -> None:
        """Forward once established."""
        if self._realip_state == "active":
            super().pause_writing()  # type: ignore[misc]

    def resume_writing(self) -> None:
        """Forward once established."""
        if self._realip_state == "active":
            super().resume_writing()  # type: ignore[misc]


def _peer_of(transport: Any) -> Peer:
    return peer_tuple(transport.get_extra_info("peername"))
