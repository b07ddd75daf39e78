#!/usr/bin/env python3
"""What a PROXY protocol header costs: parse and trust decision once per connection.

Run from the repository root:

    .venv/bin/python benchmarks/proxy_protocol.py            # full run (~15 seconds)
    .venv/bin/python benchmarks/proxy_protocol.py --quick    # smoke run (~3 seconds)
    .venv/bin/python benchmarks/proxy_protocol.py --json out.json

Headers are the ones real senders write: haproxy ``send-proxy`` (v1) and ``send-proxy-v2``
(plain, and with ``proxy-v2-options unique-id,crc32c``, with ``ssl,authority`` too), an AWS NLB
header with its VPC-endpoint TLV, and a LOCAL health check. ``parse`` is the sans-IO parser
alone; ``policy`` is what a server runs per connection (:class:`realip.proxy_server.ProxyPolicy`:
the trust check of the peer, signature detection, parsing, splitting off the request bytes).
For scale, ``per request`` is the ASGI middleware's work on every request of the connection
afterwards (``lb-tcp-proxy`` reads only the peer), measured the same way.

Timing: ``perf_counter_ns`` around batches of 500 calls with GC off, the minimum over repeats
(60, or 6 with ``--quick``), in ns per call. All inputs are built before timing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import struct
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

from realip import Resolver
from realip.asgi import RealIPMiddleware
from realip.proxy_protocol import LOCAL, PROXY, TLV, ProxyHeader, encode, parse
from realip.proxy_server import ProxyPolicy

REQUEST = b"GET /api/items?id=42 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: bench\r\n\r\n"
LB = ("10.0.3.7", 41000)


def _ssl_tlv() -> bytes:
    subs = b"".join(
        bytes((kind,)) + struct.pack("!H", len(value)) + value
        for kind, value in ((0x21, b"TLSv1.3"), (0x23, b"TLS_AES_128_GCM_SHA256"))
    )
    return b"\x01" + b"\x00\x00\x00\x00" + subs


def headers() -> Dict[str, bytes]:
    """The headers measured, by name."""
    v4 = ("INET", "STREAM", "203.0.113.9", 51234, "10.0.0.5", 443)
    v6 = ("INET6", "STREAM", "2001:db8:cafe::9", 51234, "2001:db8::5", 443)
    haproxy_tlvs = (TLV(0x05, b"CB007109:C822_0A000005:01BB_6745A2F1_0001"), TLV(0x03, b""))
    return {
        "v1 TCP4": encode(ProxyHeader(1, PROXY, *v4)),
        "v1 TCP6": encode(ProxyHeader(1, PROXY, *v6)),
        "v2 TCP4": encode(ProxyHeader(2, PROXY, *v4)),
        "v2 TCP6": encode(ProxyHeader(2, PROXY, *v6)),
        "v2 TCP4 unique-id,crc32c": encode(ProxyHeader(2, PROXY, *v4, haproxy_tlvs)),
        "v2 TCP4 ssl,authority,unique-id,crc32c": encode(
            ProxyHeader(
                2,
                PROXY,
                *v4,
                (TLV(0x02, b"app.example"), TLV(0x20, _ssl_tlv()), *haproxy_tlvs),
            )
        ),
        "v2 TCP4 AWS NLB (vpce)": encode(
            ProxyHeader(2, PROXY, *v4, (TLV(0xEA, b"\x01vpce-0a1b2c3d4e5f67890"),))
        ),
        "v2 LOCAL": encode(ProxyHeader(2, LOCAL, "UNSPEC", "UNSPEC")),
        # The worst a trusted sender can do within DEFAULT_MAX_SIZE: 16 KiB of empty TLVs (the
        # most TLVs to walk) and a checksum over all of it.
        "worst: v2 16 KiB, 5,444 TLVs, crc32c": encode(
            ProxyHeader(2, PROXY, *v4, (*(TLV(0x04, b"") for _ in range(5444)), TLV(0x03, b"")))
        ),
    }


def _time(fn: Callable[[], Any], batch: int, repeats: int) -> Tuple[float, float]:
    start = time.perf_counter_ns()
    fn()
    # Batches of about 1 ms at most, so the slow worst case does not take minutes.
    batch = max(5, min(batch, 1_000_000 // max(1, time.perf_counter_ns() - start)))
    times: List[float] = []
    for _ in range(repeats):
        gc.disable()
        start = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        elapsed = time.perf_counter_ns() - start
        gc.enable()
        times.append(elapsed / batch)
    times.sort()
    return times[0], times[len(times) // 2]


def run(quick: bool) -> Dict[str, Any]:
    """Measure every header; returns the numbers as a JSON-ready dict."""
    # Many short repeats: on a shared machine the minimum of many is what stays stable.
    batch, repeats = (500, 6) if quick else (500, 60)
    policy = ProxyPolicy(Resolver.for_topology("lb-tcp-proxy", lb_cidrs=["10.0.0.0/8"]))
    rows: Dict[str, Any] = {}
    for name, header in headers().items():
        stream = header + REQUEST
        parsed = parse(stream)
        decision = policy.connection(LB).feed(stream)
        assert parsed is not None and decision is not None and decision.accepted
        assert decision.rest == REQUEST
        parse_min, parse_median = _time(lambda s=stream: parse(s), batch, repeats)
        policy_min, policy_median = _time(
            lambda s=stream: policy.connection(LB).feed(s), batch, repeats
        )
        rows[name] = {
            "bytes": len(header),
            "parse_ns": round(parse_min),
            "parse_median_ns": round(parse_median),
            "policy_ns": round(policy_min),
            "policy_median_ns": round(policy_median),
        }
    # For scale: the ASGI middleware on every later request (the peer is the PROXY source).
    resolver = Resolver.for_topology("lb-tcp-proxy", lb_cidrs=["10.0.0.0/8"])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    middleware = RealIPMiddleware(app, resolver)
    scope = {"type": "http", "client": ("203.0.113.9", 51234), "headers": []}

    def one_request() -> None:
        coro = middleware(scope, None, None)  # type: ignore[arg-type]
        with contextlib.suppress(StopIteration):
            coro.send(None)

    def floor() -> None:
        coro = app(scope, None, None)
        with contextlib.suppress(StopIteration):
            coro.send(None)

    # A peer that is not trusted and sends a header: refused on the signature, never parsed.
    worst = headers()["worst: v2 16 KiB, 5,444 TLVs, crc32c"] + REQUEST
    stranger = ("198.51.100.20", 5000)
    refused = policy.connection(stranger).feed(worst)
    assert refused is not None and not refused.accepted
    stranger_min, _ = _time(lambda: policy.connection(stranger).feed(worst), batch, repeats)
    request_min, _ = _time(one_request, batch, repeats)
    floor_min, _ = _time(floor, batch, repeats)
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "headers": rows,
        "per_request_asgi_ns": round(request_min - floor_min),
        "untrusted_refused_ns": round(stranger_min),
    }


def main(argv: Any = None) -> int:
    """Run and print the table (and write JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    results = run(args.quick)
    print(f"Python {results['python']} on {results['machine']}; ns per call, min of repeats")
    print(f"{'header':40} {'bytes':>6} {'parse':>9} {'policy':>9}")
    for name, row in results["headers"].items():
        print(f"{name:40} {row['bytes']:>6} {row['parse_ns']:>9,} {row['policy_ns']:>9,}")
    print(
        f"untrusted peer sending the worst header: refused in {results['untrusted_refused_ns']} "
        "ns (never parsed)"
    )
    print(
        f"per request afterwards (ASGI middleware, lb-tcp-proxy): "
        f"{results['per_request_asgi_ns']} ns above the floor"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
