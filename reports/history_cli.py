"""``sirekap-loadtest history FOLDER [--scenario NAME] [--figure KEY]...``: a scenario's runs.

Lists the saved runs of one scenario found beneath FOLDER (reports/history.py), oldest first,
with their exit code, verdict and key figures, and draws each key figure's trend across the runs.
Without ``--scenario`` the folder must hold runs of one scenario only; ``--figure`` (repeatable,
globs allowed) chooses the key figures instead of the defaults. Prints the table and writes
``history.md``, ``history.json``, ``history.html`` (self-contained: its charts embedded) and
``charts/*.png`` (one chart per key figure, a point per run, runs that breached an SLO marked)
into ``--out`` (default: ``FOLDER/history-<scenario>/``). Runs that did not complete or cannot
be read are listed with their status and left out of the trend.

Exit codes: 0 the history was written; 2 usage (no runs in FOLDER, several scenarios and no
--scenario, a scenario or figure no run has, an --out that cannot be written).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure as Chart

from reports import charts
from reports.compare_cli import json_safe
from reports.console import emit, writable
from reports.figures import Figure as DataFigure
from reports.history import (
    COMPLETED,
    OTHER_SETTINGS,
    History,
    HistoryError,
    HistoryRun,
    Trend,
    history,
    shown,
)
from reports.markup import STYLE, charts_section, html_table, notes_section

OUTPUTS = ("history.md", "history.json", "history.html")
MARKS = {
    "breached": ("X", "#d62728", "breached an SLO"),
    "other": ("D", "#ff7f0e", "exit code not 0"),
}


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "figure"


def started(run: HistoryRun) -> str:
    return "-" if run.started is None else run.started.strftime("%Y-%m-%d %H:%M:%S")


def outcome(run: HistoryRun) -> str:
    """The verdict cell: the run's verdict, its --baseline comparison, or why it is left out."""
    if not run.in_trend:
        if run.status != COMPLETED:
            return f"left out: {run.status}"
        return "left out: " + (
            "other settings" if run.problem.startswith(OTHER_SETTINGS) else "unreadable"
        )
    text = run.verdict or "not reported"
    if run.baseline and run.baseline != "no regression":
        text += f", {run.baseline} against its baseline"
    return text


def rows(found: History) -> list[list[str]]:
    """One row per run: #, start, run id, exit code, verdict, then each key figure."""
    return [
        [
            str(index), started(run), run.run_id,
            "-" if run.exit_code is None else str(run.exit_code), outcome(run),
            *[shown(run.figures.get(key)) if run.in_trend else "-" for key in found.keys],
        ]
        for index, run in enumerate(found.runs, 1)
    ]  # fmt: skip


def label(key: str) -> str:
    """A key figure's column heading: a fault window's figures without "recovery."."""
    return key.removeprefix("recovery.") if "(" in key else key


def header(found: History) -> list[str]:
    return ["#", "started (UTC)", "run", "exit", "verdict", *map(label, found.keys)]


def headline(found: History) -> str:
    runs, left = len(found.runs), len(found.left_out)
    text = f"{found.scenario}: {runs} run{'s' if runs != 1 else ''}"
    return text + (f", {left} left out of the trend" if left else ", all in the trend")


def notes(found: History) -> list[str]:
    """The runs left out, and the key figures no run in the trend measured, with why."""
    lines = [f"left out: {run.run_id}: {run.problem}" for run in found.left_out]
    lines += [f"not measured: {t.key}: {t.why}" for t in found.trends() if not t.measured]
    lines += [f"not measured in any run, not shown: {key}: {why}" for key, why in found.dropped]
    return lines


