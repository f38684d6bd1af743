"""Compare two capacity plans (plan directories): the knee, the instances per deadline, the replays.

A plan directory holds ``sweep.json`` (every stage measured) and the scenario it planned; the plan
is worked out again from those two, as ``plan --sweep`` does, so a comparison needs nothing
running. Its figures are named as the plan's SLOs: ``plan.knee_rps``, and for every deadline the
scenario's plan SLOs ask about (99% by D0 24:00 when none do) ``plan.instances_for(share,
deadline)`` and ``plan.instances_for_faults(share, deadline)``, plus ``plan.replayed_share(share,
deadline)`` where ``plan --verify`` replayed the recommendation.

The sweeps of a plan are repeated measurements: every figure is also worked out at each sweep's
own knee, and their range widens the tolerance as the spread of repeated runs does. A knee that
is only a lower bound (a sweep never failed) can show a regression of the other side but cannot
clear it. Two plans compare only when the scenario, seed, population, requests per TPS, stage
length and warm-up match and both sweeps completed; otherwise "not comparable", with why.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reports.compare import (
    NOT_MEASURED,
    REGRESSED,
    Compared,
    Comparison,
    first_missing,
    judged,
    side_label,
    unused_tolerances,
)
from reports.figures import Figure
from reports.inputs import SHAPE_ERRORS, RunDirError, damaged
from reports.knee import Knee, Stage, knee_of
from reports.plan import Workload, answers_at, asked_deadlines, demand_of, workload
from reports.plan_check import PlanCheck, resolve_replayed
from reports.sizing import Demand
from reports.verdict import Unmeasured
from rundir import names
from rundir.exits import LoadtestError
from scenarios import Scenario, ScenarioError, loads_scenario, read_scenario_text
from scenarios.schema.compare import better
from scenarios.schema.slo import parse_metric

KNEE = "plan.knee_rps"


@dataclass(frozen=True)
class MeasuredPlan:
    """A saved plan, worked out again from its directory alone."""

    path: Path
    scenario: Scenario
    sweep: dict[str, Any]
    knee: Knee
    stages: tuple[Stage, ...]
    figures: dict[str, Figure]
    per_sweep: dict[str, tuple[float, ...]]  # each figure at each sweep's own knee
    planned_tps: int  # the population the plan sizes, before sampling


def is_plan(path: Path) -> bool:
    try:
        return (path / names.SWEEP).is_file()
    except OSError:  # an unreadable folder is no plan of ours
        return False


def plan_folders(path: Path) -> list[Path]:
    """``path`` if it is a plan directory, else the plan directories directly inside it."""
    if is_plan(path):
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if is_plan(p))


def _sweep(path: Path) -> tuple[dict[str, Any], tuple[Stage, ...]]:
    file = path / names.SWEEP
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        stages = tuple(Stage.from_json(stage) for stage in document["stages"])
        per_tps = float(document["requests_per_tps"])
        if not (math.isfinite(per_tps) and per_tps > 0):
            raise ValueError(f"requests_per_tps {per_tps!r} is not a number > 0")
        if not all(isinstance(s.offered_rps, int | float) for s in stages):
            raise ValueError("a stage's offered_rps is not a number")
        if not isinstance(document.get("settings") or {}, dict):
            raise ValueError("settings is not an object")
    except OSError as error:
        raise RunDirError(f"{file}: cannot read: {error.strerror}") from None
    except (*SHAPE_ERRORS,) as error:
        raise RunDirError(f"{file}: not a sweep file ({error!s}); the file is damaged") from None
    return document, stages


def measure_plan(path: Path) -> MeasuredPlan:
    """Read and work out the plan directory ``path`` (RunDirError when it is not one, or when
    a file of it has the wrong shape)."""
    try:
        return _measure_plan(path)
    except LoadtestError:
        raise
    except SHAPE_ERRORS as error:
        raise damaged(path, error) from None


def _measure_plan(path: Path) -> MeasuredPlan:
    file = path / names.SCENARIO
    try:
        text = read_scenario_text(file)
        scenario = loads_scenario(text, str(file))
    except ScenarioError as error:
        raise RunDirError(f"{path}: its {names.SCENARIO} does not load: {error}") from None
    document, stages = _sweep(path)
    knee = knee_of(stages)
    per_tps = float(document["requests_per_tps"])
    asked = asked_deadlines([slo for slo in scenario.slo.parsed if slo.scope == "plan"])
    keys = [KNEE, *(_key(m, *due) for due in asked for m in ANSWERS)]
    check = _check(path)
    if check is not None:
        keys += [_key("replayed_share", *due) for due in asked]
    values = dict(_figures_at(text, per_tps, knee.median_rps))
    figures = {key: _figure(key, values.get(key), knee, check) for key in keys}
    sweeps = [dict(_figures_at(text, per_tps, rate)) for rate in _sweep_knees(knee)]
    per_sweep = {
        key: tuple(v for one in sweeps if (v := one.get(key)) is not None) for key in figures
    }
    planned = _sizing(text, per_tps)[0].total_tps
    return MeasuredPlan(path, scenario, document, knee, stages, figures, per_sweep, planned)


ANSWERS = ("instances_for", "instances_for_faults")


def _sweep_knees(knee: Knee) -> list[float]:
    return list(dict.fromkeys(s.rps for s in knee.sweeps if s.rps))


@functools.lru_cache(maxsize=4)
def _sizing(text: str, per_tps: float) -> tuple[Workload, Demand]:
    """The scenario's election night (its whole population: seconds for a national one)."""
    scenario = loads_scenario(text)
    work = workload(scenario, per_tps)
    return work, demand_of(scenario, work)


