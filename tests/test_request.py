"""Request helpers shared by the adapters: scheme decisions and peer trust."""

from __future__ import annotations

import warnings
from typing import Any, Dict

import pytest
from support.wsgi import wsgi_environ

from realip import RealIPWarning, Resolver
from realip._adapters import scheme_from_environ as _scheme_from_environ
from realip._adapters import scheme_from_scope as _scheme_from_scope

TRUST = Resolver(trusted_proxies=["10.0.0.0/8", "unix"])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RealIPWarning)
    HOPS = Resolver(header="x-forwarded-for", trusted_hops=1)


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("10.0.0.5", True),
        (("10.0.0.5", 80), True),
        ("::ffff:10.0.0.5", True),
        (None, True),
        ("/run/app.sock", True),
        ("203.0.113.9", False),
        ("garbage", False),
        (42, False),
        ((), True),
    ],
)
def test_trusts(peer: object, expected: bool) -> None:
    assert TRUST.trusts(peer) is expected  # type: ignore[arg-type]


def test_hop_mode_trusts_no_address() -> None:
    assert not HOPS.trusts("10.0.0.5")


def environ(peer: str, **headers: str) -> Dict[str, Any]:
    return wsgi_environ(peer, headers.items())


@pytest.mark.parametrize(
    ("resolver", "peer", "headers", "expected"),
    [
        (TRUST, "10.0.0.5", {"X_FORWARDED_PROTO": "https"}, "https"),  # no XFF needed
        (TRUST, "10.0.0.5", {"X_FORWARDED_PROTO": "https", "X_FORWARDED_FOR": "1.2.3.4"}, "https"),
        (TRUST, "203.0.113.9", {"X_FORWARDED_PROTO": "https"}, None),  # untrusted peer
        (TRUST, "10.0.0.5", {"X_FORWARDED_PROTO": "ftp"}, None),
        # An X-Forwarded-For resolver reads X-Forwarded-Proto only; Forwarded is another
        # proxy's (or the client's) business.
        (TRUST, "10.0.0.5", {"FORWARDED": "for=1.2.3.4;proto=https"}, None),
        (HOPS, "203.0.113.9", {"X_FORWARDED_PROTO": "https"}, None),  # no hop walked
        (HOPS, "10.0.0.5", {"X_FORWARDED_PROTO": "https", "X_FORWARDED_FOR": "1.2.3.4"}, "https"),
    ],
)
def test_scheme_only_from_trusted_proxies(
    resolver: Resolver, peer: str, headers: dict, expected: object
) -> None:
    env = environ(peer, **headers)
    result = resolver.resolve_value(peer, env.get("HTTP_X_FORWARDED_FOR"))
    assert _scheme_from_environ(resolver, env, result) == expected


def test_scheme_from_scope_uses_the_original_client() -> None:
    scope = {
        "type": "websocket",
        "client": ("1.2.3.4", 0),
        "realip.original_client": ("10.0.0.5", 4000),
        "headers": [(b"x-forwarded-proto", b"https")],
    }
    result = TRUST.resolve_value("10.0.0.5", None)
    assert _scheme_from_scope(TRUST, scope, result) == "wss"
    scope["realip.original_client"] = ("203.0.113.9", 4000)
    assert _scheme_from_scope(TRUST, scope, TRUST.resolve_value("203.0.113.9", None)) is None