def text_table(found: History) -> str:
    table = [header(found), *rows(found)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [headline(found), ""]
    for row in table:
        cells = [c.rjust(w) if i == 0 or i > 4 else c.ljust(w) for i, (c, w) in enumerate(
            zip(row, widths, strict=True))]  # fmt: skip
        lines.append("  ".join(cells).rstrip())
    return "\n".join([*lines, *([""] if notes(found) else []), *notes(found)])


def markdown(found: History, pictures: dict[str, Path], folder: Path) -> str:
    head = header(found)
    lines = [f"## History: {found.scenario}", "", headline(found), ""]
    lines += [
        "| " + " | ".join(head) + " |",
        "|---:|---|---|---:|---|" + "---:|" * len(found.keys),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows(found)]
    lines += ["", *[f"- {n}" for n in notes(found)]]
    if pictures:
        lines += ["", "### Trends", ""]
    lines += [f"![{key}]({path.relative_to(folder).as_posix()})" for key, path in pictures.items()]
    return "\n".join(lines).replace("\n\n\n", "\n\n").rstrip() + "\n"


def history_json(found: History, pictures: dict[str, Path], folder: Path) -> dict[str, Any]:
    def value(run: HistoryRun, key: str) -> float | str | None:
        figure = run.figures.get(key)
        return None if figure is None else json_safe(figure.value)

    return {
        "scenario": found.scenario,
        "folder": str(found.folder),
        "keys": list(found.keys),
        "not_shown": [{"key": key, "why": why} for key, why in found.dropped],
        "runs": [
            {
                "index": index, "run_id": run.run_id, "path": str(run.path),
                "started_utc": None if run.started is None else run.started.isoformat(),
                "status": run.status, "exit_code": run.exit_code, "verdict": run.verdict or None,
                "breached": list(run.breached), "baseline": run.baseline or None,
                "in_trend": run.in_trend, "problem": run.problem or None,
                "source": run.source or None,
                "figures": {key: value(run, key) for key in found.keys} if run.in_trend else {},
            }
            for index, run in enumerate(found.runs, 1)
        ],
        "trends": [
            {
                "key": t.key,
                "kind": None if t.figure is None else t.figure.kind,
                "better": None if t.figure is None else t.figure.better,
                "chart": str(pictures[t.key].relative_to(folder)) if t.key in pictures else None,
                "why": t.why or None,
                "points": [
                    {"index": p.index, "run_id": p.run.run_id, "value": json_safe(p.value),
                     "failed_slos": p.run.failed_slos}
                    for p in t.points
                ],
            }
            for t in found.trends()
        ],
    }  # fmt: skip


def _when(runs: Sequence[HistoryRun]) -> tuple[dt.datetime, list[float]]:
    """The first start and each run's seconds since it (a run with no start time: just after
    the one before it)."""
    known = [run.started for run in runs if run.started is not None]
    first = min(known) if known else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    seconds: list[float] = []
    for run in runs:
        at = run.started
        seconds.append((at - first).total_seconds() if at else (seconds[-1] + 1 if seconds else 0))
    return first, seconds


def _unit(figure: DataFigure, values: Sequence[float]) -> tuple[float, str]:
    """The scale and axis label of a figure's values: durations in ms, s, min or h by their
    size and on their clock, ratios in %, the rest as they are."""
    if figure.kind == "ratio":
        return 100.0, "%"
    if figure.kind != "duration":
        return 1.0, "requests per second" if figure.metric == "rate" else figure.metric
    clock = "simulated" if figure.simulated else "real"
    top = max(values, default=0.0)
    scale, name = next(
        (pair for limit, pair in ((1, (1000.0, "ms")), (120, (1.0, "s")), (7200, (1 / 60, "min")))
         if top < limit),
        (1 / 3600, "h"),
    )  # fmt: skip
    return scale, f"{name} ({clock})"


def draw_trend(trend: Trend) -> Chart:
    """One key figure across the runs: a point per run on its start time, numbered as in the
    table; a run that breached an SLO is a red cross, one that exited otherwise not 0 an orange
    diamond; "never" (a window that did not recover) is written at the top, with the run's
    number."""
    figure = trend.figure
    assert figure is not None
    finite = [p.value for p in trend.points if p.value is not None and math.isfinite(p.value)]
    scale, unit = _unit(figure, finite)
    first, seconds = _when([p.run for p in trend.points])
    pad = max(60.0, 0.05 * (seconds[-1] - seconds[0]))
    clock = charts.ChartClock(
        first.replace(tzinfo=None), "UTC", 1.0, (seconds[0] - pad, seconds[-1] + pad)
    )
    better = {"lower": " (lower is better)", "higher": " (higher is better)"}
    chart, axes = charts.time_figure(trend.key + better.get(figure.better, ""), clock, unit)
    axes.set_xlabel("run start (UTC); each point one run, numbered as in the table")
    xs = clock.at(seconds)
    ys = [math.nan if p.value is None or math.isinf(p.value) else p.value * scale
          for p in trend.points]  # fmt: skip
    axes.plot(xs, ys, "-o", color="#1f77b4", linewidth=1.4, markersize=5)
    axes.margins(y=0.2)
    if not finite:
        axes.set_ylim(0, 1)
    for kind, (marker, colour, label) in MARKS.items():
        chosen = [
            (x, y) for x, y, p in zip(xs, ys, trend.points, strict=True)
            if (p.run.failed_slos if kind == "breached"
                else not p.run.failed_slos and p.run.exit_code not in (0, None))
        ]  # fmt: skip
        if chosen:
            at, heights = [x for x, _ in chosen], [y for _, y in chosen]
            axes.scatter(at, heights, s=90, marker=marker, color=colour, zorder=3, label=label)
    for x, y, point in zip(xs, ys, trend.points, strict=True):
        if point.value is not None and math.isinf(point.value):
            axes.annotate(f"never ({point.index})", (x, 0.9), xycoords=axes.get_xaxis_transform(),
                          ha="center", color="#d62728")  # fmt: skip
        elif not math.isnan(y):
            axes.annotate(str(point.index), (x, y), textcoords="offset points", xytext=(0, 7),
                          ha="center", fontsize=8, color="#555")  # fmt: skip
    return charts.finish(chart, axes)


def draw_charts(found: History, folder: Path) -> dict[str, Path]:
    """charts/NN-<figure>.png for every key figure a run in the trend measured, in place of the
    PNGs an earlier history left there: key -> path."""
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    for stale in (folder / "charts").glob("*.png"):  # an earlier history's
        stale.unlink()
    pictures: dict[str, Path] = {}
    for number, trend in enumerate((t for t in found.trends() if t.measured), 1):
        path = folder / "charts" / f"{number:02d}-{_safe(trend.key)}.png"
        pictures[trend.key] = charts.save(draw_trend(trend), path)
    plt.close("all")
    return pictures


def render(found: History, pictures: dict[str, Path]) -> str:
    """history.html: the headline, the table, the charts (embedded), the notes."""
    marked = ["no" if run.failed_slos or not run.in_trend else "" for run in found.runs]
    classes = [["", "", "", "", mark, *[""] * len(found.keys)] for mark in marked]
    table = html_table(header(found), rows(found), classes)
    parts = [
        f"<h1>History: {escape(found.scenario)}</h1>",
        f"<p>{escape(headline(found))}, from <code>{escape(str(found.folder))}</code>.</p>",
        "<h2>Runs</h2>", f'<div style="overflow-x:auto">{table}</div>',
        charts_section({f"{key}: across the runs": path for key, path in pictures.items()}),
        notes_section(notes(found)),
    ]  # fmt: skip
    body = "\n".join(part for part in parts if part)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>history {escape(found.scenario)}</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_outputs(found: History, folder: Path) -> dict[str, Path]:
    """history.md, .json, .html and charts/ in ``folder``: name -> path."""
    pictures = draw_charts(found, folder)
    paths = {name: folder / name for name in OUTPUTS}
    paths["history.md"].write_text(markdown(found, pictures, folder))
    document = json.dumps(history_json(found, pictures, folder), indent=2, allow_nan=False)
    paths["history.json"].write_text(document + "\n")
    paths["history.html"].write_text(render(found, pictures))
    return paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sirekap-loadtest history",
        description="List a scenario's saved runs with their key figures and draw their trends.",
        epilog="Exit codes: 0 written, 2 usage.",
    )
    p.add_argument("folder", type=Path, help="a folder of saved runs (run --out), e.g. runs/")
    p.add_argument(
        "--scenario", metavar="NAME",
        help="the scenario to list (needed when FOLDER holds runs of several)",
    )  # fmt: skip
    p.add_argument(
        "--figure", action="append", default=[], metavar="KEY",
        help="a key figure to show instead of the defaults, e.g. page.p95 or 'recovery.*' "
        "(repeatable; globs allowed)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=Path, metavar="DIR",
        help="folder for history.md/.json/.html and charts/ (default: FOLDER/history-<scenario>)",
    )  # fmt: skip
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.out is not None:
        writable(args.out)  # before the runs are read
    found = history(args.folder, args.scenario, args.figure)
    folder = args.out or args.folder / f"history-{_safe(found.scenario)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = write_outputs(found, folder)
    except OSError as error:
        raise HistoryError(f"--out {folder}: cannot write there ({error.strerror})") from None
    emit(text_table(found))
    emit(f"\nhistory: {paths['history.html']} (also history.md, history.json, charts/)")
    return 0
