"""SLO evaluation, the verdict's exit code, and the JUnit file CI reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.junit import write_junit
from reports.verdict import evaluate, verdict
from scenarios.slo import Slo, parse_slo

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
    assert verdict(breached, None).reason.startswith(
        "2 of 3 SLOs breached: page.p95 < 2s (was 2.5s)"
    )
    assert verdict(met, "start slip p99 1.8 s > 1 s").exit_code == 4
    assert verdict(met, "slip", error="mock would not start").exit_code == 3


def test_junit_has_a_case_per_slo_and_failures_for_breaches(tmp_path: Path) -> None:
    results = evaluate(SLOS, _resolve)
    path = tmp_path / "junit.xml"
    write_junit(path, "smoke", results, verdict(results, None))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
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
