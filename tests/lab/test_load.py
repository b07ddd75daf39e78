"""A bounded load run through the ingress path: every answer goes back to the request that asked."""

from __future__ import annotations

import pytest

from . import cases as cs
from . import cluster as c
from .load import LOAD_CLIENTS, PER_CLIENT, check, measure
from .nsclient import burst
from .run import Run, canonical, normalise

pytestmark = pytest.mark.lab


def test_load_through_ingress(lab_run: Run) -> None:
    """4,800 requests from three client namespaces at once, kept alive and not, with and without
    realip: each answer names its sender and its request, nothing crossed."""
    results = measure(lab_run)
    for key, result in results.items():
        assert result["requests"] == PER_CLIENT * len(LOAD_CLIENTS), key
        assert check(lab_run, result, with_realip=key.startswith("load-realip")) == [], key
        assert result["rps"] > 0


_PROXY_PATHS = [
    p for p in cs.define(c.Cluster(None), proxy_protocol=True) if p.topology == "lb-tcp-proxy"
]


@pytest.mark.parametrize("path", _PROXY_PATHS, ids=[f"{p.id}-{p.server}" for p in _PROXY_PATHS])
def test_keepalive_through_proxy_protocol(lab_run: Run, path: cs.Path) -> None:
    """One client connection through the PROXY listener carries 20 requests: every one of them
    (not only the first, which is where the header arrives) is answered for the client."""
    live = next((p for p in lab_run.paths if (p.id, p.server) == (path.id, path.server)), None)
    if live is None or live.skip:
        pytest.skip(live.skip if live else f"{path.id} is not part of this run")
    legit = live.requests[0]
    pool = lab_run.cluster.pool(legit.sender)
    answers = [normalise(a) for a in pool.call(burst, legit.host, legit.port, 20, True, "ka")]
    sender = lab_run.cluster.addr(legit.sender, legit.v6)
    assert [canonical(a["client_ip"]) for a in answers] == [sender] * 20, answers
    assert [canonical(a["peer"]) for a in answers] == [sender] * 20, answers
