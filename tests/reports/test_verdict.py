"""SLO evaluation, the verdict's exit code, and the JUnit file CI reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.junit import write_junit
from reports.verdict import Unmeasured, evaluate, verdict
from scenarios.schema.slo import Slo, parse_slo

SLOS = [
    parse_slo("page.p95 < 2s"),
    parse_slo("integrity.lost == 0"),
    parse_slo("page.success_ratio >= 99.9%"),
]
MEASURED = {"page.p95": 2.5, "integrity.lost": 0.0}


def _resolve(slo: Slo) -> float | None:
    return MEASURED.get(slo.key)


def test_slos_are_evaluated_and_unmeasured_ones_do_not_pass() -> None:
    results = evaluate(SLOS, _resolve)
    assert [(r.passed, r.shown_value) for r in results] == [
        (False, "2.5s"),
        (True, "0"),
        (False, "not measured"),
    ]
    assert results[0].shown_threshold == "< 2s" and results[2].shown_threshold == ">= 99.9%"


def test_exit_codes_follow_the_design() -> None:
    breached = evaluate(SLOS, _resolve)
    met = evaluate(SLOS[1:2], _resolve)
    assert verdict(met, None).exit_code == 0
    assert verdict(breached, None).exit_code == 1
    assert verdict(breached, None).reason == (
        "1 of 3 SLOs breached: page.p95 < 2s (was 2.5s); 1 not measured: "
        "page.success_ratio >= 99.9% (the run gave nothing to measure this by)"
    )
    assert verdict(met, "start slip p99 1.8 s > 1 s").exit_code == 4
    assert verdict(met, "slip", error="mock would not start").exit_code == 3


def test_junit_has_a_case_per_slo_and_failures_for_breaches(tmp_path: Path) -> None:
    results = evaluate(SLOS, _resolve)
    path = tmp_path / "junit.xml"
    write_junit(path, "smoke", results, verdict(results, None))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [slo.expression for slo in SLOS]
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == "measured 2.5s; needs < 2s"


def test_an_inconclusive_run_is_an_error_case_in_junit(tmp_path: Path) -> None:
    results = evaluate(SLOS[1:2], _resolve)
    path = tmp_path / "junit.xml"
    write_junit(path, "smoke", results, verdict(results, "the generator was saturated"))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    error = suite.findall("testcase")[-1].find("error")
    assert error is not None and error.get("message") == "the generator was saturated"


def test_an_slo_not_measured_is_never_a_breach_and_makes_the_run_inconclusive() -> None:
    results = evaluate(SLOS[1:], _resolve)  # integrity met, success ratio not measured
    assert [r.status for r in results] == ["met", "not measured"]
    outcome = verdict(results, None)
    assert (outcome.name, outcome.exit_code) == ("inconclusive", 4)
    assert outcome.reason == (
        "1 of 2 SLOs could not be measured: page.success_ratio >= 99.9% "
        "(the run gave nothing to measure this by)"
    )
    assert results[1].as_dict()["passed"] is None and results[1].mark == "not measured"


def test_an_slo_removed_on_purpose_is_not_applicable_and_counts_neither_way() -> None:
    def resolve(slo: Slo) -> float | Unmeasured | None:
        if slo.key == "page.success_ratio":
            return Unmeasured("fault window 'x' was removed by --no-faults", applicable=False)
        return MEASURED.get(slo.key)

    results = evaluate(SLOS[1:], resolve)
    assert [r.status for r in results] == ["met", "not applicable"]
    outcome = verdict(results, None)
    assert (outcome.name, outcome.exit_code) == ("passed", 0)
    assert outcome.reason == (
        "all 1 SLOs met; 1 not applicable: page.success_ratio >= 99.9% "
        "(fault window 'x' was removed by --no-faults)"
    )


def test_junit_counts_agree_at_both_levels_and_unmeasured_is_an_error(tmp_path: Path) -> None:
    def resolve(slo: Slo) -> float | Unmeasured | None:
        if slo.key == "integrity.lost":
            return Unmeasured("no export", applicable=False)
        return MEASURED.get(slo.key)

    results = evaluate(SLOS, resolve)  # breached, not applicable, not measured
    path = tmp_path / "junit.xml"
    write_junit(path, "smoke", results, verdict(results, "the generator was saturated"))
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    keys = ("tests", "failures", "errors", "skipped")
    assert [root.get(k) for k in keys] == [suite.get(k) for k in keys] == ["4", "1", "2", "1"]
    cases = suite.findall("testcase")
    assert cases[1].find("skipped") is not None and cases[1].find("failure") is None
    error = cases[2].find("error")
    assert error is not None and error.get("type") == "NotMeasured"
    assert len(cases) == 4 and cases[3].get("name") == "run is trustworthy"


def test_slos_asked_but_none_judged_is_inconclusive_and_none_asked_says_so() -> None:
    outcome = verdict([], None)  # none asked: an exploratory run, and it says so
    assert (outcome.exit_code, outcome.reason) == (
        0,
        "the scenario has no SLOs: nothing was judged",
    )

    def removed(slo: Slo) -> Unmeasured:
        return Unmeasured("removed by --no-faults", applicable=False)

    only_removed = verdict(evaluate(SLOS[:1], removed), None)
    assert only_removed.reason == "nothing to judge the run by: every SLO is not applicable"
