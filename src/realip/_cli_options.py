"""The configuration options as command-line flags: shared by ``explain`` and ``serve``.

Apart from :mod:`realip.cli` so that a subcommand's module can add the options without
importing the command that imports it.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import List

from realip._config import OPTIONS, build, merged_values, spell_flag
from realip._topologies import TOPOLOGY_SPECS
from realip.resolver import Resolver


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add the resolver options (mirroring the REALIP_* variables) to a subcommand."""
    group = parser.add_argument_group(
        "configuration (unset options fall back to the REALIP_* environment variables)"
    )
    for option in OPTIONS:
        if option.kind == "bool":
            # The flag takes no value; only the variable is spelled true/false.
            text = re.sub(r"\s*\(true/false\)", "", option.help)
            group.add_argument(
                option.flag,
                action="store_const",
                const="true",
                help=f"{text} [{option.env}=true/false]",
            )
        else:
            group.add_argument(
                option.flag,
                metavar=option.env.replace("REALIP_", ""),
                help=f"{option.help} [{option.env}]",
            )


def resolver_from_args(args: argparse.Namespace) -> Resolver:
    """The resolver the options describe, falling back to the environment for unset ones.

    Errors name a flag when the value came from the command line, a variable otherwise.
    """
    flags = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    values, spell = merged_values(flags, os.environ)
    return build(values, spell, spell_flag)


def ignored_options(args: argparse.Namespace) -> List[str]:
    """A note for each CIDR option that is set but that the chosen topology does not use.

    The resolver accepts them on purpose (one ``REALIP_*`` set may serve apps of several
    topologies), so nothing else says that they change nothing.
    """
    flags = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    values, spell = merged_values(flags, os.environ)
    spec = TOPOLOGY_SPECS.get(str(values.get("topology") or "").strip())
    if spec is None:
        return []
    uses = ", ".join(spell(name) for name in spec.options) or "none of the CIDR options"
    return [
        f"{spell(name)} is ignored: topology {spec.name!r} does not use it (it uses {uses})"
        for name in ("pod_cidrs", "node_cidrs", "lb_cidrs")
        if name not in spec.options and str(values.get(name) or "").strip()
    ]


__all__ = ["add_config_options", "ignored_options", "resolver_from_args"]
