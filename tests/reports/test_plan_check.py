"""The plan check's model and measurement (reports/plan_check.py): like with like at the
scenario's load factor, what "taken in" means in a ledger, the agreement and its reasons, the
SLO, and the report's section."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from reports.knee import Knee
from reports.plan import modelled_rps, plan
from reports.plan_check import (
    NOT_VERIFIED,
    PlanCheck,
    judge_replay,
    new_check,
    replay_counts,
    replay_model,
    resolve_replayed,
    taken_in,
)
from reports.plan_report import plan_results, plan_verdict, write_plan_report
from reports.verdict import Unmeasured
from scenarios import Scenario, load_scenario, parse_slo, requests_per_tps

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "plan_check_2024.toml"
SLO = parse_slo("plan.replayed_share('99%', 'D0 24:00') >= 95%")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIO)


def _knee(rate: float) -> Knee:
    return Knee(sweeps=(), median_rps=rate, low_rps=rate, high_rps=rate)


def _line(code: str, ready: float, acked: float | None, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "tps_code": code, "ready_s": ready, "final_outcome": "acked" if acked else "abandoned",
        "acked_s": acked, "acked_at": None if acked is None else 1000 + acked / 2000,
        "started_at": 1000 + ready / 2000, "ended_at": 1001 + ready / 2000,
        "attempts": {"session": 1, "pages": [1, 1, 1], "result": 1, "read": 0}, "failures": {},
    }  # fmt: skip
    return line | extra


def test_at_load_factor_1_the_replay_needs_the_plans_count_and_below_1_fewer(
    scenario: Scenario,
) -> None:
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    night = plan(scenario, _knee(knee), per_tps, [("99%", "D0 24:00")])
    assert night.recommended is not None and night.recommended >= 2
    model = replay_model(scenario, knee, per_tps)
    assert model.load_factor == pytest.approx(1.0)
    assert replay_counts(model) == [night.recommended, night.recommended - 1]
    # The same night at speedup 200 (load factor 0.1): a replay instance stands for ten of
    # election night's, so instances of a tenth the capacity need the plan's count ...
    slow = scenario.model_copy(
        update={"clock": scenario.clock.model_copy(update={"speedup": 200.0})}
    )
    tenth = replay_model(slow, knee / 10, per_tps)
    assert tenth.load_factor == pytest.approx(0.1)
    assert replay_counts(tenth)[0] == night.recommended
    # ... and instances of the same capacity fewer
    check = new_check(night, replay_model(slow, knee, per_tps))
    assert check.replay_recommended == 1
    assert any("stands for 10 of election night's" in note for note in check.notes)


def test_a_tps_is_taken_in_when_every_form_of_it_is_acknowledged_at_the_last() -> None:
    lines = [
        _line("A", 100.0, 400.0),
        _line("A", 120.0, 900.0, election="pdpr"),
        _line("B", 200.0, None),  # abandoned: never taken in
        _line("C", 300.0, 500.0, failures={"5xx:503": 2}),
    ]
    measured = taken_in(lines)
    assert measured.ready == (100.0, 200.0, 300.0)
    assert measured.taken == (900.0, None, 500.0)
    assert (measured.refused, measured.abandoned) == (2, 1)
    assert measured.attempts == 4 * 5  # session, 3 pages, result per line; reads not counted
    assert measured.share_at(600.0) == pytest.approx(1 / 3)  # C by then; A's second form not yet
    assert measured.share_at(900.0) == pytest.approx(2 / 3)
    assert measured.share_at(50.0) is None  # nothing was ready: nothing measured
    assert measured.peak_in_progress >= 2


def test_a_replay_far_from_its_prediction_says_so_and_why(scenario: Scenario) -> None:
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    model = replay_model(scenario, knee, per_tps)
    deadline = max(d[3] for d in model.deadlines)
    # every TPS ready early, but half of them acknowledged only after the deadlines
    lines = [
        _line(f"{i:03d}", 40_000.0, 41_000.0 if i % 2 else deadline + 100, failures={"5xx:503": 1})
        for i in range(40)
    ]  # fmt: skip
    replay = judge_replay(model, 3, "/runs/r", lines, 0, "")
    assert replay.trusted
    assert {d.zone for d in replay.deadlines} == {"WIB", "WITA", "WIT"}
    wib = next(d for d in replay.deadlines if d.zone == "WIB")
    assert wib.measured == pytest.approx(0.5)
    assert wib.agrees is False and wib.gap_pp is not None and wib.gap_pp < -5
    text = " ".join(replay.reasons)
    assert "points below the prediction" in text
    assert "40 of 200 upload requests were refused with 503" in text
    assert "1s real, 33m 20s simulated" in text  # Retry-After at speedup 2000
    assert "shares its capacity among every TPS in progress" in text
    # close to its prediction: no reason is given
    close = judge_replay(model, 3, "/runs/r", [_line("A", 30_000.0, 30_100.0)], 0, "")
    assert all(d.agrees for d in close.deadlines) and close.reasons == []


def test_the_replayed_share_slo_is_the_worst_zone_and_never_claimed_without_a_replay(
    scenario: Scenario,
) -> None:
    assert resolve_replayed(None, SLO) == Unmeasured(NOT_VERIFIED)
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    night = plan(scenario, _knee(knee), per_tps, [("99%", "D0 24:00")])
    model = replay_model(scenario, knee, per_tps)
    check = new_check(night, model)
    fewest = check.replay_recommended
    assert fewest is not None
    assert isinstance(resolve_replayed(check, SLO), Unmeasured)  # no replay ran
    lines = [_line(f"{i:03d}", 30_000.0, 31_000.0) for i in range(9)]
    lines.append(_line("late", 30_000.0, 45_000.0))  # in after WIT's and WITA's deadline only
    check.replays.append(judge_replay(model, fewest, "/runs/r", lines, 0, ""))
    assert resolve_replayed(check, SLO) == pytest.approx(0.9)  # WIT, WITA: 9 of 10
    (result,) = plan_results(night, [SLO], check)
    assert result.status == "breached"
    untrusted = dataclasses.replace(check.replays[0], trusted=False, why_untrusted="ended early")
    check.replays[0] = untrusted
    value = resolve_replayed(check, SLO)
    assert isinstance(value, Unmeasured) and "ended early" in value.reason
    again = PlanCheck.from_json(json.loads(json.dumps(check.to_json())))
    assert again == check


def test_the_plan_report_shows_the_check(tmp_path: Path, scenario: Scenario) -> None:
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    night = plan(scenario, _knee(knee), per_tps, [("99%", "D0 24:00")])
    model = replay_model(scenario, knee, per_tps)
    check = new_check(night, model)
    lines = [_line(f"{i:03d}", 30_000.0 + 20 * i, 31_000.0 + 20 * i) for i in range(50)]
    for count in replay_counts(model):
        check.replays.append(judge_replay(model, count, str(tmp_path / f"r{count}"), lines, 0, ""))
    results = plan_results(night, [SLO], check)
    outcome = plan_verdict(night, results)
    folder = tmp_path / "report"
    write_plan_report(night, [], results, outcome, folder, scenario, check)
    html = (folder / "report.html").read_text()
    assert "<h2>Checked against the deployment</h2>" in html
    assert 'href="../r3/report/report.html"' in html
    assert "99% by D0 24:00 WITA" in html
    summary = json.loads((folder / "summary.json").read_text())
    assert [r["instances"] for r in summary["check"]["replays"]] == replay_counts(model)
    assert (folder / "charts" / "plan_check.png").exists()
    # without --verify: no section, and the SLO is not measured, never breached
    plain = tmp_path / "plain"
    unverified = plan_results(night, [SLO], None)
    assert unverified[0].status == "not measured" and NOT_VERIFIED in unverified[0].note
    write_plan_report(night, [], unverified, plan_verdict(night, unverified), plain, scenario)
    assert "Checked against the deployment" not in (plain / "report.html").read_text()
    assert json.loads((plain / "summary.json").read_text())["check"] is None


def test_failed_requests_are_named_as_a_reason(scenario: Scenario) -> None:
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    model = replay_model(scenario, knee, per_tps)
    broken = [
        _line(f"{i:03d}", 30_000.0, None, failures={"5xx:500": 2, "reset": 1}) for i in range(10)
    ]
    replay = judge_replay(model, 3, "/runs/r", broken, 1, "")
    assert "30 of 50 upload requests failed (5xx:500 20, reset 10)" in " ".join(replay.reasons)


def test_a_predicted_share_is_never_above_one(scenario: Scenario) -> None:
    knee, per_tps = modelled_rps(scenario), requests_per_tps(scenario)
    assert knee is not None
    model = replay_model(scenario, knee * 3, per_tps)  # far more than enough: everything in
    replay = judge_replay(model, 3, "/runs/r", [_line("A", 30_000.0, 30_100.0)], 0, "")
    assert all(d.predicted is not None and 0 <= d.predicted <= 1 for d in replay.deadlines)
