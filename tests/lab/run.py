"""Build the lab, send every path's requests, ask doctor, and print (or write) the results table.

    sudo python -m tests.lab            # print the table
    sudo python -m tests.lab --write    # also regenerate docs/explanation/seed-experiments.md
    sudo python -m tests.lab --load     # also run the load comparison through the ingress

The pytest session fixture (tests/lab/conftest.py) calls :func:`start` and :func:`collect` once
and the tests assert on what came back; this module only gathers facts and formats them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import time
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Dict, List, Optional, Tuple

from realip.cli import main as cli_main

from . import cases as cs
from . import cluster as c
from .netlab import Lab, unavailable_reason
from .nsclient import burst, get_json

ROOT = FsPath(__file__).resolve().parent.parent.parent
DOCS_PAGE = ROOT / "docs" / "explanation" / "seed-experiments.md"
TABLE_BEGIN = "<!-- lab-table: begin (written by `python -m tests.lab --write`) -->"
TABLE_END = "<!-- lab-table: end -->"


def canonical(address: Optional[str]) -> Optional[str]:
    """An address as realip prints it: IPv4-mapped IPv6 unmapped, IPv6 compressed."""
    if not address:
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def proxy_protocol_available() -> bool:
    """Whether this tree has realip's PROXY protocol server integration (branch ``proxy``)."""
    import importlib.util

    from realip._topologies import TOPOLOGY_SPECS

    found = importlib.util.find_spec("realip.uvicorn") and importlib.util.find_spec(
        "realip.proxy_server"
    )
    return bool(found) and "lb-tcp-proxy" in TOPOLOGY_SPECS


def gunicorn_decodes_proxy_v2() -> bool:
    """Whether the installed gunicorn takes ``proxy_protocol = "auto"`` (v1 and v2); older
    releases (23 is the last for Python 3.9) take a switch and decode v1 only."""
    try:
        from gunicorn.config import Config

        Config().set("proxy_protocol", "auto")
    except Exception:
        return False
    return True


@dataclass
class Outcome:
    """What one request produced: the app's JSON answer, or the error it ran into."""

    path: cs.Path
    request: cs.Request
    answer: Optional[Dict[str, Any]] = None
    error: Optional[str] = None


@dataclass
class Doctor:
    """doctor's verdict on one path's manifest (the entry for the app)."""

    topology: Optional[str]
    client_ip: Optional[str]
    raw: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A built lab and everything measured on it."""

    cluster: c.Cluster
    paths: List[cs.Path]
    outcomes: List[Outcome] = field(default_factory=list)
    doctor: Dict[str, Doctor] = field(default_factory=dict)
    timings: Dict[str, float] = field(default_factory=dict)


def start() -> Run:
    """Build the network, register the paths, start every process."""
    t0 = time.monotonic()
    cluster = c.Cluster(Lab())
    try:
        cluster.build_network()
        t1 = time.monotonic()
        paths = cs.define(
            cluster,
            proxy_protocol=proxy_protocol_available(),
            gunicorn_proxy=gunicorn_decodes_proxy_v2(),
        )
        cluster.start()
    except BaseException:
        cluster.close()
        raise
    run = Run(cluster, paths)
    run.timings.update(network=t1 - t0, processes=time.monotonic() - t1)
    return run


def normalise(answer: Dict[str, Any]) -> Dict[str, Any]:
    """``realip serve``'s report in the lab apps' shape (peer, client_ip, snat, reason)."""
    if "resolution" not in answer:
        return answer
    resolution = answer["resolution"]
    return {
        "server": "serve",
        "peer": (answer.get("peer") or {}).get("address"),
        "client_ip": resolution.get("client_ip"),
        "snat": resolution.get("snat"),
        "reason": resolution.get("reason"),
        "n": None,
    }


def _send(cluster: c.Cluster, request: cs.Request) -> Dict[str, Any]:
    pool = cluster.pool(request.sender)
    return normalise(
        pool.call(get_json, request.host, request.port, request.headers, "/", None, request.prefix)
    )


def collect(run: Run) -> None:
    """Send every request (one at a time: the whole set takes well under a second) and ask
    doctor about every manifest."""
    t0 = time.monotonic()
    by_file = {key: doctor(file) for key, file in _manifest_files(run).items()}
    run.doctor = {path.id: by_file[_manifest_key(path)] for path in run.paths}
    run.timings["doctor"] = time.monotonic() - t0
    t0 = time.monotonic()
    for path, request in cs.all_requests(run.paths):
        try:
            run.outcomes.append(Outcome(path, request, answer=_send(run.cluster, request)))
        except Exception as exc:  # reported per request by the tests
            run.outcomes.append(Outcome(path, request, error=f"{type(exc).__name__}: {exc}"))
    run.timings["requests"] = time.monotonic() - t0


def _manifest_key(path: cs.Path) -> str:
    return json.dumps(path.manifest, indent=1, sort_keys=True)


def _manifest_files(run: Run) -> Dict[str, FsPath]:
    """Each distinct manifest written once to the lab's workdir."""
    assert run.cluster.lab is not None
    folder = run.cluster.lab.workdir / "manifests"
    folder.mkdir(exist_ok=True)
    files: Dict[str, FsPath] = {}
    for path in run.paths:
        key = _manifest_key(path)
        if key not in files:
            files[key] = folder / f"{path.id}.json"
            files[key].write_text(key)
    return files


