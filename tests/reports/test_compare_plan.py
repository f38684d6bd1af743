"""``compare`` on plan directories: the knee and the instances per deadline, with the sweeps'
spread as noise, lower-bound knees that cannot clear or convict, and plans that do not compare.

The plans are built from the saved sweep of tests/reports/fixtures/plan-sweep (a real
``plan`` measurement) as ``plan`` writes them: scenario.toml and sweep.json, plus plan_check.json
where a test needs ``plan --verify``'s replay.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports.compare import NOT_MEASURED, REGRESSED, UNCHANGED, Comparison
from reports.compare_cli import main
from reports.compare_plan import MeasuredPlan, PlanSide, compare_plans, measure_plan
from reports.plan_check import AtDeadline, PlanCheck, Replay
from rundir import exits, names
from rundir.exits import UsageError

FIXTURE = Path(__file__).parent / "fixtures" / "plan-sweep"
SWEEP = json.loads((FIXTURE / "sweep.json").read_text())
SCENARIO = (FIXTURE / "scenario.toml").read_text()
INSTANCES = "plan.instances_for('99%', 'D0 24:00')"
FAULTY = "plan.instances_for_faults('99%', 'D0 24:00')"
REPLAYED = "plan.replayed_share('99%', 'D0 24:00')"


def scaled(factor: float) -> Callable[[dict[str, Any]], None]:
    """A sweep of a target ``factor`` times as fast: every stage's rates scaled."""

    def change(sweep: dict[str, Any]) -> None:
        for stage in sweep["stages"]:
            for key in ("offered_rps", "attempted_rps", "goodput_rps"):
                stage[key] *= factor

    return change


def never_failing(sweep: dict[str, Any]) -> None:
    """Only the stages that passed: no sweep found where the SLOs break."""
    sweep["stages"] = [s for s in sweep["stages"] if s["passed"]]


def write_plan(
    folder: Path, change: Callable[[dict[str, Any]], None] | None = None, scenario: str = SCENARIO,
    check: PlanCheck | None = None,
) -> Path:  # fmt: skip
    folder.mkdir(parents=True)
    sweep = copy.deepcopy(SWEEP)
    if change is not None:
        change(sweep)
    (folder / names.SWEEP).write_text(json.dumps(sweep))
    (folder / names.SCENARIO).write_text(scenario)
    if check is not None:
        (folder / names.PLAN_CHECK).write_text(json.dumps(check.to_json()))
    return folder


def replayed(measured: float) -> PlanCheck:
    """``plan --verify``'s record with one trusted replay at the recommended count."""
    at = AtDeadline("D0 24:00", 0.99, "WIB", 46_800.0, 0.99, measured)
    replay = Replay(3, "/runs/replay-3", 0, True, "", deadlines=[at])
    return PlanCheck(1.0, 8_000, 49.6, 3, 3, replays=[replay])


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MeasuredPlan]:
    """The plans the tests compare, each worked out once (a national population takes seconds)."""
    root = tmp_path_factory.mktemp("plans")
    made = {
        "base": write_plan(root / "base", check=replayed(0.995)),
        "same": write_plan(root / "same", check=replayed(0.99)),
        "slower": write_plan(root / "slower", scaled(0.7), check=replayed(0.90)),
        "faster": write_plan(root / "faster", scaled(1.5)),
        "unbounded": write_plan(root / "unbounded", never_failing),
        "unbounded_slower": write_plan(root / "unbounded_slower", _both(never_failing, 0.7)),
    }
    return {name: measure_plan(path) for name, path in made.items()}


def _both(first: Callable[[dict[str, Any]], None], factor: float) -> Callable[..., None]:
    def change(sweep: dict[str, Any]) -> None:
        first(sweep)
        scaled(factor)(sweep)

    return change


def _compare(base: MeasuredPlan, new: MeasuredPlan, **given: str) -> Comparison[PlanSide]:
    return compare_plans(PlanSide((base,)), PlanSide((new,)), {}, command_line=given)


def _verdicts(comparison: Comparison[PlanSide]) -> dict[str, str]:
    return {c.key: c.verdict for c in comparison.figures}


