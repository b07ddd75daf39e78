"""The resolver: which address is the client, given the peer, the headers and what you trust.

One resolution path serves every adapter. Configuration is parsed, checked and turned into
integer ranges once, in :class:`Resolver`'s constructor; :meth:`Resolver.resolve` does only
the per-request walk and never raises on request input.
"""

from __future__ import annotations

import os
import sys
import warnings
from bisect import bisect_right
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

if TYPE_CHECKING:
    import ipaddress

from realip._addresses import _AF_INET, _from_bytes, _inet_pton, parse_ip
from realip._errors import ConfigError, RealIPWarning
from realip._headers import (
    BLANKS,
    MAX_ITEMS,
    Headers,
    PaddingError,
    environ_key,
    forwarded_proto,
    forwarded_value,
    items_from_right,
    last_item,
    lookup_raw,
    scheme_value,
)
from realip._lints import lint
from realip._networks import PRESETS, NetworkSet, parse_networks, subtract_bounds
from realip._topologies import topology_spec

__all__ = ["ENV_VARS", "MAX_ITEMS", "Resolver", "Result"]


_MEMO_SIZE = 1024
_SHORT = 128  # characters; headers up to this long are split whole (at most 129 items)


ENV_VARS = (
    "REALIP_TOPOLOGY",
    "REALIP_TRUSTED_PROXIES",
    "REALIP_HEADER",
    "REALIP_TRUSTED_HOPS",
    "REALIP_POD_CIDRS",
    "REALIP_NODE_CIDRS",
    "REALIP_LB_CIDRS",
    "REALIP_REQUIRE_HEADER",
)
"""Environment variables read by :meth:`Resolver.from_env`."""

REMOTE_ADDR = "remote_addr"
XFF = "x-forwarded-for"
FORWARDED = "forwarded"
_LIST_HEADERS = (XFF, FORWARDED)

_PEER, _LIST, _SINGLE = 0, 1, 2
_UNTRUSTED_PEER = "the peer is the client: it is not a trusted proxy, so headers are ignored"
_PEER_ONLY = "the peer is the client: this configuration reads no header"
_PROXY_SENDER = (
    "the peer is a trusted PROXY protocol sender, so no PROXY header was decoded for this "
    "connection (a LOCAL health check, or a server that does not decode PROXY protocol): its "
    "own address is the answer (proxy_as_client)"
)

RemoteAddr = Union[str, Tuple[Any, ...], Sequence[Any], None]


class _DefaultHeader(str):
    """The default ``header`` value; lets the constructor tell it from an explicit choice."""

    __slots__ = ()


_DEFAULT_HEADER = _DefaultHeader(XFF)


class Result(NamedTuple):
    """The outcome of one resolution: the client IP (or None) and why."""

    client_ip: Optional[str]
    """The client's address in canonical text form, or None when there is none to trust."""
    source: str
    """Where the answer came from: ``"remote_addr"`` or the (lower-case) header name."""
    proxies: Tuple[str, ...]
    """The trusted hops walked, right to left; the peer first when it was trusted."""
    reason: str
    """One sentence that explains the decision."""
    snat: bool = False
    """True when the peer is a node that source-NAT'ed the request: the client IP is lost."""
    peer: Optional[str] = None
    """The peer address in canonical form (None for a Unix socket or a non-address)."""
    proxy_as_client: bool = False
    """True when ``client_ip`` is a trusted proxy's own address: the peer is trusted but sent
    no (or an empty) forwarding header. Right for a proxy that is itself the client (a health
    check, a pod calling another pod); a sign of a stripped header otherwise. Refuse such
    answers where it matters, or set ``require_header=True`` to get None instead."""

    @property
    def ip_address(self) -> Union[ipaddress.IPv4Address, ipaddress.IPv6Address, None]:
        """``client_ip`` as an ``ipaddress`` object, built on demand."""
        import ipaddress  # on demand: the per-request path never needs it

        return None if self.client_ip is None else ipaddress.ip_address(self.client_ip)

    @property
    def via_proxies(self) -> bool:
        """Whether trusted proxies' headers decided the answer (``proxies`` is not empty)."""
        return bool(self.proxies)


