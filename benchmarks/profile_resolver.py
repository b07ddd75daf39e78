#!/usr/bin/env python3
"""Where realip's per-request time goes: cProfile over every workload, then each step alone.

Run from the repository root:

    .venv/bin/python benchmarks/profile_resolver.py                 # Resolver.resolve
    .venv/bin/python benchmarks/profile_resolver.py --via asgi      # through the ASGI middleware
    .venv/bin/python benchmarks/profile_resolver.py --top 25 --calls 50000

cProfile adds a fixed cost to every Python-level call, so it overstates code made of many
small calls; read the table for *which* functions and how many calls per request, and the
"steps" section (plain perf_counter_ns loops, no profiler) for what each step costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import Workload, build

WORKLOADS = ("a", "b", "c", "d", "e", "f", "g", "h")


def _calls(wl: Workload, via: str, count: int) -> Callable[[], None]:
    from realip import Resolver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resolver = Resolver(trusted_proxies=wl.trusted, header=wl.header)
    reqs = [wl.reqs[i % len(wl.reqs)] for i in range(count)]
    if via == "resolver":
        items = [
            (r.peer, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in r.headers])
            for r in reqs
        ]
        resolve = resolver.resolve

        def run() -> None:
            for peer, pairs in items:
                resolve(peer, pairs)

        return run

    from realip.asgi import RealIPMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    mw = RealIPMiddleware(app, resolver)
    scopes = [
        {
            "type": "http",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in r.headers],
            "client": (r.peer, r.port),
            "scheme": "http",
        }
        for r in reqs
    ]

    def run_asgi() -> None:
        for scope in scopes:
            try:  # noqa: SIM105 - contextlib.suppress would be profiled too
                mw(scope.copy(), None, None).send(None)
            except StopIteration:
                pass

    return run_asgi


def profile(wl: Workload, via: str, count: int, top: int) -> None:
    run = _calls(wl, via, count)
    run()  # warm up
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    # Drop pstats' preamble up to the column header; keep the table.
    start = text.find("   ncalls")
    print(f"\n## ({wl.key}) {wl.title}: {count} requests via {via}, top {top} by own time")
    print(text[start:].rstrip() if start >= 0 else text.rstrip())
    start_ns = time.perf_counter_ns()
    run()
    per = (time.perf_counter_ns() - start_ns) / count
    print(f"   without the profiler: {per:,.0f} ns per request (loop included)")


def _ns(fn: Callable[[], Any], loops: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / loops)
    return best


def steps(wls: Dict[str, Workload], loops: int) -> None:
    """Cost of each step of a resolution, timed alone (internal names; skipped if renamed)."""
    from realip import Resolver

    print("\n## Steps, timed alone (best of 5 loops; the no-op row is the harness cost)")
    rows: List[Tuple[str, float]] = []

    def add(label: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # internals move; report and go on
            rows.append((f"{label} (skipped: {type(exc).__name__}: {exc})", float("nan")))
            return
        rows.append((label, _ns(fn, loops)))

    b, e = wls["b"], wls["e"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res_b = Resolver(trusted_proxies=b.trusted, header=b.header)
        res_d = Resolver(trusted_proxies=wls["d"].trusted, header=b.header)
    req = b.reqs[0]
    pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in req.headers]
    xff = req.headers[-1][1]
    hostile = e.reqs[0].headers[-1][1]
    client = req.expected

    add("noop call f(peer, pairs)", lambda: (lambda p, h: p)(req.peer, pairs))
    add("Resolver.resolve(peer, pairs) (b)", lambda: res_b.resolve(req.peer, pairs))
    add("Resolver.resolve_value(peer, xff) (b)", lambda: res_b.resolve_value(req.peer, xff))
    add("Resolver.resolve_value(peer, xff) (d)", lambda: res_d.resolve_value(req.peer, xff))
    add("Resolver.resolve_value(peer, hostile) (e)", lambda: res_b.resolve_value(req.peer, hostile))
    try:
        from realip import _addresses, _forwarded, _headers
        from realip.request import _scope_header
    except ImportError as exc:
        print(f"   (internal modules moved: {exc})")
    else:
        scope = {"headers": pairs}
        add(
            "_headers.lookup(pairs, 'x-forwarded-for')",
            lambda: _headers.lookup(pairs, "x-forwarded-for"),
        )
        add(
            "request._scope_header(scope, b'x-forwarded-for')",
            lambda: _scope_header(scope, b"x-forwarded-for"),
        )
        # parse_ip (key, canonical text) is the hot-path parser; older trees had parse_address.
        parse = getattr(_addresses, "parse_ip", None) or _addresses.parse_address
        pname = f"_addresses.{parse.__name__}"
        add(f"{pname}(peer)", lambda: parse(req.peer))
        add(f"{pname}(client)", lambda: parse(client))
        add(f"{pname}('fd12:3456::1:5')", lambda: parse("fd12:3456::1:5"))
        if hasattr(_addresses, "key_text"):
            key = _addresses.parse_ip(client)[0]
            add("_addresses.key_text(client key)", lambda: _addresses.key_text(key))
            key6 = _addresses.parse_ip("fd12:3456::1:5")[0]
            add("_addresses.key_text(IPv6 key)", lambda: _addresses.key_text(key6))
            probe: Any = key
        else:
            probe = _addresses.parse_address(client)
        nets_b, nets_d = res_b.networks, res_d.networks
        add("key in networks (1 CIDR)", lambda: probe in nets_b)
        add("key in networks (1000 CIDRs)", lambda: probe in nets_d)
        add(
            "walk step: rfind + slice + strip",
            lambda: xff[xff.rfind(",", 0, len(xff)) + 1 :].strip(" \t"),
        )
        big = hostile.encode("latin-1")
        add("decode an 8 KiB header (latin-1)", lambda: big.decode("latin-1"))
        from realip import Result

        add(
            "Result(...) with an f-string reason",
            lambda: Result(
                client,
                "x-forwarded-for",
                ("10.0.2.9", "10.0.1.5"),
                f"{client} is the rightmost untrusted x-forwarded-for entry",
                False,
                "10.0.2.9",
            ),
        )
        # The steps of one resolution, one by one (issue 25's "irreducible steps").
        from bisect import bisect_right
        from socket import AF_INET, inet_pton

        from realip._result import tuple_new

        bounds = res_b._bounds
        xff_bytes = xff.encode("latin-1")
        reason = "the rightmost untrusted x-forwarded-for entry is the client"
        proxies = ("10.0.2.9", "10.0.1.5")
        add("split a short header + reversed", lambda: list(reversed(xff_bytes.split(b","))))
        add("strip one item (bytes)", lambda: b" 10.0.1.5".strip(b" \t"))
        memo = {b"10.0.1.5": "10.0.1.5"}
        add("memo hit for a repeated proxy", lambda: memo.get(b"10.0.1.5"))
        add("decode the client item", lambda: b"203.0.113.9".decode("latin-1"))
        add(
            "parse the client (inet_pton + from_bytes)",
            lambda: int.from_bytes(inet_pton(AF_INET, client), "big"),
        )
        add("range check (one bisect)", lambda: bisect_right(bounds, 0x0A000105) & 1)
        add("proxies += (hop,)", lambda: (*proxies, "10.0.1.5"))
        fields = (client, "x-forwarded-for", proxies, reason, False, "10.0.2.9", False)
        add("Result via tuple.__new__", lambda: tuple_new(Result, fields))
        add("Result(...) via NamedTuple __new__", lambda: Result(*fields))
        walk = getattr(res_b, "_walk", None)
        if walk is not None:
            add("the list walk alone (b)", lambda: walk(xff_bytes, "10.0.2.9", req.peer))
        fwd = 'for="[2001:db8::1]:4711";proto=https'
        add("Forwarded for= (split fast path)", lambda: _forwarded.forwarded_param(fwd, "for"))
        add("Forwarded for= (the grammar)", lambda: _forwarded.forwarded_value(fwd, "for"))
        direct = wls["a"].reqs[0].peer
        add("Resolver.resolve_value(peer, None) (a)", lambda: res_b.resolve_value(direct, None))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"   {label.ljust(width)}  {value:8,.0f} ns")


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--via", choices=("resolver", "asgi"), default="resolver")
    parser.add_argument("--calls", type=int, default=20000, help="requests per workload")
    parser.add_argument("--top", type=int, default=15, help="functions to list")
    parser.add_argument("--no-steps", action="store_true", help="skip the step timings")
    args = parser.parse_args(list(argv) or None)
    wls, _facts = build()
    by_key = {wl.key: wl for wl in wls}
    for key in WORKLOADS:
        profile(by_key[key], args.via, args.calls, args.top)
    if not args.no_steps:
        steps(by_key, max(2000, args.calls // 4))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
