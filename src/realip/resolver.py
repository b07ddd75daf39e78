"""The resolver: which address is the client, given the peer, the headers and what you trust.

One resolution path serves every adapter. Configuration is parsed, checked and turned into
integer ranges once, in :class:`Resolver`'s constructor (:mod:`realip._settings` checks it,
:mod:`realip._lints` warns about it); :meth:`Resolver.resolve` does only the per-request walk
(:mod:`realip._walk`) and never raises on request input.
"""

from __future__ import annotations

import os
import warnings
from bisect import bisect_right
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

from realip._addresses import parse_ip
from realip._errors import RealIPWarning
from realip._forwarded import forwarded_proto
from realip._headers import (
    MAX_ITEMS,
    Headers,
    PaddingError,
    environ_key,
    last_item,
    lookup_raw,
    scheme_value,
)
from realip._lints import lint
from realip._networks import NetworkSet, subtract_bounds
from realip._options import ENV_NAMES, env_values, settings_from_values, spell_env
from realip._result import REMOTE_ADDR as REMOTE_ADDR
from realip._result import Result, new_result, tuple_new
from realip._settings import (
    DEFAULT_HEADER,
    FORWARDED,
    LIST_HEADERS,
    Settings,
    plain_settings,
    stacklevel_outside_realip,
    topology_settings,
)
from realip._walk import (
    LIST,
    MEMO_SIZE,
    PEER,
    SHORT,
    SINGLE,
    Plan,
    compile_resolve,
    is_unix_peer,
)

__all__ = ["ENV_VARS", "MAX_ITEMS", "Resolver", "Result"]

ENV_VARS: Tuple[str, ...] = ENV_NAMES
"""Environment variables read by :meth:`Resolver.from_env`."""

RemoteAddr = Union[str, Tuple[Any, ...], Sequence[Any], None]

# Kept for the adapters that import them by these names.
_new = new_result
_tuple_new = tuple_new
_SHORT = SHORT
_MEMO_SIZE = MEMO_SIZE


