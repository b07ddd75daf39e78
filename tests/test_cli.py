"""The realip command, run as a user runs it: ``python -m realip ...`` in a subprocess."""

from __future__ import annotations

import json
import os
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


def test_no_command_prints_help_and_exits_2() -> None:
    out = run([])
    assert out.returncode == 2 and "demo" in out.stdout


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "realip")
    if not os.path.exists(script):
        pytest.skip(
            "the realip console script is not installed next to this interpreter: "
            "pip install -e . (or pip install .) in this environment"
        )
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("realip ")