@functools.lru_cache(maxsize=64)
def _figures_at(text: str, per_tps: float, rate: float | None) -> tuple[tuple[str, float], ...]:
    """The knee and the instances each asked deadline needs at a knee of ``rate`` req/s."""
    if not rate:
        return ()
    scenario = loads_scenario(text)
    asked = asked_deadlines([slo for slo in scenario.slo.parsed if slo.scope == "plan"])
    work, demand = _sizing(text, per_tps)
    found = [(KNEE, rate)]
    for (share, when), answer in zip(
        asked, answers_at(scenario, work, demand, rate, asked), strict=True
    ):
        counts = (answer.instances, answer.instances_with_faults)
        found += [
            (_key(metric, share, when), math.inf if count is None else float(count))
            for metric, count in zip(ANSWERS, counts, strict=True)
        ]
    return tuple(found)


def _key(metric: str, share: str, when: str) -> str:
    key: str = parse_metric(f"plan.{metric}({share!r}, {when!r})").key
    return key


def _check(path: Path) -> PlanCheck | None:
    file = path / names.PLAN_CHECK
    if not file.exists():
        return None
    try:
        return PlanCheck.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RunDirError(f"{file}: not a plan check ({error!s}); the file is damaged") from None


def _figure(key: str, value: float | None, knee: Knee, check: PlanCheck | None) -> Figure:
    metric = parse_metric(key)
    way = better(metric.metric)
    if knee.median_rps is None:
        why = "no stage passed, so the knee is below the lowest load offered"
        return Figure(key, metric.kind, way, None, why=why)
    if metric.metric == "replayed_share":
        found = resolve_replayed(check, metric)
        if isinstance(found, Unmeasured):
            return Figure(key, metric.kind, way, None, why=found.reason)
        return Figure(key, metric.kind, way, found)
    return Figure(key, metric.kind, way, value)


@dataclass(frozen=True)
class PlanSide:
    """One side of a plan comparison: one plan, or several plans of the same settings."""

    plans: tuple[MeasuredPlan, ...]

    @property
    def first(self) -> MeasuredPlan:
        return self.plans[0]

    @property
    def label(self) -> str:
        return side_label(self.plans)

    @property
    def paths(self) -> list[Path]:
        return [plan.path for plan in self.plans]

    @property
    def scenario_name(self) -> str:
        return self.first.scenario.name

    @property
    def speedup(self) -> float:
        return 1.0  # a sweep runs in real time

    @property
    def repeats(self) -> str:
        return "sweeps"

    @property
    def lower_bound(self) -> bool:
        return any(plan.knee.lower_bound for plan in self.plans)

    def value(self, key: str) -> float | None:
        found = [plan.figures.get(key) for plan in self.plans]
        values = [f.value for f in found if f is not None and f.value is not None]
        return statistics.median(values) if len(values) == len(found) else None

    def spread(self, key: str) -> float:
        values = [v for plan in self.plans for v in plan.per_sweep.get(key, ())]
        values += [
            f.value for plan in self.plans if (f := plan.figures.get(key)) and f.value is not None
        ]
        finite = [v for v in values if math.isfinite(v)]
        return max(finite) - min(finite) if len(finite) > 1 else 0.0

    def requests(self, key: str) -> int | None:
        return None  # a plan's figures are not shares of requests: no sampling noise

    def why_not(self, key: str) -> str:
        return first_missing(self.plans, key)


