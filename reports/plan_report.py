"""The report of a capacity plan: report.html, summary.md, summary.json, junit.xml, charts/.

The plan's SLOs are the scenario's ``plan.*`` ones; the exit code (README, "Capacity planning"): 0
every plan SLO met, 1 one breached, 4 inconclusive when one failed while the knee is only a lower
bound (a sweep never failed, so the real knee, and with it the capacity, may be higher).

summary.json keys: ``scenario``, ``verdict`` {status, exit_code, reason}, ``knee`` (Knee.to_json),
``workload``, ``answers`` [{share, deadline, deadline_seconds, instances, instances_with_faults}],
``recommended``, ``sizing`` [{instances, peak_requests_per_s, peak_mb_per_s, max_backlog,
completion {50%, 90%, 99%: simulated seconds or null}, storage_bytes, with_faults {the same}}],
``manual_days``, ``comparison_2024`` [{moment, seconds, observed, plan}], ``faults``, ``stages``
(Stage.to_json), ``slos`` (SloResult.as_dict), ``notes``, ``charts`` {name: path in the folder}.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reports import plan_charts
from reports.junit import write_junit
from reports.knee import Stage
from reports.plan import Plan, resolve
from reports.plan_check import PlanCheck, resolve_replayed
from reports.plan_check_view import check_md
from reports.plan_html import render_html
from reports.plan_text import answer_texts, comparison_2024, knee_text, percent, recommended_text
from reports.summary_files import slo_md_row
from reports.verdict import SloResult, Unmeasured, Verdict, evaluate, verdict
from rundir import exits
from scenarios import Scenario, Slo

__all__ = [  # comparison_2024 is reports.plan_text's, also read from here
    "comparison_2024",
    "plan_results",
    "plan_verdict",
    "summary_json",
    "summary_md",
    "write_plan_report",
]


def plan_results(
    plan: Plan, slos: Sequence[Slo], check: PlanCheck | None = None
) -> list[SloResult]:
    """The scenario's ``plan.*`` SLOs against the plan and, for ``replayed_share``, its check
    (other scopes are the run's, not the plan's, and are left out)."""

    def value(slo: Slo) -> float | Unmeasured | None:
        if slo.metric == "replayed_share" and plan.knee_rps is not None:
            return resolve_replayed(check, slo)
        return resolve(plan, slo)

    return evaluate([slo for slo in slos if slo.scope == "plan"], value)


def plan_verdict(plan: Plan, results: Sequence[SloResult]) -> Verdict:
    """0 every plan SLO met; 1 one breached; 4 when one failed on a knee that is a lower bound."""
    inconclusive = None
    if plan.knee.lower_bound and any(r.breached for r in results):
        failed = "; ".join(
            f"{r.slo.expression} (was {r.shown_value})" for r in results if r.breached
        )
        inconclusive = (
            f"{failed}; but a sweep never failed, so the knee is only a lower bound and the "
            "real capacity may be higher (sweep to a higher load)"
        )
    if not results:  # a plan's answers stand without SLOs: nothing is claimed of them
        return Verdict("passed", exits.OK, "the scenario has no plan SLOs")
    return verdict(results, inconclusive)


SIZING_KEYS = "instances peak_requests_per_s peak_mb_per_s max_backlog completion storage_bytes"


def _strict(value: Any) -> Any:
    """NaN and infinities as null: summary.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def summary_json(
    plan: Plan, stages: Sequence[Stage], results: Sequence[SloResult], outcome: Verdict,
    charts: dict[str, str], check: PlanCheck | None = None,
) -> dict[str, Any]:  # fmt: skip
    sizing = [
        {key: getattr(row, key) for key in SIZING_KEYS.split()}
        | {"with_faults": {key: getattr(faulty, key) for key in SIZING_KEYS.split()}}
        for row, faulty in zip(plan.rows, plan.rows_with_faults, strict=True)
    ]
    answers = [
        {"share": a.deadline.share, "deadline": a.deadline.text,
         "deadline_seconds": a.deadline.seconds, "instances": a.instances,
         "instances_with_faults": a.instances_with_faults}
        for a in plan.answers
    ]  # fmt: skip
    status = {"status": outcome.name, "exit_code": outcome.exit_code, "reason": outcome.reason}
    document: dict[str, Any] = _strict(
        {
            "scenario": plan.scenario,
            "verdict": status,
            "knee": plan.knee.to_json(),
            "workload": plan.workload.to_json(),
            "answers": answers,
            "recommended": plan.recommended,
            "sizing": sizing,
            "manual_days": plan.manual_days,
            "comparison_2024": [asdict(c) for c in comparison_2024(plan)],
            "faults": plan.faults,
            "stages": [stage.to_json() for stage in stages],
            "slos": [result.as_dict() for result in results],
            "notes": plan.notes,
            "charts": charts,
            "check": None if check is None else check.to_json(),
        }
    )
    return document


