"""The plenary and data-quality analysis: TPS gaveled per working day per kecamatan, counting to
gavel, discrepancies by cause, and misreads scored as caught by arithmetic, at the plenary, or
through; and the SLO metrics over them."""

from __future__ import annotations

from typing import Any

import pytest

from reports.plenary_figures import plenary_report, plenary_value, quality_report, quality_value
from reports.plenary_view import plenary_md
from scenarios.schema.slo import parse_slo

DAY = 86_400.0


def _date(s: float, kecamatan: str) -> str:
    assert len(kecamatan) == 6
    return f"2024-02-{14 + int(s // DAY):02d}"


def _ledger(code: str, ready: float, misread: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"tps_code": code, "election": "ppwp", "ready_s": ready, "misread": misread}


def _attempt(at: float, outcome: str, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    differences = [{"field": f, "manual": 3, "sirekap": 8} for f in fields]
    return {"at_s": at, "step": "plenary", "outcome": outcome, "differences": differences}


def _line(code: str, attempts: list[dict[str, Any]], gaveled: float | None, **extra: Any) -> dict:
    return {
        "tps_code": code, "kecamatan_code": code[:6], "election": "ppwp",
        "attempts": attempts, "gaveled_s": gaveled, "corrections": [],
        "discrepancy_causes": [], **extra,
    }  # fmt: skip


# Two kecamatan; the plenary works on D1 and D2 (D0 is election day, no plenary request).
LEDGER = [
    _ledger("5103051004001", 1000.0),
    _ledger("5103051004002", 2000.0, {"fields": ["chart.100025"], "consistent": True,
                                      "stored": True, "caught_by": "plenary"}),
    _ledger("5103051004003", 3000.0, {"fields": ["administrasi.suara_sah"], "consistent": False,
                                      "stored": False, "caught_by": "arithmetic"}),
    _ledger("5103061001001", 4000.0, {"fields": ["chart.100026"], "consistent": True,
                                      "stored": True, "caught_by": None}),
    _ledger("5103061001002", 5000.0, {"fields": ["chart.100027"], "consistent": False,
                                      "stored": False, "caught_by": None}),
]  # fmt: skip
PLENARY = [
    _line("5103051004001", [_attempt(DAY + 100, "matched")], DAY + 100),
    _line(
        "5103051004002",
        [_attempt(DAY + 200, "discrepancy", ("chart.100025",)), _attempt(2 * DAY, "matched")],
        2 * DAY,
        discrepancy_causes=["misread"],
        corrections=[{"outcome": "acked"}],
    ),
    _line("5103051004003", [_attempt(DAY + 300, "missing_upload"),
                            _attempt(DAY + 400, "refused")], None),
    _line("5103061001001", [_attempt(DAY + 500, "matched")], DAY + 500),
]  # fmt: skip


def test_tps_per_day_is_gaveled_per_working_day_per_kecamatan() -> None:
    report = plenary_report(PLENARY, LEDGER, _date)
    assert report is not None
    assert (report.kecamatan, report.forms, report.gaveled, report.open) == (2, 4, 3, 1)
    assert report.server_closed is None  # no export
    assert report.working_days == 2  # 15 and 16 Feb
    assert report.tps_per_day == pytest.approx(3 / (2 * 2))
    assert report.per_day == {"2024-02-15": 2, "2024-02-16": 1}


def test_counting_to_gavel_discrepancies_and_waits_are_counted() -> None:
    report = plenary_report(PLENARY, LEDGER, _date)
    assert report is not None
    # gaveled - ready: DAY + 100 - 1000, 2 DAY - 2000, DAY + 500 - 4000
    assert report.gavel_time_p50_s == pytest.approx(DAY + 100 - 1000)
    assert report.gavel_time_max_s == pytest.approx(2 * DAY - 2000)
    assert report.discrepancies == 1
    assert report.causes == {"misread": 1}
    assert report.fields == {"chart.100025": 1}
    assert report.waited_for_upload == 1
    assert report.refused == 1
    assert report.corrections == {"acked": 1}


def test_the_forms_to_close_and_the_servers_closings_come_from_the_run() -> None:
    exported = [{"kind": "plenary", "status": s} for s in ("closed",) * 4 + ("open",)]
    report = plenary_report(PLENARY, LEDGER, _date, tps_forms=10, exported=exported)
    assert report is not None
    assert (report.tps_forms, report.gaveled, report.open) == (10, 3, 7)
    assert report.server_closed == 4  # one closed by a correction the operator did not see
    text = "\n".join(plenary_md(report, None))
    assert "3 of 10 TPS forms gaveled (the server closed 4: corrections also close a TPS)" in text


def test_a_refused_operator_login_counts_as_refused() -> None:
    login = {"at_s": DAY, "step": "session", "outcome": "refused", "differences": []}
    report = plenary_report([_line("5103051004001", [login], None)], LEDGER, _date)
    assert report is not None and report.refused == 1


def test_no_plenary_lines_means_no_plenary_report() -> None:
    assert plenary_report([], LEDGER, _date) is None
    assert plenary_value(None, "tps_per_day") is None  # an SLO on it is "not measured"


def test_misreads_are_scored_caught_by_arithmetic_at_the_plenary_or_through() -> None:
    report = quality_report(LEDGER)
    assert report is not None
    assert report.injected == 4
    assert report.consistent == 2
    assert (report.caught_arithmetic, report.caught_plenary) == (1, 1)
    assert report.undetected == 1  # stored, never corrected
    assert report.never_stored == 1
    assert report.examples == ["5103061001001 ppwp"]
    assert report.detection_ratio == pytest.approx(0.5)


def test_without_injected_misreads_every_quality_count_is_zero() -> None:
    report = quality_report([_ledger("5103051004001", 1.0)])
    assert report is not None and report.injected == 0
    assert quality_value(report, "misreads_undetected") == 0
    assert quality_value(report, "detection_ratio") is None
    assert quality_report([]) is None


def test_plenary_and_quality_slos_parse_and_resolve() -> None:
    plenary = plenary_report(PLENARY, LEDGER, _date)
    quality = quality_report(LEDGER)
    per_day = parse_slo("plenary.tps_per_day >= 20")
    assert not per_day.holds(plenary_value(plenary, per_day.metric))  # type: ignore[arg-type]
    undetected = parse_slo("quality.misreads_undetected == 0")
    assert not undetected.holds(quality_value(quality, undetected.metric))  # type: ignore[arg-type]
    gavel = parse_slo("plenary.gavel_time_p90 < 2d")
    assert gavel.holds(plenary_value(plenary, gavel.metric))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown metric plenary\.speed; valid for plenary:"):
        parse_slo("plenary.speed > 1")


def test_the_summary_tells_the_plenary_against_the_seed() -> None:
    lines = "\n".join(plenary_md(plenary_report(PLENARY, LEDGER, _date), quality_report(LEDGER)))
    assert (
        "3 of 4 TPS forms gaveled in 2 kecamatan over 2 working day(s), 4 taken up: 0.8 TPS"
        in lines
    )
    assert "the seed: 20 a day when it runs smoothly, 2 on the day Sirekap was down" in lines
    assert "got through (Sirekap's latest numbers are wrong): 1" in lines
