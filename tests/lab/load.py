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
    for role, tag, answers in result.get("all_answers", result["answers"]):
        sender = run.cluster.addr(role)
        for i, answer in enumerate(answers):
            if answer.get("n") != f"{tag}-{i}":
                problems.append(f"{tag}: answer {i} is for {answer.get('n')}")
            named = answer.get("client_ip") if with_realip else answer.get("x_forwarded_for")
            if canonical(named) != sender:
                problems.append(f"{tag}: answer {i} names {named}, sent by {sender}")
    return problems


def measure(run: Run, rounds: int = 1, per_client: int = PER_CLIENT) -> Dict[str, Dict[str, Any]]:
    """Run the four combinations ``rounds`` times, alternating which app goes first; returns
    the median round of each, keyed ``<app>/<keepalive|close>`` (with every round's answers)."""
    samples: Dict[str, List[Dict[str, Any]]] = {}
    for keepalive in (True, False):
        mode = "keepalive" if keepalive else "close"
        for key in ("load-plain", "load-realip"):
            # A short warm-up so neither side pays for imports or the first connections.
            load(run, key, run.cluster.load_frontends[key], 12 * len(LOAD_CLIENTS), keepalive)
        for i in range(rounds):
            order = ("load-plain", "load-realip") if i % 2 == 0 else ("load-realip", "load-plain")
            for key in order:
                port = run.cluster.load_frontends[key]
                result = load(run, key, port, per_client, keepalive)
                samples.setdefault(f"{key}/{mode}", []).append(result)
    out = {}
    for name, results in samples.items():
        ranked = sorted(results, key=lambda r: r["rps"])
        median = dict(ranked[len(ranked) // 2])
        median["all_answers"] = [a for r in results for a in r["answers"]]
        median["rounds"] = [r["rps"] for r in results]
        out[name] = median
    return out


def compare(run: Run, rounds: int = 5, per_client: int = 1600) -> str:
    """A report of the load run (printed by ``python -m tests.lab --load``): longer rounds than
    the test's, since the machine's other work makes short ones noisy."""
    results = measure(run, rounds, per_client)
    problems = [p for k, r in results.items() for p in check(run, r, k.startswith("load-realip"))]
    if problems:
        return f"load run: {len(problems)} answers went to the wrong request: {problems[:3]}"
    lines = []
    for mode in ("keepalive", "close"):
        plain, real = results[f"load-plain/{mode}"], results[f"load-realip/{mode}"]
        lines.append(
            f"{mode}: without realip {plain['rps']:.0f} req/s, with realip {real['rps']:.0f} "
            f"req/s (ratio {real['rps'] / plain['rps']:.3f}; median of {rounds} rounds of "
            f"{real['requests']} requests; rounds: without "
            + "/".join(f"{x:.0f}" for x in plain["rounds"])
            + ", with "
            + "/".join(f"{x:.0f}" for x in real["rounds"])
            + ")"
        )
    return "\n".join(lines)
