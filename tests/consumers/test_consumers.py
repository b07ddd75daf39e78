"""Issue 21: each consumer of the client, run for real in a server process, records the client
realip verified — for a request through the trusted proxies, a spoofed one and a direct one.

What is read is the consumer's own record (the rate limiter's counter key, the span attribute,
the Sentry event, the log line), never realip's answer. The wirings the how-tos warn against are
run too, and must show the wrong client the how-to says they show.
"""

from __future__ import annotations

from typing import Dict, List

import consumers_harness as h
import pytest

CASES: List[object] = []
for index, scenario in enumerate(h.SCENARIOS):
    if not scenario.recommended:
        continue
    pending = dict(scenario.pending)
    for kind in h.KINDS:
        marks = []
        if kind.name in pending:
            marks.append(pytest.mark.xfail(reason=pending[kind.name], strict=True))
        CASES.append(
            pytest.param(index, kind.name, marks=marks, id=f"{h.scenario_id(scenario)}|{kind.name}")
        )

WARNED = [
    pytest.param(index, id=h.scenario_id(s)) for index, s in enumerate(h.SCENARIOS) if s.wrong
]


def _outcome(outcomes: Dict[int, h.Outcome], index: int) -> h.Outcome:
    outcome = outcomes[index]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.error is None, f"{outcome.error}\n--- server log ---\n{outcome.log_text[-3000:]}"
    return outcome


@pytest.mark.parametrize(("index", "kind"), CASES)
def test_the_consumer_records_the_verified_client(
    outcomes: Dict[int, h.Outcome], index: int, kind: str
) -> None:
    outcome = _outcome(outcomes, index)
    expected = h.KIND[kind].expected
    assert outcome.observed[kind] == expected, (
        f"{outcome.scenario.consumer} ({outcome.scenario.wiring}) recorded "
        f"{outcome.observed[kind]} for {kind}, not {expected}: {outcome.details[kind]}"
    )


@pytest.mark.parametrize("index", WARNED)
def test_the_wiring_the_howto_warns_against_records_what_it_says(
    outcomes: Dict[int, h.Outcome], index: int
) -> None:
    """The how-to's warning is measured, not assumed; it also shows the checks can fail."""
    outcome = _outcome(outcomes, index)
    for kind, shown in outcome.scenario.wrong:
        assert outcome.observed[kind] == shown, (kind, outcome.details[kind])


def test_every_consumer_of_the_issue_is_run() -> None:
    names = " ".join(s.consumer for s in h.SCENARIOS if s.recommended)
    for consumer in ("slowapi", "Flask-Limiter", "django-ratelimit", "DRF throttling",
                     "OpenTelemetry", "sentry-sdk", "structlog", "loguru"):  # fmt: skip
        assert consumer in names, consumer
    otel = {s.framework for s in h.SCENARIOS if s.consumer.startswith("OpenTelemetry")}
    assert {"FastAPI", "Starlette", "Flask", "Django"} <= otel
    sentry = {s.framework for s in h.SCENARIOS if s.consumer.startswith("sentry-sdk")}
    assert {"FastAPI", "Flask", "Django"} <= sentry


def test_the_howto_of_each_scenario_shows_its_wiring() -> None:
    """Each how-to page a row links to exists and names the consumer it is linked for."""
    for s in h.SCENARIOS:
        page = h.HERE.parent.parent / "docs" / "how-to" / s.howto
        assert page.exists(), s.howto
        name = s.consumer.split(" (")[0]
        assert name in page.read_text(), (name, s.howto)


def test_the_run_fits_its_budget(outcomes: Dict[int, h.Outcome]) -> None:
    assert h.LAST_RUN_SECONDS is not None
    assert h.LAST_RUN_SECONDS < h.BUDGET, f"{h.LAST_RUN_SECONDS:.0f}s"


def test_a_missing_package_skips_the_scenario_and_says_which(tmp_path) -> None:  # type: ignore[no-untyped-def]
    absent = h.Scenario("absent", "FastAPI", "-", "uvicorn", "consumer_starlette:app", "span",
                        ("realip_no_such_consumer",), "tracing.md")  # fmt: skip
    [outcome] = h.run_all([absent], work=tmp_path)
    assert outcome.skipped is not None and "realip_no_such_consumer" in outcome.skipped
    assert h.verdict(outcome) == "skipped"
