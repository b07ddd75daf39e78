"""Configuration's front ends: a resolver from option values, the environment or Django.

The options themselves, their converters and spellings live in :mod:`realip._options`; this
module only adds the step that builds a :class:`~realip.Resolver`, and the merge of command-line
values over ``REALIP_*`` variables. Every :class:`ConfigError` comes back naming the option in
the spelling the user wrote.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from realip._options import (
    BY_NAME,
    OPTIONS,
    Option,
    Spell,
    env_values,
    given,
    settings_from_values,
    spell_django,
    spell_env,
    spell_flag,
)
from realip.resolver import Resolver

__all__ = [
    "BY_NAME",
    "OPTIONS",
    "Option",
    "Spell",
    "build",
    "merged_values",
    "resolver_from_env",
    "resolver_from_settings",
    "spell_django",
    "spell_env",
    "spell_flag",
]


def build(
    values: Mapping[str, Any], spell: Spell = str, mention: Optional[Spell] = None
) -> Resolver:
    """The resolver that option ``values`` (keyed by keyword name) describe.

    Unset options are missing, None or blank. Errors name the option at fault through
    ``spell`` and the options they mention through ``mention`` (default: ``spell``).
    """
    return Resolver._from_settings(settings_from_values(values, spell, mention))


def resolver_from_env(environ: Mapping[str, str]) -> Resolver:
    """The resolver the ``REALIP_*`` variables in ``environ`` describe (see Resolver.from_env)."""
    return build(env_values(environ), spell_env)


def resolver_from_settings(value: Mapping[str, Any]) -> Resolver:
    """The resolver a ``settings.REALIP`` dict describes; errors name its keys."""
    return build(dict(value), spell_django)


def merged_values(
    flags: Mapping[str, Optional[str]], environ: Mapping[str, str]
) -> Tuple[Dict[str, Any], Spell]:
    """Command-line values over ``REALIP_*`` variables, and how to name each option in errors.

    A flag that picks the mode (topology, trusted proxies or hops) sets aside the environment's
    mode options instead of conflicting with them.
    """
    from_cli = {name: value for name, value in flags.items() if given(value)}
    values: Dict[str, Any] = env_values(environ)
    modes = ("topology", "trusted_proxies", "trusted_hops")
    if any(name in from_cli for name in modes):
        for name in modes:
            values.pop(name, None)
    values.update(from_cli)

    from_env = {o.name for o in OPTIONS if o.env in environ and o.name in values}
    from_env -= set(from_cli)

    def spell(name: str) -> str:
        # An option set in the environment is named as the variable; one given on the command
        # line, or missing altogether, as the flag.
        return spell_env(name) if name in from_env else spell_flag(name)

    return values, spell