def summary_md(
    plan: Plan, results: Sequence[SloResult], outcome: Verdict, check: PlanCheck | None = None
) -> str:
    icon = {"passed": "PASS", "breached": "FAIL", "inconclusive": "INCONCLUSIVE"}.get(
        outcome.name, "ERROR"
    )
    lines = [
        f"## {icon}: {plan.scenario} capacity plan (exit code {outcome.exit_code})", "",
        outcome.reason, "", f"Knee: {knee_text(plan)}.", "",
        *[f"- {text}" for text in answer_texts(plan)], "",
        f"Recommended: {recommended_text(plan)}.",
    ]  # fmt: skip
    shown = ("D0 20:03 WIB", "D0 24:00 WIB", "D1 12:00 WIB")
    if compared := [c for c in comparison_2024(plan) if c.moment in shown]:
        lines += ["", f"| moment | 2024 observed | plan at {plan.recommended} instances |"]
        lines += ["|---|---|---|"]
        lines += [f"| {c.moment} | {percent(c.observed)} | {percent(c.plan)} |" for c in compared]
    lines += ["", *[f"Manual recap, {k}: {v:.1f} days." for k, v in plan.manual_days.items()]]
    lines += check_md(check)
    if results:
        lines += ["", "| SLO | measured | passed |", "|---|---|---|"]
        lines += [slo_md_row(r) for r in results]
    if plan.notes:
        lines += ["", *[f"- {note}" for note in plan.notes]]
    return "\n".join(lines) + "\n"


def write_plan_report(
    plan: Plan, stages: Sequence[Stage], results: Sequence[SloResult], verdict: Verdict,
    folder: Path, scenario: Scenario | None = None, check: PlanCheck | None = None,
) -> dict[str, Path]:  # fmt: skip
    """Write the plan's report into ``folder``; the files written, by path inside it. With the
    scenario, times are also shown on its local clock and the fault windows shaded; with the
    check (``plan --verify``), its replays against the model."""
    images = folder / "charts"
    images.mkdir(parents=True, exist_ok=True)
    drawn = {
        "Load curves": plan_charts.load_curves(stages, plan.knee, images / "load_curves.png"),
        "Completion time against instances": plan_charts.completion_vs_instances(
            plan, images / "completion_vs_instances.png"
        ),
        "Completion curve": plan_charts.completion_curve(
            plan, images / "completion_curve.png", scenario
        ),
        "Plan check: predicted and measured": plan_charts.check_curves(
            check, images / "plan_check.png", scenario
        ),
    }
    charts = {title: path for title, path in drawn.items() if path is not None}
    relative = {path.stem: path.relative_to(folder).as_posix() for path in charts.values()}
    document = summary_json(plan, stages, results, verdict, relative, check)
    written = {
        "report.html": render_html(plan, stages, results, verdict, charts, scenario, check, folder),
        "summary.md": summary_md(plan, results, verdict, check),
        "summary.json": json.dumps(document, indent=2, allow_nan=False) + "\n",
    }
    paths = {}
    for name, text in written.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    paths["junit.xml"] = folder / "junit.xml"
    write_junit(paths["junit.xml"], f"{plan.scenario}.plan", results, verdict)
    return paths | {relative[path.stem]: path for path in charts.values()}
