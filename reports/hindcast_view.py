"""The hindcast section of a run's report: its chart, the residual table, the provenance of the
parameters and the counterfactual in one sentence (HTML and Markdown share the words)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from reports import charts
from reports.hindcast import FITTED_BY_HARNESS, Hindcast, Row, pct
from reports.markup import html_table

HEAD = ["moment (WIB)", "published", "replay", "residual", "used", "within", "model", "backlog"]
# what each column is, under the table
LEGEND = (
    "replay: the target's national recap read during the run; residual: replay minus published; "
    "model: the fluid model of 2024's night (the counterfactuals' model); backlog: TPS ready in "
    "the replay but not yet acknowledged"
)
CURVE_STYLES = {
    "2024's night, modelled": {"color": "#1f77b4", "linestyle": ":", "linewidth": 1.5},
    "no attack, as built": {"color": "#2ca02c", "linestyle": "--", "linewidth": 1.5},
}
PLANNED_STYLE = {"color": "#9467bd", "linestyle": "-.", "linewidth": 1.8}


def _within(row: Row, tolerance: float) -> str:
    residual = row.residual_pp
    return "-" if residual is None else ("yes" if abs(residual) <= tolerance else "no")


def head(found: Hindcast) -> list[str]:
    """The residual table's columns: the modelled counterfactuals come last."""
    return [*HEAD, *(f"model: {label}" for label in found.counterfactual_labels())]


def table_rows(found: Hindcast) -> list[list[str]]:
    rows = []
    for row in found.rows:
        replay = pct(row.replay) + (" (after the load)" if row.held else "")
        rows.append([
            row.local, pct(row.published), replay if row.replay is not None else
            f"- ({row.why})", "-" if row.residual_pp is None else f"{row.residual_pp:+.1f} pp",
            "fitted" if row.fitted else "held out", _within(row, found.tolerance_pp),
            pct(row.modelled), "-" if row.backlog is None else str(row.backlog),
            *(pct(row.counterfactual.get(label)) for label in found.counterfactual_labels()),
        ])  # fmt: skip
    return rows


def hindcast_lines(found: Hindcast) -> list[str]:
    """The hindcast in sentences."""
    fitted = ", ".join(
        f"{name} = {value:g} (range {found.fit_ranges[name][0]:g}-{found.fit_ranges[name][1]:g})"
        if name in found.fit_ranges else f"{name} = {value:g}"
        for name, value in found.fitted.items()
    ) or "nothing"  # fmt: skip
    held = found.max_residual(False)
    fits = found.max_residual(True)
    verdict = (
        "no held-out moment was measured"
        if held is None
        else (
            f"every held-out moment within ±{found.tolerance_pp:g} pp (largest {held:.1f} pp)"
            if held <= found.tolerance_pp
            else f"held-out moments up to {held:.1f} pp off: beyond the ±"
            f"{found.tolerance_pp:g} pp goal, the model does not reproduce the days after"
        )
    )
    if not found.fitted:
        fit_line = "Nothing fitted: every published moment is a prediction of the model."
    elif found.fitted_by == FITTED_BY_HARNESS:
        fit_line = (
            f"Fitted by the harness before the run: {fitted}, on {', '.join(found.fit_on)} WIB "
            "only; the other moments are predictions held out of the fit."
        )
    else:
        fit_line = (
            f"Fitted values given in the scenario file (this run did not fit them): {fitted}; "
            f"the file names {', '.join(found.fit_on)} WIB as the moments they were fitted on."
        )
    fit_result = (
        f"Fitted moments: largest residual {'-' if fits is None else f'{fits:.1f} pp'}; "
        if found.fitted
        else ""
    )
    return [
        fit_line,
        f"{fit_result}{verdict[0].upper()}{verdict[1:]}."
        if not fit_result
        else f"{fit_result}{verdict}.",
        "Replay: the target's national recap (TPS with data over all TPS), read "
        f"{found.reads} times during the run ({found.unanswered} unanswered).",
        found.sentence,
    ]


