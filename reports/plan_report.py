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

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from html import escape
from pathlib import Path
from typing import Any

from reports import plan_charts
from reports.junit import write_junit
from reports.knee import Stage
from reports.markup import STYLE, html_table, slo_html_table
from reports.plan import OBSERVED_2024, Plan, resolve
from reports.sizing import Sizing
from reports.summary import millis, slo_md_row
from reports.verdict import SloResult, Verdict, evaluate, verdict
from scenarios import Scenario
from scenarios.slo import Slo
from scenarios.units import format_size

HOUR = 3_600.0
LABELS = ("50%", "90%", "99%")


def plan_results(plan: Plan, slos: Sequence[Slo]) -> list[SloResult]:
    """The scenario's ``plan.*`` SLOs against the plan (other scopes are the run's, not the
    plan's, and are left out)."""
    return evaluate([slo for slo in slos if slo.scope == "plan"], lambda slo: resolve(plan, slo))


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
    outcome = verdict(results, inconclusive)
    if not results:
        return Verdict(outcome.name, outcome.exit_code, "the scenario has no plan SLOs")
    return outcome


def _hours(seconds: float | None, scenario: Scenario | None) -> str:
    if seconds is None:
        return "never"
    local = f" ({scenario.clock.local(seconds)})" if scenario is not None else ""
    return f"+{seconds / HOUR:.1f} h{local}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _count(value: int | None) -> str:
    return "none can" if value is None else str(value)


def _recommended(plan: Plan) -> str:
    count = plan.recommended
    return "none (see the notes)" if count is None else f"{count} instance(s)"


def knee_text(plan: Plan) -> str:
    knee = plan.knee
    if knee.median_rps is None:
        return f"no knee: no stage passed below the first failing one ({len(knee.sweeps)} sweeps)"
    spread = "-" if knee.spread is None else f"{100 * knee.spread:.0f}%"
    bound = "; a lower bound: a sweep never failed" if knee.lower_bound else ""
    return (
        f"{knee.median_rps:.4g} req/s per instance, median of {len(knee.sweeps)} sweep(s) "
        f"(low {knee.low_rps:.4g}, high {knee.high_rps:.4g}, spread {spread}){bound}"
    )


def answer_texts(plan: Plan) -> list[str]:
    return [
        f"instances needed for {a.deadline.share:.0%} of the TPS ready by {a.deadline.text} "
        f"local: {_count(a.instances)}; with the fault timeline: {_count(a.instances_with_faults)}"
        for a in plan.answers
    ]


@dataclass(frozen=True)
class Compared:
    """A WIB moment: 2024's observed share of all TPS (None: not observed) and the plan's."""

    moment: str
    seconds: float  # simulated, from the scenario start
    observed: float | None
    plan: float


def comparison_2024(plan: Plan) -> list[Compared]:
    """2024's observed national shares, and D0 24:00 WIB, against the plan's share of all TPS
    in at the recommended count (fault timeline included)."""
    sizing, total = plan.recommended_sizing, plan.workload.total_tps
    if sizing is None or total <= 0 or len(plan.observed_2024) != len(OBSERVED_2024):
        return []
    moments: list[tuple[str, float, float | None]] = [
        (_d_day(text) + " WIB", t, share)
        for (text, _), (t, share) in zip(OBSERVED_2024, plan.observed_2024, strict=True)
    ]
    moments.append(("D0 24:00 WIB", plan.wib_midnight_s, None))
    return [
        Compared(moment, t, share, sizing.taken_in_by(t) / total)
        for moment, t, share in sorted(moments, key=lambda m: m[1])
    ]


def _d_day(text: str) -> str:
    """``+1d 12:00`` as ``D1 12:00``, ``20:03`` as ``D0 20:03``."""
    if text.startswith("+") and "d " in text:
        days, clock = text[1:].split("d ", 1)
        return f"D{days} {clock}"
    return f"D0 {text}"


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
    charts: dict[str, str],
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
        }
    )
    return document


