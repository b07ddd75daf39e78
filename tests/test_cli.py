"""The realip command, run as a user runs it: ``python -m realip ...`` in a subprocess."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from typing import Dict, Optional, Sequence

import pytest
from support.cli import run_realip

import realip


def run(args: Sequence[str], env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return run_realip(args, env)


def test_version() -> None:
    out = run(["--version"])
    assert out.returncode == 0 and out.stdout.strip() == f"realip {realip.__version__}"


def test_demo_covers_every_topology_and_fits_100_columns() -> None:
    out = run(["demo"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    body = out.stdout
    for name in realip.TOPOLOGIES:
        assert f"\n{name} " in body
    assert "UNEXPECTED" not in body
    assert body.count("spoof:") >= len(realip.TOPOLOGIES)
    assert "6.6.6.6" not in "".join(line[60:74] for line in lines)  # never a client IP
    assert run(["demo"]).stdout == body  # stable


def test_explain_text_shows_each_hop_and_the_answer() -> None:
    out = run(
        [
            "explain",
            "--topology",
            "ingress",
            "--pod-cidrs",
            "10.244.0.0/16",
            "--lb-cidrs",
            "cgnat",
            "--remote-addr",
            "10.244.2.15",
            "-H",
            "X-Forwarded-For: 6.6.6.6, 203.0.113.9, 100.64.0.5",
        ]
    )
    assert out.returncode == 0, out.stderr
    assert "peer 10.244.2.15: trusted (10.244.0.0/16)" in out.stdout
    assert "x-forwarded-for entry 100.64.0.5: trusted (cgnat)" in out.stdout
    assert "client_ip: 203.0.113.9" in out.stdout
    assert "possibly spoofed" in out.stdout


def test_explain_json_shape() -> None:
    out = run(
        [
            "explain",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--remote-addr",
            "10.0.0.2",
            "-H",
            "X-Forwarded-For: 203.0.113.9",
            "--json",
        ]
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["client_ip"] == "203.0.113.9"
    assert data["source"] == "x-forwarded-for"
    assert data["proxies"] == ["10.0.0.2"]
    assert data["snat"] is False and data["peer"] == "10.0.0.2"
    assert isinstance(data["reason"], str) and isinstance(data["steps"], list)
    assert data["warnings"] == [] and data["headers"] == {"x-forwarded-for": "203.0.113.9"}


def test_explain_exit_1_when_no_client() -> None:
    out = run(
        [
            "explain",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--remote-addr",
            "10.0.0.2",
            "-H",
            "X-Forwarded-For: garbage",
            "--json",
        ]
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["client_ip"] is None


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--trusted-proxies", "10.0.0.1/8"], {}, "--trusted-proxies"),
        (["--topology", "ingress"], {}, "--pod-cidrs"),
        ([], {"REALIP_TRUSTED_HOPS": "x"}, "REALIP_TRUSTED_HOPS"),
    ],
)
def test_explain_config_error_exit_2_without_traceback(args: list, env: dict, needle: str) -> None:
    out = run(["explain", "--remote-addr", "1.2.3.4", *args], env)
    assert out.returncode == 2
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_explain_falls_back_to_environment_and_options_win() -> None:
    env = {"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "100.64.0.0/10"}
    args = ["explain", "--remote-addr", "100.64.0.5", "-H", "X-Forwarded-For: 203.0.113.9"]
    assert "client_ip: 203.0.113.9" in run(args, env).stdout
    out = run([*args, "--topology", "lb-tcp"], env)
    assert "client_ip: 100.64.0.5" in out.stdout
    assert "reads no header" in out.stdout


def test_explain_warns_about_trust_all_snat_and_untrusted_peer() -> None:
    out = run(
        [
            "explain",
            "--trusted-proxies",
            "0.0.0.0/0",
            "--remote-addr",
            "1.2.3.4",
            "-H",
            "X-Forwarded-For: 6.6.6.6",
        ]
    )
    assert "warning: trusted_proxies contains every IPv4 address (0.0.0.0/0)" in out.stdout
    out = run(
        [
            "explain",
            "--topology",
            "nodeport-cluster",
            "--node-cidrs",
            "192.168.0.0/24",
            "--remote-addr",
            "192.168.0.12",
        ]
    )
    assert "SNAT suspected" in out.stdout
    out = run(
        [
            "explain",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--remote-addr",
            "192.0.2.1",
            "-H",
            "X-Forwarded-For: 6.6.6.6",
        ]
    )
    assert "not trusted" in out.stdout and "client_ip: 192.0.2.1" in out.stdout
    out = run(["explain", "--trusted-hops", "1", "--remote-addr", "192.0.2.1"])
    assert "hop counting is only safe" in out.stdout


@pytest.mark.parametrize("command", [[], ["demo"], ["explain"], ["serve"], ["doctor"]])
def test_help_is_complete_with_an_example(command: list) -> None:
    out = run([*command, "--help"])
    assert out.returncode == 0
    assert "example" in out.stdout.lower()


def test_no_command_prints_a_short_usage_to_stderr_and_exits_2() -> None:
    out = run([])
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("usage: realip ")
    assert "choose a command: demo, explain, serve, doctor" in out.stderr
    assert len(out.stderr.splitlines()) <= 3  # not the whole help


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (["explain", "--topolgy", "ingress"], "realip explain", "did you mean --topology?"),
        (["explain", "--remote-addr", "1.2.3.4", "--jsn"], "realip explain", "--json?"),
        (["explain", "--topolgy=ingress"], "realip explain", "did you mean --topology?"),
        (["demo", "--verbose"], "realip demo", "unrecognized option '--verbose'; options:"),
        (["doctor", "--jsno", "x.json"], "realip doctor", "did you mean --json?"),
        (["serve", "--prot", "80"], "realip serve", "did you mean --port?"),
        (["demo", "extra"], "realip demo", "unrecognized arguments: extra"),
        (["--verison"], "realip", "did you mean --version?"),
    ],
)
def test_misspelt_option_shows_the_commands_usage_and_the_closest_option(
    args: list, usage: str, message: str
) -> None:
    out = run(args)
    assert out.returncode == 2, out.stdout
    assert out.stderr.startswith(f"usage: {usage} "), out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("addr", "message"),
    [
        ("10.0.0.1:99999", "the port 99999 in '10.0.0.1:99999' is out of range (0-65535)"),
        ("999.1.1.1", "'999.1.1.1' is not an IPv4 or IPv6 address"),
        ("[2001:db8::1]:http", "the port 'http'"),
        ("[2001:db8::1", "'[2001:db8::1' opens '[' without a closing ']'"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("example.com:80", "'example.com' in 'example.com:80' is not an IPv4 or IPv6 address"),
    ],
)
def test_remote_addr_that_is_no_address_is_a_usage_error(addr: str, message: str) -> None:
    out = run(["explain", "--remote-addr", addr])
    assert out.returncode == 2
    assert out.stderr.startswith("usage: realip explain ")
    assert f"argument --remote-addr: {message}" in out.stderr


@pytest.mark.parametrize(
    "addr",
    ["192.0.2.1:65535", "[2001:db8::1]:443", "2001:db8::1", "unix", "/run/app.sock", "unix:/s"],
)
def test_remote_addr_forms_explain_takes(addr: str) -> None:
    out = run(["explain", "--remote-addr", addr])
    assert out.returncode in (0, 1) and out.stdout, out.stderr  # 1: a Unix socket has no IP


@pytest.mark.parametrize("command", [[], ["demo"], ["explain"], ["serve"], ["doctor"]])
def test_help_wraps_descriptions_and_keeps_example_commands_whole(command: list) -> None:
    out = run([*command, "--help"], {"COLUMNS": "80"})
    assert out.returncode == 0
    text = out.stdout
    description = text.split("\n\n")[1]  # after the usage
    assert max(len(line) for line in description.splitlines()) <= 80, description
    examples = text[text.lower().index("example") :]
    for line in examples.splitlines():
        if "--remote-addr 10.244.2.15" in line:  # a continuation: the line before ends in \\
            before = examples.splitlines()[examples.splitlines().index(line) - 1]
            assert before.endswith("\\") or line.lstrip().startswith("realip "), examples


def test_explain_says_when_the_topology_ignores_a_cidr_option() -> None:
    args = ["explain", "--remote-addr", "192.0.2.1", "--topology", "lb-tcp"]
    out = run([*args, "--lb-cidrs", "100.64.0.0/10"])
    assert out.returncode == 0
    assert "warning: --lb-cidrs is ignored: topology 'lb-tcp' does not use it" in out.stdout
    out = run(
        [*args, "--json"], {"REALIP_LB_CIDRS": "100.64.0.0/10", "REALIP_POD_CIDRS": "10.0.0.0/8"}
    )
    warnings = json.loads(out.stdout)["warnings"]
    assert any(w.startswith("REALIP_LB_CIDRS is ignored") for w in warnings), warnings
    assert any(w.startswith("REALIP_POD_CIDRS is ignored") for w in warnings), warnings
    used = run(
        [
            "explain",
            "--remote-addr",
            "192.0.2.1",
            "--topology",
            "lb-http",
            "--lb-cidrs",
            "100.64.0.0/10",
        ]
    )
    assert "is ignored:" not in used.stdout


@pytest.mark.parametrize(
    ("args", "not_imported"),
    [
        (["--help"], ["realip._serve", "realip._doctor", "realip.proxy_server", "realip._explain"]),
        (["demo"], ["realip._serve", "realip._doctor", "realip.proxy_server"]),
        (["doctor", "--help"], ["realip._serve", "realip.proxy_server", "realip._explain"]),
        (["serve", "--help"], ["realip._doctor"]),
    ],
)
def test_a_command_imports_only_its_own_code(args: list, not_imported: list) -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "realip", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "realip.cli" in imported
    assert sorted(imported & set(not_imported)) == []


def test_lazy_commands_are_listed_with_the_help_their_modules_register() -> None:
    from realip.cli import _LAZY_COMMANDS, build_parser

    for name, (_, listed) in _LAZY_COMMANDS.items():
        parser = build_parser([name])
        [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        helps = {choice.dest: choice.help for choice in sub._choices_actions}
        assert helps[name] == listed


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "realip")
    if not os.path.exists(script):
        pytest.skip(
            "the realip console script is not installed next to this interpreter: "
            "pip install -e . (or pip install .) in this environment"
        )
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("realip ")


def test_a_flag_without_a_value_does_not_ask_for_one() -> None:
    """--require-header takes no value: its help must not say (true/false) as if it did."""
    out = run(["explain", "--help"], {"COLUMNS": "200"})
    [line] = [
        line for line in out.stdout.splitlines() if line.strip().startswith("--require-header")
    ]
    assert "(true/false)" not in line
    assert "[REALIP_REQUIRE_HEADER=true/false]" in line


@pytest.mark.parametrize("command", ["serve", "doctor"])
def test_help_points_only_at_files_the_user_has(command: str) -> None:
    """docs/kubernetes/ is in the repository and the sdist, not in the installed package: the
    help says where it is, or does not send the user there."""
    text = " ".join(run([command, "--help"], {"COLUMNS": "100"}).stdout.split())
    for found in re.finditer(r"docs/kubernetes", text):
        around = text[max(0, found.start() - 120) : found.end() + 120]
        assert "source distribution" in around, around