def _is_unix_peer(remote_addr: object) -> bool:
    return (
        remote_addr is None
        or remote_addr == ""
        or (
            # "@" marks Linux abstract socket names (and is what Go servers report for a Unix peer).
            isinstance(remote_addr, str)
            and (remote_addr[:1] in ("/", "@") or remote_addr[:5] == "unix:")
        )
    )


# Well-known headers that carry something other than an address: reading one as the client
# lets the client choose (Host: 6.6.6.6) or fails closed on every request.
_NOT_ADDRESS_HEADERS = {
    "host": "names the site the client asked for",
    "x-forwarded-host": "names the site the client asked for",
    "x-forwarded-server": "names a proxy's host",
    "x-forwarded-proto": "holds a scheme",
    "x-forwarded-scheme": "holds a scheme",
    "x-forwarded-port": "holds a port",
    "x-forwarded-prefix": "holds a path",
    "via": "lists protocol versions and proxy names",
    "user-agent": "names the client's software",
    "referer": "holds a URL",
    "origin": "holds a URL",
    "cookie": "holds cookies",
    "authorization": "holds credentials",
    "connection": "lists hop-by-hop headers",
}


def _normalise_header(header: object) -> Optional[str]:
    if header is None:
        return None
    if not isinstance(header, str):
        raise ConfigError(f"{header!r} must be a str or None", "header")
    name = header.strip().lower()
    if not name or any(c in name for c in ' \t\r\n:;,"()/<>@[]?={}\\') or not name.isascii():
        hint = (
            " (to send a header with realip explain, use -H 'Name: value')" if ":" in name else ""
        )
        raise ConfigError(f"{header!r} is not a valid HTTP header name{hint}", "header")
    why = _NOT_ADDRESS_HEADERS.get(name)
    if why is not None:
        raise ConfigError(
            f"{header!r} never holds the client's address: it {why}, and proxies pass the "
            "client's own value through; read the header your proxy writes the client into "
            "(x-forwarded-for, forwarded, or a single-IP header such as x-real-ip)",
            "header",
        )
    if name.startswith("http_"):
        suggestion = name[5:].replace("_", "-")
        raise ConfigError(
            f"{header!r} looks like a WSGI environ key; write the HTTP name, e.g. {suggestion!r}",
            "header",
        )
    if "_" in name:
        # Servers disagree on such names: some WSGI servers fold "X_Forwarded_For" into the same
        # environ key as "X-Forwarded-For", ASGI keeps it apart, so one request would get a
        # different answer per adapter - and one of them the client's choice.
        raise ConfigError(
            f"{header!r} has an underscore, which servers map inconsistently onto dashes; "
            f"write the dashed name, e.g. {name.replace('_', '-')!r}",
            "header",
        )
    return name


def _check_hops(hops: object) -> Optional[int]:
    if hops is None:
        return None
    if isinstance(hops, bool) or not isinstance(hops, int):
        raise ConfigError(f"{hops!r} must be a whole number >= 1", "trusted_hops")
    if not 1 <= hops <= MAX_ITEMS:
        raise ConfigError(f"{hops!r} must be between 1 and {MAX_ITEMS}", "trusted_hops")
    return hops


