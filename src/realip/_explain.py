"""Step-by-step explanations of a resolution, for ``realip explain`` and ``realip serve``.

Nothing here decides anything: the :class:`~realip.Result` comes from the resolver, and the
steps describe the hops it walked, annotated with the CIDRs or presets that trusted them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from realip._addresses import parse_ip
from realip._headers import Headers, PaddingError, items_from_right, lookup
from realip._topologies import topology_spec
from realip.resolver import Resolver, Result

PROXY_HEADERS: Tuple[str, ...] = (
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "cf-connecting-ip",
    "true-client-ip",
    "fly-client-ip",
    "fastly-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "via",
)
"""Headers that proxies commonly write about the client, shown by explain and serve."""

FORWARDING_HEADERS: Tuple[str, ...] = (
    "forwarded",
    "x-real-ip",
    "cf-connecting-ip",
    "x-forwarded-for",
)
"""Headers realip can read the client from; one that arrived instead of the configured one is
the most common misconfiguration, so explain names it."""


class Explanation:
    """A :class:`~realip.Result` with the steps that led to it and the warnings that apply."""

    __slots__ = ("headers", "result", "steps", "warnings")

    def __init__(
        self, result: Result, steps: List[str], warnings: List[str], headers: Dict[str, str]
    ) -> None:
        self.result = result
        self.steps = steps
        self.warnings = warnings
        self.headers = headers

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form: the result's fields, the steps, the warnings, the proxy headers seen."""
        out: Dict[str, Any] = dict(self.result._asdict())
        out["proxies"] = list(self.result.proxies)
        out["steps"] = list(self.steps)
        out["warnings"] = list(self.warnings)
        out["headers"] = dict(self.headers)
        return out


def _trust_note(resolver: Resolver, text: Optional[str]) -> str:
    if text is None or text == "unix":
        return "the 'unix' preset" if resolver.networks.unix else "nothing"
    parsed = parse_ip(text)
    labels = resolver.networks.matches(parsed[0]) if parsed is not None else []
    return ", ".join(labels) if labels else "hop count"


def _count_items(value: str) -> int:
    # Display only, but still bounded: a padded header must not make an explanation slow.
    count = 0
    try:
        for _ in items_from_right(value):
            count += 1
            if count > 1000:
                break
    except PaddingError:
        pass
    return count


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _proxy_protocol(resolver: Resolver) -> bool:
    return resolver.topology is not None and topology_spec(resolver.topology).proxy_protocol


def describe(resolver: Resolver) -> str:
    """One line describing a resolver's configuration."""
    parts = []
    if resolver.topology:
        parts.append(f"topology {resolver.topology}")
    if _proxy_protocol(resolver):
        senders = ", ".join(dict.fromkeys(label for label, _ in resolver.networks.entries))
        parts.append(
            "client = the PROXY protocol header's source, which the server decodes and reports as "
            f"the peer; only [{senders}] may send that header (headers not read)"
        )
    elif resolver.header is None:
        parts.append("client = peer address (headers not read)")
    elif resolver.trusted_hops is not None:
        parts.append(f"{resolver.header}, trusting {resolver.trusted_hops} hop(s) from the right")
    else:
        labels = [label for label, _ in resolver.networks.entries]
        shown = ", ".join(dict.fromkeys(labels[:8])) + (" ..." if len(labels) > 8 else "")
        parts.append(f"{resolver.header} from trusted proxies [{shown}]")
    if not resolver.snat_networks.empty:
        nodes = ", ".join(label for label, _ in resolver.snat_networks.entries)
        parts.append(f"peers in {nodes} flagged as SNAT")
    return "; ".join(parts)


