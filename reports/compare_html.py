"""``compare.html``: one self-contained page, the verdict first, then both runs on shared axes.

Three charts on the scenario's simulated clock, the base in grey and the new run in blue, each
run's fault windows shaded in its own colour (the base's hatched): the uploads' p95 latency (per
chart bucket, merged histograms), the share of TPS acknowledged, and the backlog. Then the table.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reports import charts
from reports.compare import IMPROVED, NOT_MEASURED, REGRESSED, Comparison, Side
from reports.compare_view import HEADER, headline, ordered, table_rows
from reports.figures import MeasuredRun
from reports.markup import STYLE, html_table
from rundir import endpoints
from rundir.histogram import Histogram

BUCKETS = 80  # points per latency line: a per-second p95 of a few requests is only noise
COLOURS = {"base": "#7f7f7f", "new": "#1f77b4"}


def _clock(comparison: Comparison[Side]) -> charts.ChartClock:
    scenario = comparison.new.first.inputs.scenario
    end = max(
        (r.facts.span.chart_end_s if r.facts.span else scenario.clock.duration)
        for side in (comparison.base, comparison.new)
        for r in side.runs
    )
    return charts.ChartClock(
        scenario.clock.start.replace(tzinfo=None),
        scenario.clock.zone,
        comparison.new.speedup,
        (0.0, end),
    )


def _latency(run: MeasuredRun, width: float) -> tuple[list[float], list[float | None]]:
    """Upload p95 (real seconds) per bucket of ``width`` simulated seconds."""
    buckets: dict[int, Histogram] = {}
    for row in run.facts.per_second:
        merged = buckets.setdefault(int(row["sim"] // width), Histogram())
        for name, histogram in row["latency"].items():
            if name in endpoints.UPLOAD:
                merged.merge(histogram)
    times, values = [], []
    for index in sorted(buckets):
        q = buckets[index].quantile(0.95)
        times.append(index * width)
        values.append(None if q is None else q / 1000)
    return times, values


def _shade(axes: Axes, clock: charts.ChartClock, run: MeasuredRun, side: str) -> None:
    for fault in run.facts.faults:
        start, end = clock.at([fault.start, fault.end])
        axes.axvspan(
            start, end, color=COLOURS[side], alpha=0.15, hatch="//" if side == "base" else None,
            label=f"{side}: {fault.name}",
        )  # fmt: skip


def png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _chart(comparison: Comparison[Side], title: str, ylabel: str, what: str) -> str:
    clock = _clock(comparison)
    figure, axes = charts.time_figure(title, clock, ylabel)
    end = clock.span[1] if clock.span else 0.0
    width = max(end / BUCKETS, comparison.new.speedup)
    for side, chosen in (("base", comparison.base), ("new", comparison.new)):
        for index, run in enumerate(chosen.runs):
            label = f"{side}: {run.path.name}" if index == 0 else None
            style = {"color": COLOURS[side], "linewidth": 1.8 if side == "new" else 1.4,
                     "alpha": 1.0 if index == 0 else 0.45, "label": label}  # fmt: skip
            if what == "latency":
                t, v = _latency(run, width)
                xs, ys = charts.stairs(t, width, v)
            elif run.facts.completion is None:
                continue
            else:
                completion = run.facts.completion
                times = [t for t in completion.events if t <= end]
                if what == "completion":
                    total = max(1, len(completion.ready))
                    values: Sequence[float] = [completion.acked_by(t) / total * 100 for t in times]
                else:
                    values = [float(completion.backlog(t)) for t in times]
                xs, ys = charts.hold(times, values, end)
            axes.plot(clock.at(xs), ys, **style)  # type: ignore[arg-type]
        _shade(axes, clock, chosen.first, side)
    return png(charts.finish(figure, axes))


def render(comparison: Comparison[Side]) -> str:
    """The whole page of two runs (or folders of repeated runs)."""
    images = []
    if not comparison.unfair:
        for title, ylabel, what in (
            ("Uploads' p95 latency (real seconds)", "seconds", "latency"),
            ("Completion: TPS acknowledged", "% of TPS ready in the run", "completion"),
            ("Backlog: TPS ready, not acknowledged", "TPS forms", "backlog"),
        ):
            images.append((title, _chart(comparison, title, ylabel, what)))
    return page(comparison, "Both runs on shared axes", images)


def page(comparison: Comparison[Any], heading: str, images: Sequence[tuple[str, str]]) -> str:
    """The page: the verdict, what differs, ``images`` (title, data URL) under ``heading``,
    the table of figures and the ones not measured in both."""
    css = {"regressed": "breached", "no regression": "passed"}.get(
        comparison.verdict, "inconclusive"
    )
    shown_rows = [
        list(row)
        for row, c in zip(table_rows(comparison), ordered(comparison), strict=True)
        if c.verdict != NOT_MEASURED
    ]
    cells = {REGRESSED: "no", IMPROVED: "yes"}
    classes = [
        ["", "", "", "", cells.get(c.verdict, ""), ""]
        for c in ordered(comparison)
        if c.verdict != NOT_MEASURED
    ]
    missing = [c for c in comparison.figures if c.verdict == NOT_MEASURED]
    name = escape(comparison.new.scenario_name)
    parts = [
        f"<h1>Comparison: {name}</h1>",
        f'<div class="verdict {css}">{escape(headline(comparison))}</div>',
        f"<p>Base <code>{escape(comparison.base.label)}</code>, new "
        f"<code>{escape(comparison.new.label)}</code>.</p>",
    ]
    notes = [*comparison.differences, *comparison.notes]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    if images:
        parts.append(f"<h2>{escape(heading)}</h2>")
        parts += [f'<img alt="{escape(title)}" src="{source}">' for title, source in images]
    parts.append("<h2>Figures</h2>")
    parts.append(html_table(list(HEADER), shown_rows, classes))
    if missing:
        items = "".join(f"<li><code>{escape(c.key)}</code>: {escape(c.why)}</li>" for c in missing)
        parts.append(
            f"<details><summary>{len(missing)} figures not measured in both</summary>"
            f"<ul>{items}</ul></details>"
        )
    body = "\n".join(parts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>compare {name}</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
