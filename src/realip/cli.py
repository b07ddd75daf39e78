"""The ``realip`` command: demo, explain, serve, doctor."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Optional, Sequence, Tuple

from realip._cli_options import add_config_options, resolver_from_args
from realip._errors import ConfigError
from realip._version import __version__


def _parse_header(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _cmd_demo(args: argparse.Namespace) -> int:
    from realip._demo import render

    table, ok = render()
    print(table)
    return 0 if ok else 1


def _cmd_explain(args: argparse.Namespace) -> int:
    from realip._explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # explain prints them itself
        resolver = resolver_from_args(args)
    remote = args.remote_addr
    exp = explain(resolver, remote if remote not in ("", "unix") else None, args.headers)
    if args.json:
        print(json.dumps(exp.as_dict(), indent=2))
    else:
        for i, step in enumerate(exp.steps, 1):
            print(f"{i}. {step}")
        print()
        print(f"client_ip: {exp.result.client_ip or '-'}")
        for warning in exp.warnings:
            print(f"warning: {warning}")
    return 0 if exp.result.client_ip is not None else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``realip`` command."""
    parser = argparse.ArgumentParser(
        prog="realip",
        description="Find the real client IP of requests behind proxies, load balancers and "
        "Kubernetes ingress.",
        epilog="example: realip demo; realip explain --topology ingress --pod-cidrs "
        "10.244.0.0/16 --remote-addr 10.244.2.15 -H 'X-Forwarded-For: 203.0.113.9'",
    )
    parser.add_argument("--version", action="version", version=f"realip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="resolve built-in sample requests for every topology",
        description="Resolve built-in sample requests that mirror each Kubernetes topology "
        "(pod-to-pod, NodePort, LoadBalancer, ingress, Cloudflare), spoofing attempts included, "
        "and print a table. Exit 1 if any sample resolves unexpectedly.",
        epilog="example: realip demo",
    )
    demo.set_defaults(func=_cmd_demo)

    ex = sub.add_parser(
        "explain",
        help="explain step by step how one request resolves",
        description="Resolve one request and explain each step: every hop, whether it is trusted "
        "and by which CIDR or preset, where the walk stopped and why. Exit 0 when a client IP was "
        "found, 1 when not, 2 on a configuration error.",
        epilog="example: realip explain --topology ingress --pod-cidrs 10.244.0.0/16 "
        "--remote-addr 10.244.2.15 -H 'X-Forwarded-For: 6.6.6.6, 203.0.113.9'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument(
        "--remote-addr",
        required=True,
        metavar="ADDR",
        help="the peer address the app saw (ip, ip:port, [v6]:port, or 'unix')",
    )
    ex.add_argument(
        "-H",
        "--header-line",
        dest="headers",
        action="append",
        default=[],
        type=_parse_header,
        metavar="'NAME: VALUE'",
        help="a request header as received; repeat for several",
    )
    ex.add_argument(
        "--json", action="store_true", help="print the result, steps and warnings as JSON"
    )
    add_config_options(ex)
    ex.set_defaults(func=_cmd_explain)

    for module in ("realip._serve", "realip._doctor"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError:  # pragma: no cover - every module ships with the package
            continue
        mod.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``realip`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"realip: configuration error: {exc}", file=sys.stderr)
        return 2
    return code


def run() -> None:
    """Console-script entry point: run :func:`main` and exit with its code."""
    sys.exit(main())
