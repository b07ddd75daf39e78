"""A client never chooses its own address, and never makes it unresolvable.

One test per cell of deployment x adapter x attack. In each cell the client sends its own
proxy headers (``attack``), the honest proxies of the deployment handle the request as the real
ones do (see ``security_support``), and the app must see the client's real address - not one
the client wrote, and not ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Set, Tuple

import pytest
from fuzz_targets import addresses_in
from security_support import ADAPTERS, Deployment, Lines, deployments

XFF = "X-Forwarded-For"
FWD = "Forwarded"
XRI = "X-Real-IP"
CF = "CF-Connecting-IP"
TCI = "True-Client-IP"

# Addresses an attacker would like to be: public ones, and ones the deployments trust.
TRUSTED_CLAIMS = "10.0.0.9, 10.244.0.9, 100.64.0.9, 127.0.0.1, 173.245.48.9, 192.168.0.9, fd00::9"


@dataclass(frozen=True)
class Attack:
    """Header lines a client sends, hoping to be seen as one of the addresses in them."""

    id: str
    lines: Lines
    # The header a WSGI-style name (HTTP_X_FORWARDED_FOR) would collide with, if any.
    wsgi_name_for: Optional[str] = None

    @property
    def spoofs(self) -> Set[str]:
        """Every address the client wrote, canonical."""
        found: Set[str] = set()
        for _, value in self.lines:
            found |= addresses_in(value)
        return found


def attack(id: str, *lines: Tuple[str, str], wsgi_name_for: Optional[str] = None) -> Attack:
    return Attack(id, tuple(lines), wsgi_name_for)


ATTACKS: List[Attack] = [
    attack("none"),
    # X-Forwarded-For
    attack("xff-single", (XFF, "6.6.6.6")),
    attack("xff-repeated", (XFF, "6.6.6.6"), (XFF, "6.6.6.7")),
    attack("xff-mixed-case-name", ("x-FORWARDED-fOr", "6.6.6.6")),
    attack("xff-with-port", (XFF, "6.6.6.6:8080")),
    attack("xff-ipv6", (XFF, "2001:db8:bad::6")),
    attack("xff-ipv6-upper-case", (XFF, "2001:DB8:BAD::6")),
    attack("xff-ipv6-bracket-port", (XFF, "[2001:db8:bad::6]:443")),
    attack("xff-ipv4-mapped", (XFF, "::ffff:6.6.6.6")),
    attack("xff-zone-id", (XFF, "fe80::6%eth0")),
    attack("xff-trailing-comma", (XFF, "6.6.6.6,")),
    attack("xff-whitespace", (XFF, " \t6.6.6.6 \t, \t")),
    attack("xff-empty-value", (XFF, "")),
    attack("xff-only-commas", (XFF, ",,,,,")),
    attack("xff-claims-trusted-hops", (XFF, f"6.6.6.6, {TRUSTED_CLAIMS}")),
    attack("xff-claims-loopback", (XFF, "127.0.0.1"), (XFF, "::1")),
    attack("xff-garbage", (XFF, 'unknown, _hidden, "6.6.6.6", 1.2.3, 01.2.3.4, \x00')),
    attack("xff-100-entries", (XFF, ", ".join(f"6.6.8.{i + 1}" for i in range(100)))),
    attack("xff-100-lines", *[(XFF, f"6.6.7.{i + 1}") for i in range(100)]),
    attack("xff-many-commas", (XFF, "6.6.6.6" + "," * 200)),
    # Forwarded (RFC 7239), including sabotage of the proxies' part.
    attack("fwd-single", (FWD, "for=6.6.6.6")),
    attack("fwd-repeated", (FWD, "for=6.6.6.6"), (FWD, "for=6.6.6.7;proto=https")),
    attack("fwd-mixed-case", ("FORWARDED", "For=6.6.6.6;PROTO=https")),
    attack("fwd-with-port", (FWD, 'for="6.6.6.6:8080"')),
    attack("fwd-ipv6-quoted-port", (FWD, 'for="[2001:db8:bad::6]:443"')),
    attack("fwd-ipv4-mapped", (FWD, 'for="[::ffff:6.6.6.6]"')),
    attack("fwd-unbalanced-quote", (FWD, 'for="6.6.6.6')),
    attack("fwd-unbalanced-quote-after-pair", (FWD, 'proto=https;for="6.6.6.6;by=x')),
    attack("fwd-stray-comma-in-quotes", (FWD, 'for="6.6.6.6, for=6.6.6.7"')),
    attack("fwd-for-inside-quotes", (FWD, 'for="_x;for=6.6.6.6"')),
    attack("fwd-for-inside-other-value", (FWD, 'by="for=6.6.6.6";host=x')),
    attack("fwd-escaped-closing-quote", (FWD, 'for="6.6.6.6\\"')),
    attack("fwd-trailing-comma", (FWD, "for=6.6.6.6,")),
    attack("fwd-two-for", (FWD, "for=6.6.6.6;for=6.6.6.7")),
    attack("fwd-unknown-and-obfuscated", (FWD, "for=unknown, for=_hidden")),
    attack("fwd-whitespace", (FWD, " for = 6.6.6.6 ; proto = https ,\t")),
    # Single-IP headers.
    attack("x-real-ip-single", (XRI, "6.6.6.6")),
    attack("x-real-ip-repeated-mixed-case", ("x-real-IP", "6.6.6.6"), ("X-REAL-IP", "6.6.6.7")),
    attack("x-real-ip-port-and-list", (XRI, "6.6.6.6:80, 6.6.6.7")),
    attack("x-real-ip-trailing-comma-ipv6", (XRI, "2001:db8:bad::6 ,")),
    attack("x-real-ip-ipv4-mapped", (XRI, "::ffff:6.6.6.6")),
    attack("cf-connecting-ip-single", (CF, "6.6.6.6")),
    attack("cf-connecting-ip-repeated", ("cf-connecting-IP", "6.6.6.6"), (CF, "2001:db8:bad::6")),
    attack("cf-connecting-ip-trailing", (CF, "6.6.6.6, ")),
    attack("true-client-ip", (TCI, "6.6.6.6"), ("true-client-ip", "::ffff:6.6.6.7")),
    attack(
        "every-header-at-once",
        (XFF, "6.6.6.1"),
        (FWD, 'for="6.6.6.2'),
        (XRI, "6.6.6.3"),
        (CF, "6.6.6.4"),
        (TCI, "6.6.6.5"),
        ("X-Client-IP", "6.6.6.6"),
    ),
    # Header names in WSGI-environ spelling: a proxy passes them through as unknown headers.
    attack(
        "wsgi-name-xff",
        (XFF, "6.6.6.5"),
        ("HTTP_X_FORWARDED_FOR", "6.6.6.6"),
        wsgi_name_for="x-forwarded-for",
    ),
    attack(
        "wsgi-name-forwarded",
        (FWD, "for=6.6.6.5"),
        ("HTTP_FORWARDED", "for=6.6.6.6"),
        wsgi_name_for="forwarded",
    ),
    attack(
        "wsgi-name-single-ip",
        ("HTTP_X_REAL_IP", "6.6.6.6"),
        ("HTTP_CF_CONNECTING_IP", "6.6.6.6"),
        wsgi_name_for="single",
    ),
]

DEPLOYMENTS = deployments()


def _cells() -> List[Any]:
    cells = []
    for deployment in DEPLOYMENTS:
        for adapter in ADAPTERS:
            for att in ATTACKS:
                cells.append(
                    pytest.param(
                        deployment, adapter, att, id=f"{deployment.id}--{adapter}--{att.id}"
                    )
                )
    return cells


@pytest.mark.parametrize(("deployment", "adapter", "attack"), _cells())
def test_client_cannot_choose_its_address(
    deployment: Deployment, adapter: str, attack: Attack
) -> None:
    assert deployment.answer not in attack.spoofs, "the table itself is inconsistent"
    peer, lines = deployment.request(attack.lines)
    observed = ADAPTERS[adapter](deployment.resolver, peer, lines)
    result = observed.result
    assert result.client_ip not in attack.spoofs, f"spoofed: {result}"
    assert result.client_ip == deployment.answer, result
    assert observed.app_ip == deployment.answer, (observed.app_ip, result)
    assert result.snat is deployment.snat


def test_matrix_covers_every_topology_and_strategy() -> None:
    from realip import TOPOLOGIES

    resolvers = {d.resolver for d in DEPLOYMENTS}
    assert {r.topology for r in resolvers} >= set(TOPOLOGIES)
    headers = {r.header for r in resolvers if r.topology is None}
    assert headers >= {"x-forwarded-for", "forwarded", "x-real-ip"}
    assert any(r.trusted_hops for r in resolvers)


def test_honest_proxies_are_modelled_faithfully() -> None:
    """The request builder appends and overwrites the way the real proxies do."""
    by_id = {d.id: d for d in DEPLOYMENTS}
    peer, lines = by_id["ingress-l7-lb"].request(((XFF, "6.6.6.6"), (XRI, "6.6.6.7")))
    assert peer == "10.244.3.4"
    assert lines == ((XFF, "6.6.6.6, 203.0.113.7"), (XRI, "6.6.6.7"), (XFF, "100.64.0.7"))
    peer, lines = by_id["cloudflare"].request((("cf-connecting-IP", "6.6.6.6"),))
    assert peer == "173.245.48.5"
    assert lines == ((XFF, "203.0.113.7"), (CF, "203.0.113.7"))
    peer, lines = by_id["forwarded-cidr-v6"].request(((FWD, 'for="6.6.6.6'),))
    assert peer == "10.0.0.2"
    assert lines == (
        (FWD, 'for="6.6.6.6, for="[2001:db8:cafe::7]";proto=https, for="[fd00::2]";proto=https'),
    )
