"""What a newcomer hit in ``realip explain`` and ``realip serve`` (issue 16), one test each.

Each case is one request under one configuration, run through the same functions the commands
use (explain() for the steps and warnings, suggest() for serve's suggestions); the CLI tests
at the end check that the command line prints the same.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest
from support.cli import run_realip

from realip import Resolver
from realip._explain import explain
from realip._serve_report import observe, suggest

PODS = ["10.244.0.0/16"]
INGRESS = Resolver.for_topology("ingress", pod_cidrs=PODS)
Lines = List[Tuple[str, str]]


def steps(resolver: Resolver, peer: Optional[str], lines: Lines) -> List[str]:
    return explain(resolver, peer, lines).steps


def warnings_of(resolver: Resolver, peer: Optional[str], lines: Lines) -> List[str]:
    return explain(resolver, peer, lines).warnings


def suggestions(resolver: Resolver, peer: Optional[str], lines: Lines) -> str:
    return "\n".join(suggest(peer, lines, resolver, explain(resolver, peer, lines).result))


# -- a trusted peer that sent no header is not "not trusted" --------------------------------


@pytest.mark.parametrize(
    ("resolver", "peer", "lines", "expected"),
    [
        (INGRESS, "10.244.1.7", [], "peer 10.244.1.7: trusted (10.244.0.0/16), but no "),
        (INGRESS, "203.0.113.9", [], "peer 203.0.113.9: not trusted, so no header is read"),
        (
            Resolver(trusted_proxies=["loopback"]),
            "127.0.0.1",
            [("X-Real-IP", "1.2.3.4")],
            "peer 127.0.0.1: trusted (loopback), but no x-forwarded-for header arrived",
        ),
    ],
)
def test_peer_step_says_trusted_when_it_is(
    resolver: Resolver, peer: str, lines: Lines, expected: str
) -> None:
    found = steps(resolver, peer, lines)
    assert [step for step in found if step.startswith(expected)], found
    # One peer step, never both wordings.
    assert len([step for step in found if step.startswith("peer ")]) == 1


# -- suggestions know the topology --------------------------------------------------------


@pytest.mark.parametrize(
    ("resolver", "peer", "lines", "present", "absent"),
    [
        # A topology refuses trusted_proxies: name the topology's own CIDR options instead.
        (
            INGRESS,
            "127.0.0.1",
            [("X-Forwarded-For", "1.2.3.4")],
            "REALIP_POD_CIDRS",
            "REALIP_TRUSTED_PROXIES=",
        ),
        (
            INGRESS,
            "10.0.0.8",
            [("X-Real-IP", "1.2.3.4")],
            "REALIP_LB_CIDRS",
            "REALIP_TRUSTED_PROXIES=",
        ),
        (INGRESS, None, [], "REALIP_POD_CIDRS", "REALIP_TRUSTED_PROXIES="),
        (
            Resolver.for_topology("pod-to-pod"),
            "127.0.0.1",
            [],
            "reads no header",
            "REALIP_TRUSTED_PROXIES=",
        ),
        # Loopback already trusted: say so instead of asking to trust it again.
        (
            Resolver(trusted_proxies=["loopback"]),
            "127.0.0.1",
            [],
            "already trusts it",
            "REALIP_TRUSTED_PROXIES=",
        ),
        # Unconfigured: trusted_proxies is the way.
        (Resolver(), "127.0.0.1", [], "REALIP_TRUSTED_PROXIES=loopback", "REALIP_POD_CIDRS"),
        (Resolver(), None, [], "REALIP_TRUSTED_PROXIES=unix", "REALIP_POD_CIDRS"),
    ],
)
def test_trust_suggestions_fit_the_configuration(
    resolver: Resolver, peer: Optional[str], lines: Lines, present: str, absent: str
) -> None:
    text = suggestions(resolver, peer, lines)
    assert present in text
    assert absent not in text


def test_the_suggested_topology_option_really_trusts_loopback() -> None:
    # What the suggestion says to do works: loopback given as a pod CIDR is trusted.
    fixed = Resolver.for_topology("ingress", pod_cidrs=[*PODS, "loopback"])
    result = fixed.resolve("127.0.0.1", [("X-Forwarded-For", "203.0.113.9")])
    assert result.client_ip == "203.0.113.9"


# -- another forwarding header arrived instead of the configured one ----------------------


@pytest.mark.parametrize(
    ("resolver", "lines", "arrived"),
    [
        (INGRESS, [("X-Real-IP", "203.0.113.9")], "x-real-ip"),
        (INGRESS, [("Forwarded", "for=203.0.113.9")], "forwarded"),
        (INGRESS, [("CF-Connecting-IP", "203.0.113.9")], "cf-connecting-ip"),
        (
            Resolver(trusted_proxies=PODS, header="forwarded"),
            [("X-Forwarded-For", "203.0.113.9")],
            "x-forwarded-for",
        ),
        (
            Resolver(trusted_proxies=PODS, header="x-real-ip"),
            [("Forwarded", "for=1.2.3.4"), ("X-Forwarded-For", "1.2.3.4")],
            "forwarded",
        ),
    ],
)
def test_names_the_forwarding_header_that_arrived_instead(
    resolver: Resolver, lines: Lines, arrived: str
) -> None:
    (warning,) = [w for w in warnings_of(resolver, "10.244.3.4", lines) if "did not arrive" in w]
    assert warning.startswith(f"{resolver.header} did not arrive, but {arrived}")
    assert f"REALIP_HEADER={arrived}" in warning and f"header={arrived!r}" in warning
    assert ("REALIP_TOPOLOGY=cloudflare" in warning) is (arrived == "cf-connecting-ip")
    # serve shows the same warning in its report.
    report = observe(resolver, "10.244.3.4", lines)
    assert warning in report["resolution"]["warnings"]


@pytest.mark.parametrize(
    ("resolver", "lines"),
    [
        (INGRESS, [("X-Forwarded-For", "203.0.113.9"), ("X-Real-IP", "203.0.113.9")]),  # it arrived
        (INGRESS, [("Host", "x")]),  # nothing forwarding arrived
        (Resolver.for_topology("pod-to-pod"), [("X-Real-IP", "1.2.3.4")]),  # reads no header
    ],
)
def test_no_wrong_header_warning_when_it_does_not_apply(resolver: Resolver, lines: Lines) -> None:
    assert not [w for w in warnings_of(resolver, "10.244.3.4", lines) if "did not arrive" in w]


# -- a node's CNI address among the trusted pod addresses ---------------------------------


@pytest.mark.parametrize(
    ("peer", "lines", "role", "address", "node_range"),
    [
        ("10.244.1.1", [], "peer", "10.244.1.1", "10.244.1.1/32"),  # flannel cni0 / flannel.1
        ("10.244.7.0", [], "peer", "10.244.7.0", "10.244.7.0/32"),  # Calico tunl0 style
        (
            "10.244.3.4",
            [("X-Forwarded-For", "10.244.2.1")],
            "client",
            "10.244.2.1",
            "10.244.2.1/32",
        ),
    ],
)
def test_cni_gateway_address_suggests_node_cidrs(
    peer: str, lines: Lines, role: str, address: str, node_range: str
) -> None:
    text = suggestions(INGRESS, peer, lines)
    assert f"the {role} {address} looks like a node's CNI address" in text
    assert f"REALIP_NODE_CIDRS, e.g. {node_range}" in text
    # Never the node's /24: that holds its pods, and the ingress pods would be flagged as SNAT.
    assert "/24)" not in text


@pytest.mark.parametrize(
    ("resolver", "peer"),
    [
        (INGRESS, "10.244.1.7"),  # an ordinary pod address
        (INGRESS, "10.9.0.1"),  # a .1 outside the trusted pod CIDR
        (Resolver(), "10.244.1.1"),  # nothing trusted: no pod CIDR to be inside of
        (INGRESS, "fd00::1"),  # IPv6 has no per-node /24 convention
    ],
)
def test_no_cni_suggestion_for_other_addresses(resolver: Resolver, peer: str) -> None:
    assert "CNI address" not in suggestions(resolver, peer, [])


# -- the command line prints the same ----------------------------------------------------


def _explain_cli(*args: str) -> str:
    done = run_realip(["explain", *args])
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_cli_explain_trusted_peer_without_header() -> None:
    out = _explain_cli(
        "--remote-addr", "10.244.1.1", "--topology", "ingress", "--pod-cidrs", PODS[0]
    )
    assert "peer 10.244.1.1: trusted (10.244.0.0/16), but no x-forwarded-for header arrived" in out
    assert "not trusted" not in out


def test_cli_explain_names_the_header_that_arrived() -> None:
    out = _explain_cli(
        "--remote-addr", "10.244.3.4", "--topology", "ingress", "--pod-cidrs", PODS[0],
        "-H", "X-Real-IP: 203.0.113.9",
    )  # fmt: skip
    assert "x-forwarded-for did not arrive, but x-real-ip did" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--port", "99999"], "99999 is not a port"),
        (["--port=-1"], "-1 is not a port"),
        (["--port", "http"], "'http' is not a port number"),
        (["--timeout", "0"], "positive number"),
        (["--timeout", "nan"], "positive number"),
    ],
)
def test_serve_checks_port_and_timeout_like_every_option(args: List[str], needle: str) -> None:
    done = run_realip(["serve", *args])
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr
