"""The ``realip`` command: demo, explain, serve, doctor.

Each subcommand's code is imported only when that subcommand runs: ``realip --help`` and
``realip demo`` do not load the diagnostic server or doctor's rule tables.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import textwrap
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from realip._addresses import parse_ip
from realip._cli_options import add_config_options, ignored_options, resolver_from_args
from realip._errors import ConfigError
from realip._version import __version__

# Subcommands whose parser lives with their code: module, and the one line `realip --help`
# lists (tests/test_cli.py checks it is the line the module registers).
_LAZY_COMMANDS: Dict[str, Tuple[str, str]] = {
    "serve": ("realip._serve", "run a diagnostic echo server that shows what reaches the app"),
    "doctor": (
        "realip._doctor._cli",
        "check Kubernetes Services/Ingresses/Gateways for client-IP loss and suggest "
        "REALIP_* settings",
    ),
}
COMMANDS = ("demo", "explain", *_LAZY_COMMANDS)
"""The subcommands, in the order ``realip --help`` lists them."""

_EPILOG = """\
examples:
  realip demo
  realip explain --topology ingress --pod-cidrs 10.244.0.0/16 \\
      --remote-addr 10.244.2.15 -H 'X-Forwarded-For: 203.0.113.9'
  realip serve --topology ingress --pod-cidrs 10.244.0.0/16
  kubectl get svc,ingress,configmap -A -o json | realip doctor -

realip COMMAND --help describes each command.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Wraps a paragraph written as one long line; keeps pre-formatted ones (examples) as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = text.split("\n\n")
        filled = [
            textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent)
            if "\n" not in p.strip("\n") and not p.startswith(" ")
            else super(_Formatter, self)._fill_text(p, width, indent)
            for p in paragraphs
        ]
        return "\n\n".join(filled)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose subcommands report an unknown option in their own usage, with
    the closest known option, before any other error (a missing required option, say)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # serve's and doctor's modules ask for RawDescriptionHelpFormatter; _Formatter keeps
        # their examples as written and wraps their one-line descriptions.
        kwargs["formatter_class"] = _Formatter
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Optional[Sequence[str]] = None, namespace: Optional[argparse.Namespace] = None
    ) -> Tuple[argparse.Namespace, List[str]]:
        arg_list = list(sys.argv[1:] if args is None else args)
        command_level = self._subparsers is None
        if command_level:
            self._refuse_unknown_options(arg_list)
        else:  # the top level: its own options come before the command
            command = next((i for i, a in enumerate(arg_list) if not a.startswith("-")), None)
            self._refuse_unknown_options(arg_list[:command])
        parsed, extras = super().parse_known_args(arg_list, namespace)
        if extras and command_level:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def _known(self, token: str) -> bool:
        name = token.split("=", 1)[0]
        if name in self._option_string_actions:
            return True
        if token[1:2] != "-":  # -Hvalue: a short option with its value attached
            return token[:2] in self._option_string_actions
        matches = [option for option in self._option_string_actions if option.startswith(name)]
        return len(matches) == 1  # argparse takes an unambiguous prefix (allow_abbrev)

    def _refuse_unknown_options(self, args: List[str]) -> None:
        for token in args:
            if token == "--":
                return
            # What argparse itself would take for an option: a leading dash, not a lone "-",
            # not a negative number, no space (such a token is a value).
            if (
                not token.startswith("-")
                or token == "-"
                or " " in token
                or re.fullmatch(r"-\d+(\.\d*)?", token)
                or self._known(token)
            ):
                continue
            name = token.split("=", 1)[0]
            options = sorted({o for o in self._option_string_actions if o.startswith("--")})
            close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"options: {', '.join(options)}"
            self.error(f"unrecognized option {name!r}; {hint}")