class Resolver:
    """Resolves the client IP of a request for one deployment topology.

    Immutable in everything that decides an answer (it only keeps a bounded memo of parsed
    proxy addresses) and safe to share across threads and tasks. Build it once at start-up; a
    bad configuration raises :class:`ConfigError` there, never at request time.
    """

    __slots__ = (
        "_bounds",
        "_forwarded",
        "_header",
        "_hops",
        "_kind",
        "_memo",
        "_networks",
        "_peer_memo",
        "_reasons",
        "_require",
        "_snat",
        "_snat_service",
        "_topology",
        "_untrusted_reason",
        "_walk_consts",
        "header_bytes",
        "warnings",
        "wsgi_key",
    )

    def __init__(
        self,
        *,
        trusted_proxies: Iterable[Any] = (),
        header: Optional[str] = _DEFAULT_HEADER,
        trusted_hops: Optional[int] = None,
        require_header: bool = False,
    ) -> None:
        self._configure(trusted_proxies, header, trusted_hops, (), None, (), require_header)

    def _configure(
        self,
        trusted_proxies: Iterable[Any],
        header: Optional[str],
        trusted_hops: Optional[int],
        snat_networks: Iterable[Any],
        topology: Optional[str],
        notes: Sequence[str] = (),
        require_header: bool = False,
        snat_service: str = "the Service",
    ) -> None:
        explicit_header = header is not _DEFAULT_HEADER
        if not isinstance(require_header, bool):
            raise ConfigError(f"{require_header!r} must be True or False", "require_header")
        self._require = require_header
        name = _normalise_header(header)
        hops = _check_hops(trusted_hops)
        with _blame("trusted_proxies"):
            networks = NetworkSet(parse_networks(trusted_proxies))
        if hops is not None:
            if not networks.empty:
                raise ConfigError(
                    "cannot be combined with $trusted_proxies; choose one: $trusted_proxies "
                    "(safer) or $trusted_hops",
                    "trusted_hops",
                )
            if name not in _LIST_HEADERS:
                raise ConfigError(
                    f"needs a list header (x-forwarded-for or forwarded), not $header={header!r}",
                    "trusted_hops",
                )
        self._header = name
        self._hops = hops
        self._networks = networks
        self._snat = NetworkSet(parse_networks(snat_networks))
        # A node address is never a trusted hop, even inside a trusted range (with flannel or
        # Calico the SNAT address is the node's cni0/tunl0 address, inside the pod CIDR that
        # ingress pods are trusted by): the walk stops there and flags it.
        self._bounds = (
            subtract_bounds(networks.bounds, self._snat.bounds)
            if not self._snat.empty
            else networks.bounds
        )
        self._snat_service = snat_service
        # Parsed trusted addresses by their exact text (a list item, a Forwarded element, a
        # peer): proxies repeat on every request. Only trusted texts go in, so a client that
        # isn't itself in a trusted range can't add its own; it never evicts; and it is keyed on
        # all that decides the answer (the text; the trusted set and header never change).
        # Peers and header items live in separate memos: the same text can mean different
        # things in each (for Forwarded, "10.0.0.1" is an address as a peer but a malformed
        # element in the header).
        self._memo: Dict[Union[str, bytes], Tuple[int, str]] = {}
        self._peer_memo: Dict[str, Tuple[int, str]] = {}
        self._forwarded = name == FORWARDED
        self._untrusted_reason = f"the rightmost untrusted {name} entry is the client"
        self._reasons = (
            f"the peer is a trusted proxy but no {name} header arrived, so the proxy's own "
            "address is the answer (proxy_as_client)",
            f"the peer is a trusted proxy but the {name} header was empty, so the proxy's own "
            "address is the answer (proxy_as_client)",
        )
        self._walk_consts = (
            name or "",
            self._bounds,
            self._memo,
            self._forwarded,
            self._untrusted_reason,
            self._snat.bounds or None,
        )
        self._topology = topology
        if name is None or (networks.empty and hops is None):
            self._kind = _PEER
        elif name in _LIST_HEADERS:
            self._kind = _LIST
        else:
            self._kind = _SINGLE
        read = name if self._kind != _PEER else None
        self.header_bytes: Optional[bytes] = read.encode("ascii") if read else None
        """The header read, as the lower-case bytes an ASGI scope holds; None if none is read."""
        self.wsgi_key: Optional[str] = environ_key(read) if read else None
        """The WSGI environ key of the header read; None if none is read."""
        self.warnings: Tuple[str, ...] = (
            *lint(networks, name, hops, explicit_header, topology),
            *notes,
        )
        if self.warnings:
            level = _stacklevel_outside_realip()
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
        with _blame("topology"):
            spec = topology_spec(name)
        cidrs = {}
        for option, given in (
            ("pod_cidrs", pod_cidrs),
            ("node_cidrs", node_cidrs),
            ("lb_cidrs", lb_cidrs),
        ):
            with _blame(option):
                cidrs[option] = parse_networks(given)
        for option in spec.requires:
            if not cidrs[option]:
                raise ConfigError(spec.missing_message(option), option)
        # node_cidrs given where no node hop lies in the path would look like SNAT detection
        # and do nothing. (Unused pod or lb ranges add no trust, and one REALIP_* set can
        # serve apps of several topologies, so those stay allowed.)
        if cidrs["node_cidrs"] and "node_cidrs" not in spec.options:
            raise ConfigError(spec.unused_message("node_cidrs"), "node_cidrs")
        if header is not None and spec.header is None:
            raise ConfigError(
                f"topology {spec.name!r} uses the peer address, so a header does not apply "
                "(pick a topology whose proxies write a header, e.g. 'lb-http' or 'ingress')",
                "header",
            )
        trusted: List[Any] = list(spec.trusted_extra)
        for option in spec.trusts:
            # Keep preset names (e.g. "cgnat") so explanations can say which preset trusted a hop.
            trusted.extend(
                dict.fromkeys(label if label in PRESETS else net for label, net in cidrs[option])
            )
        snat = [net for _, net in cidrs["node_cidrs"]] if spec.flags_snat else []
        chosen = (header or spec.header) if spec.header is not None else None
        notes = []
        in_cluster = [option for option in spec.trusts if cidrs[option]]
        if spec.trusted_extra and in_cluster and _normalise_header(chosen) not in _LIST_HEADERS:
            # Through an in-cluster hop, a single-IP header is trusted because of who forwarded
            # it, not who wrote it: a client reaching the load balancer without passing the CDN
            # writes it itself. A list walk checks that the CDN's edge really was in the path.
            notes.append(
                f"topology {spec.name!r} reads {chosen} from in-cluster proxies "
                f"({', '.join(in_cluster)}): a client that reaches your load balancer without "
                f"passing {spec.name} can set it; use header='x-forwarded-for' (walks past the "
                "CDN's ranges) or accept traffic only from the CDN"
            )
        resolver = cls.__new__(cls)
        resolver._configure(
            # A PROXY-protocol topology reads no header, but its trusted ranges still decide who
            # may send the PROXY header (see Resolver.trusts).
            trusted if spec.header is not None or spec.proxy_protocol else (),
            chosen,
            None,
            snat,
            spec.name,
            notes,
            require_header,
            spec.snat_service or "the Service",
        )
        return resolver

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Resolver:
        """A resolver configured by ``REALIP_*`` environment variables; trusts nothing if unset."""
        from realip._config import resolver_from_env  # _config builds on this module

        return resolver_from_env(os.environ if environ is None else environ)

    # -- introspection ------------------------------------------------------------------

    @property
    def header(self) -> Optional[str]:
        """The header read for the client (lower-case), or None for the peer address only."""
        return self._header if self._kind != _PEER else None

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
            return _is_unix_peer(remote_addr) and self._networks.unix
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
        if result.client_ip is None or result.snat or self._kind == _PEER:
            # A resolver that reads no header serves a topology whose hops write none (an L4
            # load balancer, a PROXY protocol sender, NodePort, a pod): a scheme header there -
            # even from a trusted PROXY sender's own connection - is the client's.
            return None
        if self._forwarded:
            if not result.proxies or forwarded is None:
                return None
            return scheme_value(forwarded_proto(forwarded, len(result.proxies)), websocket)
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
        if self._kind != _PEER and headers is not None:
            assert self._header is not None
            if headers.__class__ is dict and headers.get("wsgi.version").__class__ is tuple:
                # A real WSGI environ (a header's value is never a tuple, so a client can't fake
                # one): its HTTP_* keys are the server's translation of the headers. Among plain
                # header names the same key would be a client's own header.
                value = headers.get(self.wsgi_key)
            else:
                value = lookup_raw(headers, self._header)
        return self.resolve_value(remote_addr, value)

    def resolve_value(self, remote_addr: RemoteAddr, value: Union[str, bytes, None]) -> Result:
        """Resolve from the peer and the already-combined value of :attr:`header` (or None).

        This is what adapters call after finding the header in their framework's request;
        ``value`` may be the raw ``bytes`` of an ASGI header (only the items walked are decoded).
        """
        if remote_addr.__class__ is not str:
            if isinstance(remote_addr, (tuple, list)):
                remote_addr = remote_addr[0] if remote_addr else None
            if remote_addr is not None and not isinstance(remote_addr, str):
                return _new(
                    None,
                    REMOTE_ADDR,
                    (),
                    f"the peer address ({type(remote_addr).__name__}) is not an IP address",
                )
        kind = self._kind
        peer_memo = self._peer_memo
        peer = peer_memo.get(remote_addr) if remote_addr else None
        if peer is None:
            peer = parse_ip(remote_addr) if remote_addr else None
            if peer is None:
                if not _is_unix_peer(remote_addr):
                    shown = str(remote_addr)[:64]
                    return _new(
                        None,
                        REMOTE_ADDR,
                        (),
                        f"the peer address {shown!r} is not an IP address, so it is "
                        "neither a client nor a trusted proxy",
                    )
                if kind != _PEER and self._hops is None and not self._networks.unix:
                    return self._peer_result(None, remote_addr, _UNTRUSTED_PEER)
            elif kind != _PEER and self._hops is None:
                if not bisect_right(self._bounds, peer[0]) & 1:
                    if self._snat.empty:  # the direct request: answered without another call
                        text = peer[1]
                        return _tuple_new(
                            Result, (text, REMOTE_ADDR, (), _UNTRUSTED_PEER, False, text, False)
                        )
                    return self._peer_result(peer, remote_addr, _UNTRUSTED_PEER)
                if len(peer_memo) < _MEMO_SIZE:
                    peer_memo[remote_addr] = peer  # type: ignore[index]
        if kind == _PEER:
            if peer is not None and self._bounds and bisect_right(self._bounds, peer[0]) & 1:
                # lb-tcp-proxy: the load balancer itself is the peer, so no PROXY header was
                # decoded for this connection (a LOCAL health check, or a server without it).
                return self._peer_result(peer, remote_addr, _PROXY_SENDER, True)
            return self._peer_result(peer, remote_addr, _PEER_ONLY)
        if value is None:
            if self._hops is not None:
                return self._no_hops(peer, 0)
            return self._peer_result(peer, remote_addr, self._reasons[0], True)
        if kind == _SINGLE:
            return self._single(value, peer, remote_addr)
        if self._hops is not None:
            return self._count(value, peer, remote_addr)
        # The list walk, inlined here because it is what nearly every request behind a proxy
        # runs: right to left, one item at a time, so the work is proportional to the hops
        # walked, and nothing left of the client's own entry (what the client wrote) is even
        # looked at - not even decoded, when the header arrives as ASGI bytes.
        header, bounds, memo, forwarded, untrusted, snat = self._walk_consts
        peer_text = peer[1] if peer is not None else None
        proxies: Tuple[str, ...] = (peer_text or "unix",)
        end = len(value)
        raw_bytes = value.__class__ is bytes
        # Typed loosely on purpose: the same loop serves str and bytes without a call per item.
        comma: Any = b"," if raw_bytes else ","
        blanks: Any = b" \t" if raw_bytes else BLANKS
        # A short header splits in one C call; a long one is walked from the right only as far
        # as needed, so padding costs nothing (see items_from_right).
        items: Iterable[Any] = (
            reversed(value.split(comma))
            if end <= _SHORT
            else items_from_right(value, comma, blanks)
        )
        walked = 0
        try:
            for item in items:
                item = item.strip(blanks)
                if item:
                    walked += 1
                    if walked > MAX_ITEMS:
                        return _too_long(header, proxies, peer_text)
                    # Keyed on the whole item, as it arrived (bytes from ASGI: a hit needs no
                    # decoding): for Forwarded, a trusted proxy's element repeats as much as its
                    # address does, and its parsing is the costly part.
                    parsed = memo.get(item)
                    if parsed is None:
                        memo_key = item
                        if raw_bytes:
                            item = item.decode("latin-1")
                        entry = item
                        if forwarded:
                            ok, entry = forwarded_value(item, "for")
                            if entry is None:
                                return _bad_entry(
                                    header,
                                    item,
                                    proxies,
                                    peer_text,
                                    "has no single for= value"
                                    if ok
                                    else "is not a well-formed element",
                                )
                        if ":" in entry:
                            parsed = parse_ip(entry)
                            if parsed is None:
                                return _bad_entry(
                                    header, item, proxies, peer_text, "is not an IP address"
                                )
                            key, text = parsed
                        else:
                            # parse_ip's IPv4 case, inlined: the client is parsed on every request.
                            try:
                                key = _from_bytes(_inet_pton(_AF_INET, entry), "big")
                            except (OSError, ValueError):
                                key = 0
                            if not key:
                                return _bad_entry(
                                    header, item, proxies, peer_text, "is not an IP address"
                                )
                            text = entry
                        if not bisect_right(bounds, key) & 1:
                            if snat is not None and bisect_right(snat, key) & 1:
                                return self._snat_result(text, header, proxies, peer_text)
                            return _tuple_new(
                                Result, (text, header, proxies, untrusted, False, peer_text, False)
                            )
                        parsed = (key, text)
                        if len(memo) < _MEMO_SIZE:
                            memo[memo_key] = parsed
                    proxies += (parsed[1],)
        except PaddingError as exc:
            return _new(
                None,
                header,
                proxies,
                f"{header}: {exc}; refusing to look further (fail closed)",
                False,
                peer_text,
            )
        if len(proxies) == 1:
            return self._peer_result(peer, remote_addr, self._reasons[1], True)
        text = proxies[-1]
        return _new(
            text,
            header,
            proxies[:-1],
            f"every {header} entry is trusted, so the leftmost one, {text}, is the client",
            False,
            peer_text,
        )

    def _peer_result(
        self, peer: Optional[Tuple[int, str]], raw: object, why: str, trusted: bool = False
    ) -> Result:
        # ``why`` is a prepared sentence (see _UNTRUSTED_PEER, _PEER_ONLY, self._reasons): the
        # peer answers often enough that formatting a reason each time shows in the benchmark.
        # ``trusted``: the peer is a trusted proxy that forwarded no client (no/empty header).
        if trusted and self._require:
            shown = peer[1] if peer is not None else str(raw or "unix socket")[:64]
            if self._kind == _PEER:
                why_none = (
                    f"the trusted PROXY protocol sender {shown} is the peer: no PROXY header was "
                    "decoded for this connection, and require_header is set (fail closed)"
                )
            else:
                why_none = (
                    f"the trusted proxy {shown} forwarded no client ({self._header} missing or "
                    "empty) and require_header is set (fail closed): a server or proxy on the "
                    "way may have stripped the header (waitress does unless "
                    "clear_untrusted_proxy_headers=False; a client's 'Connection: "
                    f"{self._header}' makes hop-by-hop stripping proxies drop it)"
                )
            return _new(
                None,
                self._header or REMOTE_ADDR,
                (peer[1] if peer is not None else "unix",),
                why_none,
                False,
                peer[1] if peer is not None else None,
            )
        if peer is None:
            return _new(
                None,
                REMOTE_ADDR,
                (),
                f"the peer {str(raw or 'unix socket')[:64]!r} is a Unix socket with no IP "
                "address: "
                f"{why}",
                False,
                None,
                trusted,
            )
        key, text = peer
        if self._snat.empty or key not in self._snat:
            return _tuple_new(Result, (text, REMOTE_ADDR, (), why, False, text, trusted))
        return self._snat_result(text, REMOTE_ADDR, (), text)

    def _snat_result(
        self, text: str, source: str, proxies: Tuple[str, ...], peer_text: Optional[str]
    ) -> Result:
        where = "the peer" if source == REMOTE_ADDR else f"the {source} entry"
        reason = (
            f"{where} {text} is a node address: externalTrafficPolicy: Cluster SNAT'ed the "
            f"request to a node address before {self._snat_service}, so the client IP is lost; "
            "set externalTrafficPolicy: Local on that Service to keep the client IP"
        )
        if source == REMOTE_ADDR and self._topology == "lb-http":
            # lb-http: the load balancer's header would hold the client, but a node peer can't
            # be trusted to forward it - a client reaching the NodePort directly is SNAT'ed too.
            reason += (
                f" (or restrict who can reach the NodePort; {self._header} is not read from a "
                "node, since a client reaching the NodePort directly is SNAT'ed to a node too)"
            )
        return _new(text, source, proxies, reason, True, peer_text)

    def _single(
        self, value: Union[str, bytes], peer: Optional[Tuple[int, str]], raw: object
    ) -> Result:
        # The rightmost value is the one the nearest (trusted) proxy wrote: a client's own copy,
        # sent repeated or as a list, can neither win nor sabotage it.
        header = self._header
        assert header is not None
        peer_text = peer[1] if peer is not None else None
        proxies = (peer_text or "unix",)
        try:
            found = last_item(value)
        except PaddingError as exc:
            return _new(None, header, proxies, f"{header}: {exc} (fail closed)", False, peer_text)
        if found is None:
            return self._peer_result(peer, raw, self._reasons[1], True)
        item = found.decode("latin-1") if isinstance(found, bytes) else found
        parsed = parse_ip(item)
        if parsed is None:
            return _new(
                None,
                header,
                proxies,
                f"the {header} value {item[:64]!r} is not a single IP address",
                False,
                peer_text,
            )
        text = parsed[1]
        if not self._snat.empty and parsed[0] in self._snat:
            return self._snat_result(text, header, proxies, peer_text)
        return _new(
            text,
            header,
            proxies,
            f"the trusted proxy {proxies[0]} set {header}: {text}",
            False,
            peer_text,
        )

    def _count(
        self, value: Union[str, bytes], peer: Optional[Tuple[int, str]], raw: object
    ) -> Result:
        # Hop mode: the N-th non-empty item from the right, whatever the items before it are.
        header = self._header
        hops = self._hops
        assert header is not None and hops is not None
        peer_text = peer[1] if peer is not None else None
        proxies = [peer_text or "unix"]
        text: Any = value.decode("latin-1") if isinstance(value, bytes) else value
        seen = 0
        try:
            for item in items_from_right(text):
                seen += 1
                if seen < hops:
                    # Counted, not trusted: shown canonical, or quoted so logs stay clean.
                    counted = parse_ip(item)
                    proxies.append(counted[1] if counted else repr(item[:64]))
                    continue
                entry: Optional[str] = item
                if self._forwarded:
                    ok, entry = forwarded_value(item, "for")
                    if entry is None:
                        return _bad_entry(
                            header,
                            item,
                            proxies,
                            peer_text,
                            "has no single for= value" if ok else "is not a well-formed element",
                        )
                parsed = parse_ip(entry)  # type: ignore[arg-type]
                if parsed is None:
                    return _bad_entry(header, item, proxies, peer_text, "is not an IP address")
                if not self._snat.empty and parsed[0] in self._snat:
                    return self._snat_result(parsed[1], header, tuple(proxies), peer_text)
                return _new(
                    parsed[1],
                    header,
                    tuple(proxies),
                    f"{parsed[1]} is entry {hops} from the right of {header} (trusted_hops={hops})",
                    False,
                    peer_text,
                )
        except PaddingError as exc:
            return _new(
                None, header, tuple(proxies), f"{header}: {exc} (fail closed)", False, peer_text
            )
        return self._no_hops(peer, seen, tuple(proxies))

    def _no_hops(
        self, peer: Optional[Tuple[int, str]], seen: int, proxies: Tuple[str, ...] = ()
    ) -> Result:
        # In hop mode the peer is a proxy by assumption, so it is never the answer: a header
        # that is missing, empty or shorter than the hop count all mean the same thing.
        header = self._header
        peer_text = peer[1] if peer is not None else None
        entries = "no entries" if seen == 0 else f"{seen} entr{'y' if seen == 1 else 'ies'}"
        return _new(
            None,
            header or REMOTE_ADDR,
            proxies or (peer_text or "unix",),
            f"{header} has {entries}, fewer than trusted_hops={self._hops}: a proxy is missing, "
            "was bypassed or stripped the header (fail closed)",
            False,
            peer_text,
        )


