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

:class:`ProxyPolicy` is sans-IO; :class:`ProxiedTransport` and :class:`ProxyProtocolMixin` put
it in front of an asyncio protocol (``realip.uvicorn`` uses them).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Tuple

from realip.proxy_protocol import (
    DEFAULT_MAX_SIZE,
    ProxyHeader,
    ProxyProtocolError,
    detect,
    parse,
)
from realip.resolver import Resolver

if TYPE_CHECKING:  # asyncio is imported where it is used: realip serve never needs it
    import asyncio

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

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a new connection may take to send its first bytes before it is closed."""

Peer = Optional[Tuple[str, int]]
_log = logging.getLogger("realip.proxy_protocol")


class Decision(NamedTuple):
    """What to do with a connection, decided from its first bytes."""

    accepted: bool
    """False: close the connection (``reason`` says why)."""
    peer: Peer
    """The peer the server must report: the header's source, or the real peer."""
    header: Optional[ProxyHeader]
    """The PROXY header received, if any."""
    rest: bytes
    """The connection's bytes after the header: hand them to the HTTP parser."""
    reason: str
    """One sentence for logs."""


def _peer_tuple(peer: Any) -> Peer:
    # (host, port) of an AF_INET/AF_INET6 peer name (which has 2 or 4 items); None otherwise.
    if isinstance(peer, (tuple, list)) and len(peer) >= 2 and isinstance(peer[1], int):
        return (str(peer[0]), peer[1])
    return None


def _show(peer: Any) -> str:
    if isinstance(peer, (tuple, list)) and peer:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host and len(peer) > 1 else host
    return "unix socket" if not peer else str(peer)[:64]


class ProxyPolicy:
    """Who may send a PROXY header and what happens without one; build one per server.

    ``required`` (default True): a trusted peer must send a header. ``untrusted``: ``"direct"``
    (default) serves other peers as themselves, ``"refuse"`` closes their connections.
    ``max_size`` bounds a v2 header; ``timeout`` is how long a server waits for it.
    """

    __slots__ = ("max_size", "required", "resolver", "timeout", "untrusted", "warnings")

    def __init__(
        self,
        resolver: Resolver,
        *,
        required: bool = True,
        untrusted: str = "direct",
        max_size: int = DEFAULT_MAX_SIZE,
        timeout: float = DEFAULT_HEADER_TIMEOUT,
    ) -> None:
        from realip._errors import ConfigError

        if untrusted not in ("direct", "refuse"):
            raise ConfigError(f"untrusted={untrusted!r} must be 'direct' or 'refuse'")
        if not isinstance(max_size, int) or not 16 <= max_size <= 16 + 0xFFFF:
            raise ConfigError(f"max_size={max_size!r} must be an int between 16 and 65551")
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigError(f"timeout={timeout!r} must be a positive number of seconds")
        self.check_resolver(resolver)
        self.resolver = resolver
        self.warnings = resolver.warnings
        """The resolver's configuration warnings (about whom it trusts), for banners."""
        self.required = bool(required)
        self.untrusted = untrusted
        self.max_size = max_size
        self.timeout = float(timeout)

    @staticmethod
    def check_resolver(
        resolver: Resolver, fix: str = "use Resolver.for_topology('lb-tcp-proxy', lb_cidrs=[...])"
    ) -> None:
        """Raise :class:`realip.ConfigError` for a resolver that trusts no PROXY sender.

        ``fix`` says how to configure one in the caller's terms (keywords, ``REALIP_*``
        variables, command-line flags). Every PROXY front end (this class, ``realip.gunicorn``,
        ``realip serve``) checks through here, so none of them falls back to a default sender.
        """
        from realip._errors import ConfigError

        if resolver.networks.empty:
            raise ConfigError(
                "PROXY protocol needs the load balancer's addresses to be trusted, and this "
                f"configuration trusts nothing; {fix}"
            )

    def __repr__(self) -> str:
        return (
            f"ProxyPolicy({self.resolver!r}, required={self.required}, "
            f"untrusted={self.untrusted!r})"
        )

    def describe(self) -> str:
        """One line for logs and banners."""
        who = ", ".join(dict.fromkeys(label for label, _ in self.resolver.networks.entries))
        return (
            f"PROXY protocol {'required' if self.required else 'optional'} from [{who}], "
            f"other peers {'refused' if self.untrusted == 'refuse' else 'served as themselves'}"
        )

    def connection(self, peer: Any) -> ProxyConnection:
        """The per-connection state for a new connection from ``peer`` (``(host, port)``)."""
        return ProxyConnection(self, peer)


