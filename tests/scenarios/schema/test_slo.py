"""The SLO expression language: what parses, and the error for what does not."""

from __future__ import annotations

import pytest

from scenarios.schema.errors import ScenarioError
from scenarios.schema.slo import SloSyntaxError, parse_slo
from tests.scenarios.helpers import scenario


@pytest.mark.parametrize(
    ("text", "key", "kind", "threshold"),
    [
        ("result.p95 < 2s", "result.p95", "duration", 2.0),
        ("page.p99 <= 150ms", "page.p99", "duration", 0.15),
        ("upload.success_ratio >= 0.999", "upload.success_ratio", "ratio", 0.999),
        ("all.error_ratio < 1%", "all.error_ratio", "ratio", 0.01),
        ("recovery.max_time_to_recover < 30m", "recovery.max_time_to_recover", "duration", 1800),
        ("integrity.lost == 0", "integrity.lost", "count", 0),
        ("completion.by('+1d 06:00') >= 0.95", "completion.by('+1d 06:00')", "ratio", 0.95),
        ("throughput.tps_per_day >= 20", "throughput.tps_per_day", "number", 20),
        ('recovery.time_to_recover("server down") < 1h',
         "recovery.time_to_recover('server down')", "duration", 3600),
        ("plan.instances_for('99%', 'D0 24:00') <= 40",
         "plan.instances_for('99%', 'D0 24:00')", "count", 40),
    ],
)  # fmt: skip
def test_valid_expressions_parse_to_a_metric_an_operator_and_a_threshold(
    text: str, key: str, kind: str, threshold: float
) -> None:
    slo = parse_slo(text)
    assert (slo.key, slo.kind, slo.threshold) == (key, kind, threshold)


def test_an_slo_holds_by_its_operator() -> None:
    assert parse_slo("result.p95 < 2s").holds(1.99)
    assert not parse_slo("result.p95 < 2s").holds(2.0)
    assert parse_slo("integrity.lost == 0").holds(0)
    assert parse_slo("page.success_ratio >= 99%").holds(0.99)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("p95(page) < 2s", "not an SLO expression; write <scope>.<metric> <op> <value>"),
        ("result.p95 < 2", "'2' is not a duration with a unit, like 150ms, 2s or 30m"),
        ("result.p97 < 2s", "unknown metric 'p97'; valid: p50, p90, p95, p99, p999, max, mean"),
        ("uploads.p95 < 2s", "unknown scope 'uploads'; valid scopes: session, page, result"),
        ("integrity.missing == 0", "unknown metric integrity.missing; valid for integrity: lost"),
        ("completion.by(+1d) >= 0.9", "argument '+1d' must be quoted, like '+1d 06:00'"),
        ("completion.by() >= 0.9", "completion.by takes 1 quoted argument(s)"),
        ("page.success_ratio >= 1.5", "a ratio is between 0 and 1 (or 0% and 100%)"),
        ("integrity.lost < 0.5", "'0.5' is not a whole number"),
        ("page.p95('x') < 2s", "page.p95 takes no arguments"),
    ],
)
def test_bad_expressions_name_the_expression_and_what_is_valid(text: str, reason: str) -> None:
    with pytest.raises(SloSyntaxError) as error:
        parse_slo(text)
    assert str(error.value).startswith(f"{text!r}: ")
    assert reason in error.value.reason


def test_a_bad_slo_in_a_scenario_is_a_scenario_error_with_its_path() -> None:
    with pytest.raises(ScenarioError) as error:
        scenario('\n[slo]\nchecks = ["page.p95 < 2s", { check = "result.p95 < fast" }]\n')
    assert str(error.value).splitlines() == [
        "mini.toml: slo.checks[1].check: got 'result.p95 < fast'; 'fast' is not a duration "
        "with a unit, like 150ms, 2s or 30m"
    ]


def test_recovery_slos_must_name_a_fault_window() -> None:
    with pytest.raises(ScenarioError) as error:
        scenario("\n[slo]\nchecks = [\"recovery.time_to_recover('outage') < 1h\"]\n")
    assert "slo.checks[0]: got 'outage'; names no fault window; fault windows: none" in str(
        error.value
    )


def test_abort_on_fail_is_kept_with_the_parsed_slo() -> None:
    loaded = scenario(
        '\n[slo]\nchecks = [{ check = "integrity.lost == 0", abort_on_fail = true }]\n'
    )
    (slo,) = loaded.slo.parsed
    assert slo.abort_on_fail and slo.key == "integrity.lost"


def test_completion_deadlines_must_be_time_specs() -> None:
    with pytest.raises(ScenarioError) as error:
        scenario("\n[slo]\nchecks = [\"completion.by('midnight') >= 0.9\"]\n")
    assert "slo.checks[0]: got 'midnight'; must be a time of day like 14:30" in str(error.value)
