"""Who may send a PROXY header, decided per connection: sans-IO (no sockets, no event loop).

:class:`ProxyPolicy` is built once per server; :meth:`ProxyPolicy.connection` gives each new
connection a :class:`ProxyConnection` to :meth:`~ProxyConnection.feed` bytes into until it
returns a :class:`Decision`. The socket and asyncio glue around it live in
:mod:`realip._proxy_sockets` and :mod:`realip._proxy_asyncio`; :mod:`realip.proxy_server` is the
public face of all three.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, Optional, Tuple

from realip.proxy_protocol import (
    DEFAULT_MAX_SIZE,
    ProxyHeader,
    RemoteProtocolError,
    bytes_needed,
    detect,
    parse,
)
from realip.resolver import Resolver

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a new connection may take to send its first bytes before it is closed."""

Peer = Optional[Tuple[str, int]]
log = logging.getLogger("realip.proxy_protocol")
"""Where the glue logs refusals unless told otherwise."""


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


def peer_tuple(peer: Any) -> Peer:
    """``(host, port)`` of an AF_INET/AF_INET6 peer name (2 or 4 items); None otherwise."""
    if isinstance(peer, (tuple, list)) and len(peer) >= 2 and isinstance(peer[1], int):
        return (str(peer[0]), peer[1])
    return None


def show_peer(peer: Any) -> str:
    """A peer as log lines show it: ``host``, ``[v6]:port`` or ``unix socket``."""
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

    __slots__ = ("_buffer", "_want", "decision", "peer", "policy", "trusted")

    def __init__(self, policy: ProxyPolicy, peer: Any) -> None:
        self.policy = policy
        self.peer: Peer = peer_tuple(peer)
        self.trusted = policy.resolver.trusts(self.peer[0] if self.peer else None)
        # Appended in place (amortised O(1) a byte) and parsed only once bytes_needed says the
        # parser can answer: a header dribbled a byte at a time costs linear work, not quadratic.
        self._buffer = bytearray()
        self._want = 1  # the buffer length at which the parser can say more
        self.decision: Optional[Decision] = None
        """Set once decided; already set at connection time for a refused untrusted peer."""
        if not self.trusted and policy.untrusted == "refuse":
            self.decision = self.refuse(
                f"peer {show_peer(self.peer)} is not a trusted load balancer (untrusted='refuse')"
            )

    def refuse(self, reason: str) -> Decision:
        """A refusal of this connection (for the glue's own reasons: a timeout, an early close)."""
        return Decision(False, self.peer, None, b"", reason)

    @property
    def needed(self) -> int:
        """Bytes to wait for before :meth:`feed` can decide (0 once decided).

        A socket server waits until that many are readable instead of polling; reading exactly
        that many never takes a byte of the request behind the header.
        """
        return 0 if self.decision is not None else max(0, self._want - len(self._buffer))

    def feed(self, data: bytes) -> Optional[Decision]:
        """Add bytes received; returns the decision once made, None while more are needed."""
        if self.decision is not None:
            return self.decision
        buf = self._buffer
        buf += data
        if len(buf) < self._want:
            return None
        kind = detect(buf[:12])
        if kind is None:  # a strict prefix of a signature (under 12 bytes)
            self._want = len(buf) + bytes_needed(buf)
            return None
        decision = self._decide(kind, buf)
        if decision is None:
            return None
        self._buffer = bytearray()
        self.decision = decision
        return decision

    def _decide(self, kind: int, buf: bytearray) -> Optional[Decision]:
        shown = show_peer(self.peer)
        if kind == 0:
            if self.trusted and self.policy.required:
                return self.refuse(
                    f"peer {shown} is a trusted load balancer but sent no PROXY header, "
                    "and PROXY protocol is required (is it turned on at the load balancer?)"
                )
            why = "trusted, no PROXY header" if self.trusted else "not a load balancer"
            return Decision(True, self.peer, None, bytes(buf), f"peer {shown} ({why})")
        if not self.trusted:
            return self.refuse(
                f"peer {shown} sent a PROXY header but is not a trusted load balancer: "
                "refused, it could name any client"
            )
        max_size = self.policy.max_size
        try:
            header = parse(bytes(buf), max_size=max_size)
        except RemoteProtocolError as exc:
            return self.refuse(f"peer {shown} sent an invalid PROXY header: {exc}")
        if header is None:
            # Not before this many more bytes: the next parse sees a whole v2 header at once.
            self._want = len(buf) + bytes_needed(buf, max_size=max_size)
            return None
        client = header.client
        if client is None:
            peer = self.peer
            why = f"v{header.version} {header.command} header without a client: peer kept"
        else:
            peer, why = client, f"PROXY v{header.version} from {shown}"
        return Decision(True, peer, header, bytes(buf[header.size :]), why)
