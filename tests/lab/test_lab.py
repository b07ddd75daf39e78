"""What reaches the pod, what realip answers and what doctor says, for every path of the lab."""

from __future__ import annotations

from typing import Dict, List, Tuple

import pytest

import realip

from . import cases as cs
from . import cluster as c
from .run import (
    Outcome,
    Run,
    canonical,
    gunicorn_decodes_proxy_v2,
    page_table,
    proxy_protocol_available,
    table,
)

pytestmark = pytest.mark.lab

# The catalogue without building anything, so the tests can be listed (and skipped) anywhere.
_DRY = cs.define(
    c.Cluster(None),
    proxy_protocol=proxy_protocol_available(),
    gunicorn_proxy=gunicorn_decodes_proxy_v2(),
)
_REQUESTS: List[Tuple[cs.Path, cs.Request]] = [(p, r) for p in _DRY for r in p.requests]
_FIRST: Dict[str, cs.Path] = {}
for _p in _DRY:
    _FIRST.setdefault(_p.id, _p)


def _rid(path: cs.Path, request: cs.Request) -> str:
    return f"{path.id}-{path.server}-{request.kind.split(':')[0].replace(' ', '-')}"


def _outcome(run: Run, path: cs.Path, request: cs.Request) -> Outcome:
    if path.skip:
        pytest.skip(path.skip)
    for outcome in run.outcomes:
        o = outcome
        if (o.path.id, o.path.server, o.request.kind) == (path.id, path.server, request.kind):
            return outcome
    # Built from the dry catalogue but absent in this run: IPv6 or TPROXY turned out missing.
    live = next((p for p in run.paths if (p.id, p.server) == (path.id, path.server)), None)
    if live is not None and live.skip:
        pytest.skip(live.skip)
    pytest.skip("; ".join(run.cluster.notes) or f"{path.id} is not part of this run")


@pytest.mark.parametrize(("path", "request_"), _REQUESTS, ids=[_rid(p, r) for p, r in _REQUESTS])
def test_socket_and_client(lab_run: Run, path: cs.Path, request_: cs.Request) -> None:
    """The pod's socket saw the expected hop, and realip named the expected client."""
    outcome = _outcome(lab_run, path, request_)
    if request_.expect_refused:
        # A forged PROXY header from a peer that is not the load balancer: no answer at all.
        assert outcome.answer is None, outcome.answer
        assert outcome.error is not None and outcome.error.startswith("Refused"), outcome.error
        return
    assert outcome.error is None, outcome.error
    answer = outcome.answer or {}
    assert canonical(answer["peer"]) == request_.expect_peer, answer
    assert canonical(answer["client_ip"]) == canonical(request_.expect_client), answer
    if not path.spoofable:
        # Whatever a spoofing client wrote, its forged address is not what realip answers.
        assert answer["client_ip"] != cs.FORGED


_SNAT = [
    pytest.param(
        p,
        r,
        id=_rid(p, r),
        marks=[pytest.mark.xfail(strict=True, reason=r.snat_xfail)] if r.snat_xfail else [],
    )
    for p, r in _REQUESTS
    if r.kind == "legitimate"
]


@pytest.mark.parametrize(("path", "request_"), _SNAT)
def test_snat_flag(lab_run: Run, path: cs.Path, request_: cs.Request) -> None:
    """realip's snat flag says whether a node source-NAT'ed the client away on this path."""
    outcome = _outcome(lab_run, path, request_)
    assert outcome.error is None, outcome.error
    answer = outcome.answer or {}
    assert answer["snat"] is request_.expect_snat, answer
    assert answer["reason"], answer


_DOCTOR = [
    pytest.param(
        p,
        id=p.id,
        marks=[pytest.mark.xfail(strict=True, reason=p.doctor_xfail)] if p.doctor_xfail else [],
    )
    for p in _FIRST.values()
]


@pytest.mark.parametrize("path", _DOCTOR)
def test_doctor_verdict(lab_run: Run, path: cs.Path) -> None:
    """doctor, on the manifests of this path, calls the client IP lost exactly when it was."""
    legit = _outcome(lab_run, path, path.requests[0])
    sender = lab_run.cluster.addr(legit.request.sender, legit.request.v6)
    answered = canonical((legit.answer or {}).get("client_ip"))
    observed_lost = answered != sender
    assert observed_lost is path.lost, legit.answer
    spoofed = [
        o
        for o in lab_run.outcomes
        if o.path.id == path.id and o.answer and o.answer.get("client_ip") == cs.FORGED
    ]
    assert bool(spoofed) is path.spoofable, [o.request.kind for o in spoofed]
    verdict = lab_run.doctor[path.id]
    assert verdict.topology == path.doctor_topology, verdict.raw
    expected = path.doctor_verdict or (
        "spoofable" if path.spoofable else "lost" if path.lost else "preserved"
    )
    assert verdict.client_ip == expected, verdict.raw


def test_every_topology_has_a_path() -> None:
    """Every topology realip knows is reproduced, plus the Cluster-policy load balancers."""
    assert set(realip.TOPOLOGIES) <= {p.topology for p in _DRY}
    cluster_lbs = {p.id for p in _DRY if p.topology.startswith("lb-") and p.lost}
    assert {"lb-tcp-cluster", "lb-http-cluster"} <= cluster_lbs


def test_every_path_tries_spoofing() -> None:
    """Every path gets forged X-Forwarded-For, Forwarded and X-Real-IP besides the real request."""
    for path in _DRY:
        kinds = {r.kind for r in path.requests}
        assert {"legitimate", *(k for k, _h in cs.SPOOFS)} <= kinds, path.id


def test_docs_table_is_this_run(lab_run: Run) -> None:
    """The table in docs/explanation/seed-experiments.md is what this run produced."""
    skipped = sorted({p.skip for p in lab_run.paths if p.skip})
    if skipped:
        pytest.skip(f"the page comes from a full lab run; this one skipped: {skipped[0]}")
    assert page_table() == table(lab_run), "regenerate it: python -m tests.lab --write"


def test_lab_is_fast(lab_run: Run) -> None:
    """Building and running the lab stays well inside CI's budget on a 2-core machine."""
    assert sum(lab_run.timings.values()) < 60, lab_run.timings
