"""The capacity plan's report: every file written, strict JSON, the knee and the answers shown,
real PNGs, and the plan's exit code (0 met, 1 breached, 4 breached on a lower-bound knee)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from reports import plan_charts
from reports.knee import Knee, Stage, StageCheck, SweepKnee, knee_of
from reports.plan import Plan, plan, workload
from reports.plan_report import comparison_2024, plan_results, plan_verdict, write_plan_report
from scenarios import Scenario, load_scenario, loads_scenario
from scenarios.schema.slo import parse_slo

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PNG = b"\x89PNG\r\n\x1a\n"
ASKED = [("99%", "D0 24:00"), ("90%", "D1 12:00")]


def _stage(repeat: int, index: int, offered: float, ok: bool, slip: float = 0.01) -> Stage:
    error = 0.0 if ok else 0.2
    return Stage(
        repeat=repeat, index=index, offered_rps=offered, attempted_rps=offered,
        goodput_rps=offered * (1 - error), p50_s=0.05 * (index + 1), p95_s=0.2 * (index + 1) ** 2,
        p99_s=0.4 * (index + 1) ** 2, error_ratio=error, shed_ratio=0.75 * error,
        failures={} if ok else {"5xx:503": 30}, slip_p99_s=slip, window_s=60.0,
        checks=(StageCheck("upload.error_ratio < 1%", error, ok),),
    )  # fmt: skip


def _stages() -> list[Stage]:
    """Three sweeps of six stages; repeat r passes up to its own knee, one stage is
    generator-limited (start slip 2 s)."""
    last_passing = {0: 3, 1: 4, 2: 3}
    return [
        _stage(r, i, 10.0 * (i + 1) + r, i <= last_passing[r], 2.0 if (r, i) == (2, 5) else 0.01)
        for r in range(3)
        for i in range(6)
    ]


def reject(constant: str) -> Any:
    raise ValueError(f"summary.json is not strict JSON: {constant}")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIOS / "kuta_selatan_2024.toml")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return _stages()


@pytest.fixture(scope="module")
def sized(scenario: Scenario, stages: list[Stage]) -> Plan:
    return plan(scenario, knee_of(stages), 4.0, ASKED)


def _lower_bound(result: Plan) -> Plan:
    """The same plan on a knee where one sweep never failed."""
    knee = result.knee
    sweeps = (dataclasses.replace(knee.sweeps[0], first_failing_rps=None), *knee.sweeps[1:])
    return dataclasses.replace(result, knee=dataclasses.replace(knee, sweeps=sweeps))


def test_the_synthetic_sweeps_have_a_bounded_knee_and_a_plan(sized: Plan) -> None:
    assert sized.knee.median_rps == 42 and (sized.knee.low_rps, sized.knee.high_rps) == (40, 51)
    assert not sized.knee.lower_bound
    assert sized.recommended is not None and sized.recommended_sizing is not None
    assert sized.faults, "kuta_selatan_2024 has a fault timeline"


def test_every_file_is_written_and_the_charts_are_real_pngs(
    tmp_path: Path, sized: Plan, stages: list[Stage], scenario: Scenario
) -> None:
    results = plan_results(sized, [parse_slo("plan.knee_rps >= 10")])
    paths = write_plan_report(
        sized, stages, results, plan_verdict(sized, results), tmp_path, scenario
    )
    for name in ("report.html", "summary.md", "summary.json", "junit.xml"):
        assert paths[name] == tmp_path / name and paths[name].stat().st_size > 0
    charts = sorted(name for name in paths if name.startswith("charts/"))
    assert charts == [
        "charts/completion_curve.png",
        "charts/completion_vs_instances.png",
        "charts/load_curves.png",
    ]
    for name in charts:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG and len(data) > 5000, name
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"


def test_summary_json_is_strict_and_names_the_recommended_count(
    tmp_path: Path, sized: Plan, stages: list[Stage]
) -> None:
    results = plan_results(sized, [parse_slo("plan.instances_for('99%', 'D0 24:00') <= 1000")])
    write_plan_report(sized, stages, results, plan_verdict(sized, results), tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text(), parse_constant=reject)
    assert data["scenario"] == "kuta_selatan_2024"
    assert data["recommended"] == sized.recommended
    assert data["verdict"] == {
        "status": "passed",
        "exit_code": 0,
        "reason": "all 1 SLOs met",
    }
    assert data["knee"]["median_rps"] == 42 and data["knee"]["lower_bound"] is False
    answer = data["answers"][0]
    assert (answer["share"], answer["deadline"]) == (0.99, "D0 24:00")
    assert answer["instances"] == sized.answers[0].instances
    assert answer["instances_with_faults"] == sized.answers[0].instances_with_faults
    row = data["sizing"][0]
    assert set(row["completion"]) == {"50%", "90%", "99%"}
    assert row["with_faults"]["instances"] == row["instances"]
    assert row["with_faults"]["max_backlog"] >= row["max_backlog"]
    assert [r["instances"] for r in data["sizing"]] == [r.instances for r in sized.rows]
    assert len(data["stages"]) == 18 and data["stages"][-1]["generator_limited"] is True
    assert data["slos"][0]["passed"] is True
    assert set(data["manual_days"]) == set(sized.manual_days)
    for name, relative in data["charts"].items():
        assert (tmp_path / relative).is_file(), name


def test_report_html_shows_the_knee_the_answers_and_the_2024_comparison(
    tmp_path: Path, sized: Plan, stages: list[Stage], scenario: Scenario
) -> None:
    results = plan_results(sized, [])
    write_plan_report(sized, stages, results, plan_verdict(sized, results), tmp_path, scenario)
    html = (tmp_path / "report.html").read_text()
    assert "42 req/s per instance, median of 3 sweep(s) (low 40, high 51, spread 26%)" in html
    first = sized.answers[0]
    assert (
        f"instances needed for 99% of the TPS ready by D0 24:00 local: {first.instances}; "
        f"with the fault timeline: {first.instances_with_faults}"
    ) in html
    assert "generator-limited" in html and "FAIL" in html
    assert "D0 20:03 WIB</td><td>13.6%" in html and "D1 12:00 WIB</td><td>42.5%" in html
    assert "data:image/png;base64," in html and 'src="charts/' not in html
    assert "2024-02-14 13:00 WITA" in html  # the scenario's local clock
    markdown = (tmp_path / "summary.md").read_text()
    assert markdown.startswith("## PASS: kuta_selatan_2024 capacity plan (exit code 0)")
    assert "| D0 24:00 WIB | - |" in markdown


def test_the_comparison_with_2024_reads_the_plan_at_the_recommended_count(sized: Plan) -> None:
    rows = {row.moment: row for row in comparison_2024(sized)}
    assert rows["D0 20:03 WIB"].observed == 0.136 and rows["D1 12:00 WIB"].observed == 0.425
    midnight, noon = rows["D0 24:00 WIB"], rows["D1 12:00 WIB"]
    assert noon.seconds - midnight.seconds == 12 * 3600 and midnight.observed is None
    sizing = sized.recommended_sizing
    assert sizing is not None
    total = sized.workload.total_tps
    assert noon.plan == pytest.approx(sizing.taken_in_by(noon.seconds) / total)
    assert 0 < midnight.plan <= noon.plan <= 1


def test_everything_put_in_html_is_escaped(
    tmp_path: Path, sized: Plan, stages: list[Stage]
) -> None:
    noted = dataclasses.replace(sized, notes=["<script>alert('x')</script> & more"])
    write_plan_report(noted, stages, [], plan_verdict(noted, []), tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html


def test_only_plan_slos_are_plan_results(sized: Plan) -> None:
    slos = [parse_slo("page.p95 < 2s"), parse_slo("plan.knee_rps >= 10")]
    results = plan_results(sized, slos)
    assert [r.slo.expression for r in results] == ["plan.knee_rps >= 10"]
    assert results[0].value == 42 and results[0].passed


def test_a_met_plan_slo_exits_0_and_a_breached_one_exits_1(sized: Plan) -> None:
    needed = sized.answers[0].instances
    assert needed is not None
    met = plan_results(sized, [parse_slo(f"plan.instances_for('99%', 'D0 24:00') <= {needed}")])
    assert plan_verdict(sized, met).exit_code == 0
    breached = plan_results(sized, [parse_slo("plan.knee_rps >= 100")])
    outcome = plan_verdict(sized, breached)
    assert (outcome.name, outcome.exit_code) == ("breached", 1)
    assert "plan.knee_rps >= 100 (was 42)" in outcome.reason


def test_a_breach_on_a_lower_bound_knee_is_inconclusive(sized: Plan) -> None:
    bounded_below = _lower_bound(sized)
    assert bounded_below.knee.lower_bound
    breached = plan_results(bounded_below, [parse_slo("plan.knee_rps >= 100")])
    outcome = plan_verdict(bounded_below, breached)
    assert (outcome.name, outcome.exit_code) == ("inconclusive", 4)
    assert "lower bound" in outcome.reason and "plan.knee_rps >= 100" in outcome.reason
    met = plan_results(bounded_below, [parse_slo("plan.knee_rps >= 10")])
    assert plan_verdict(bounded_below, met).exit_code == 0


def test_an_inconclusive_plan_says_so_in_junit(
    tmp_path: Path, sized: Plan, stages: list[Stage]
) -> None:
    bounded_below = _lower_bound(sized)
    results = plan_results(bounded_below, [parse_slo("plan.knee_rps >= 100")])
    outcome = plan_verdict(bounded_below, results)
    write_plan_report(bounded_below, stages, results, outcome, tmp_path)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("errors")) == ("1", "1")
    data = json.loads((tmp_path / "summary.json").read_text(), parse_constant=reject)
    assert data["verdict"]["exit_code"] == 4 and data["knee"]["lower_bound"] is True


def test_a_sweep_without_a_knee_still_reports(tmp_path: Path, scenario: Scenario) -> None:
    failing = [_stage(0, i, 10.0 * (i + 1), ok=False) for i in range(3)]
    knee = knee_of(failing)
    assert knee.median_rps is None
    empty = plan(scenario, knee, 4.0, ASKED)
    results = plan_results(empty, [parse_slo("plan.instances_for('99%', 'D0 24:00') <= 10")])
    outcome = plan_verdict(empty, results)
    # nothing to measure the SLO by: never a breach, and the reason says what to do
    assert outcome.exit_code == 4
    assert outcome.reason.endswith(
        "(no stage passed, so the knee is below the lowest load offered: sweep from a lower "
        "load (--start-rps))"
    )
    paths = write_plan_report(empty, failing, results, outcome, tmp_path)
    assert "charts/load_curves.png" in paths
    assert "charts/completion_curve.png" not in paths
    assert "charts/completion_vs_instances.png" not in paths
    data = json.loads((tmp_path / "summary.json").read_text(), parse_constant=reject)
    assert data["recommended"] is None and data["answers"] == [] and data["sizing"] == []
    assert data["knee"]["median_rps"] is None and data["comparison_2024"] == []
    html = (tmp_path / "report.html").read_text()
    assert "no knee: no stage passed below the first failing one" in html


def test_charts_skip_what_the_plan_lacks(tmp_path: Path, sized: Plan) -> None:
    unsized = dataclasses.replace(
        sized, recommended=None, recommended_sizing=None, sweep_counts=[], sweep_times={}
    )
    assert plan_charts.load_curves([], sized.knee, tmp_path / "a.png") is None
    assert plan_charts.completion_vs_instances(unsized, tmp_path / "b.png") is None
    assert plan_charts.completion_curve(unsized, tmp_path / "c.png") is None
    assert not list(tmp_path.iterdir())


def test_a_count_that_never_completes_leaves_a_gap(tmp_path: Path, sized: Plan) -> None:
    """None in the sweep times (never reached) is drawn as a gap, not a crash."""
    times = {label: [None, *values[1:]] for label, values in sized.sweep_times.items()}
    gapped = dataclasses.replace(sized, sweep_times=times)
    path = plan_charts.completion_vs_instances(gapped, tmp_path / "gap.png")
    assert path is not None and path.read_bytes()[:8] == PNG


def test_a_single_sweep_knee_without_spread_draws(tmp_path: Path) -> None:
    stages = [_stage(0, i, 10.0 * (i + 1), ok=i < 2) for i in range(4)]
    knee = Knee((SweepKnee(0, 20.0, 30.0),), 20.0, 20.0, 20.0)
    path = plan_charts.load_curves(stages, knee, tmp_path / "one.png")
    assert path is not None and path.read_bytes()[:8] == PNG


def test_sampling_a_regions_population_keeps_its_kecamatan() -> None:
    text = (SCENARIOS / "kuta_selatan_2024.toml").read_text()
    sampled = loads_scenario(text.replace("seed = 2024", "seed = 2024\nsample = 0.1"), "k.toml")
    assert workload(sampled, 5.0).kecamatan == 1
