"""A bounded load run through the ingress path, with realip and without.

Three client namespaces send at once, four connections each, through the load balancer's
pass-through listener, a node's NodePort (Local) and ingress-nginx to one uvicorn app: once
with keep-alive, once with a new connection per request; once to the app behind realip's
middleware and once to the same app without it. Every answer must name the client that sent
it and the request it answers (the ``n`` tag, in order per connection).
"""

from __future__ import annotations

from typing import Any, Dict, List

from .run import LOAD_CLIENTS, Run, canonical, load

__all__ = ["LOAD_CLIENTS", "PER_CLIENT", "check", "compare", "measure"]

PER_CLIENT = 400
"""Requests per client namespace per run: 3 clients x 4 runs x 400 = 4,800 requests in all."""


def check(run: Run, result: Dict[str, Any], with_realip: bool) -> List[str]:
    """Every problem with a load run's answers (empty when each names its sender)."""
    problems = []
    for role, tag, answers in result["answers"]:
        sender = run.cluster.addr(role)
        for i, answer in enumerate(answers):
            if answer.get("n") != f"{tag}-{i}":
                problems.append(f"{tag}: answer {i} is for {answer.get('n')}")
            named = answer.get("client_ip") if with_realip else answer.get("x_forwarded_for")
            if canonical(named) != sender:
                problems.append(f"{tag}: answer {i} names {named}, sent by {sender}")
    return problems


def measure(run: Run) -> Dict[str, Dict[str, Any]]:
    """Run the four combinations; returns their results keyed ``<app>/<keepalive|close>``."""
    out = {}
    for keepalive in (True, False):
        for key in ("load-plain", "load-realip"):
            port = run.cluster.load_frontends[key]
            # A short warm-up so neither side pays for imports or the first connections.
            load(run, key, port, 12 * len(LOAD_CLIENTS), keepalive)
            out[f"{key}/{'keepalive' if keepalive else 'close'}"] = load(
                run, key, port, PER_CLIENT, keepalive
            )
    return out


def compare(run: Run) -> str:
    """A one-paragraph report of the load run (printed by ``python -m tests.lab --load``)."""
    results = measure(run)
    lines = []
    for mode in ("keepalive", "close"):
        plain, real = results[f"load-plain/{mode}"], results[f"load-realip/{mode}"]
        lines.append(
            f"{mode}: without realip {plain['rps']:.0f} req/s, with realip {real['rps']:.0f} "
            f"req/s (ratio {real['rps'] / plain['rps']:.3f}; {real['requests']} requests each)"
        )
    return "\n".join(lines)
