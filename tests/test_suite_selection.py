"""Which tests a run selects (tests/support/suites.py), on a small tree of fake tests.

A plain run is the quick suite; the system-level suites run when ``--suite``, a path in their
folder or a ``-m`` expression selects them; ``RIP_TEST_REQUIRE_SUITES`` fails a run in which a
required suite passed nothing.
"""

from __future__ import annotations

import pytest

PASS = "def test_{name}():\n    assert True\n"


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """tests/ with one quick test, one per system suite, and one marked e2e outside tests/e2e."""
    monkeypatch.delenv("RIP_TEST_REQUIRE_SUITES", raising=False)
    pytester.makeini(
        "[pytest]\ntestpaths = tests\naddopts = --strict-markers\n"
        "markers =\n    e2e\n    lab\n    compat\n"
    )
    pytester.makepyfile(
        **{
            "tests/conftest.py": 'pytest_plugins = ("support.suites",)\n',
            "tests/test_core.py": PASS.format(name="core"),
            "tests/test_marked.py": "import pytest\n\n@pytest.mark.e2e\n"
            + PASS.format(name="marked"),
            "tests/e2e/test_e2e_x.py": PASS.format(name="e2e"),
            "tests/lab/test_lab_x.py": PASS.format(name="lab"),
            "tests/compat/test_compat_x.py": PASS.format(name="compat"),
        }
    )
    return pytester


def passed(tree: pytest.Pytester, *args: str) -> set[str]:
    """The names of the tests that ran and passed."""
    reports = tree.inline_run(*args).listoutcomes()[0]
    return {report.nodeid.rsplit("::", 1)[1] for report in reports}


def test_a_plain_run_is_the_quick_suite_and_says_what_it_left_out(tree: pytest.Pytester) -> None:
    assert passed(tree) == {"test_core"}
    result = tree.runpytest()
    result.assert_outcomes(passed=1, deselected=4)
    result.stdout.fnmatch_lines(
        [
            "suites: quick (not selected: e2e, lab, compat; --suite all runs everything)",
            "*",
            "passed per suite: quick 1",
        ]
    )


def test_suite_all_runs_everything(tree: pytest.Pytester) -> None:
    assert passed(tree, "--suite", "all") == {
        "test_core",
        "test_marked",
        "test_e2e",
        "test_lab",
        "test_compat",
    }
    result = tree.runpytest("--suite", "all")
    result.stdout.fnmatch_lines(["passed per suite: quick 1, e2e 2, lab 1, compat 1"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--suite", "e2e"], {"test_marked", "test_e2e"}),
        (["--suite", "lab,compat"], {"test_lab", "test_compat"}),
        (["--suite", "quick", "--suite", "compat"], {"test_core", "test_compat"}),
        (["tests/e2e"], {"test_e2e"}),
        (["tests/lab/test_lab_x.py::test_lab"], {"test_lab"}),
        (["-m", "e2e or compat"], {"test_marked", "test_e2e", "test_compat"}),
        (["-m", "not lab"], {"test_core", "test_marked", "test_e2e", "test_compat"}),
    ],
)
def test_suites_are_selected_by_option_path_or_marker(
    tree: pytest.Pytester, args: list[str], expected: set[str]
) -> None:
    assert passed(tree, *args) == expected


def test_a_folders_tests_carry_its_marker(tree: pytest.Pytester) -> None:
    assert passed(tree, "--suite", "all", "-m", "lab") == {"test_lab"}


def test_an_unknown_suite_is_a_usage_error(tree: pytest.Pytester) -> None:
    result = tree.runpytest("--suite", "nginx")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--suite 'nginx': choose from quick, e2e, lab, compat, all*"])


def test_a_required_suite_that_passed_nothing_fails_the_run(
    tree: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.makepyfile(
        **{
            "tests/lab/test_lab_x.py": "import pytest\n\ndef test_lab():\n    pytest.skip('no root')\n"
        }
    )
    monkeypatch.setenv("RIP_TEST_REQUIRE_SUITES", "all")
    result = tree.runpytest("--suite", "all")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*RIP_TEST_REQUIRE_SUITES requires lab, which passed no test*"])
    # Deselecting a required suite fails the same way.
    monkeypatch.setenv("RIP_TEST_REQUIRE_SUITES", "compat")
    assert tree.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_required_suites_that_passed_let_the_run_pass(
    tree: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIP_TEST_REQUIRE_SUITES", "quick,e2e")
    assert tree.runpytest("--suite", "quick,e2e").ret == pytest.ExitCode.OK


def test_a_run_that_selects_nothing_exits_5(tree: pytest.Pytester) -> None:
    assert tree.runpytest("-k", "no_such_test").ret == pytest.ExitCode.NO_TESTS_COLLECTED
