"""``report.html``: one self-contained file (charts inlined), verdict first, works offline.

One function per section, in the page's order; each returns its HTML, or None when the run has
nothing for it (the section is then left out).
"""

from __future__ import annotations

from html import escape

from reports.completion_view import completion_html
from reports.hindcast_view import hindcast_html
from reports.markup import STYLE, charts_section, html_table, notes_section, slo_html_table
from reports.model import Analysis, RunFacts
from reports.plenary_view import plenary_html
from reports.summary_files import both_clocks, millis
from scenarios import format_duration

INTEGRITY_HEAD = ["acknowledged", "lost", "duplicate", "corrupt", "ambiguous (stored, never acked)"]
RECOVERY_HEAD = [
    "outage", "injected", "first success", "recovered", "backlog peak", "drained",
    "requests per success",
]  # fmt: skip
ENDPOINT_HEAD = ["endpoint", "requests", "success", "p50", "p95", "p99", "max"]


def render_html(analysis: Analysis) -> str:
    sections = [
        _header(analysis),
        _slos(analysis),
        hindcast_html(analysis.hindcast, analysis.hindcast_chart),
        _integrity(analysis),
        _recovery(analysis),
        # both views give "" when the run has no such figures: an empty line, kept as it was
        completion_html(analysis.completion, analysis.unacked),
        plenary_html(analysis.plenary, analysis.quality),
        _endpoints(analysis),
        _instances(analysis),
        charts_section(analysis.charts),
        notes_section(analysis.notes),
        _footer(analysis.run),
    ]
    return "\n".join(section for section in sections if section is not None)


def _instances(analysis: Analysis) -> str | None:
    """A deployment's instances: what each served and how long the balancer had it out."""
    if not analysis.instances:
        return None
    speedup = analysis.run.speedup
    rows = [
        [i.name, f"{i.served:,}", f"{i.shed:,}", "-" if i.in_flight_peak is None else
         f"{i.in_flight_peak:.0f}", both_clocks(i.down_sim_s / speedup, speedup), str(i.restarts)]
        for i in analysis.instances
    ]  # fmt: skip
    head = ["instance", "served", "503s", "in-flight peak", "out of the balancer", "restarts"]
    return "\n".join(["<h2>Instances</h2>", html_table(head, rows)])


def _covered(run: RunFacts) -> str:
    """The time the run covered (both clocks); "ended early after X of Y" when short."""
    return run.covered or (
        f"{format_duration(run.duration_sim_s)} simulated in "
        f"{format_duration(run.duration_real_s)} real (speedup {run.speedup:g})"
    )


def _header(analysis: Analysis) -> str:
    """The page's head, the scenario, the verdict box, and what the run was."""
    run, verdict = analysis.run, analysis.verdict
    about = (
        f"{run.clock_start_local}: {_covered(run)}. Load factor "
        f"{run.load_factor:.3g}: {run.load_factor_note}. Target {run.target}; fault layer "
        f"{run.toxiproxy}. Run {run.run_id}, {run.status}, {run.started} to {run.ended}."
    )
    return "\n".join(
        [
            "<!doctype html><html lang=en><head><meta charset=utf-8>",
            f"<title>{escape(run.scenario)}: {escape(verdict.name)}</title><style>{STYLE}</style>",
            "</head><body>",
            f"<h1>{escape(run.scenario)}</h1><div class=muted>{escape(run.description)}</div>",
            f'<div class="verdict {escape(verdict.name)}"><b>{escape(verdict.name.upper())}</b> '
            f"(exit code {verdict.exit_code}): {escape(verdict.reason)}</div>",
            f"<p>{escape(about)}</p>",
        ]
    )


def _slos(analysis: Analysis) -> str:
    return "<h2>SLOs</h2>\n" + slo_html_table(analysis.slos)


def _integrity(analysis: Analysis) -> str | None:
    """The ledger against the store: lost, duplicate, corrupt and ambiguous forms."""
    i = analysis.integrity
    if i is None:
        return None
    row = [str(n) for n in (i.acknowledged, i.lost, i.duplicate, i.corrupt, i.ambiguous)]
    if "duplicate" in i.unseen:
        row[2] = "not visible"
    parts = [
        "<h2>Integrity</h2>",
        f"<p>{escape(i.described()[0].upper() + i.described()[1:])}.</p>",
        html_table(INTEGRITY_HEAD, [row]),
    ]
    if i.examples:
        shown = "; ".join(f"{kind}: {', '.join(codes)}" for kind, codes in i.examples.items())
        parts.append(f"<p class=muted>Examples: {escape(shown)}</p>")
    return "\n".join(parts)


def _recovery(analysis: Analysis) -> str:
    """Each outage: how long to the first success, to recovery, and to drain the backlog."""
    if not analysis.recovery:
        return "<h2>Recovery</h2>\n<p>No fault windows and no outage found in the data.</p>"
    speedup = analysis.run.speedup
    rows = [
        [
            r.name,
            "yes" if r.injected else "no (found in the data)",
            both_clocks(r.time_to_first_success, speedup),
            both_clocks(r.time_to_recover, speedup),
            str(r.backlog_peak),
            both_clocks(r.drain_time, speedup),
            "-" if r.retry_amplification is None else f"{r.retry_amplification:.2f}",
        ]
        for r in analysis.recovery
    ]
    return "<h2>Recovery</h2>\n" + html_table(RECOVERY_HEAD, rows)


def _endpoints(analysis: Analysis) -> str | None:
    """Latency and success per endpoint, then the failures by kind."""
    parts = []
    if analysis.endpoints:
        rows = [
            [
                e.endpoint,
                str(e.requests),
                "-" if e.success_ratio is None else f"{100 * e.success_ratio:.2f}%",
                *map(millis, (e.p50, e.p95, e.p99, e.max)),
            ]
            for e in analysis.endpoints
        ]
        parts += ["<h2>Endpoints</h2>", html_table(ENDPOINT_HEAD, rows)]
    if analysis.failures:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(analysis.failures.items()))
        parts.append(f"<p>Failures by kind: {escape(kinds)}</p>")
    return "\n".join(parts) if parts else None


def _footer(run: RunFacts) -> str:
    """The versions of the parts that ran, and the end of the page."""
    if not run.versions:
        return "</body></html>"
    shown = ", ".join(f"{k} {v}" for k, v in sorted(run.versions.items()))
    return f"<p class=muted>Versions: {escape(shown)}</p>\n</body></html>"
