"""The request headers that name a client address, and who writes and reads each.

After a realip middleware, each of these holds only what realip verified, or is gone: the
header realip reads keeps its verified part (the client's entry and the trusted proxies'), every
other one is removed, in its ``-`` and its ``_`` spelling (a reader that looks up
``X_FORWARDED_FOR`` finds a client's ``X_Forwarded_For`` line). Otherwise a reader that falls
back to the next header (sentry-sdk reads ``X-Real-IP`` when ``X-Forwarded-For`` is gone, Falcon's
``access_route`` reads ``Forwarded`` first) finds an address the client chose. The list is data:
docs/reference/api.md renders it, and a test keeps the two equal.
"""

from __future__ import annotations

from typing import Tuple


class ClientHeader:
    """One request header that carries a client address."""

    # A plain class, not a NamedTuple: building a NamedTuple class costs ~1 ms, and this module
    # is loaded by ``import realip`` (the adapters' rewrite plan reads it).
    __slots__ = ("name", "read_by", "written_by")

    def __init__(self, name: str, written_by: str, read_by: str) -> None:
        self.name = name
        """The header name, as usually spelled."""
        self.written_by = written_by
        """Who sets it in front of an app."""
        self.read_by = read_by
        """Readers that look at it (frameworks, client-IP libraries, error reporters)."""


CLIENT_HEADERS: Tuple[ClientHeader, ...] = (
    ClientHeader(
        "X-Forwarded-For",
        "most proxies and load balancers",
        "Werkzeug, Bottle, WebOb, Falcon, Django REST framework, sentry-sdk, slowapi "
        "(`X_FORWARDED_FOR`), python-ipware",
    ),
    ClientHeader("Forwarded", "RFC 7239 proxies", "Falcon (first), python-ipware, Sanic"),
    ClientHeader("X-Real-IP", "nginx, many ingresses", "sentry-sdk (fallback), Falcon, Tornado"),
    ClientHeader(
        "X-Original-Forwarded-For",
        "ingress-nginx (`use-forwarded-headers`)",
        "apps behind ingress-nginx",
    ),
    ClientHeader("True-Client-IP", "Akamai, Cloudflare Enterprise", "python-ipware"),
    ClientHeader("CF-Connecting-IP", "Cloudflare", "python-ipware"),
    ClientHeader("CF-Connecting-IPv6", "Cloudflare (pseudo IPv4 on)", "apps behind Cloudflare"),
    ClientHeader("X-Client-IP", "Azure, some proxies", "python-ipware"),
    ClientHeader("Client-IP", "some proxies", "python-ipware, django-ipware"),
    ClientHeader("X-Cluster-Client-IP", "Rackspace, Riverbed Stingray", "python-ipware"),
    ClientHeader("Fastly-Client-IP", "Fastly, Firebase Hosting", "python-ipware"),
    ClientHeader("Fly-Client-IP", "Fly.io", "python-ipware"),
    ClientHeader("X-Forwarded", "Squid", "python-ipware, django-ipware"),
    ClientHeader("Forwarded-For", "some proxies", "python-ipware, django-ipware"),
    ClientHeader("X-Appengine-User-IP", "Google App Engine", "python-ipware"),
    ClientHeader("X-Azure-ClientIP", "Azure Front Door", "python-ipware"),
    ClientHeader("X-Azure-SocketIP", "Azure Front Door", "apps behind Front Door"),
    ClientHeader("DO-Connecting-IP", "DigitalOcean App Platform", "python-ipware"),
    ClientHeader("X-Envoy-External-Address", "Envoy, Istio", "python-ipware"),
)
"""Every client-address header realip rewrites, in the order the docs list them."""

NAMES = frozenset(header.name.lower() for header in CLIENT_HEADERS)
"""The lower-case names of :data:`CLIENT_HEADERS`."""


def spellings(name: str) -> Tuple[str, str]:
    """The two lower-case spellings of ``name`` a reader may look up: with ``-`` and with ``_``."""
    lower = name.lower()
    return lower.replace("_", "-"), lower.replace("-", "_")


def reference_table() -> str:
    """The Markdown table docs/reference/api.md shows (kept equal by a test)."""
    lines = ["| header | written by | read by |", "| --- | --- | --- |"]
    lines += [f"| `{h.name}` | {h.written_by} | {h.read_by} |" for h in CLIENT_HEADERS]
    return "\n".join(lines)
