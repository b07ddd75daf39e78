"""The resolver's options as command-line flags, shared by every ``realip`` subcommand.

Kept apart from :mod:`realip.cli` so that subcommand modules (``realip serve``) use them without
importing the command that imports them: no cycle between ``cli`` and its subcommands.
"""

from __future__ import annotations

import argparse
import os

from realip._config import OPTIONS, build, merged_values, spell_flag
from realip.resolver import Resolver

__all__ = ["add_config_options", "resolver_from_args"]


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add the resolver options (mirroring the REALIP_* variables) to a subcommand."""
    group = parser.add_argument_group(
        "configuration (unset options fall back to the REALIP_* environment variables)"
    )
    for option in OPTIONS:
        if option.kind == "bool":
            # A switch takes no value: "(true/false)" describes the variable only.
            group.add_argument(
                option.flag,
                action="store_const",
                const="true",
                help=f"{option.help.replace(' (true/false)', '')} [{option.env}=true/false]",
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