def settings(plan: MeasuredPlan) -> dict[str, object]:
    """What two plans must share to compare, by name as a reason shows it."""
    document = plan.sweep.get("settings") or {}
    return {
        "scenario": plan.scenario.name,
        "seed": plan.scenario.population.seed,
        "TPS planned": plan.planned_tps,
        "requests per TPS": round(float(plan.sweep["requests_per_tps"]), 6),
        "stage length": document.get("stage_s"),
        "warm-up": document.get("warmup_s"),
    }


def unfair(plans: Sequence[tuple[str, MeasuredPlan]]) -> list[str]:
    """Why the plans (labelled, the base first) cannot be compared; empty when they can."""
    (first_label, first), rest = plans[0], plans[1:]
    want = settings(first)
    reasons = [
        f"{name} differs ({first_label} {want[name]!r}, {label} {got[name]!r})"
        for label, plan in rest
        for name, got in [(n, settings(plan)) for n in want]
        if got[name] != want[name]
    ]
    for label, plan in plans:
        status = plan.sweep.get("status")
        if status != "completed":
            why = plan.sweep.get("error") or status
            reasons.append(
                f"{label}'s sweep did not complete ({why}; {len(plan.stages)} stages measured)"
            )
    return list(dict.fromkeys(reasons))


def differences(base: MeasuredPlan, new: MeasuredPlan) -> list[str]:
    """What differs between two comparable plans and may explain a change."""
    found = []
    a, b = base.sweep.get("settings") or {}, new.sweep.get("settings") or {}
    changed = [f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in b if a.get(k) != b.get(k)]
    if changed:
        found.append("sweep settings differ: " + ", ".join(changed))
    if base.sweep.get("target") != new.sweep.get("target"):
        found.append(
            f"the targets differ ({base.sweep.get('target')} vs {new.sweep.get('target')})"
        )
    mocks = [p.scenario.target.mock for p in (base, new)]
    if base.sweep.get("target") == "mock" and mocks[0] != mocks[1]:
        found.append("the mock's capacity model ([target.mock]) differs")
    if base.sweep.get("stage_slos") != new.sweep.get("stage_slos"):
        found.append("the stage SLOs differ (each plan's own judged its stages)")
    if [f.name for f in base.scenario.timeline] != [f.name for f in new.scenario.timeline]:
        found.append("fault windows differ (the with-faults instance counts follow them)")
    return found


def compare_plans(
    base: PlanSide, new: PlanSide, given: Mapping[str, str] = {}, *,
    command_line: Mapping[str, str] = {},
) -> Comparison[PlanSide]:  # fmt: skip
    """Compare the plan ``new`` with ``base``; tolerances as :func:`reports.compare.compare`."""
    labelled = [("the base", p) for p in base.plans] + [("the new plan", p) for p in new.plans]
    if len(base.plans) > 1 or len(new.plans) > 1:
        labelled = [(f"{side} {p.path.name}", p) for side, p in labelled]
    slo_keys = {slo.key for slo in new.first.scenario.slo.parsed}
    keys = list(dict.fromkeys([*base.first.figures, *new.first.figures]))
    figures = []
    for key in keys:
        figure = new.first.figures.get(key) or base.first.figures[key]
        found = judged(figure, base, new, given, command_line, key in slo_keys)
        figures.append(_bounded(found, base, new))
    notes = unused_tolerances(keys, given, command_line)
    notes += [
        f"{side}'s knee is only a lower bound: a sweep never failed (raise --max-rps)"
        for side, plans in (("the base", base), ("the new plan", new))
        if plans.lower_bound
    ]
    if base.first.scenario.compare != dict(given):
        notes.append("the base's [compare] tolerances differ; the new plan's are used")
    return Comparison(
        base, new, figures, unfair(labelled), differences(base.first, new.first), notes
    )


def _bounded(c: Compared, base: PlanSide, new: PlanSide) -> Compared:
    """A lower-bound knee makes its side's figures bounds: the base's cannot clear the new
    plan, the new plan's cannot convict it."""
    if c.verdict == NOT_MEASURED or c.key.startswith("plan.replayed_share"):
        return c
    if base.lower_bound and c.verdict != REGRESSED:
        why = "the base's knee is only a lower bound, so no move can be ruled out"
        return replace(c, verdict=NOT_MEASURED, why=why)
    if new.lower_bound and c.verdict == REGRESSED:
        why = "the new plan's knee is only a lower bound, so its real knee may be no lower"
        return replace(c, verdict=NOT_MEASURED, why=why)
    return c