def test_a_plan_is_worked_out_again_from_its_sweep_and_scenario(
    plans: dict[str, MeasuredPlan],
) -> None:
    base = plans["base"]
    summary = json.loads((FIXTURE / "summary.json").read_text())
    assert base.figures["plan.knee_rps"].value == pytest.approx(summary["knee"]["median_rps"])
    (answer,) = summary["answers"]
    assert base.figures[INSTANCES].value == answer["instances"]
    assert base.figures[FAULTY].value == answer["instances_with_faults"]
    assert base.figures[REPLAYED].value == pytest.approx(0.995)
    # every sweep's own knee gives the figures again: the sweeps' spread
    assert sorted(base.per_sweep["plan.knee_rps"]) == pytest.approx(
        sorted({s["rps"] for s in summary["knee"]["sweeps"]})
    )


def test_two_plans_of_the_same_sweep_are_unchanged(plans: dict[str, MeasuredPlan]) -> None:
    comparison = _compare(plans["base"], plans["same"])
    assert set(_verdicts(comparison).values()) == {UNCHANGED}
    assert comparison.exit_code == exits.OK and comparison.unfair == []


def test_a_slower_target_regresses_the_knee_and_the_instances_it_needs(
    plans: dict[str, MeasuredPlan],
) -> None:
    comparison = _compare(plans["base"], plans["slower"])
    verdicts = _verdicts(comparison)
    assert verdicts["plan.knee_rps"] == REGRESSED
    assert verdicts[INSTANCES] == REGRESSED
    assert verdicts[REPLAYED] == REGRESSED  # 99.5% -> 90% of the TPS in by the deadline
    assert comparison.exit_code == exits.BREACHED
    knee = next(c for c in comparison.figures if c.key == "plan.knee_rps")
    assert knee.relative == pytest.approx(-0.3)
    # the other way round it is an improvement, and no regression
    back = _compare(plans["slower"], plans["base"])
    assert _verdicts(back)["plan.knee_rps"] == "improved"
    assert back.exit_code == exits.OK


def test_a_tolerance_on_the_command_line_or_in_the_scenario_widens_a_figure(
    plans: dict[str, MeasuredPlan], tmp_path: Path
) -> None:
    loose = _compare(plans["base"], plans["slower"], **{"plan.knee_rps": "-40%"})
    assert _verdicts(loose)["plan.knee_rps"] == UNCHANGED
    assert "-40% (--tolerance plan.knee_rps)" in next(
        c.tolerance for c in loose.figures if c.key == "plan.knee_rps"
    )
    scenario = SCENARIO.replace("[slo]", '[compare]\n"plan.instances_for*" = "+100%"\n\n[slo]')
    given = measure_plan(write_plan(tmp_path / "loose", scaled(0.7), scenario))
    comparison = compare_plans(
        PlanSide((plans["base"],)), PlanSide((given,)), given.scenario.compare
    )
    assert _verdicts(comparison)[INSTANCES] == UNCHANGED
    assert _verdicts(comparison)["plan.knee_rps"] == REGRESSED


def test_a_knee_that_is_only_a_lower_bound_cannot_clear_nor_convict(
    plans: dict[str, MeasuredPlan],
) -> None:
    # the base never failed: its real knee may be higher, so "unchanged" cannot be claimed
    cleared = _compare(plans["unbounded"], plans["base"])
    knee = next(c for c in cleared.figures if c.key == "plan.knee_rps")
    assert knee.verdict == NOT_MEASURED and "base's knee is only a lower bound" in knee.why
    assert any("the base's knee is only a lower bound" in note for note in cleared.notes)
    # a slower plan still regressed against a lower bound: the base was at least that fast
    convicted = _compare(plans["unbounded"], plans["slower"])
    assert _verdicts(convicted)["plan.knee_rps"] == REGRESSED
    # the new plan never failed and shows a lower knee: its real one may be no lower
    spared = _compare(plans["base"], plans["unbounded_slower"])
    knee = next(c for c in spared.figures if c.key == "plan.knee_rps")
    assert knee.verdict == NOT_MEASURED and "new plan's knee is only a lower bound" in knee.why
    assert spared.exit_code != exits.BREACHED


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("seed = 20240214", "seed = 7"), "seed differs (the base 20240214, the new plan 7)"),
        (("sample = 0.01", "sample = 0.02"), None),  # the plan sizes the whole population
        (('name = "national_plan_fixture"', 'name = "other"'), "scenario differs"),
    ],
)
def test_plans_of_other_settings_are_not_comparable_with_the_reason(
    plans: dict[str, MeasuredPlan], tmp_path: Path, edit: tuple[str, str], reason: str | None
) -> None:
    other = measure_plan(write_plan(tmp_path / "other", scenario=SCENARIO.replace(*edit)))
    comparison = _compare(plans["base"], other)
    if reason is None:
        assert comparison.unfair == []
        return
    assert comparison.exit_code == exits.INCONCLUSIVE
    assert any(reason in why for why in comparison.unfair), comparison.unfair
    assert comparison.reason == "; ".join(comparison.unfair)


