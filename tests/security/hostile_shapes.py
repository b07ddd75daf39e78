"""Hostile request shapes and what realip answers for them, for the answer-keeping guard.

Every case of ``benchmarks/hostile.py`` (its table and its trusted chains), every shape of
test_hostile_input.py, and a seeded set of shapes around the limits the hostile-input fast
paths work near (runs of empty items around MAX_EMPTY_RUN, chains around MAX_ITEMS, values
around the short-header cut, long items, Forwarded elements around MAX_ELEMENT, a peer that
reappears as an entry). :func:`answers` runs one shape through the resolver, the WSGI
middleware and the ASGI middleware and returns everything a user can see: the full
``Result`` of each, the rewritten headers, ``REMOTE_ADDR``/``scope["client"]`` and the scheme.

``PYTHONPATH=tests:tests/security:tests/fuzz python tests/security/hostile_shapes.py`` records
the answers into hostile_answers.json;
they were recorded from main before issue 25's hostile-input work, and
test_hostile_answers.py checks that the answers never change.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import random
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from realip import RealIPWarning, Resolver
from realip.asgi import RealIPMiddleware as ASGIMiddleware
from realip.wsgi import RealIPMiddleware as WSGIMiddleware

ROOT = Path(__file__).resolve().parents[2]


def _load_benchmark() -> Any:
    # benchmarks/hostile.py, whose cases are the ones judged; loaded from its file, as the
    # benchmarks folder is no package and not on the tests' pythonpath.
    spec = importlib.util.spec_from_file_location("hostile", ROOT / "benchmarks" / "hostile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = _load_benchmark()

ANSWERS = Path(__file__).with_name("hostile_answers.json")
Lines = List[Tuple[str, bytes]]
Shape = Tuple[str, str, Optional[str], Lines]  # (id, resolver name, peer, header lines)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", RealIPWarning)
    RESOLVERS: Dict[str, Resolver] = {
        "xff": Resolver(trusted_proxies=["10.0.0.0/8"]),
        "fwd": Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded"),
        "real-ip": Resolver(trusted_proxies=["10.0.0.0/8"], header="x-real-ip"),
        "xff-unix": Resolver(trusted_proxies=["10.0.0.0/8", "unix"]),
        "xff-v6": Resolver(trusted_proxies=["10.0.0.0/8", "fd00::/8", "fe80::/10"]),
        "hops-2": Resolver(header="x-forwarded-for", trusted_hops=2),
        "fwd-hops-1": Resolver(header="forwarded", trusted_hops=1),
    }

PEER = "10.0.2.9"
PORT = 5000
KIB64 = 64 * 1024


def _of(resolver: Resolver) -> str:
    for name, known in RESOLVERS.items():
        if known == resolver:
            return name
    raise KeyError(repr(resolver))


def _benchmark_shapes() -> List[Shape]:
    shapes: List[Shape] = []
    for name, resolver, peer, lines in hostile._cases():
        shapes.append((f"hostile.py: {name}", _of(resolver), peer, list(lines)))
    for name, resolver, header, value in hostile._trusted_chains():
        lines = [(header, value)]
        if header != "Forwarded":
            lines.append(("X-Forwarded-Proto", b"https"))
        shapes.append((f"hostile.py chain: {name}", _of(resolver), hostile.PEER, lines))
    return shapes


def _suite_shapes() -> List[Shape]:
    """The shapes of test_hostile_input.py, rebuilt from its module."""
    import test_hostile_input as t

    shapes: List[Shape] = []
    for case in t.CASES:
        shapes.append((f"suite: {case.id}", _of(case.resolver), case.peer, list(case.lines)))
    for i, resolver, value, name in t.BOUNDED:
        shapes.append((f"suite bounded: {i}", _of(resolver), t.PROXY, [(name, value)]))
    for param in t.LONG_VALUES:
        resolver, name, value = param.values
        shapes.append((f"suite long: {param.id}", _of(resolver), t.PROXY, [(name, value)]))
    shapes.append(
        (
            "suite: long forwarded element, hop mode",
            "fwd-hops-1",
            t.CLIENT,
            [("Forwarded", b"a=b;" * (KIB64 // 4 - 4) + b"for=6.6.6.6")],
        )
    )
    for i, value in enumerate([t.ESCAPES_8K, t.ESCAPES_32, b'for="' + b"\\a" * 4096]):
        shapes.append((f"suite escapes {i}", "fwd", t.PROXY, [("Forwarded", value)]))
    shapes.append(
        (
            "suite escapes xff",
            "xff",
            t.PROXY,
            [("X-Forwarded-For", b"203.0.113.7"), ("Forwarded", t.ESCAPES_32)],
        )
    )
    return shapes


# Pieces the generated shapes are made of: trusted and untrusted entries in their spellings,
# garbage, long items, and the peer written back as an entry.
_XFF_ITEMS = [
    b"10.0.1.5",
    b"10.0.0.7",
    b"10.1.2.3:8080",
    b"203.0.113.9",
    b"198.51.100.4",
    b"[2001:db8::1]:443",
    b"fd00::5",
    b"fe80::1%eth0",
    b"fe80::1%" + b"a" * 600,
    b"junk",
    b"9" * 300,
    b"10.0.2.9:5000",
    b"10.0.2.9",
    b"::ffff:10.0.0.3",
    b"0.0.0.0",
]
_FWD_ITEMS = [
    b"for=10.0.1.5",
    b'for="10.0.0.7:80";proto=https',
    b"for=203.0.113.9;proto=http",
    b'for="[2001:db8::1]:443"',
    b"for=unknown",
    b'for="\\1\\0.0.0.1"',
    b'for="10.0.0.1',
    b"by=10.0.0.1",
    b"for=10.0.0.2;for=10.0.0.3",
    b"for=10.0.1.5;" + b"a=b;" * 124 + b"x=yyy",
    b"for=10.0.1.5;" + b"a=b;" * 125,
    b"for=10.0.1.5;" + b"a=b;" * 130,
    b"proto=https;for=10.0.3.3",
]
_RUNS = [b",", b", ", b" ,", b",\t", b", ,\t", b"  ", b"\t,"]


def _run(rng: random.Random) -> bytes:
    unit = rng.choice(_RUNS)
    length = rng.choice([1, 2, 3, 100, 1021, 1022, 1023, 1024, 1025, 1026, 1027, 2049, 5000])
    return (unit * (length // len(unit) + 1))[:length]


def _generated_shapes(count: int = 400) -> List[Shape]:
    rng = random.Random(25)
    shapes: List[Shape] = []
    for i in range(count):
        kind = rng.choice(["xff", "xff", "xff", "fwd", "fwd", "real-ip", "xff-v6", "hops-2"])
        pool = _FWD_ITEMS if kind == "fwd" else _XFF_ITEMS
        header = {"fwd": "Forwarded", "real-ip": "X-Real-IP"}.get(kind, "X-Forwarded-For")
        parts: List[bytes] = []
        trusted_run = rng.choice([0, 0, 1, 5, 30, 31, 32, 33, 34, 60])
        for _ in range(rng.randint(0, 4)):
            parts.append(rng.choice(pool))
        for _ in range(trusted_run):
            parts.append(pool[rng.choice([0, 1])])
        for _ in range(rng.randint(0, 3)):
            parts.append(rng.choice(pool))
        separator = rng.choice([b",", b", ", b" , ", b",\t"])
        value = b""
        for part in parts:
            if value and rng.random() < 0.15:
                value += _run(rng)
            value += (separator if value else b"") + part
        if rng.random() < 0.3:
            value = _run(rng) + value
        if rng.random() < 0.3:
            value += _run(rng)
        lines: Lines = [(header, value)]
        if rng.random() < 0.2:  # the same header again, as a repeated line
            lines.append((header, rng.choice(pool)))
        if rng.random() < 0.3:
            lines.append(("X-Forwarded-Proto", rng.choice([b"https", b"http, https", b"ftp"])))
        if kind != "fwd" and rng.random() < 0.2:
            lines.append(("Forwarded", rng.choice(_FWD_ITEMS)))
        if rng.random() < 0.2:
            lines.append(("X-Real-IP", rng.choice(pool)))
        peer = rng.choice([PEER, PEER, PEER, "203.0.113.50", "10.0.1.5"])
        shapes.append((f"generated {i}", kind, peer, lines))
    # Around the short-header cut and the walk limit, exactly.
    for length in range(120, 136):
        value = (b"10.0.0.7, " * 20)[: length - 12] + b", 203.0.113.9"
        shapes.append((f"around SHORT {length}", "xff", PEER, [("X-Forwarded-For", value)]))
    for hops in range(28, 38):
        for spelling in (b", ", b","):
            value = spelling.join([b"203.0.113.9"] + [b"10.0.0.7"] * hops)
            shapes.append((f"chain {hops} {spelling!r}", "xff", PEER, [("X-Forwarded-For", value)]))
            fwd = spelling.join([b"for=203.0.113.9"] + [b"for=10.0.0.7"] * hops)
            shapes.append((f"fwd chain {hops} {spelling!r}", "fwd", PEER, [("Forwarded", fwd)]))
    return shapes


def shapes() -> List[Shape]:
    """Every shape the guard keeps the answers of."""
    return _benchmark_shapes() + _suite_shapes() + _generated_shapes()


def _digest(value: Any) -> Any:
    """Long text and bytes as a digest, so the recorded file stays small."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str) and len(value) > 200:
        return f"{value[:40]}... sha256:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"
    return value