def explain(resolver: Resolver, remote_addr: Any, headers: Optional[Headers]) -> Explanation:
    """Resolve one request and explain how the answer was reached."""
    headers = headers if headers is not None else {}
    result = resolver.resolve(remote_addr, headers)
    seen: Dict[str, str] = {}
    for name in PROXY_HEADERS:
        value = lookup(headers, name)
        if value is not None:
            seen[name] = value
    steps = [f"configuration: {describe(resolver)}"]
    warnings = list(resolver.warnings)
    header = resolver.header
    peer_shown = result.peer or (remote_addr if remote_addr not in (None, "") else "unix socket")
    if result.proxies:
        for i, hop in enumerate(result.proxies):
            where = "peer" if i == 0 else f"{header} entry"
            shown = peer_shown if i == 0 else hop
            note = _trust_note(resolver, hop)
            steps.append(f"{where} {shown}: trusted ({note}), keep walking left")
    elif header is not None and result.source == "remote_addr" and result.peer is not None:
        if result.proxy_as_client:
            note = _trust_note(resolver, result.peer)
            steps.append(f"peer {peer_shown}: trusted ({note}), but no {header} header arrived")
        else:
            steps.append(f"peer {peer_shown}: not trusted, so no header is read")
    else:
        steps.append(f"peer {peer_shown}")
    if result.client_ip is not None:
        where = "the peer address" if result.source == "remote_addr" else f"from {result.source}"
        steps.append(f"client: {result.client_ip} ({where}) - {result.reason}")
    else:
        steps.append(f"no client IP: {result.reason}")
    if _proxy_protocol(resolver) and result.peer is not None and resolver.trusts(result.peer):
        # After decoding, the peer is the client; the load balancer itself as the peer means
        # the server never decoded the header (or the LB sent LOCAL/UNKNOWN: a health check).
        warnings.append(
            f"the peer {result.peer} is a load balancer address that may send PROXY headers: if "
            "this is a client's request, the server did not decode the header; run the app with "
            "realip.uvicorn's protocol classes, gunicorn --proxy-protocol or realip serve "
            "--proxy-protocol (a LOCAL/UNKNOWN health check also keeps the load balancer's address)"
        )
    if result.snat:
        warnings.append(
            f"SNAT suspected: the peer {result.peer} is a node address, so kube-proxy replaced the "
            "client's address; set externalTrafficPolicy: Local on the Service"
        )
    sent = [name for name in ("x-forwarded-for", "forwarded", "x-real-ip") if name in seen]
    if header is None and sent:
        warnings.append(
            f"{', '.join(sent)} arrived but this configuration reads no header: if a proxy in "
            "front of the app wrote it, pick a topology that trusts that proxy (see `realip demo`)"
        )
    elif header is not None and not result.proxies and header in seen and result.peer:
        warnings.append(
            f"{header} arrived from {result.peer}, which is not trusted: if {result.peer} is your "
            "proxy, add its range to the trusted proxies; otherwise the header is spoofed"
        )
    others = [name for name in FORWARDING_HEADERS if name != header and name in seen]
    if header is not None and header not in seen and others:
        warnings.append(
            f"{header} did not arrive, but {', '.join(others)} did: if your proxy writes "
            f"{others[0]}, read it with header={others[0]!r} (REALIP_HEADER={others[0]}, "
            f"--header {others[0]})"
            + (
                "; behind Cloudflare, REALIP_TOPOLOGY=cloudflare reads it"
                if others[0] == "cf-connecting-ip" and resolver.topology != "cloudflare"
                else ""
            )
        )
    if header is not None and result.proxies and header in seen and result.client_ip:
        total = _count_items(seen[header])
        used = len(result.proxies) - 1 + (result.client_ip is not None)
        if resolver.trusted_hops is None and total > used:
            warnings.append(
                f"{header} holds {total} entries but only {used} came from trusted proxies and the "
                f"client: {_entries(total - used)} further left came from the client itself "
                "(possibly spoofed) and "
                f"{'was' if total - used == 1 else 'were'} ignored"
            )
    return Explanation(result, steps, warnings, seen)