class ProxyConnection:
    """One connection's PROXY header state: :meth:`feed` it bytes until it decides."""

    __slots__ = ("_buffer", "decision", "peer", "policy", "trusted")

    def __init__(self, policy: ProxyPolicy, peer: Any) -> None:
        self.policy = policy
        self.peer: Peer = _peer_tuple(peer)
        self.trusted = policy.resolver.trusts(self.peer[0] if self.peer else None)
        self._buffer = b""
        self.decision: Optional[Decision] = None
        """Set once decided; already set at connection time for a refused untrusted peer."""
        if not self.trusted and policy.untrusted == "refuse":
            self.decision = self._refuse(
                f"peer {_show(self.peer)} is not a trusted load balancer (untrusted='refuse')"
            )

    def _refuse(self, reason: str) -> Decision:
        return Decision(False, self.peer, None, b"", reason)

    def feed(self, data: bytes) -> Optional[Decision]:
        """Add bytes received; returns the decision once made, None while more are needed."""
        if self.decision is not None:
            return self.decision
        buf = self._buffer + bytes(data)
        kind = detect(buf)
        if kind is None:
            self._buffer = buf
            return None
        shown = _show(self.peer)
        if kind == 0:
            if self.trusted and self.policy.required:
                decision = self._refuse(
                    f"peer {shown} is a trusted load balancer but sent no PROXY header, "
                    "and PROXY protocol is required (is it turned on at the load balancer?)"
                )
            else:
                why = "trusted, no PROXY header" if self.trusted else "not a load balancer"
                decision = Decision(True, self.peer, None, buf, f"peer {shown} ({why})")
        elif not self.trusted:
            decision = self._refuse(
                f"peer {shown} sent a PROXY header but is not a trusted load balancer: "
                "refused, it could name any client"
            )
        else:
            try:
                header = parse(buf, max_size=self.policy.max_size)
            except ProxyProtocolError as exc:
                decision = self._refuse(f"peer {shown} sent an invalid PROXY header: {exc}")
            else:
                if header is None:
                    self._buffer = buf
                    return None
                client = header.client
                if client is None:
                    peer = self.peer
                    why = f"v{header.version} {header.command} header without a client: peer kept"
                else:
                    peer, why = client, f"PROXY v{header.version} from {shown}"
                decision = Decision(True, peer, header, buf[header.size :], why)
        self._buffer = b""
        self.decision = decision
        return decision


def accept_socket(sock: Any, policy: ProxyPolicy, peer: Any = None) -> Decision:
    """Decide a blocking socket's PROXY header and consume exactly its bytes from the socket.

    For thread-per-connection servers (``realip serve``, socketserver): the bytes are peeked
    (``MSG_PEEK``) until the policy decides, then only the header is read, so the HTTP parser
    finds the request where it starts. Waits at most ``policy.timeout`` overall; ``decision.rest``
    is always empty here (the bytes stay in the socket).
    """
    import socket as _socket
    import time

    if peer is None:
        try:
            peer = sock.getpeername()
        except OSError:
            peer = None
    state = policy.connection(peer)
    if state.decision is not None:
        return state.decision
    deadline = time.monotonic() + policy.timeout
    previous = sock.gettimeout()
    seen = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return state._refuse(f"{_show(state.peer)} sent nothing decisive in time")
            sock.settimeout(left)
            try:
                data = sock.recv(policy.max_size, _socket.MSG_PEEK)
            except (TimeoutError, _socket.timeout):
                continue  # the deadline check above gives the reason
            except (OSError, ValueError) as exc:
                return state._refuse(f"{_show(state.peer)}: {type(exc).__name__} while waiting")
            if not data:
                return state._refuse(f"{_show(state.peer)} closed before a request")
            if data == seen:
                # Nothing new yet: MSG_PEEK returns at once while bytes are queued.
                time.sleep(0.005)
                continue
            seen = data
            fresh = ProxyConnection(policy, peer)
            decision = fresh.feed(data)
            if decision is None:
                if len(data) >= policy.max_size:
                    return state._refuse(f"{_show(state.peer)}: PROXY header too long")
                continue
            if decision.accepted and decision.header is not None:
                _drain(sock, decision.header.size)
            return decision._replace(rest=b"")
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)