def _result(result: Any) -> List[Any]:
    return [_digest(f) if not isinstance(f, tuple) else [_digest(p) for p in f] for f in result]


def _environ(peer: Optional[str], lines: Lines) -> Dict[str, Any]:
    env: Dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
    }
    if peer is not None:
        env["REMOTE_ADDR"] = peer
    for name, value in lines:
        key = "HTTP_" + name.upper().replace("-", "_")
        text = value.decode("latin-1")
        env[key] = f"{env[key]},{text}" if key in env else text
    return env


def answers(resolver_name: str, peer: Optional[str], lines: Lines) -> Dict[str, Any]:
    """What the resolver, the WSGI and the ASGI middleware make of one request."""
    resolver = RESOLVERS[resolver_name]
    out: Dict[str, Any] = {"resolve": _result(resolver.resolve(peer, lines))}

    def wsgi_app(environ: Any, start_response: Any) -> Any:
        return ()

    environ = _environ(peer, lines)
    WSGIMiddleware(wsgi_app, resolver, forwarded_proto=True)(environ, None)  # type: ignore[arg-type]
    out["wsgi"] = {
        "result": _result(environ["realip.result"]),
        "REMOTE_ADDR": environ.get("REMOTE_ADDR"),
        "scheme": environ["wsgi.url_scheme"],
        "headers": {k: _digest(v) for k, v in sorted(environ.items()) if k.startswith("HTTP_")},
        "original_header": _digest(environ.get("realip.original_header")),
    }

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        return None

    scope: Dict[str, Any] = {
        "type": "http",
        "client": (peer, PORT) if peer is not None else None,
        "headers": [(b"host", b"app.example"), *((n.lower().encode(), v) for n, v in lines)],
        "scheme": "http",
        "method": "GET",
        "path": "/",
    }
    asyncio.run(ASGIMiddleware(asgi_app, resolver, forwarded_proto=True)(scope, None, None))
    out["asgi"] = {
        "result": _result(scope["realip.result"]),
        "client": list(scope["client"]) if scope["client"] is not None else None,
        "scheme": scope["scheme"],
        "headers": [[n.decode("latin-1"), _digest(v)] for n, v in scope["headers"]],
    }
    return out


def record() -> None:
    """Write every shape's answers (run on the code whose answers are to be kept)."""
    data = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        for shape_id, resolver_name, peer, lines in shapes():
            assert shape_id not in data, shape_id
            data[shape_id] = answers(resolver_name, peer, lines)
    lines = (f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in data.items())
    ANSWERS.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"recorded {len(data)} shapes into {ANSWERS}")


if __name__ == "__main__":
    # PYTHONPATH=tests:tests/security:tests/fuzz python tests/security/hostile_shapes.py
    record()