def _stage_row(s: Stage) -> list[str]:
    result = "generator-limited" if s.generator_limited else "pass" if s.passed else "FAIL"
    rates = (f"{v:.4g}" for v in (s.offered_rps, s.attempted_rps, s.goodput_rps))
    times = map(millis, (s.p50_s, s.p95_s, s.p99_s))
    shares = (_pct(s.error_ratio, 2), _pct(s.shed_ratio, 2), millis(s.slip_p99_s))
    return [str(s.repeat), *rates, *times, *shares, result]


def _sizing_rows(rows: Sequence[Sizing], scenario: Scenario | None) -> list[list[str]]:
    return [
        [str(r.instances), f"{r.peak_requests_per_s:.4g}", f"{r.peak_mb_per_s:.3g}",
         f"{r.max_backlog:.0f}", *[_hours(r.completion.get(x), scenario) for x in LABELS]]
        for r in rows
    ]  # fmt: skip


HEADS = {
    name: head.split("|")
    for name, head in (
        ("stage", "repeat|offered req/s|attempted|goodput|p50|p95|p99|errors|503s|slip p99|result"),
        ("sizing", "instances|peak req/s|peak MB/s|max backlog (TPS)|50% in|90% in|99% in"),
    )
}


def render_html(
    plan: Plan, stages: Sequence[Stage], results: Sequence[SloResult], outcome: Verdict,
    charts: dict[str, Path], scenario: Scenario | None = None,
) -> str:  # fmt: skip
    work, e = plan.workload, escape
    zones = ", ".join(f"{zone} {share:.1%}" for zone, share in work.zones.items())
    start = f" Starts {scenario.clock.local(0.0)}." if scenario is not None else ""
    about = (
        f"{work.total_tps:,} TPS ({zones}) in {work.kecamatan:,} kecamatan; "
        f"{work.requests_per_tps:.3g} requests and {format_size(work.bytes_per_tps)} of photos "
        f"per TPS.{start} Times are simulated, hours after the scenario start."
    )
    verdicts = ["yes" if s.passed else "" if s.generator_limited else "no" for s in stages]
    stage_css = [[""] * 10 + [css] for css in verdicts]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{e(plan.scenario)} capacity plan: {e(outcome.name)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{e(plan.scenario)}: capacity plan</h1>",
        f"<div class=muted>{e(scenario.description if scenario is not None else '')}</div>",
        f'<div class="verdict {e(outcome.name)}"><b>{e(outcome.name.upper())}</b> '
        f"(exit code {outcome.exit_code}): {e(outcome.reason)}</div><p>{e(about)}</p>",
        f"<h2>Capacity</h2><p><b>Knee:</b> {e(knee_text(plan))}</p><ul>",
        *[f"<li>{e(text)}</li>" for text in answer_texts(plan)],
        f"</ul><p><b>Recommended:</b> {e(_recommended(plan))}.</p>",
        "<h3>Sweep stages</h3>",
        html_table(HEADS["stage"], [_stage_row(s) for s in stages], stage_css),
        "<h3>Sizing per instance count</h3>",
        html_table(HEADS["sizing"], _sizing_rows(plan.rows, scenario)),
    ]
    if plan.faults:
        parts += [
            "<h3>With the fault timeline</h3>",
            html_table(HEADS["sizing"], _sizing_rows(plan.rows_with_faults, scenario)),
        ]
    if plan.rows:
        parts.append(
            f"<p>Storage for the photos: {e(format_size(plan.rows[0].storage_bytes))}.</p>"
        )
    parts.append("<h2>Against the manual recap and 2024</h2><ul>")
    parts += [
        f"<li>{e(f'manual recap, {label}: {days:.1f} days to take every TPS in')}</li>"
        for label, days in plan.manual_days.items()
    ]
    if (sized := plan.recommended_sizing) is not None:
        done = sized.completion.get("99%")
        days = "never" if done is None else f"{done / 86_400:.1f} days"
        parts.append(f"<li>{e(f'the plan at {sized.instances} instance(s): 99% in {days}')}</li>")
    plateau = f" (2024 plateaued at {plan.observed_2024[-1][1]:.1%})" if plan.observed_2024 else ""
    shares = "Completion shares (50/90/99%) are of the TPS that finish counting; the 2024"
    parts.append(f"</ul><p class=muted>{e(f'{shares} shares are of all TPS{plateau}.')}</p>")
    if compared := comparison_2024(plan):
        head = [
            "moment",
            "2024 observed (share of all TPS)",
            f"plan at {plan.recommended} instances, faults included",
        ]
        parts.append(
            html_table(head, [[c.moment, _pct(c.observed), _pct(c.plan)] for c in compared])
        )
    if results:
        parts += ["<h2>Plan SLOs</h2>", slo_html_table(results)]
    if plan.faults:
        parts += ["<h2>Fault windows used</h2><ul>", *[f"<li>{e(f)}</li>" for f in plan.faults]]
        parts.append("</ul>")
    if charts:
        parts.append("<h2>Charts</h2>")
    for title, path in charts.items():
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(f'<img alt="{e(title)}" src="data:image/png;base64,{data}">')
    if plan.notes:
        parts += ["<h2>Notes</h2><ul>", *[f"<li>{e(n)}</li>" for n in plan.notes], "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def summary_md(plan: Plan, results: Sequence[SloResult], outcome: Verdict) -> str:
    icon = {"passed": "PASS", "breached": "FAIL", "inconclusive": "INCONCLUSIVE"}.get(
        outcome.name, "ERROR"
    )
    lines = [
        f"## {icon}: {plan.scenario} capacity plan (exit code {outcome.exit_code})", "",
        outcome.reason, "", f"Knee: {knee_text(plan)}.", "",
        *[f"- {text}" for text in answer_texts(plan)], "",
        f"Recommended: {_recommended(plan)}.",
    ]  # fmt: skip
    shown = ("D0 20:03 WIB", "D0 24:00 WIB", "D1 12:00 WIB")
    if compared := [c for c in comparison_2024(plan) if c.moment in shown]:
        lines += ["", f"| moment | 2024 observed | plan at {plan.recommended} instances |"]
        lines += ["|---|---|---|"]
        lines += [f"| {c.moment} | {_pct(c.observed)} | {_pct(c.plan)} |" for c in compared]
    lines += ["", *[f"Manual recap, {k}: {v:.1f} days." for k, v in plan.manual_days.items()]]
    if results:
        lines += ["", "| SLO | measured | passed |", "|---|---|---|"]
        lines += [slo_md_row(r) for r in results]
    if plan.notes:
        lines += ["", *[f"- {note}" for note in plan.notes]]
    return "\n".join(lines) + "\n"


def write_plan_report(
    plan: Plan, stages: Sequence[Stage], results: Sequence[SloResult], verdict: Verdict,
    folder: Path, scenario: Scenario | None = None,
) -> dict[str, Path]:  # fmt: skip
    """Write the plan's report into ``folder``; the files written, by path inside it. With the
    scenario, times are also shown on its local clock and the fault windows shaded."""
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
    }
    charts = {title: path for title, path in drawn.items() if path is not None}
    relative = {path.stem: path.relative_to(folder).as_posix() for path in charts.values()}
    document = summary_json(plan, stages, results, verdict, relative)
    written = {
        "report.html": render_html(plan, stages, results, verdict, charts, scenario),
        "summary.md": summary_md(plan, results, verdict),
        "summary.json": json.dumps(document, indent=2, allow_nan=False) + "\n",
    }
    paths = {}
    for name, text in written.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    paths["junit.xml"] = folder / "junit.xml"
    write_junit(paths["junit.xml"], f"{plan.scenario}.plan", results, verdict)
    return paths | {relative[path.stem]: path for path in charts.values()}