def test_a_sweep_of_other_stage_lengths_or_one_that_did_not_complete_does_not_compare(
    plans: dict[str, MeasuredPlan], tmp_path: Path
) -> None:
    def longer(sweep: dict[str, Any]) -> None:
        sweep["settings"]["stage_s"] = 30

    def interrupted(sweep: dict[str, Any]) -> None:
        sweep["status"] = "interrupted"
        sweep["stages"] = sweep["stages"][:4]

    long = measure_plan(write_plan(tmp_path / "long", longer))
    assert (
        "stage length differs (the base 12, the new plan 30)"
        in _compare(plans["base"], long).unfair
    )
    cut = measure_plan(write_plan(tmp_path / "cut", interrupted))
    assert _compare(plans["base"], cut).unfair == [
        "the new plan's sweep did not complete (interrupted; 4 stages measured)"
    ]


def test_the_cli_compares_plan_directories_and_writes_every_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_plan(tmp_path / "runs" / "base")
    slower = write_plan(tmp_path / "runs" / "slower", scaled(0.7))
    out = tmp_path / "out"
    assert main([str(base), str(slower), "--out", str(out)]) == exits.BREACHED
    printed = capsys.readouterr().out
    assert "REGRESSED (exit code 1): 2 regressed (plan.knee_rps, " in printed
    assert "49.59 req/s" in printed and "34.71 req/s" in printed
    suite = ET.parse(out / "compare.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "2" and suite.get("tests") == "3"
    page = (out / "compare.html").read_text()
    assert page.count("<img ") == 2 and "sweeps on shared axes" in page
    document = json.loads((out / "compare.json").read_text())
    assert document["verdict"] == "regressed" and document["new"] == [str(slower)]
    assert "**plan.knee_rps**" in (out / "compare.md").read_text()
    # default folder: the new plan's report/
    assert main([str(base), str(base)]) == exits.OK
    assert (base / names.REPORT / "compare.html").exists()


def test_a_folder_of_plans_is_one_side_with_every_sweep_in_its_spread(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_plan(tmp_path / "base" / name)
    write_plan(tmp_path / "new" / "c", scaled(0.98))
    base = PlanSide(tuple(measure_plan(p) for p in sorted((tmp_path / "base").iterdir())))
    new = PlanSide((measure_plan(tmp_path / "new" / "c"),))
    comparison = compare_plans(base, new)
    assert comparison.base.label == "a and 1 more"
    assert comparison.exit_code == exits.OK, comparison.reason
    assert main([str(tmp_path / "base"), str(tmp_path / "new"), "--out", str(tmp_path)]) == 0


def test_a_plan_against_a_run_or_a_damaged_plan_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path / "plan")
    run = Path(__file__).parent / "fixtures" / "smoke-run"
    with pytest.raises(UsageError, match="compare two run directories, or two plan"):
        main([str(plan), str(run)])
    with pytest.raises(UsageError, match=r"NEW .*/nowhere: does not exist; give a run directory"):
        main([str(plan), str(tmp_path / "nowhere")])
    damaged = write_plan(tmp_path / "damaged")
    (damaged / names.SWEEP).write_text('{"stages": [')
    with pytest.raises(UsageError, match=r"sweep.json: not a sweep file \(.*\); the file is"):
        main([str(plan), str(damaged)])
    assert capsys.readouterr().out == ""


def test_a_tolerance_naming_no_compared_figure_is_said_not_used(
    plans: dict[str, MeasuredPlan],
) -> None:
    comparison = _compare(plans["base"], plans["same"], **{"page.p95": "+10%"})
    assert "--tolerance 'page.p95' names no figure compared here: not used" in comparison.notes
    # the same figure spelled with double quotes is the same figure
    spelled = _compare(plans["base"], plans["slower"], **{INSTANCES.replace("'", '"'): "+100%"})
    assert _verdicts(spelled)[INSTANCES] == UNCHANGED and not spelled.notes
