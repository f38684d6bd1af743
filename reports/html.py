"""``report.html``: one self-contained file (charts inlined), verdict first, works offline."""

from __future__ import annotations

import base64
from html import escape

from reports.completion_view import completion_html
from reports.markup import STYLE, html_table, slo_html_table
from reports.model import Analysis, RunFacts
from reports.plenary_view import plenary_html
from reports.summary import both_clocks, millis
from scenarios.units import format_duration


def _covered(run: RunFacts) -> str:
    """The time the run covered (both clocks); "ended early after X of Y" when short."""
    return run.covered or (
        f"{format_duration(run.duration_sim_s)} simulated in "
        f"{format_duration(run.duration_real_s)} real (speedup {run.speedup:g})"
    )


def render_html(analysis: Analysis) -> str:
    run, verdict = analysis.run, analysis.verdict
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(run.scenario)}: {escape(verdict.name)}</title><style>{STYLE}</style>",
        "</head><body>",
        f"<h1>{escape(run.scenario)}</h1><div class=muted>{escape(run.description)}</div>",
        f'<div class="verdict {escape(verdict.name)}"><b>{escape(verdict.name.upper())}</b> '
        f"(exit code {verdict.exit_code}): {escape(verdict.reason)}</div>",
        "<p>"
        + escape(
            f"{run.clock_start_local}: {_covered(run)}. Load factor "
            f"{run.load_factor:.3g}: {run.load_factor_note}. Target {run.target}; fault layer "
            f"{run.toxiproxy}. Run {run.run_id}, {run.status}, {run.started} to {run.ended}."
        )
        + "</p>",
        "<h2>SLOs</h2>",
        slo_html_table(analysis.slos),
    ]
    if analysis.integrity is not None:
        i = analysis.integrity
        parts += [
            "<h2>Integrity</h2>",
            html_table(
                ["acknowledged", "lost", "duplicate", "corrupt", "ambiguous (stored, never acked)"],
                [
                    [
                        str(i.acknowledged),
                        str(i.lost),
                        str(i.duplicate),
                        str(i.corrupt),
                        str(i.ambiguous),
                    ]
                ],
            ),
        ]
        if i.examples:
            shown = "; ".join(f"{kind}: {', '.join(codes)}" for kind, codes in i.examples.items())
            parts.append(f"<p class=muted>Examples: {escape(shown)}</p>")
    parts.append("<h2>Recovery</h2>")
    if analysis.recovery:
        parts.append(
            html_table(
                [
                    "outage",
                    "injected",
                    "first success",
                    "recovered",
                    "backlog peak",
                    "drained",
                    "requests per success",
                ],
                [
                    [
                        r.name,
                        "yes" if r.injected else "no (found in the data)",
                        both_clocks(r.time_to_first_success, run.speedup),
                        both_clocks(r.time_to_recover, run.speedup),
                        str(r.backlog_peak),
                        both_clocks(r.drain_time, run.speedup),
                        "-" if r.retry_amplification is None else f"{r.retry_amplification:.2f}",
                    ]
                    for r in analysis.recovery
                ],
            )
        )
    else:
        parts.append("<p>No fault windows and no outage found in the data.</p>")
    parts.append(completion_html(analysis.completion, analysis.unacked))
    parts.append(plenary_html(analysis.plenary, analysis.quality))
    if analysis.endpoints:
        parts += [
            "<h2>Endpoints</h2>",
            html_table(
                ["endpoint", "requests", "success", "p50", "p95", "p99", "max"],
                [
                    [
                        e.endpoint,
                        str(e.requests),
                        "-" if e.success_ratio is None else f"{100 * e.success_ratio:.2f}%",
                        millis(e.p50),
                        millis(e.p95),
                        millis(e.p99),
                        millis(e.max),
                    ]
                    for e in analysis.endpoints
                ],
            ),
        ]
    if analysis.failures:
        parts.append(
            "<p>Failures by kind: "
            + escape(", ".join(f"{k} {v}" for k, v in sorted(analysis.failures.items())))
            + "</p>"
        )
    if analysis.charts:
        parts.append("<h2>Charts</h2>")
        for title, path in analysis.charts.items():
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<img alt="{escape(title)}" src="data:image/png;base64,{data}">')
    if analysis.notes:
        parts += ["<h2>Notes</h2><ul>", *[f"<li>{escape(n)}</li>" for n in analysis.notes], "</ul>"]
    if run.versions:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(run.versions.items()))
        parts.append(f"<p class=muted>Versions: {escape(shown)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
