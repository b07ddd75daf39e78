"""The outcome of one resolution, :class:`Result`, and the sentences that explain it.

A value object in its own module, as h11 keeps its events in ``_events.py``: the resolver
builds them, every adapter stores them, logs and explanations read them.
"""

# No `from __future__ import annotations` here: NamedTuple would turn each string annotation
# into a ForwardRef, compiling it at import (see realip._topologies).

from typing import TYPE_CHECKING, NamedTuple, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:
    import ipaddress

from realip._headers import MAX_ITEMS

REMOTE_ADDR = "remote_addr"
"""``Result.source`` when the answer is the peer address."""

# Prepared reasons: the peer answers often enough that formatting a sentence each time shows in
# the benchmark.
UNTRUSTED_PEER = "the peer is the client: it is not a trusted proxy, so headers are ignored"
PEER_ONLY = "the peer is the client: this configuration reads no header"
PROXY_SENDER = (
    "the peer is a trusted PROXY protocol sender, so no PROXY header was decoded for this "
    "connection (a LOCAL health check, or a server that does not decode PROXY protocol): its "
    "own address is the answer (proxy_as_client)"
)


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
    def ip_address(self) -> "Union[ipaddress.IPv4Address, ipaddress.IPv6Address, None]":
        """``client_ip`` as an ``ipaddress`` object, built on demand."""
        import ipaddress  # on demand: the per-request path never needs it

        return None if self.client_ip is None else ipaddress.ip_address(self.client_ip)

    @property
    def via_proxies(self) -> bool:
        """Whether trusted proxies' headers decided the answer (``proxies`` is not empty)."""
        return bool(self.proxies)


# tuple.__new__ builds a Result without the Python-level __new__ frame of a NamedTuple
# (measured: ~90 ns of the ~250 ns Result(...) costs on CPython 3.11).
tuple_new = tuple.__new__


def new_result(
    client_ip: Optional[str],
    source: str,
    proxies: Tuple[str, ...],
    reason: str,
    snat: bool = False,
    peer: Optional[str] = None,
    proxy_as_client: bool = False,
) -> Result:
    """A :class:`Result` from its fields, positionally, without NamedTuple's ``__new__``."""
    return tuple_new(Result, (client_ip, source, proxies, reason, snat, peer, proxy_as_client))


def bad_entry(
    header: str, item: str, proxies: Sequence[str], peer: Optional[str], what: str
) -> Result:
    """Fail closed on a list entry that is not what it must be (``what`` says how)."""
    return new_result(
        None,
        header,
        tuple(proxies),
        f"the {header} entry {item[:64]!r} {what}; refusing to guess the client (fail closed)",
        False,
        peer,
    )


def too_long(header: str, proxies: Tuple[str, ...], peer: Optional[str]) -> Result:
    """Fail closed on a walk longer than :data:`~realip._headers.MAX_ITEMS` items."""
    return new_result(
        None,
        header,
        proxies,
        f"{header} has more than {MAX_ITEMS} items to walk; refusing to look further (fail closed)",
        False,
        peer,
    )


def padded(header: str, proxies: Tuple[str, ...], peer: Optional[str], why: object) -> Result:
    """Fail closed on a list header padded with a long run of empty items."""
    return new_result(
        None,
        header,
        proxies,
        f"{header}: {why}; refusing to look further (fail closed)",
        False,
        peer,
    )
