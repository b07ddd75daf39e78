"""Exception and warning types of realip."""

from __future__ import annotations

from typing import Callable, Optional

# A mention of another option in a message: each front end shows it in its own spelling.
# (A pattern, compiled when an error is raised: ``import realip`` does not load ``re``.)
_PLACEHOLDER = (
    r"\$(topology|trusted_proxies|header|trusted_hops|pod_cidrs|node_cidrs|lb_cidrs"
    r"|require_header)\b"
)


def _keyword(option: str) -> str:
    return option


class ConfigError(ValueError):
    """A realip configuration value is wrong; raised at start-up, naming the bad value.

    :attr:`option` names the option at fault (its keyword name, e.g. ``"trusted_proxies"``),
    so every front end can name it in its own spelling: a keyword argument, a ``REALIP_*``
    variable, a command-line flag or a ``settings.REALIP`` key.
    """

    def __init__(
        self,
        detail: str,
        option: Optional[str] = None,
        spell: Callable[[str], str] = _keyword,
        mention: Optional[Callable[[str], str]] = None,
    ) -> None:
        self.detail = detail
        """The message without the option's name; ``$name`` marks a mention of an option."""
        self.option = option
        """The keyword name of the option at fault, or None when no single option is."""
        import re

        other = mention or spell
        text = re.sub(_PLACEHOLDER, lambda m: other(m.group(1)), detail)
        super().__init__(f"{spell(option)}: {text}" if option else text)

    def respell(
        self, spell: Callable[[str], str], mention: Optional[Callable[[str], str]] = None
    ) -> ConfigError:
        """The same error, naming options the way ``spell`` (keyword name -> text) says;
        ``mention`` spells the other options a message refers to (default: ``spell``)."""
        return ConfigError(self.detail, self.option, spell, mention)


class RealIPWarning(UserWarning):
    """A configuration that works but is probably not what you meant (e.g. trusting everything)."""