def hindcast_chart(
    found: Hindcast, clock: charts.ChartClock, windows: list[charts.Window], path: Path
) -> Path:
    """The replay's measured curve, the published moments (filled: fitted; open: held out, with
    the tolerance) and the modelled curves, 2024's and the counterfactuals, on one axis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    end = clock.span[1] if clock.span else max(t for t, _ in found.replay or [(0.0, 0.0)])
    figure, axes = charts.time_figure(
        "Hindcast: national share of TPS with data", clock, "% of all TPS"
    )
    at = clock.at
    if found.replay:
        times, shares = zip(*found.replay, strict=True)
        axes.plot(at(list(times)), [100 * s for s in shares], color="black", linewidth=2,
                  label="replay: the national recap, read during the run")  # fmt: skip
        if any(r.held for r in found.rows) and times[-1] < end:
            axes.plot(
                at([times[-1], end]), [100 * shares[-1]] * 2, color="black", linewidth=1,
                linestyle=(0, (1, 2)), label="replay after the load (nothing left to send)",
            )  # fmt: skip
    for label, curve in found.curves.items():
        style = CURVE_STYLES.get(label, PLANNED_STYLE)
        times, shares = zip(*[(t, v) for t, v in curve if t <= end], strict=True)
        axes.plot(at(list(times)), [100 * s for s in shares], label=f"model: {label}", **style)  # type: ignore[arg-type]
    for fitted, marker in ((True, "o"), (False, "D")):
        rows = [r for r in found.rows if r.fitted is fitted and r.seconds <= end]
        if not rows:
            continue
        axes.errorbar(
            at([r.seconds for r in rows]), [100 * r.published for r in rows],
            yerr=None if fitted else found.tolerance_pp, fmt=marker, color="#d62728",
            markerfacecolor="#d62728" if fitted else "white", capsize=4,
            label="2024 published: "
            + ("fitted on" if fitted else f"held out, ±{found.tolerance_pp:g} pp"),
        )  # fmt: skip
    axes.axvline(at([found.deadline_s])[0], color="grey", linewidth=0.8, linestyle="--",
                 label=f"the counterfactual's moment ({found.deadline} WIB)")  # fmt: skip
    charts.shade(axes, clock, windows)
    axes.set_ylim(0, 100)
    return charts.save(charts.finish(figure, axes), path)


def hindcast_html(found: Hindcast | None, chart: Path | None) -> str | None:
    if found is None:
        return None
    rows = table_rows(found)
    classes = [
        [
            "",
            "",
            "",
            "",
            "",
            {"yes": "met", "no": "breached"}.get(row[5], ""),
            *[""] * (len(row) - 6),
        ]
        for row in rows
    ]
    parts = ["<h2>Hindcast: 2024's national curve</h2>"]
    parts.append(f"<p><b>{escape(found.sentence)}</b></p>")
    if chart is not None and chart.exists():
        data = base64.b64encode(chart.read_bytes()).decode()
        parts.append(f'<img alt="Hindcast" src="data:image/png;base64,{data}">')
    parts.append(html_table(head(found), rows, classes))
    parts.append(f"<p><small>{escape(LEGEND)}</small></p>")
    parts += [f"<p>{escape(line)}</p>" for line in hindcast_lines(found)[:-1]]
    if found.parameters:
        parts.append("<h3>Where each parameter comes from</h3>")
        parts.append(
            html_table(
                ["parameter", "value", "basis", "source or reason"],
                [[p["name"], p["value"], p["basis"], p["source"]] for p in found.parameters],
            )
        )
    if found.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in found.notes) + "</ul>")
    return "\n".join(parts)


def hindcast_md(found: Hindcast | None) -> list[str]:
    if found is None:
        return []
    columns = head(found)
    lines = ["", "Hindcast (2024's national curve):", "", f"| {' | '.join(columns)} |"]
    lines.append("|" + "---|" * len(columns))
    lines += [f"| {' | '.join(row)} |" for row in table_rows(found)]
    lines += ["", *(f"- {line}" for line in hindcast_lines(found))]
    lines += [f"- {note}" for note in found.notes]
    return lines