def _parse_header(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _why_not_an_address(text: str) -> str:
    host, port = text.strip(), None
    if host.startswith("["):
        close = host.find("]")
        if close < 0:
            return f"{text!r} opens '[' without a closing ']'"
        host, tail = host[1:close], host[close + 1 :]
        if tail and not tail.startswith(":"):
            return f"{text!r} has {tail!r} after ']' where ':PORT' belongs"
        port = tail[1:] if tail else None
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if port is not None:
        if not (port.isascii() and port.isdigit()):
            return f"the port {port!r} in {text!r} is not a number"
        if int(port) > 65535:
            return f"the port {int(port)} in {text!r} is out of range (0-65535)"
    import ipaddress  # only to say what is wrong with an address the fast parser refused

    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        where = f" in {text!r}" if host != text else ""
        return f"{host!r}{where} is not an IPv4 or IPv6 address"
    if address.is_unspecified:
        return f"{host} is the unspecified address, which no peer has"
    return f"{text!r} is not an address a peer has (brackets hold an IPv6 address only)"


def _remote_addr(text: str) -> str:
    """``--remote-addr``: an address with an optional port, or a Unix socket ('unix', a path,
    'unix:...', ''), which has no peer address."""
    if text in ("", "unix") or text.startswith(("/", "unix:")) or parse_ip(text) is not None:
        return text
    raise argparse.ArgumentTypeError(_why_not_an_address(text))


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
    exp.warnings.extend(ignored_options(args))
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


def _add_demo(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="resolve built-in sample requests for every topology",
        description="Resolve built-in sample requests that mirror each Kubernetes topology "
        "(pod-to-pod, NodePort, LoadBalancer, ingress, Cloudflare), spoofing attempts included, "
        "and print a table. Exit 1 if any sample resolves unexpectedly.",
        epilog="example: realip demo",
    )
    demo.set_defaults(func=_cmd_demo)


def _add_explain(sub: Any) -> None:
    ex = sub.add_parser(
        "explain",
        help="explain step by step how one request resolves",
        description="Resolve one request and explain each step: every hop, whether it is trusted "
        "and by which CIDR or preset, where the walk stopped and why. Exit 0 when a client IP was "
        "found, 1 when not, 2 on a usage or configuration error.",
        epilog="example:\n  realip explain --topology ingress --pod-cidrs 10.244.0.0/16 \\\n"
        "      --remote-addr 10.244.2.15 -H 'X-Forwarded-For: 6.6.6.6, 203.0.113.9'",
    )
    ex.add_argument(
        "--remote-addr",
        required=True,
        metavar="ADDR",
        type=_remote_addr,
        help="the peer address the app saw (ip, ip:port, [v6]:port; 'unix' or a socket path "
        "for a Unix socket)",
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


def build_parser(commands: Optional[Iterable[str]] = None) -> argparse.ArgumentParser:
    """The argument parser of the ``realip`` command.

    ``commands`` limits which subcommands get their full parser (and have their module
    imported); the others are listed with their one-line help only. Default: all of them.
    """
    wanted = set(COMMANDS if commands is None else commands)
    parser = _Parser(
        prog="realip",
        description="Find the real client IP of requests behind proxies, load balancers and "
        "Kubernetes ingress.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"realip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if name == "demo":
            _add_demo(sub)
        elif name == "explain":
            _add_explain(sub)
        elif name in wanted:
            _command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=_LAZY_COMMANDS[name][1])
    return parser


def _command_in(argv: Sequence[str]) -> Optional[str]:
    # The top level takes only flags without values (-h, --version): its first other argument
    # names the subcommand.
    for token in argv:
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def _command_module(name: str) -> Any:
    """Import a lazily loaded subcommand's module (named literally, so the import-graph test
    sees the edge)."""
    if name == "serve":
        from realip import _serve

        return _serve
    from realip._doctor import _cli

    return _cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``realip`` command; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(arguments)
    parser = build_parser([command] if command else [])
    if not arguments:
        parser.print_usage(sys.stderr)
        print(
            f"realip: error: choose a command: {', '.join(COMMANDS)} "
            "(realip --help says what each does)",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(arguments)
    if getattr(args, "func", None) is None:  # `realip --`: options but no command
        parser.print_usage(sys.stderr)
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


__all__ = ["COMMANDS", "add_config_options", "build_parser", "main", "resolver_from_args", "run"]