# Result is a NamedTuple: tuple.__new__ builds one without the Python-level __new__ frame,
# which is a measurable share of a resolution.
_tuple_new = tuple.__new__


def _new(
    client_ip: Optional[str],
    source: str,
    proxies: Tuple[str, ...],
    reason: str,
    snat: bool = False,
    peer: Optional[str] = None,
    proxy_as_client: bool = False,
) -> Result:
    return _tuple_new(Result, (client_ip, source, proxies, reason, snat, peer, proxy_as_client))


def _bad_entry(
    header: str, item: str, proxies: Sequence[str], peer: Optional[str], what: str
) -> Result:
    return _new(
        None,
        header,
        tuple(proxies),
        f"the {header} entry {item[:64]!r} {what}; refusing to guess the client (fail closed)",
        False,
        peer,
    )


def _too_long(header: str, proxies: Tuple[str, ...], peer: Optional[str]) -> Result:
    return _new(
        None,
        header,
        proxies,
        f"{header} has more than {MAX_ITEMS} items to walk; refusing to look further (fail closed)",
        False,
        peer,
    )


def _stacklevel_outside_realip() -> int:
    # Point a warning at the user's line that built the resolver, however many realip frames
    # (from_env, for_topology, the Django settings reader) lie in between.
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("realip."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


@contextmanager
def _blame(option: str) -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        if exc.option is not None:
            raise
        raise ConfigError(exc.detail, option) from None