def _drain(sock: Any, count: int) -> None:
    while count > 0:
        chunk = sock.recv(count)
        if not chunk:
            raise OSError("connection closed inside the PROXY header")
        count -= len(chunk)


class _SocketView:
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
            return _SocketView(sock, self._peer) if sock is not None and self._peer else sock
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
    proxy_log: logging.Logger = _log
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
                _show(self._realip_pending.peer),
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
    return _peer_tuple(transport.get_extra_info("peername"))


def header_report(header: Optional[ProxyHeader]) -> Optional[Dict[str, Any]]:
    """A PROXY header as a JSON-ready dict (for ``realip serve``'s report), or None."""
    if header is None:
        return None
    out: Dict[str, Any] = {
        "version": header.version,
        "command": header.command,
        "family": header.family,
        "transport": header.transport,
        "source": header.source,
        "source_port": header.source_port,
        "destination": header.destination,
        "destination_port": header.destination_port,
        "size": header.size,
        "tlvs": [
            {"type": f"0x{t.type:02X}", "name": t.name, "hex": t.value[:256].hex()}
            for t in header.tlvs
        ],
    }
    named: Dict[str, Any] = {
        "alpn": header.alpn.decode("ascii", "backslashreplace") if header.alpn else None,
        "authority": header.authority,
        "crc32c": f"0x{header.crc32c:08X}" if header.crc32c is not None else None,
        "unique_id": header.unique_id.decode("ascii", "backslashreplace")
        if header.unique_id
        else None,
        "aws_vpce_id": header.aws_vpce_id,
        "azure_link_id": header.azure_link_id,
        "gcp_psc_id": header.gcp_psc_id,
        "netns": header.netns,
    }
    ssl = header.ssl
    if ssl is not None:
        named["ssl"] = {
            "client": ssl.client,
            "verify": ssl.verify,
            "version": ssl.version,
            "cipher": ssl.cipher,
            "cn": ssl.cn,
        }
    out.update({k: v for k, v in named.items() if v is not None})
    return out


# -- realip serve ------------------------------------------------------------------------------


def add_serve_options(parser: Any) -> None:
    """Add ``--proxy-protocol`` to the ``realip serve`` argument parser."""
    parser.add_argument(
        "--proxy-protocol",
        nargs="?",
        const="required",
        choices=("required", "optional"),
        default=None,
        help="decode a PROXY protocol (v1/v2) header at the start of each connection, from the "
        "peers the configuration trusts (e.g. --topology lb-tcp-proxy --lb-cidrs ...); "
        "'optional' also serves trusted peers that send none (default: required)",
    )


def serve_policy(args: Any, resolver: Resolver) -> Optional[ProxyPolicy]:
    """The policy ``realip serve``'s options ask for, or None without ``--proxy-protocol``."""
    mode = getattr(args, "proxy_protocol", None)
    if mode is None:
        return None
    ProxyPolicy.check_resolver(
        resolver,
        "pass --topology lb-tcp-proxy --lb-cidrs with the load balancer's addresses "
        "(or set REALIP_TOPOLOGY and REALIP_LB_CIDRS)",
    )
    return ProxyPolicy(resolver, required=mode == "required")


def serve_accept(handler: Any, policy: ProxyPolicy) -> bool:
    """Run the policy on a ``socketserver`` handler's connection; False when refused.

    An accepted header replaces ``handler.client_address`` and is kept as
    ``handler.proxy_header``; a refusal is logged through ``handler.server.log_line``.
    """
    decision = accept_socket(handler.connection, policy, handler.client_address)
    handler.proxy_header = decision.header
    if not decision.accepted:
        log = getattr(handler.server, "log_line", None)
        if log is not None:
            log(f"refused: {decision.reason}")
        return False
    if decision.peer is not None:
        handler.client_address = decision.peer
    return True
