"""The capacity plan's report.html: one self-contained file (charts inlined), verdict first.

One function per section, in the page's order; each returns its HTML, or None when the plan has
nothing for it (the section is then left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from reports.knee import Stage
from reports.markup import STYLE, charts_section, html_table, notes_section, slo_html_table
from reports.plan import Plan
from reports.plan_check import PlanCheck
from reports.plan_check_view import check_html
from reports.plan_text import answer_texts, comparison_2024, knee_text, percent, recommended_text
from reports.sizing import Sizing
from reports.summary_files import millis
from reports.verdict import SloResult, Verdict
from scenarios import Scenario, format_size

HOUR = 3_600.0
LABELS = ("50%", "90%", "99%")
HEADS = {
    name: head.split("|")
    for name, head in (
        ("stage", "repeat|offered req/s|attempted|goodput|p50|p95|p99|errors|503s|slip p99|result"),
        ("sizing", "instances|peak req/s|peak MB/s|max backlog (TPS)|50% in|90% in|99% in"),
    )
}


def render_html(
    plan: Plan, stages: Sequence[Stage], results: Sequence[SloResult], outcome: Verdict,
    charts: dict[str, Path], scenario: Scenario | None = None, check: PlanCheck | None = None,
    folder: Path | None = None,
) -> str:  # fmt: skip
    sections = [
        _header(plan, outcome, scenario),
        _capacity(plan),
        check_html(check, folder or Path()),
        _stages(stages),
        _sizing(plan, scenario),
        _against_manual_and_2024(plan),
        _slos(results),
        _faults(plan),
        charts_section(charts),
        notes_section(plan.notes),
        "</body></html>",
    ]
    return "\n".join(section for section in sections if section is not None)


def _header(plan: Plan, outcome: Verdict, scenario: Scenario | None) -> str:
    """The page's head, the scenario, the verdict box, and the workload planned for."""
    work, e = plan.workload, escape
    zones = ", ".join(f"{zone} {share:.1%}" for zone, share in work.zones.items())
    start = f" Starts {scenario.clock.local(0.0)}." if scenario is not None else ""
    about = (
        f"{work.total_tps:,} TPS ({zones}) in {work.kecamatan:,} kecamatan; "
        f"{work.requests_per_tps:.3g} requests and {format_size(work.bytes_per_tps)} of photos "
        f"per TPS.{start} Times are simulated, hours after the scenario start."
    )
    return "\n".join(
        [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            f"<title>{e(plan.scenario)} capacity plan: {e(outcome.name)}</title>",
            f"<style>{STYLE}</style></head><body><h1>{e(plan.scenario)}: capacity plan</h1>",
            f"<div class=muted>{e(scenario.description if scenario is not None else '')}</div>",
            f'<div class="verdict {e(outcome.name)}"><b>{e(outcome.name.upper())}</b> '
            f"(exit code {outcome.exit_code}): {e(outcome.reason)}</div><p>{e(about)}</p>",
        ]
    )


def _capacity(plan: Plan) -> str:
    """The knee, the instances each asked deadline needs, and the recommended count."""
    return "\n".join(
        [
            f"<h2>Capacity</h2><p><b>Knee:</b> {escape(knee_text(plan))}</p><ul>",
            *[f"<li>{escape(text)}</li>" for text in answer_texts(plan)],
            f"</ul><p><b>Recommended:</b> {escape(recommended_text(plan))}.</p>",
        ]
    )


def _stages(stages: Sequence[Stage]) -> str:
    """Every stage of every sweep, its result cell coloured pass, fail or neither."""
    verdicts = ["yes" if s.passed else "" if s.generator_limited else "no" for s in stages]
    classes = [[""] * 10 + [css] for css in verdicts]
    table = html_table(HEADS["stage"], [_stage_row(s) for s in stages], classes)
    return "<h3>Sweep stages</h3>\n" + table


def _stage_row(s: Stage) -> list[str]:
    result = "generator-limited" if s.generator_limited else "pass" if s.passed else "FAIL"
    rates = (f"{v:.4g}" for v in (s.offered_rps, s.attempted_rps, s.goodput_rps))
    times = map(millis, (s.p50_s, s.p95_s, s.p99_s))
    shares = (percent(s.error_ratio, 2), percent(s.shed_ratio, 2), millis(s.slip_p99_s))
    return [str(s.repeat), *rates, *times, *shares, result]


def _sizing(plan: Plan, scenario: Scenario | None) -> str:
    """Election night per instance count, without and with the fault timeline; the storage."""
    parts = [
        "<h3>Sizing per instance count</h3>",
        html_table(HEADS["sizing"], _sizing_rows(plan.rows, scenario)),
    ]
    if plan.faults:
        parts += [
            "<h3>With the fault timeline</h3>",
            html_table(HEADS["sizing"], _sizing_rows(plan.rows_with_faults, scenario)),
        ]
    if plan.rows:
        storage = format_size(plan.rows[0].storage_bytes)
        parts.append(f"<p>Storage for the photos: {escape(storage)}.</p>")
    return "\n".join(parts)


def _sizing_rows(rows: Sequence[Sizing], scenario: Scenario | None) -> list[list[str]]:
    return [
        [str(r.instances), f"{r.peak_requests_per_s:.4g}", f"{r.peak_mb_per_s:.3g}",
         f"{r.max_backlog:.0f}", *[_hours(r.completion.get(x), scenario) for x in LABELS]]
        for r in rows
    ]  # fmt: skip


def _hours(seconds: float | None, scenario: Scenario | None) -> str:
    if seconds is None:
        return "never"
    local = f" ({scenario.clock.local(seconds)})" if scenario is not None else ""
    return f"+{seconds / HOUR:.1f} h{local}"


def _against_manual_and_2024(plan: Plan) -> str:
    """Days the manual recap takes, the plan's 99%, and 2024's observed shares against the
    plan's at the recommended count."""
    items = [
        f"manual recap, {label}: {days:.1f} days to take every TPS in"
        for label, days in plan.manual_days.items()
    ]
    if (sized := plan.recommended_sizing) is not None:
        done = sized.completion.get("99%")
        days = "never" if done is None else f"{done / 86_400:.1f} days"
        items.append(f"the plan at {sized.instances} instance(s): 99% in {days}")
    plateau = f" (2024 plateaued at {plan.observed_2024[-1][1]:.1%})" if plan.observed_2024 else ""
    shares = "Completion shares (50/90/99%) are of the TPS that finish counting; the 2024"
    parts = [
        "<h2>Against the manual recap and 2024</h2><ul>",
        *[f"<li>{escape(item)}</li>" for item in items],
        f"</ul><p class=muted>{escape(f'{shares} shares are of all TPS{plateau}.')}</p>",
    ]
    if compared := comparison_2024(plan):
        head = [
            "moment",
            "2024 observed (share of all TPS)",
            f"plan at {plan.recommended} instances, faults included",
        ]
        rows = [[c.moment, percent(c.observed), percent(c.plan)] for c in compared]
        parts.append(html_table(head, rows))
    return "\n".join(parts)


def _slos(results: Sequence[SloResult]) -> str | None:
    return "<h2>Plan SLOs</h2>\n" + slo_html_table(results) if results else None


def _faults(plan: Plan) -> str | None:
    if not plan.faults:
        return None
    items = [f"<li>{escape(f)}</li>" for f in plan.faults]
    return "\n".join(["<h2>Fault windows used</h2><ul>", *items, "</ul>"])
