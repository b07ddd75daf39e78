"""The header realip read holds only what realip verified, after either middleware (issue 12.4).

Rule: the client's entry and the trusted proxies' entries to its right stay, in order; nothing
left of the client's entry; the header is removed when the peer is the client, when realip
failed closed, and (for a resolver that reads no header) X-Forwarded-For is removed. A header
with nothing to drop is left untouched (the same object), which keeps the common case cheap.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realip import RealIPWarning, Resolver
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.request import ORIGINAL_HEADER_KEY, ORIGINAL_HEADERS_KEY
from realip.wsgi import RealIPMiddleware as WSGIRealIP

XFF = Resolver(trusted_proxies=["10.0.0.0/8"])
FWD = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
REAL_IP = Resolver(trusted_proxies=["10.0.0.0/8"], header="x-real-ip")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RealIPWarning)
    HOPS = Resolver(trusted_hops=2)
PEER_ONLY = Resolver.for_topology("pod-to-pod")

GONE = None  # the header is removed
SAME = "<unchanged>"

# (resolver, peer, header value, what the header holds afterwards)
CASES = [
    # nothing to drop: the common case is left as it came
    (XFF, "10.0.0.3", "203.0.113.9", SAME),
    (XFF, "10.0.0.3", "203.0.113.9, 10.0.1.5", SAME),
    # a client-written prefix goes, the verified part stays in order
    (XFF, "10.0.0.3", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
    (XFF, "10.0.0.3", "6.6.6.6, unknown, 203.0.113.9, 10.0.1.5", "203.0.113.9, 10.0.1.5"),
    (XFF, "10.0.0.3", "203.0.113.9,, 10.0.1.5", SAME),  # an empty item is no entry
    (XFF, "10.0.0.3", "6.6.6.6,, 203.0.113.9 ,10.0.1.5", "203.0.113.9, 10.0.1.5"),
    # the peer is the client: nothing in the header was verified
    (XFF, "203.0.113.50", "6.6.6.6", GONE),
    # failed closed: removed
    (XFF, "10.0.0.3", "6.6.6.6, not-an-ip, 10.0.1.5", GONE),
    (XFF, "10.0.0.3", "6.6.6.6, " + ", ".join(["10.0.0.1"] * 40), GONE),
    # every entry trusted: the leftmost is the client, all stay
    (XFF, "10.0.0.3", "10.0.9.9, 10.0.1.5", SAME),
    # Forwarded: whole elements stay, parameters included
    (
        FWD,
        "10.0.0.3",
        'for=6.6.6.6, for="203.0.113.9";proto=https',
        'for="203.0.113.9";proto=https',
    ),
    (FWD, "10.0.0.3", "for=203.0.113.9;proto=https", SAME),
    # a single-IP header: only its last value counts
    (REAL_IP, "10.0.0.3", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
    (REAL_IP, "10.0.0.3", "203.0.113.9", SAME),
    # hop mode: the counted entries
    (HOPS, "192.0.2.1", "6.6.6.6, 203.0.113.9, 198.51.100.1", "203.0.113.9, 198.51.100.1"),
    (HOPS, "192.0.2.1", "203.0.113.9", GONE),  # fewer entries than hops: fail closed
    # a resolver that reads no header: X-Forwarded-For holds nothing verified
    (PEER_ONLY, "10.0.0.3", "6.6.6.6", GONE),
]


def _ids() -> list[str]:
    return [f"{r.header or 'peer-only'}-{peer}-{value[:30]}" for r, peer, value, _ in CASES]


def _wsgi_key(resolver: Resolver) -> str:
    name = resolver.header or "x-forwarded-for"
    return "HTTP_" + name.upper().replace("-", "_")


def run_wsgi(resolver: Resolver, peer: str, value: str, **kwargs: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    environ = {"REQUEST_METHOD": "GET", "REMOTE_ADDR": peer, _wsgi_key(resolver): value}
    WSGIRealIP(app, resolver, **kwargs)(environ, lambda *a: None)
    return seen


def run_asgi(resolver: Resolver, peer: str, value: str, **kwargs: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    name = (resolver.header or "x-forwarded-for").encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    headers = [(b"host", b"example"), (name, value.encode()), (b"accept", b"*/*")]
    scope = {"type": "http", "client": (peer, 40000), "headers": headers}
    asyncio.run(ASGIRealIP(app, resolver, **kwargs)(scope, None, None))  # type: ignore[arg-type]
    return seen


def asgi_value(scope: dict[str, Any], name: bytes) -> Optional[str]:
    values = [v.decode() for k, v in scope["headers"] if k == name]
    assert len(values) <= 1
    return values[0] if values else None


@pytest.mark.parametrize(("resolver", "peer", "value", "expected"), CASES, ids=_ids())
def test_wsgi_header_holds_only_what_was_verified(
    resolver: Resolver, peer: str, value: str, expected: Optional[str]
) -> None:
    seen = run_wsgi(resolver, peer, value)
    key = _wsgi_key(resolver)
    if expected == SAME:
        assert seen[key] is not None and seen[key] == value
        assert ORIGINAL_HEADER_KEY not in seen
    else:
        assert seen.get(key) == expected
        assert seen[ORIGINAL_HEADER_KEY] == value


@pytest.mark.parametrize(("resolver", "peer", "value", "expected"), CASES, ids=_ids())
def test_asgi_header_holds_only_what_was_verified(
    resolver: Resolver, peer: str, value: str, expected: Optional[str]
) -> None:
    seen = run_asgi(resolver, peer, value)
    name = (resolver.header or "x-forwarded-for").encode()
    if expected == SAME:
        assert asgi_value(seen, name) == value
        assert ORIGINAL_HEADERS_KEY not in seen
    else:
        assert asgi_value(seen, name) == expected
        original = seen[ORIGINAL_HEADERS_KEY]
        assert (name, value.encode()) in original
        # The other headers keep their order around the rewritten one.
        others = [k for k, _ in seen["headers"] if k != name]
        assert others == [b"host", b"accept"]


def test_repeated_asgi_header_lines_become_one_verified_line() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http",
        "client": ("10.0.0.3", 1),
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"203.0.113.9")],
    }
    asyncio.run(ASGIRealIP(app, XFF)(scope, None, None))  # type: ignore[arg-type]
    assert seen["headers"] == [(b"x-forwarded-for", b"203.0.113.9")]


@pytest.mark.parametrize("runner", [run_wsgi, run_asgi])
def test_rewrite_header_false_leaves_the_header_alone(runner: Any) -> None:
    seen = runner(XFF, "10.0.0.3", "6.6.6.6, 203.0.113.9", rewrite_header=False)
    assert "6.6.6.6" in str(seen.get("HTTP_X_FORWARDED_FOR") or seen.get("headers"))
    assert ORIGINAL_HEADER_KEY not in seen and ORIGINAL_HEADERS_KEY not in seen


ENTRY = st.one_of(
    st.sampled_from(["10.0.1.5", "10.9.9.9", "203.0.113.9", "6.6.6.6", "2001:db8::1", "", " "]),
    st.text(alphabet="0123456789.:abcdefunk", max_size=12),
)


@given(peer=st.sampled_from(["10.0.0.3", "203.0.113.50"]), entries=st.lists(ENTRY, max_size=8))
def test_rewritten_header_resolves_to_the_same_client_and_starts_with_it(
    peer: str, entries: list[str]
) -> None:
    """Property: re-resolving the rewritten request gives the same client, which is leftmost."""
    value = ", ".join(entries)
    seen = run_wsgi(XFF, peer, value)
    result = seen["realip.result"]
    rewritten = seen.get("HTTP_X_FORWARDED_FOR")
    again = XFF.resolve_value(peer, rewritten)
    if result.client_ip is None or result.source == "remote_addr":
        assert rewritten is None  # nothing verified: removed
    else:
        assert again.client_ip == result.client_ip
        assert rewritten is not None
        # Empty list items don't count (RFC 9110 5.6.1): the first entry is the first non-empty.
        leftmost = next(item.strip() for item in rewritten.split(",") if item.strip())
        assert Resolver().resolve_value(leftmost, None).client_ip == result.client_ip
