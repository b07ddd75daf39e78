"""Every configuration option once: its name, its converter, its help, and each spelling.

The constructor keywords, the ``REALIP_*`` environment variables, the command-line flags and
``settings.REALIP`` keys are four spellings of the same options, all derived from
:data:`OPTIONS`. :func:`settings_from_values` turns raw values (text from the environment or a
command line, or Python values) into checked :class:`~realip._settings.Settings`; it builds no
resolver, so the resolver can read its environment through it without an import cycle
(:mod:`realip._config` holds the front ends that return a resolver).
"""

# No `from __future__ import annotations` here: NamedTuple would turn each string annotation
# into a ForwardRef, compiling it at import (see realip._topologies).

from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

from realip._errors import ConfigError
from realip._settings import (
    DEFAULT_HEADER,
    Settings,
    check_require,
    plain_settings,
    topology_settings,
)
from realip._topologies import TOPOLOGIES

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def text_value(text: str) -> str:
    """A text option (topology, header) as given, blanks trimmed."""
    return text


def cidr_list(text: str) -> List[str]:
    """A CIDR option: entries separated by commas and/or blanks."""
    return text.replace(",", " ").split()


def whole_number(text: str) -> int:
    """A count option: ASCII digits only."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError("must be a whole number >= 1")
    return int(text)


def switch(text: str) -> bool:
    """A true/false option: 1/true/yes/on or 0/false/no/off, in any case."""
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"must be one of {', '.join(_TRUE + _FALSE)}")


class Option(NamedTuple):
    """One configuration option and its spelling in every front end."""

    name: str
    """The keyword name (``Resolver(...)``, ``Resolver.for_topology(...)``)."""
    convert: Callable[[str], Any]
    """Reads a text value (environment, command line) as the keyword's type; raises
    ``ValueError`` with the detail of a bad one."""
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

    @property
    def is_switch(self) -> bool:
        """Whether the option is true/false (a command-line flag without a value)."""
        return self.convert is switch

    @property
    def kind(self) -> str:
        """``"bool"`` for a switch, else ``"value"`` (for front ends that ask the old way)."""
        return "bool" if self.is_switch else "value"


OPTIONS: Tuple[Option, ...] = (
    Option("topology", text_value, f"deployment topology: {', '.join(TOPOLOGIES)}"),
    Option(
        "trusted_proxies",
        cidr_list,
        "trusted proxy IPs/CIDRs/presets, comma- or space-separated (not with a topology)",
    ),
    Option(
        "header",
        text_value,
        "header to read: x-forwarded-for, forwarded, or a single-IP header such as x-real-ip",
    ),
    Option(
        "trusted_hops",
        whole_number,
        "number of proxies in front (hop counting; not with trusted_proxies or a topology)",
    ),
    Option("pod_cidrs", cidr_list, "pod CIDRs, where ingress pods live (with a topology)"),
    Option(
        "node_cidrs",
        cidr_list,
        "addresses a node's SNAT gives a request, flagged as SNAT (with a topology)",
    ),
    Option(
        "lb_cidrs",
        cidr_list,
        "load balancer source ranges, e.g. cgnat for 100.64.0.0/10 (with a topology)",
    ),
    Option(
        "require_header",
        switch,
        "fail closed when a trusted proxy sends no forwarding header (true/false)",
    ),
)
"""Every option, in the order the docs and ``--help`` list them."""

BY_NAME: Dict[str, Option] = {option.name: option for option in OPTIONS}

ENV_NAMES: Tuple[str, ...] = tuple(option.env for option in OPTIONS)
"""Every ``REALIP_*`` variable, in option order."""

_TOPOLOGY_ONLY = ("pod_cidrs", "node_cidrs", "lb_cidrs")
_MODES = ("topology", "trusted_proxies", "trusted_hops")

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


def env_values(environ: Mapping[str, str]) -> Dict[str, Any]:
    """The option values set in ``environ`` (keyed by keyword name, still text)."""
    return {o.name: environ[o.env] for o in OPTIONS if o.env in environ}


def given(value: Any) -> bool:
    """Whether an option value is set: not None, and not blank text."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def _convert(option: Option, value: Any) -> Any:
    # Text (environment, command line) becomes the type the keyword takes; anything else is
    # passed on as given, and the settings checks judge it.
    if not isinstance(value, str):
        return value
    try:
        return option.convert(value.strip())
    except ValueError as exc:
        raise ConfigError(f"{value!r} {exc}", option.name) from None


def settings_from_values(
    values: Mapping[str, Any], spell: Spell = str, mention: Optional[Spell] = None
) -> Settings:
    """The settings option ``values`` (keyed by keyword name) describe.

    Unset options are missing, None or blank. Errors name the option at fault through
    ``spell`` and the options they mention through ``mention`` (default: ``spell``).
    """
    try:
        return _settings(values)
    except ConfigError as exc:
        raise exc.respell(spell, mention) from None


def _settings(values: Mapping[str, Any]) -> Settings:
    for name in values:
        if name not in BY_NAME:
            raise ConfigError(
                f"unknown option {name!r}; known options: {', '.join(BY_NAME)}",
            )
    chosen = {
        name: _convert(BY_NAME[name], value) for name, value in values.items() if given(value)
    }
    require = check_require(chosen.get("require_header", False))
    if "topology" in chosen:
        for name in ("trusted_proxies", "trusted_hops"):
            if name in chosen:
                raise ConfigError(
                    "cannot be combined with $topology; give the ranges as $pod_cidrs, "
                    "$node_cidrs and $lb_cidrs",
                    name,
                )
        return topology_settings(
            chosen["topology"],
            chosen.get("pod_cidrs", ()),
            chosen.get("node_cidrs", ()),
            chosen.get("lb_cidrs", ()),
            chosen.get("header"),
            require,
        )
    for name in _TOPOLOGY_ONLY:
        if name in chosen:
            raise ConfigError(
                "only applies with $topology; set $topology or use $trusted_proxies", name
            )
    # An explicit header=None (peer address only) is a choice, not an unset option.
    if "header" in chosen:
        header = chosen["header"]
    elif "header" in values and values["header"] is None:
        header = None
    else:
        header = DEFAULT_HEADER
    return plain_settings(
        chosen.get("trusted_proxies", ()), header, chosen.get("trusted_hops"), require
    )
