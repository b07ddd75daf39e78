"""Configuration's one home: every option, how each front end spells it, and how it is read.

The constructor keywords, the ``REALIP_*`` environment variables, the command-line flags and
``settings.REALIP`` keys are four spellings of the same options. Each front end hands its raw
values to :func:`build`, and every :class:`ConfigError` comes back naming the option in the
spelling the user wrote.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from realip._errors import ConfigError
from realip._topologies import TOPOLOGIES
from realip.resolver import Resolver


class Option(NamedTuple):
    """One configuration option and its spelling in every front end."""

    name: str
    """The keyword name (``Resolver(...)``, ``Resolver.for_topology(...)``)."""
    kind: str
    """How a text value is read: ``topology``, ``cidrs``, ``header``, ``int`` or ``bool``."""
    help: str
    """One line for ``--help`` and the reference docs."""

    @property
    def env(self) -> str:
        """The environment variable."""
        return "REALIP_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag."""
        return "--" + self.name.replace("_", "-")

    @property
    def django(self) -> str:
        """The key in Django's ``settings.REALIP`` dict."""
        return self.name


OPTIONS: Tuple[Option, ...] = (
    Option("topology", "topology", f"deployment topology: {', '.join(TOPOLOGIES)}"),
    Option(
        "trusted_proxies",
        "cidrs",
        "trusted proxy IPs/CIDRs/presets, comma- or space-separated (not with a topology)",
    ),
    Option(
        "header",
        "header",
        "header to read: x-forwarded-for, forwarded, or a single-IP header such as x-real-ip",
    ),
    Option(
        "trusted_hops",
        "int",
        "number of proxies in front (hop counting; not with trusted_proxies or a topology)",
    ),
    Option("pod_cidrs", "cidrs", "pod CIDRs, where ingress pods live (with a topology)"),
    Option(
        "node_cidrs",
        "cidrs",
        "addresses a node's SNAT gives a request, flagged as SNAT (with a topology)",
    ),
    Option(
        "lb_cidrs",
        "cidrs",
        "load balancer source ranges, e.g. cgnat for 100.64.0.0/10 (with a topology)",
    ),
    Option(
        "require_header",
        "bool",
        "fail closed when a trusted proxy sends no forwarding header (true/false)",
    ),
)
"""Every option, in the order the docs and ``--help`` list them."""

BY_NAME: Dict[str, Option] = {option.name: option for option in OPTIONS}

_TOPOLOGY_ONLY = ("pod_cidrs", "node_cidrs", "lb_cidrs")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

Spell = Callable[[str], str]


def spell_env(name: str) -> str:
    """An option as an environment variable."""
    return BY_NAME[name].env if name in BY_NAME else name


def spell_flag(name: str) -> str:
    """An option as a command-line flag."""
    return BY_NAME[name].flag if name in BY_NAME else name


def spell_django(name: str) -> str:
    """An option as a ``settings.REALIP`` key."""
    return f"settings.REALIP[{BY_NAME[name].django!r}]" if name in BY_NAME else name


def _convert(option: Option, value: Any) -> Any:
    # Text (environment, command line) becomes the type the keyword takes; anything else is
    # passed on as given, and the resolver checks it.
    if not isinstance(value, str):
        return value
    text = value.strip()
    if option.kind == "cidrs":
        return text.replace(",", " ").split()
    if option.kind == "int":
        if not (text.isascii() and text.isdigit()):
            raise ConfigError(f"{value!r} must be a whole number >= 1", option.name)
        return int(text)
    if option.kind == "bool":
        word = text.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ConfigError(f"{value!r} must be one of {', '.join(_TRUE + _FALSE)}", option.name)
    return text


def _given(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def build(
    values: Mapping[str, Any], spell: Spell = str, mention: Optional[Spell] = None
) -> Resolver:
    """The resolver that option ``values`` (keyed by keyword name) describe.

    Unset options are missing, None or blank. Errors name the option at fault through
    ``spell`` and the options they mention through ``mention`` (default: ``spell``).
    """
    try:
        return _build(values)
    except ConfigError as exc:
        raise exc.respell(spell, mention) from None


def _build(values: Mapping[str, Any]) -> Resolver:
    for name in values:
        if name not in BY_NAME:
            raise ConfigError(
                f"unknown option {name!r}; known options: {', '.join(BY_NAME)}",
            )
    given = {
        name: _convert(BY_NAME[name], value) for name, value in values.items() if _given(value)
    }
    # An explicit header=None (peer address only) is a choice, not an unset option.
    header_none = "header" in values and values["header"] is None
    require = bool(given.get("require_header", False))
    if "require_header" in given and not isinstance(given["require_header"], bool):
        raise ConfigError(f"{given['require_header']!r} must be True or False", "require_header")
    if "topology" in given:
        for name in ("trusted_proxies", "trusted_hops"):
            if name in given:
                raise ConfigError(
                    "cannot be combined with $topology; give the ranges as $pod_cidrs, "
                    "$node_cidrs and $lb_cidrs",
                    name,
                )
        return Resolver.for_topology(
            given["topology"],
            pod_cidrs=given.get("pod_cidrs", ()),
            node_cidrs=given.get("node_cidrs", ()),
            lb_cidrs=given.get("lb_cidrs", ()),
            header=given.get("header"),
            require_header=require,
        )
    for name in _TOPOLOGY_ONLY:
        if name in given:
            raise ConfigError(
                "only applies with $topology; set $topology or use $trusted_proxies", name
            )
    kwargs: Dict[str, Any] = {"require_header": require}
    if "trusted_proxies" in given:
        kwargs["trusted_proxies"] = given["trusted_proxies"]
    if "trusted_hops" in given:
        kwargs["trusted_hops"] = given["trusted_hops"]
    if "header" in given:
        kwargs["header"] = given["header"]
    elif header_none:
        kwargs["header"] = None
    return Resolver(**kwargs)


def resolver_from_env(environ: Mapping[str, str]) -> Resolver:
    """The resolver the ``REALIP_*`` variables in ``environ`` describe (see Resolver.from_env)."""
    return build({o.name: environ[o.env] for o in OPTIONS if o.env in environ}, spell_env)


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
    from_cli = {name: value for name, value in flags.items() if _given(value)}
    values: Dict[str, Any] = {o.name: environ[o.env] for o in OPTIONS if o.env in environ}
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