def doctor(manifest: FsPath) -> Doctor:
    """``realip doctor --json MANIFEST`` (the CLI's own entry point, run in this process so
    fifteen manifests cost a fraction of a second); the verdict on the app's entry."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli_main(["doctor", "--json", str(manifest)])
    try:
        report = json.loads(out.getvalue())
    except ValueError:
        return Doctor(None, None, {"stdout": out.getvalue()})
    for entry in report.get("entries", []):
        if entry.get("role") == "app" and entry.get("kind") == "Service":
            return Doctor(entry.get("topology"), entry.get("client_ip"), entry)
    return Doctor(None, None, report)


# -- the table ---------------------------------------------------------------------------------
def _cell(text: Optional[str]) -> str:
    return "—" if text is None else str(text).replace("|", "\\|")


def rows(run: Run) -> List[List[str]]:
    """One row per path (its legitimate request; spoofing attempts summarised)."""
    out = []
    by_path: Dict[str, List[Outcome]] = {}
    for outcome in run.outcomes:
        by_path.setdefault(f"{outcome.path.id}/{outcome.path.server}", []).append(outcome)
    seen = set()
    for path in run.paths:
        if path.id in seen:
            continue
        seen.add(path.id)
        servers = [p.server for p in run.paths if p.id == path.id and not p.skip]
        group = by_path.get(f"{path.id}/{path.server}", [])
        legit = next((o for o in group if o.request.kind == "legitimate"), None)
        doc = run.doctor.get(path.id)
        doctor_text = (
            f"`{doc.topology}`, client IP {doc.client_ip}" if doc and doc.topology else "—"
        )
        if path.skip or legit is None:
            out.append(
                [
                    f'<a id="lab-{path.id}"></a>{path.topology}',
                    path.title,
                    "skipped",
                    path.skip or "not run",
                    "",
                    doctor_text,
                ]
            )
            continue
        answer = legit.answer or {}
        peer = canonical(answer.get("peer")) if legit.answer else f"error: {legit.error}"
        realip_text = (
            f"`{canonical(answer.get('client_ip'))}`, snat={answer.get('snat')}"
            if legit.answer
            else "—"
        )
        spoofs = [o for o in group if o.request.kind != "legitimate"]
        held = [o for o in spoofs if _held(o)]
        spoof_text = f"{len(held)}/{len(spoofs)} held" if spoofs else "—"
        who = _who(run.cluster, peer)
        out.append(
            [
                f'<a id="lab-{path.id}"></a>{path.topology}',
                path.title
                + (f" ({', '.join(servers)})" if len(servers) > 1 else "")
                + (f" [^{path.id}]" if path.note else ""),
                f"`{peer}` ({who})",
                realip_text,
                spoof_text,
                doctor_text,
            ]
        )
    return out


def _held(outcome: Outcome) -> bool:
    """Whether a spoofing attempt failed: refused when it must be, else realip answered
    something other than the forged address (the expected client, checked by the tests)."""
    if outcome.request.expect_refused:
        return outcome.answer is None and (outcome.error or "").startswith("Refused")
    return outcome.answer is not None and outcome.answer.get("client_ip") != cs.FORGED


def _who(cluster: c.Cluster, address: Optional[str]) -> str:
    names = {}
    for role in (*c.CLIENTS, *c.PODS, *c.NODES):
        names[cluster.addr(role)] = role
        if cluster.addr(role, True):
            names[cluster.addr(role, True)] = role
    names[c.LB_SOURCE] = "load balancer"
    names[c.CF_ADDR] = "Cloudflare stand-in"
    for node in c.NODES:
        names[c.flannel_addr(node)] = f"{node} flannel.1"
        names[c.cni0_addr(node)] = f"{node} cni0"
    label = names.get(address or "", "?")
    return {
        "c1": "the client",
        "cpod": "the client pod",
        "ing": "ingress pod",
        "ving": "ingress pod",
    }.get(label, label)


HEADER = [
    "topology",
    "path",
    "the pod's socket saw",
    "realip answered",
    "spoofing attempts",
    "doctor said",
]


def table(run: Run) -> str:
    """The results as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in rows(run)]
    notes = {p.id: p.note for p in run.paths if p.note and not p.skip}
    if notes:
        lines.append("")
        lines += [f"[^{key}]: {note}" for key, note in notes.items()]
    return "\n".join(lines)


