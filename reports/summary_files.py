"""``summary.json`` (machine-readable, documented in the README) and ``summary.md`` (for CI).

summary.json keys: ``verdict``, ``exit_code``, ``reason``, ``trusted`` (false when the run failed or
its figures cannot be trusted: a saturated generator, an early end), ``load_factor``, ``run``
(scenario, clock, target, fault layer), ``slos`` [{expression, metric, value, threshold, op, kind,
passed, shown, note}], ``integrity`` {acknowledged, lost, duplicate, corrupt, ambiguous, examples},
``recovery`` [one per fault window or detected outage, with start, end and times in both clocks:
``*_s`` real seconds, ``*_sim_s`` simulated], ``completion``, ``endpoints``, ``failures``,
``slip_p99_s``, ``hindcast`` (null without [hindcast]: rows of moment, published, replay,
residual_pp, fitted; the fit, the counterfactual and its sentence), ``plenary`` (null without a
plenary: forms, gaveled, open, working_days, tps_per_day, per_day, gavel_time_p50_s/p90_s/max_s
simulated, discrepancies, causes, fields,
waited_for_upload, refused, corrections), ``quality`` (injected, consistent, caught_arithmetic,
caught_plenary, undetected, never_stored, detection_ratio, examples), ``notes``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from reports.hindcast_view import hindcast_md
from reports.model import Analysis
from reports.plenary_view import plenary_md
from reports.verdict import SloResult
from scenarios import format_duration


def summary_json(analysis: Analysis) -> dict[str, Any]:
    run = analysis.run
    return {
        "verdict": analysis.verdict.name,
        "exit_code": analysis.verdict.exit_code,
        "reason": analysis.verdict.reason,
        "trusted": not analysis.verdict.untrusted,
        "load_factor": run.load_factor,
        "run": asdict(run),
        "slos": [result.as_dict() for result in analysis.slos],
        "integrity": None if analysis.integrity is None else analysis.integrity.as_dict(),
        "recovery": [r.as_dict(run.speedup) for r in analysis.recovery],
        "completion": None if analysis.completion is None else analysis.completion.as_dict(),
        "endpoints": [e.as_dict() for e in analysis.endpoints],
        "failures": analysis.failures,
        "slip_p99_s": analysis.slip_p99_s,
        "plenary": None if analysis.plenary is None else analysis.plenary.as_dict(),
        "quality": None if analysis.quality is None else analysis.quality.as_dict(),
        "hindcast": None if analysis.hindcast is None else analysis.hindcast.as_dict(),
        "notes": analysis.notes,
    }


def slo_md_row(r: SloResult) -> str:
    """A row of the SLO table: breaches in bold, the reason where nothing was measured."""
    result = {"breached": "**no**", "met": "yes"}.get(r.status, r.status)
    if not r.judged and r.note:
        result += f": {r.note}"
    return f"| `{r.slo.expression}` | {r.shown_value} | {result} |"


def both_clocks(real: float | None, speedup: float) -> str:
    if real is None:
        return "never"
    return f"{format_duration(real * speedup)} sim ({format_duration(real)} real)"


def millis(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def summary_md(analysis: Analysis) -> str:
    run, verdict = analysis.run, analysis.verdict
    icon = {"passed": "PASS", "breached": "FAIL", "inconclusive": "INCONCLUSIVE"}.get(
        verdict.name, "ERROR"
    )
    lines = [
        f"## {icon}: {run.scenario} (exit code {verdict.exit_code})",
        "",
        verdict.reason,
        "",
        f"{run.clock_start_local}, {format_duration(run.duration_sim_s)} simulated in "
        f"{format_duration(run.duration_real_s)} real (speedup {run.speedup:g}); "
        f"load factor {run.load_factor:.3g} ({run.load_factor_note}). Target {run.target}; "
        f"fault layer {run.toxiproxy}.",
        "",
        "| SLO | measured | passed |",
        "|---|---|---|",
    ]
    lines += [slo_md_row(r) for r in analysis.slos]
    if analysis.integrity is not None:
        i = analysis.integrity
        lines += [
            "",
            f"Integrity: {i.acknowledged} acknowledged; lost {i.lost}, duplicate "
            f"{'not visible' if 'duplicate' in i.unseen else i.duplicate}, corrupt {i.corrupt}, "
            f"ambiguous {i.ambiguous} ({i.described()}).",
        ]
    if analysis.recovery:
        lines += ["", "| outage | injected | first success | recovered | backlog peak | drained |"]
        lines += ["|---|---|---|---|---|---|"]
        lines += [
            f"| {r.name} | {'yes' if r.injected else 'no'} | "
            f"{both_clocks(r.time_to_first_success, run.speedup)} | "
            f"{both_clocks(r.time_to_recover, run.speedup)} | {r.backlog_peak} | "
            f"{both_clocks(r.drain_time, run.speedup)} |"
            for r in analysis.recovery
        ]
    if analysis.endpoints:
        lines += [
            "",
            "| endpoint | requests | success | p50 | p95 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {e.endpoint} | {e.requests} | "
            f"{'-' if e.success_ratio is None else f'{100 * e.success_ratio:.2f}%'} | "
            f"{millis(e.p50)} | {millis(e.p95)} | {millis(e.p99)} |"
            for e in analysis.endpoints
        ]
    lines += hindcast_md(analysis.hindcast)
    lines += plenary_md(analysis.plenary, analysis.quality)
    if analysis.notes:
        lines += ["", *[f"- {note}" for note in analysis.notes]]
    return "\n".join(lines) + "\n"
