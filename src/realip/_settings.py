"""A resolver's configuration, checked: what every constructor hands to the resolver.

Keyword arguments (``Resolver(...)``), a topology (``Resolver.for_topology``) and the option
front ends (environment, flags, Django settings) all end here as one :class:`Settings`; a
value that means nothing raises :class:`ConfigError` naming its option. Nothing here runs per
request, so it may use ``ipaddress`` freely (through :mod:`realip._networks`).
"""

# No `from __future__ import annotations` here: NamedTuple would turn each string annotation
# into a ForwardRef, compiling it at import (about 1 ms of `import realip`).

import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from realip._errors import ConfigError
from realip._headers import MAX_ITEMS
from realip._networks import PRESETS, parse_networks
from realip._topologies import topology_spec

XFF = "x-forwarded-for"
FORWARDED = "forwarded"
LIST_HEADERS = (XFF, FORWARDED)


class DefaultHeader(str):
    """The default ``header`` value; lets the constructor tell it from an explicit choice."""

    __slots__ = ()


DEFAULT_HEADER = DefaultHeader(XFF)
"""``Resolver(header=...)``'s default: x-forwarded-for, but not a choice the user made."""

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


class Settings(NamedTuple):
    """Checked configuration of one resolver (CIDRs parsed, names normalised)."""

    trusted: Tuple[Tuple[str, Any], ...]
    """``(label, network)`` pairs trusted as proxies (or as PROXY protocol senders)."""
    header: Optional[str]
    """The header to read, lower-case; None for the peer address only."""
    explicit_header: bool
    """Whether ``header`` was chosen, rather than left at its default."""
    hops: Optional[int]
    """``trusted_hops`` in hop mode, else None."""
    require: bool
    """``require_header``: fail closed when a trusted proxy forwards no client."""
    snat: Tuple[Tuple[str, Any], ...] = ()
    """``(label, network)`` pairs of node addresses that SNAT (flagged, never trusted)."""
    topology: Optional[str] = None
    """The topology name, when built from one."""
    notes: Tuple[str, ...] = ()
    """Topology-specific warnings, besides the lints every configuration gets."""
    snat_service: str = "the Service"
    """Which Service's externalTrafficPolicy: Cluster SNATs (for the snat reason)."""


def check_header(header: object) -> Optional[str]:
    """``header`` lower-cased and checked: a valid, dashed HTTP name that can hold an address."""
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


def check_hops(hops: object) -> Optional[int]:
    """``trusted_hops`` checked: None, or a whole number from 1 to MAX_ITEMS."""
    if hops is None:
        return None
    if isinstance(hops, bool) or not isinstance(hops, int):
        raise ConfigError(f"{hops!r} must be a whole number >= 1", "trusted_hops")
    if not 1 <= hops <= MAX_ITEMS:
        raise ConfigError(f"{hops!r} must be between 1 and {MAX_ITEMS}", "trusted_hops")
    return hops


def check_require(require_header: object) -> bool:
    """``require_header`` checked: True or False."""
    if not isinstance(require_header, bool):
        raise ConfigError(f"{require_header!r} must be True or False", "require_header")
    return require_header


def plain_settings(
    trusted_proxies: Iterable[Any],
    header: Optional[str],
    trusted_hops: Optional[int],
    require_header: bool,
) -> Settings:
    """The settings ``Resolver(...)``'s keywords describe."""
    require = check_require(require_header)
    name = check_header(header)
    hops = check_hops(trusted_hops)
    with blame("trusted_proxies"):
        trusted = parse_networks(trusted_proxies)
    if hops is not None:
        if trusted:
            raise ConfigError(
                "cannot be combined with $trusted_proxies; choose one: $trusted_proxies "
                "(safer) or $trusted_hops",
                "trusted_hops",
            )
        if name not in LIST_HEADERS:
            raise ConfigError(
                f"needs a list header (x-forwarded-for or forwarded), not $header={header!r}",
                "trusted_hops",
            )
    return Settings(trusted, name, header is not DEFAULT_HEADER, hops, require)


def topology_settings(
    name: str,
    pod_cidrs: Iterable[Any],
    node_cidrs: Iterable[Any],
    lb_cidrs: Iterable[Any],
    header: Optional[str],
    require_header: bool,
) -> Settings:
    """The settings of a named deployment topology and its ranges."""
    with blame("topology"):
        spec = topology_spec(name)
    cidrs = {}
    for option, given in (
        ("pod_cidrs", pod_cidrs),
        ("node_cidrs", node_cidrs),
        ("lb_cidrs", lb_cidrs),
    ):
        with blame(option):
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
    if spec.trusted_extra and in_cluster and check_header(chosen) not in LIST_HEADERS:
        # Through an in-cluster hop, a single-IP header is trusted because of who forwarded
        # it, not who wrote it: a client reaching the load balancer without passing the CDN
        # writes it itself. A list walk checks that the CDN's edge really was in the path.
        notes.append(
            f"topology {spec.name!r} reads {chosen} from in-cluster proxies "
            f"({', '.join(in_cluster)}): a client that reaches your load balancer without "
            f"passing {spec.name} can set it; use header='x-forwarded-for' (walks past the "
            "CDN's ranges) or accept traffic only from the CDN"
        )
    return Settings(
        # A PROXY-protocol topology reads no header, but its trusted ranges still decide who
        # may send the PROXY header (see Resolver.trusts).
        parse_networks(trusted) if spec.header is not None or spec.proxy_protocol else (),
        check_header(chosen),
        True,
        None,
        check_require(require_header),
        parse_networks(snat),
        spec.name,
        tuple(notes),
        spec.snat_service or "the Service",
    )


def stacklevel_outside_realip() -> int:
    """The ``warnings.warn`` stacklevel of the first caller outside realip."""
    # Point a warning at the user's line that built the resolver, however many realip frames
    # (from_env, for_topology, the Django settings reader) lie in between.
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("realip."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


@contextmanager
def blame(option: str) -> Iterator[None]:
    """Let a :class:`ConfigError` raised inside name ``option`` unless it names one already."""
    try:
        yield
    except ConfigError as exc:
        if exc.option is not None:
            raise
        raise ConfigError(exc.detail, option) from None
