"""Configuration's one home: one option list, four spellings, errors in the user's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest
from support.cli import run_realip

from realip import ConfigError, Resolver
from realip._config import OPTIONS, build, merged_values, spell_django, spell_env, spell_flag
from realip.resolver import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]


def _table() -> str:
    rows = [
        "| Keyword | Variable | Flag | `settings.REALIP` key | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f'| `{o.name}` | `{o.env}` | `{o.flag}` | `"{o.django}"` | {o.help} |' for o in OPTIONS
    ]
    return "\n".join(rows)


def test_reference_option_table_is_the_option_list() -> None:
    text = (ROOT / "docs/reference/configuration.md").read_text()
    found = re.search(r"<!-- options-table[^>]*-->\n(.*?)\n<!-- /options-table -->", text, re.S)
    assert found is not None, "docs/reference/configuration.md lost its options table"
    assert found.group(1) == _table(), "regenerate the table from realip._config.OPTIONS:\n" + (
        _table()
    )


def test_env_vars_are_the_option_list() -> None:
    assert tuple(o.env for o in OPTIONS) == ENV_VARS


def test_every_option_can_be_mentioned_in_an_error() -> None:
    # _errors sits below the option list (every layer raises ConfigError), so its placeholder
    # pattern names the options itself; a new option must be added there too.
    for option in OPTIONS:
        error = ConfigError(f"see ${option.name}", spell=lambda name: f"<{name}>")
        assert str(error) == f"see <{option.name}>", option.name


@pytest.mark.parametrize(
    ("values", "option", "message"),
    [
        ({"trusted_proxies": "10.0.0.1/8"}, "trusted_proxies", "host bits"),
        ({"trusted_hops": "two"}, "trusted_hops", "whole number"),
        ({"trusted_hops": "0"}, "trusted_hops", "between 1"),
        ({"header": "X_Forwarded_For"}, "header", "'x-forwarded-for'"),
        ({"topology": "ingres"}, "topology", "unknown topology"),
        ({"topology": "ingress"}, "pod_cidrs", "needs"),
        ({"topology": "pod-to-pod", "node_cidrs": "10.0.0.0/8"}, "node_cidrs", "does not use"),
        ({"topology": "lb-http", "trusted_proxies": "10.0.0.0/8"}, "trusted_proxies", "combined"),
        ({"pod_cidrs": "10.244.0.0/16"}, "pod_cidrs", "only applies"),
        ({"require_header": "maybe"}, "require_header", "true"),
        ({"topology": "lb-tcp", "header": "x-real-ip"}, "header", "peer address"),
    ],
)
def test_every_error_names_the_option_in_each_spelling(
    values: Dict[str, Any], option: str, message: str
) -> None:
    for spell in (str, spell_env, spell_flag, spell_django):
        with pytest.raises(ConfigError) as info:
            build(values, spell)
        assert info.value.option == option
        text = str(info.value)
        assert text.startswith(spell(option) + ": "), text
        assert message in text
        # Mentions of other options use the same spelling as the option at fault.
        if spell is spell_env:
            assert "$" not in text and not re.search(r"\b(trusted_proxies|pod_cidrs)\b", text)


def test_cli_flag_errors_name_the_flag_and_env_errors_the_variable() -> None:
    values, spell = merged_values(
        {"topology": "lb-http", "trusted_proxies": "10.0.0.0/8"}, {"REALIP_LB_CIDRS": "cgnat"}
    )
    with pytest.raises(ConfigError) as info:
        build(values, spell, spell_flag)
    assert str(info.value).startswith("--trusted-proxies: cannot be combined with --topology")
    values, spell = merged_values({"topology": "lb-http"}, {"REALIP_LB_CIDRS": "10.0.0.1/8"})
    with pytest.raises(ConfigError) as info:
        build(values, spell)
    assert str(info.value).startswith("REALIP_LB_CIDRS: ")


def test_cli_mode_flag_sets_the_environment_mode_aside() -> None:
    values, spell = merged_values(
        {"topology": "lb-http", "lb_cidrs": "cgnat"}, {"REALIP_TRUSTED_PROXIES": "10.0.0.0/8"}
    )
    assert build(values, spell).topology == "lb-http"


def test_issue_example_explain_names_the_flag() -> None:
    done = run_realip(
        [
            "explain",
            "--topology",
            "lb-http",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--remote-addr",
            "10.0.0.1",
        ]
    )
    assert done.returncode == 2
    assert "--trusted-proxies" in done.stderr and "REALIP_" not in done.stderr, done.stderr


def test_curl_habit_header_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match="-H"):
        build({"header": "X-Forwarded-For: 1.2.3.4"}, spell_flag)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("off", False)],
)
def test_require_header_from_text(text: str, expected: bool) -> None:
    resolver = build({"trusted_proxies": "10.0.0.0/8", "require_header": text}, spell_env)
    assert (resolver.resolve("10.0.0.5", {}).client_ip is None) is expected


def test_the_same_options_build_the_same_resolver_everywhere() -> None:
    kwargs = {"topology": "ingress", "pod_cidrs": ["10.244.0.0/16"], "require_header": True}
    direct = Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"], require_header=True)
    env = {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "10.244.0.0/16"}
    env["REALIP_REQUIRE_HEADER"] = "true"
    assert Resolver.from_env(env) == direct
    assert build(kwargs, spell_django) == direct
    # require_header is part of what decides an answer, so it is part of equality.
    lenient = Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"])
    assert lenient != direct and "require_header=True" in repr(direct)