def write_page(run: Run, page: FsPath = DOCS_PAGE) -> bool:
    """Replace the table between the markers in the docs page; True when it changed."""
    text = page.read_text()
    begin, end = text.index(TABLE_BEGIN), text.index(TABLE_END)
    new = text[: begin + len(TABLE_BEGIN)] + "\n" + table(run) + "\n" + text[end:]
    if new != text:
        page.write_text(new)
        return True
    return False


def page_table(page: FsPath = DOCS_PAGE) -> str:
    """The table currently committed in the docs page."""
    text = page.read_text()
    begin, end = text.index(TABLE_BEGIN), text.index(TABLE_END)
    return text[begin + len(TABLE_BEGIN) : end].strip()


# -- load ------------------------------------------------------------------------------------
LOAD_CLIENTS = ("c1", "c2", "c3")


def load(run: Run, app_key: str, fe_port: int, per_client: int, keepalive: bool) -> Dict[str, Any]:
    """``per_client`` requests from each client namespace at once (4 connections each)."""
    cluster = run.cluster
    conns = 4
    t0 = time.monotonic()
    futures = []
    for role in LOAD_CLIENTS:
        pool = cluster.pool(role)
        for k in range(conns):
            tag = f"{role}-{k}-{app_key}"
            futures.append(
                (role, tag, pool.submit(burst, c.VIP, fe_port, per_client // conns, keepalive, tag))
            )
    answers: List[Tuple[str, str, List[Dict[str, Any]]]] = []
    for role, tag, future in futures:
        answers.append((role, tag, future.result(timeout=120)))
    elapsed = time.monotonic() - t0
    total = sum(len(a) for _r, _t, a in answers)
    return {"requests": total, "seconds": elapsed, "rps": total / elapsed, "answers": answers}


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m tests.lab``."""
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the docs page's table")
    parser.add_argument("--load", action="store_true", help="run the load comparison too")
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason:
        print(f"lab skipped: {reason}")
        return 0
    run = start()
    try:
        collect(run)
        print(table(run))
        for note in run.cluster.notes:
            print(f"note: {note}")
        print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items()))
        if args.load:
            from .load import compare

            print(compare(run))
        if args.write:
            changed = write_page(run)
            print(f"{DOCS_PAGE}: {'updated' if changed else 'unchanged'}")
    finally:
        run.cluster.close()
    return 0