class Resolver:
    """Resolves the client IP of a request for one deployment topology.

    Immutable in everything that decides an answer (it only keeps bounded memos of parsed
    proxy addresses) and safe to share across threads and tasks. Build it once at start-up; a
    bad configuration raises :class:`ConfigError` there, never at request time.
    """

    __slots__ = (
        "_bounds",
        "_check_peer",
        "_forwarded",
        "_header",
        "_hops",
        "_kind",
        "_memo",
        "_networks",
        "_peer_memo",
        "_peer_only",
        "_plan",
        "_proto_memo",
        "_require",
        "_resolve",
        "_snat",
        "_topology",
        "header_bytes",
        "warnings",
        "wsgi_key",
    )

    def __init__(
        self,
        *,
        trusted_proxies: Iterable[Any] = (),
        header: Optional[str] = DEFAULT_HEADER,
        trusted_hops: Optional[int] = None,
        require_header: bool = False,
    ) -> None:
        self._apply(plain_settings(trusted_proxies, header, trusted_hops, require_header))

    def _apply(self, settings: Settings) -> None:
        name = settings.header
        hops = settings.hops
        networks = NetworkSet(settings.trusted)
        snat = NetworkSet(settings.snat)
        self._header = name
        self._hops = hops
        self._networks = networks
        self._snat = snat
        self._topology = settings.topology
        self._require = settings.require
        if name is None or (networks.empty and hops is None):
            self._kind = PEER
        elif name in LIST_HEADERS:
            self._kind = LIST
        else:
            self._kind = SINGLE
        self._forwarded = name == FORWARDED and self._kind != PEER
        # A node address is never a trusted hop, even inside a trusted range (with flannel or
        # Calico the SNAT address is the node's cni0/tunl0 address, inside the pod CIDR that
        # ingress pods are trusted by): the walk stops there and flags it.
        self._bounds = (
            subtract_bounds(networks.bounds, snat.bounds) if not snat.empty else networks.bounds
        )
        plan = Plan(
            kind=self._kind,
            header=name,
            hops=hops,
            bounds=self._bounds,
            snat=snat.bounds,
            unix=networks.unix,
            require=settings.require,
            topology=settings.topology,
            snat_service=settings.snat_service,
        )
        self._plan = plan
        self._memo = plan.memo
        self._peer_memo = plan.peer_memo
        self._resolve = compile_resolve(plan, networks.unix)
        """The per-request work (what resolve_value runs); adapters call it directly."""
        # Forwarded elements of trusted hops -> their proto=, for scheme(): they repeat on
        # every request, so a chain is read once, not again per request.
        self._proto_memo: Dict[str, Optional[str]] = {}
        self._peer_only = self._kind is PEER
        self._check_peer = hops is None  # hop mode trusts positions, not the peer
        read = name if self._kind != PEER else None
        self.header_bytes: Optional[bytes] = read.encode("ascii") if read else None
        """The header read, as the lower-case bytes an ASGI scope holds; None if none is read."""
        self.wsgi_key: Optional[str] = environ_key(read) if read else None
        """The WSGI environ key of the header read; None if none is read."""
        self.warnings: Tuple[str, ...] = (
            *lint(networks, name, hops, settings.explicit_header, settings.topology),
            *settings.notes,
        )
        if self.warnings:
            level = stacklevel_outside_realip()
            for message in self.warnings:
                warnings.warn(message, RealIPWarning, stacklevel=level)

    # -- alternative constructors -------------------------------------------------------

    @classmethod
    def for_topology(
        cls,
        name: str,
        *,
        pod_cidrs: Iterable[Any] = (),
        node_cidrs: Iterable[Any] = (),
        lb_cidrs: Iterable[Any] = (),
        header: Optional[str] = None,
        require_header: bool = False,
    ) -> Resolver:
        """A resolver for a named deployment topology (see :data:`realip.TOPOLOGIES`)."""
        settings = topology_settings(name, pod_cidrs, node_cidrs, lb_cidrs, header, require_header)
        return cls._from_settings(settings)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Resolver:
        """A resolver configured by ``REALIP_*`` environment variables; trusts nothing if unset."""
        env = os.environ if environ is None else environ
        return cls._from_settings(settings_from_values(env_values(env), spell_env))

    @classmethod
    def _from_settings(cls, settings: Settings) -> Resolver:
        resolver = cls.__new__(cls)
        resolver._apply(settings)
        return resolver

    # -- introspection ------------------------------------------------------------------

    @property
    def header(self) -> Optional[str]:
        """The header read for the client (lower-case), or None for the peer address only."""
        return self._header if self._kind != PEER else None

    @property
    def configured_header(self) -> Optional[str]:
        """The header as configured, even when nothing is trusted so it is never read."""
        return self._header

    @property
    def trusted_hops(self) -> Optional[int]:
        """The hop count in hop mode, else None."""
        return self._hops

    @property
    def topology(self) -> Optional[str]:
        """The topology name when built by :meth:`for_topology`, else None."""
        return self._topology

    @property
    def networks(self) -> NetworkSet:
        """The trusted networks."""
        return self._networks

    @property
    def snat_networks(self) -> NetworkSet:
        """Networks whose peers are nodes that SNAT client traffic (``nodeport-cluster``)."""
        return self._snat

    def trusts(self, remote_addr: RemoteAddr) -> bool:
        """Whether a peer (as given to :meth:`resolve`) is a trusted proxy of this resolver.

        Hop mode trusts no address; a Unix-socket peer is trusted through the ``unix`` preset.
        """
        if isinstance(remote_addr, (tuple, list)):
            remote_addr = remote_addr[0] if remote_addr else None
        if self._hops is not None or (remote_addr is not None and not isinstance(remote_addr, str)):
            return False
        peer = parse_ip(remote_addr) if remote_addr else None
        if peer is None:
            return is_unix_peer(remote_addr) and self._networks.unix
        return bool(bisect_right(self._bounds, peer[0]) & 1)

    def scheme(
        self,
        result: Result,
        x_forwarded_proto: Union[str, bytes, None],
        forwarded: Union[str, bytes, None],
        websocket: bool = False,
    ) -> Optional[str]:
        """The scheme reported by the same trusted hops that produced ``result``, or None.

        None means "leave the scheme as the server set it": no client was found (fail closed),
        the peer is not trusted, hop mode walked no hops, or the value is not ``http``/``https``
        (``ws``/``wss`` for websockets). With ``header="forwarded"`` the scheme is the
        ``proto=`` of the element holding the client's ``for=``, or of the nearest element to
        its right that has one, and ``X-Forwarded-Proto`` is not read; otherwise it is the
        rightmost (nearest proxy's) ``X-Forwarded-Proto`` value. Nothing left of the client's
        own entry is ever looked at.
        """
        if result.client_ip is None or result.snat or self._kind == PEER:
            # A resolver that reads no header serves a topology whose hops write none (an L4
            # load balancer, a PROXY protocol sender, NodePort, a pod): a scheme header there -
            # even from a trusted PROXY sender's own connection - is the client's.
            return None
        if self._forwarded:
            if not result.proxies or forwarded is None:
                return None
            elements = len(result.proxies)
            return scheme_value(forwarded_proto(forwarded, elements, self._proto_memo), websocket)
        if not result.proxies and (self._hops is not None or not result.proxy_as_client):
            return None
        if x_forwarded_proto is None:
            return None
        try:
            proto = last_item(x_forwarded_proto)
        except PaddingError:
            return None
        return scheme_value(proto, websocket)

    def _key(self) -> Tuple[object, ...]:
        return (
            self._kind,
            self._header,
            self._hops,
            self._networks,
            self._snat,
            self._topology,
            self._require,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resolver):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = []
        if self._topology:
            parts.append(f"topology={self._topology!r}")
        parts.append(f"trusted_proxies={[label for label, _ in self._networks.entries]!r}")
        parts.append(f"header={self._header!r}")
        if self._hops is not None:
            parts.append(f"trusted_hops={self._hops}")
        if self._require:
            parts.append("require_header=True")
        return f"Resolver({', '.join(parts)})"

    # -- resolution ---------------------------------------------------------------------

    def resolve(self, remote_addr: RemoteAddr, headers: Optional[Headers] = None) -> Result:
        """Resolve the client of one request. Never raises on request input.

        ``remote_addr`` is the peer (``"ip"``, ``"ip:port"``, ``"[v6]:port"``, a ``(host, port)``
        tuple, a Unix socket path, or None); ``headers`` a mapping or ``(name, value)`` pairs of
        HTTP header names, or a whole WSGI environ.
        """
        value: Union[str, bytes, None] = None
        if self._kind != PEER and headers is not None:
            assert self._header is not None
            if headers.__class__ is dict and headers.get("wsgi.version").__class__ is tuple:
                # A real WSGI environ (a header's value is never a tuple, so a client can't fake
                # one): its HTTP_* keys are the server's translation of the headers. Among plain
                # header names the same key would be a client's own header.
                value = headers.get(self.wsgi_key)
            else:
                value = lookup_raw(headers, self._header)
        return self._resolve(remote_addr, value)

    def resolve_value(self, remote_addr: RemoteAddr, value: Union[str, bytes, None]) -> Result:
        """Resolve from the peer and the already-combined value of :attr:`header` (or None).

        This is what adapters call after finding the header in their framework's request;
        ``value`` may be the raw ``bytes`` of an ASGI header (only the items walked are decoded).
        """
        # The steps are realip._walk.compile_resolve: one closure of this configuration.
        return self._resolve(remote_addr, value)
