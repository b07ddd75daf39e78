"""``realip doctor`` on the command line: read files, analyze each apart, print, exit."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Tuple

from realip._doctor._analyze import READ_KINDS, analyze
from realip._doctor._f5_nginx import is_f5_configmap
from realip._doctor._nginx_config import is_configmap as is_nginx_configmap
from realip._doctor._objects import KUBECTL_COMMAND, DoctorInputError, Obj, parse_objects
from realip._doctor._providers import PROVIDER_BY_KEY
from realip._doctor._report import MultiReport, Report

_EPILOG = f"""\
examples:
  {KUBECTL_COMMAND} | realip doctor -
  {KUBECTL_COMMAND} > cluster.json && realip doctor --json cluster.json
  realip doctor k8s/*.yaml                      (your manifests; YAML needs PyYAML)

what it prints, per Service, Ingress, Gateway and tunnel:
  topology   the realip topology the path implies (pod-to-pod, nodeport-local,
             nodeport-cluster, lb-tcp, lb-tcp-proxy, lb-http, ingress, cloudflare)
  client IP  preserved, lost (SNAT, a proxy without PROXY protocol, ...),
             spoofable (a proxy forwards what the client wrote), unknown (doctor
             can't tell: a warning says what to check)
  findings   error / warning / info lines, each error with its fix
  settings   the REALIP_* environment for the app; replace the <...> placeholders

several files are analyzed apart (each is one input) and reported under their own
heading; --together reads them as one input instead.

exit status: the worst over all files: 0 when the client IP survives every path,
1 when something loses it (or lets clients forge it), 2 when an input cannot be read.
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``doctor`` subcommand on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "doctor",
        help="check Kubernetes Services/Ingresses/Gateways for client-IP loss and suggest "
        "REALIP_* settings",
        description=f"Read the JSON of `{KUBECTL_COMMAND}` (or YAML manifests) and report, "
        "for each Service, Ingress and Gateway, the topology it implies, whether the client IP "
        "survives, what load-balancer annotations and ingress controllers change, and the "
        "REALIP_* settings to use.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="a file with the kubectl output (JSON, or YAML with PyYAML), or - "
        "for standard input; several files are analyzed apart",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--provider",
        choices=sorted(PROVIDER_BY_KEY),
        help="the cloud the cluster runs in, when the input has no Nodes to say it (their "
        "spec.providerID): LoadBalancer Services without annotations get its default load "
        "balancer",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="read all files as one input (manifests split across files); the same object in "
        "two files is refused",
    )
    parser.set_defaults(func=run)


def _read(path: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            # run() names the file before the message; say only why it can't be read.
            raise DoctorInputError(f"cannot read it: {exc.strerror or exc}") from None
        name = path
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DoctorInputError(f"{name} is not UTF-8 text (byte {exc.start})") from None


def _nothing_to_read(objects: List[Dict[str, Any]]) -> Optional[str]:
    kinds = {o["kind"] for o in objects}
    if kinds & set(READ_KINDS):
        return None
    # An ingress controller's ConfigMap on its own still gets its keys explained.
    views = [Obj.of(o) for o in objects if o["kind"] == "ConfigMap"]
    if any(is_nginx_configmap(v) or is_f5_configmap(v) for v in views):
        return None
    return (
        "nothing doctor reads in the input: no Service, Ingress, Gateway or workload "
        f"(found: {', '.join(sorted(kinds))}); run `{KUBECTL_COMMAND}`"
    )


def _where(path: str) -> str:
    return "standard input" if path == "-" else path


def _together(inputs: List[Tuple[str, List[Dict[str, Any]]]]) -> Optional[str]:
    seen: Dict[Tuple[str, str, str], str] = {}
    for path, objects in inputs:
        for o in objects:
            meta = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            key = (str(o["kind"]), str(meta.get("namespace") or "default"), str(meta.get("name")))
            if key in seen and seen[key] != path:
                return (
                    f"{key[0]} {key[1]}/{key[2]} is in both {_where(seen[key])} and {_where(path)}; "
                    "with --together every object may appear once (drop --together to analyze "
                    "the files apart)"
                )
            seen[key] = path
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``realip doctor``; the exit status is the worst over all files (0, 1, or 2)."""
    files = getattr(args, "files", None) or [getattr(args, "file", "-")]
    inputs: List[Tuple[str, List[Dict[str, Any]]]] = []
    for path in files:
        try:
            inputs.append((path, parse_objects(_read(path))))
        except DoctorInputError as exc:
            print(f"realip doctor: {_where(path)}: {exc}", file=sys.stderr)
            return 2
    if getattr(args, "together", False) and len(inputs) > 1:
        clash = _together(inputs)
        if clash is not None:
            print(f"realip doctor: {clash}", file=sys.stderr)
            return 2
        inputs = [(" + ".join(p for p, _ in inputs), [o for _, objs in inputs for o in objs])]
    reports: List[Report] = []
    for path, objects in inputs:
        problem = _nothing_to_read(objects)
        if problem is not None:
            if len(inputs) == 1:
                print(f"realip doctor: {problem}", file=sys.stderr)
                return 2
            report = Report([], [problem], _where(path))
        else:
            report = analyze(objects, getattr(args, "provider", None))
            report.source = _where(path)
        reports.append(report)
    if all(not r.entries for r in reports):
        print("realip doctor: nothing doctor reads in any of the files", file=sys.stderr)
        return 2
    result: Any = reports[0] if len(reports) == 1 else MultiReport(reports)
    if getattr(args, "json", False):
        print(json.dumps(result.as_dict(), indent=2))
    else:
        sys.stdout.write(result.render())
    code: int = result.exit_code
    return code
