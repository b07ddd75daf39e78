"""Which tests a run selects: the quick suite by default, the system-level suites when asked.

A plain ``python -m pytest`` runs the *quick* suite: the in-process tests and the real Python
servers on loopback, which need no system package and no root. The suites below need more of
the machine (real nginx and haproxy, network namespaces and iptables as root, minutes of real
processes) and run only when a run selects them:

- ``--suite NAME`` (repeatable, or comma-separated): ``quick``, ``e2e``, ``lab``, ``compat``,
  or ``all`` for every one of them;
- without ``--suite``, naming a suite's folder or one of its files on the command line selects
  that suite (``pytest tests/e2e/test_e2e_nginx.py`` runs it);
- without ``--suite``, a ``-m`` expression replaces the default selection (``-m e2e``).

A test belongs to a suite by its folder (``tests/<suite>/``), or by carrying the suite's marker
elsewhere. ``RIP_TEST_REQUIRE_SUITES=e2e,lab`` (CI sets it) fails a run in which a named suite
passed no test, so a suite that silently skipped or was deselected can't pass CI.

Loaded by tests/conftest.py as a plugin (``pytest_plugins``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Set

import pytest

QUICK = "quick"
"""The default suite: every test outside the system-level suites."""
SUITES: Dict[str, str] = {
    "e2e": "real nginx and haproxy in front of real servers",
    "lab": "the topology lab: network namespaces, iptables NAT, nginx, haproxy; needs root",
    "compat": "every framework under every server, as real processes",
}
"""The system-level suites (each one a folder under tests/ and a marker), and what they need."""
ALL = "all"
REQUIRE_VARIABLE = "RIP_TEST_REQUIRE_SUITES"
"""Suites that must pass at least one test, comma-separated (``all`` for every suite)."""

_NAMES = (QUICK, *SUITES)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--suite``."""
    parser.addoption(
        "--suite",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help=(
            "run these suites: quick (the default: in-process tests and real Python servers), "
            + ", ".join(f"{name} ({need})" for name, need in SUITES.items())
            + ", or all"
        ),
    )


def parse_suites(values: List[str], source: str = "--suite") -> Set[str]:
    """The suite names in ``--suite`` values (``all`` expanded); UsageError on an unknown one."""
    names: Set[str] = set()
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if name == ALL:
                names.update(_NAMES)
            elif name in _NAMES:
                names.add(name)
            else:
                raise pytest.UsageError(
                    f"{source} {name!r}: choose from {', '.join((*_NAMES, ALL))}"
                )
    return names


def suite_of_path(path: Path, tests: Path) -> str:
    """The suite a test file belongs to by its folder under ``tests``."""
    try:
        parts = path.resolve().relative_to(tests).parts
    except ValueError:
        return QUICK
    return parts[0] if len(parts) > 1 and parts[0] in SUITES else QUICK


def _named_on_command_line(config: pytest.Config, tests: Path) -> Set[str]:
    """Suites whose folder, or a file in it, is named by a command-line argument."""
    named = set()
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0])
        suite = suite_of_path(path / "x" if path.is_dir() else path, tests)
        if suite != QUICK:
            named.add(suite)
    return named


def pytest_configure(config: pytest.Config) -> None:
    """Decide which suites run (before collection) and register the selection."""
    tests = config.rootpath / "tests"
    selected = parse_suites(config.getoption("suite"))
    if not selected:
        if config.getoption("markexpr"):
            selected = set(_NAMES)  # the -m expression decides alone
        else:
            selected = {QUICK} | _named_on_command_line(config, tests)
    required_value = os.environ.get(REQUIRE_VARIABLE, "").strip()
    required = parse_suites([required_value], REQUIRE_VARIABLE) if required_value else set()
    config.pluginmanager.register(Selection(tests, selected, required), "realip-suites")


class Selection:
    """The suites one run selects, what each of them passed, and the required ones' check."""

    def __init__(self, tests: Path, selected: Set[str], required: Set[str]) -> None:
        self.tests = tests
        self.selected = selected
        self.required = required
        self.suite_of: Dict[str, str] = {}
        self.passed = dict.fromkeys(_NAMES, 0)
        self.missing: List[str] = []
        self.collected: Set[str] = set()

    def pytest_report_header(self) -> str:
        """Say which suites run and how to run the others."""
        left_out = [name for name in _NAMES if name not in self.selected]
        line = "suites: " + ", ".join(name for name in _NAMES if name in self.selected)
        if left_out:
            line += f" (not selected: {', '.join(left_out)}; --suite all runs everything)"
        return line

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: List[pytest.Item]
    ) -> None:
        """Mark each test with its folder's suite, and deselect the suites left out."""
        keep: List[pytest.Item] = []
        drop: List[pytest.Item] = []
        for item in items:
            suite = suite_of_path(item.path, self.tests)
            if suite == QUICK:
                suite = next((name for name in SUITES if item.get_closest_marker(name)), QUICK)
            else:
                item.add_marker(suite)
            self.suite_of[item.nodeid] = suite
            (keep if suite in self.selected else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Note the suites of the tests that will run (after every deselection, -m's included)."""
        self.collected = {self.suite_of.get(item.nodeid, QUICK) for item in session.items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each suite's passed tests."""
        if report.when == "call" and report.passed:
            self.passed[self.suite_of.get(report.nodeid, QUICK)] += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Fail a run in which a required suite passed nothing."""
        self.missing = [name for name in _NAMES if name in self.required and not self.passed[name]]
        if self.missing and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        """One line per suite: how many of its tests passed; and the required ones missing."""
        if config.option.collectonly:
            return
        ran = [f"{name} {self.passed[name]}" for name in _NAMES if name in self.collected]
        terminalreporter.write_line("passed per suite: " + ", ".join(ran))
        if self.missing:
            terminalreporter.write_line(
                f"{REQUIRE_VARIABLE} requires {', '.join(self.missing)}, which passed no test: "
                "failing the run (see the skips above)",
                red=True,
                bold=True,
            )
