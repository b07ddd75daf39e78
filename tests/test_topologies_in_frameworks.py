"""Every topology of design.md section 1, through every framework and every way into realip.

Each cell builds a real app (or a real framework request object), sends the request the
topology produces - honest or with client-written spoofing headers - and checks every place
the framework exposes the client IP: all must name the real client, never the spoofed one.
"""

from __future__ import annotations

import pytest
from support.scenarios import RUNNERS, SCENARIOS, Runner, Scenario, topology_resolver


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.id) for s in SCENARIOS])
@pytest.mark.parametrize("runner", [pytest.param(r, id=name) for name, r in RUNNERS.items()])
def test_client_ip(runner: Runner, scenario: Scenario) -> None:
    observed = runner(scenario.topology, scenario.peer, scenario.headers)
    assert observed.ips == {where: scenario.expected for where in observed.ips}
    assert observed.snat is scenario.snat


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.id) for s in SCENARIOS])
def test_scenario_matches_the_core_resolver(scenario: Scenario) -> None:
    """The table itself is right: the core resolver gives the same answer on the same input."""
    result = topology_resolver(scenario.topology).resolve(scenario.peer, list(scenario.headers))
    assert (result.client_ip, result.snat) == (scenario.expected, scenario.snat)


def test_every_topology_has_a_spoofing_case() -> None:
    import realip

    spoofed = {s.topology for s in SCENARIOS if "spoof" in s.case or "bypass" in s.case}
    assert spoofed == set(realip.TOPOLOGIES)
