"""Charts of a capacity plan (matplotlib, PNG), in the look of :mod:`reports.charts`.

- ``load_curves``: what each sweep stage took against what it was offered, its latency and its
  error and 503 shares, with the knee (median of the sweeps) and the repeats' spread;
- ``completion_vs_instances``: hours until 50/90/99% of the TPS are in, per instance count;
- ``completion_curve``: the share of all TPS taken in over the days, at the recommended count,
  against 2024's observed national curve and the manual recap;
- ``check_curves`` (``plan --verify``): TPS taken in over the night, predicted (dashed) and
  measured (solid) per replay, with the TPS ready and the deadlines.

Each function returns the path it wrote, or None when the plan lacks what the chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from reports.charts import FAULT_COLOURS, SIZE
from reports.knee import Knee, Stage
from reports.manual import MANUAL_RECAP_START as RECAP_START
from reports.plan import Plan
from reports.plan_check import PlanCheck
from scenarios import Scenario

DAY = 86_400.0
HOUR = 3_600.0
FAIL = "#d62728"
LIMITED = "#7f7f7f"
MARKERS = ("o", "s", "^", "D", "v", "P", "*")
SHARE_STYLES = {"50%": ":", "90%": "--", "99%": "-"}
CHECK_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


def _style(axes: Axes, title: str, ylabel: str) -> None:
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)


def _save(figure: Figure, panels: Sequence[Axes], path: Path, outside: bool = False) -> Path:
    """Legends inside (best place) or, for busy charts, outside on the right."""
    for axes in panels:
        handles, _ = axes.get_legend_handles_labels()
        if handles and outside:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, framealpha=0.85)
        elif handles:
            axes.legend(loc="best", fontsize=8, framealpha=0.85)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _knee(axes: Axes, knee: Knee, label: bool) -> None:
    """The knee median as a vertical line, the repeats' low..high as a band."""
    if knee.low_rps is not None and knee.high_rps is not None and knee.high_rps > knee.low_rps:
        axes.axvspan(
            knee.low_rps,
            knee.high_rps,
            color="#2ca02c",
            alpha=0.12,
            label=f"repeat spread {knee.low_rps:.4g}..{knee.high_rps:.4g} req/s" if label else None,
        )
    if knee.median_rps is not None:
        bound = " (lower bound)" if knee.lower_bound else ""
        axes.axvline(
            knee.median_rps,
            color="#2ca02c",
            linewidth=1.5,
            label=f"knee median {knee.median_rps:.4g} req/s{bound}" if label else None,
        )


def _points(
    axes: Axes,
    stages: Sequence[Stage],
    values: Sequence[float | None],
    colour: str,
    marker: str,
    label: str | None,
    size: float = 36,
    line: str = "-",
) -> None:
    """One repeat's stages: filled when passing, hollow red when failing, grey x when the
    generator could not keep the schedule (neither pass nor fail)."""
    shown = [(s, v) for s, v in zip(stages, values, strict=True) if v is not None]
    if not shown:
        return
    x = [s.offered_rps for s, _ in shown]
    y = [v for _, v in shown]
    axes.plot(x, y, line, color=colour, linewidth=0.8, alpha=0.6)
    faces = [colour if s.passed else "none" for s, _ in shown]
    edges = [colour if s.passed else (LIMITED if s.generator_limited else FAIL) for s, _ in shown]
    axes.scatter(
        x,
        y,
        s=size,
        marker=marker,
        facecolors=faces,
        edgecolors=edges,
        linewidths=1.3,
        label=label,
        zorder=3,
    )
    limited = [(s.offered_rps, v) for s, v in shown if s.generator_limited]
    if limited:
        axes.scatter(
            [p[0] for p in limited],
            [p[1] for p in limited],
            s=size * 1.6,
            marker="x",
            color=LIMITED,
            linewidths=1.5,
            zorder=4,
        )


def _legend_keys(axes: Axes, stages: Sequence[Stage]) -> None:
    """Legend entries for the failing and generator-limited marks, when there are any."""
    if any(s.failed for s in stages):
        axes.scatter([], [], marker="o", facecolors="none", edgecolors=FAIL, label="failing stage")
    if any(s.generator_limited for s in stages):
        axes.scatter([], [], marker="x", color=LIMITED, label="generator-limited stage")


def load_curves(stages: Sequence[Stage], knee: Knee, path: Path) -> Path | None:
    """Goodput, latency (p50, p95) and error/503 shares per stage over the offered load."""
    if not stages:
        return None
    figure, panels = plt.subplots(3, 1, figsize=(SIZE[0], 10.5), sharex=True, layout="constrained")
    goodput, latency, errors = panels
    repeats = sorted({s.repeat for s in stages})
    top = max(max(s.offered_rps, s.goodput_rps) for s in stages)
    goodput.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="offered")
    latencies = [v for s in stages for v in (s.p50_s, s.p95_s) if v is not None and v > 0]
    scale, unit = (1000.0, "ms") if latencies and max(latencies) < 1 else (1.0, "s")
    for index, repeat in enumerate(repeats):
        mine = sorted((s for s in stages if s.repeat == repeat), key=lambda s: s.offered_rps)
        colour, marker = f"C{index}", MARKERS[index % len(MARKERS)]
        name = f"repeat {repeat}"
        _points(goodput, mine, [s.goodput_rps for s in mine], colour, marker, name)
        for values, size in (([s.p50_s for s in mine], 18.0), ([s.p95_s for s in mine], 40.0)):
            shown = [None if v is None or v <= 0 else v * scale for v in values]
            _points(latency, mine, shown, colour, marker, None, size)
        error = [None if s.error_ratio is None else 100 * s.error_ratio for s in mine]
        shed = [None if s.shed_ratio is None else 100 * s.shed_ratio for s in mine]
        _points(errors, mine, error, colour, marker, None)
        _points(errors, mine, shed, colour, marker, None, 18, "--")
    errors.plot([], [], color="grey", label="all errors (solid, large marks)")
    errors.plot([], [], color="grey", linestyle="--", label="503s (dashed, small marks)")
    _style(goodput, "Load curves: goodput against offered load", "goodput (req/s)")
    _style(latency, "Latency per stage (small marks p50, large p95)", f"upload latency ({unit})")
    _style(errors, "Errors and 503s (admission control) per stage", "share of requests (%)")
    if latencies and max(latencies) / min(latencies) >= 20:
        latency.set_yscale("log")
    errors.set_xlabel("offered load (req/s, open arrivals)")
    errors.set_xlim(left=0)
    _legend_keys(goodput, stages)
    for axes in panels:
        _knee(axes, knee, label=axes is goodput)
    if knee.median_rps is None:
        goodput.text(
            0.5,
            0.92,
            "no knee: no stage passed below the first failing one",
            transform=goodput.transAxes,
            ha="center",
            color=FAIL,
        )
    return _save(figure, panels, path)


def _hours(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v / HOUR for v in values]


def completion_vs_instances(plan: Plan, path: Path) -> Path | None:
    """Hours after the start until 50/90/99% of the TPS are in, per instance count (log x),
    with the fault timeline; the recommended count and the deadlines marked."""
    counts = plan.sweep_counts
    if not counts or not plan.sweep_times:
        return None
    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")
    never = []
    for label, times in sorted(plan.sweep_times.items()):
        axes.plot(
            counts,
            _hours(times),
            SHARE_STYLES.get(label, "-"),
            marker=".",
            linewidth=1.5,
            label=f"{label} of the TPS in",
        )
        missing = [n for n, t in zip(counts, times, strict=True) if t is None]
        if missing:
            never.append(f"{label} at {_ranges(missing)}")
    for index, answer in enumerate(plan.answers):
        due = answer.deadline
        for zone, seconds in sorted(due.seconds.items()):
            axes.axhline(
                seconds / HOUR,
                color=FAULT_COLOURS[index % len(FAULT_COLOURS)],
                linewidth=1,
                alpha=0.8,
                linestyle="-.",
                label=f"{due.text} {zone}: {due.share:.0%} of the TPS ready by then due",
            )
    if plan.recommended is not None:
        axes.axvline(
            plan.recommended,
            color="black",
            linewidth=1.2,
            label=f"recommended: {plan.recommended} instance(s)",
        )
    axes.set_xscale("log")
    knee = "" if plan.knee_rps is None else f", {plan.knee_rps:.4g} req/s each"
    _style(
        axes,
        "Completion time against instance count (fault timeline included)",
        "hours after the scenario start (simulated)",
    )
    hours = [t / HOUR for times in plan.sweep_times.values() for t in times if t]
    if hours and max(hours) / min(hours) >= 10:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(lambda value, _: f"{value:g}")
        axes.yaxis.set_minor_formatter(NullFormatter())
    never_note = "\nno point = never reached: " + ", ".join(never) + " instances" if never else ""
    axes.set_xlabel(f"instances{knee}{never_note}")
    return _save(figure, [axes], path, outside=True)


def _ranges(counts: Sequence[int]) -> str:
    """The counts where a share is never reached, as ``first..last`` (usually the lowest)."""
    return f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}..{counts[-1]}"


def completion_curve(plan: Plan, path: Path, scenario: Scenario | None = None) -> Path | None:
    """Share of all TPS taken in over the days at the recommended count (fault timeline
    included), TPS ready, 2024's observed national curve and the manual recap.

    With the scenario the x axis counts local days (D0 starts at the start date's midnight)
    and the fault windows are shaded; without it, days since the start."""
    sizing, total = plan.recommended_sizing, plan.workload.total_tps
    if sizing is None or not sizing.taken_in or total <= 0:
        return None
    shift = 0.0
    if scenario is not None:
        begin = scenario.clock.start
        shift = begin.hour * HOUR + begin.minute * 60 + begin.second
    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")

    def days(seconds: Sequence[float]) -> list[float]:
        return [(shift + s) / DAY for s in seconds]

    def curve(series: tuple[float, ...], step: float) -> tuple[list[float], list[float]]:
        return days([(i + 1) * step for i in range(len(series))]), [v / total for v in series]

    axes.plot(
        *curve(sizing.arrived, sizing.step),
        color="grey",
        linewidth=1.5,
        label="TPS ready (finished counting)",
    )
    axes.plot(
        *curve(sizing.taken_in, sizing.step),
        color="#1f77b4",
        linewidth=2,
        label=f"taken in at {sizing.instances} instance(s)",
    )
    if plan.observed_2024:
        axes.plot(
            days([p[0] for p in plan.observed_2024]),
            [p[1] for p in plan.observed_2024],
            "--",
            color="black",
            marker="o",
            markersize=4,
            label="2024 observed (national, KPU)",
        )
    for label, manual in plan.manual.items():
        axes.plot(
            *curve(manual.taken_in, manual.step),
            ":",
            linewidth=1.5,
            label=f"manual recap, {label}, from {RECAP_START} (first plenary)",
        )
    if scenario is not None:
        for index, fault in enumerate(scenario.timeline):
            start, end = days([fault.start, fault.end])
            axes.axvspan(
                start,
                end,
                color=FAULT_COLOURS[index % len(FAULT_COLOURS)],
                alpha=0.15,
                label=f"fault: {fault.name}",
            )
    end = (shift + len(sizing.taken_in) * sizing.step) / DAY
    ticks = list(range(0, math.ceil(end) + 1, max(1, math.ceil(end / 10))))
    axes.set_xticks(ticks)
    axes.set_xticklabels([f"D{d}" if scenario is not None else f"+{d}d" for d in ticks])
    axes.set_xlim(0 if scenario is not None else shift / DAY, end)
    axes.set_ylim(0, 1.02)
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    zone = f" ({scenario.clock.zone})" if scenario is not None else ""
    _style(axes, "Completion: share of all TPS taken in", "share of all TPS")
    axes.set_xlabel(
        f"days{zone}, simulated" if scenario is not None else "days since the start, simulated"
    )
    return _save(figure, [axes], path, outside=True)


def check_curves(check: PlanCheck | None, path: Path, scenario: Scenario | None) -> Path | None:
    """TPS taken in over the night, predicted and measured, per replay."""
    if check is None or not check.replays:
        return None
    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")
    ready = check.replays[0].ready_curve
    if ready:
        axes.plot(
            [t / HOUR for t, _ in ready], [v for _, v in ready], color="grey", linewidth=1.5,
            label="TPS ready (measured)",
        )  # fmt: skip
    for index, replay in enumerate(check.replays):
        colour = CHECK_COLOURS[index % len(CHECK_COLOURS)]
        axes.plot(
            [t / HOUR for t, _ in replay.predicted_curve],
            [v for _, v in replay.predicted_curve], "--", color=colour, linewidth=1.5,
            label=f"{replay.instances} instances: predicted",
        )  # fmt: skip
        axes.plot(
            [t / HOUR for t, _ in replay.measured_curve], [v for _, v in replay.measured_curve],
            color=colour, linewidth=2, label=f"{replay.instances} instances: measured",
        )  # fmt: skip
    moments = {(d.zone, d.seconds) for d in check.replays[0].deadlines}
    for zone, seconds in sorted(moments, key=lambda m: m[1]):
        axes.axvline(seconds / HOUR, color="black", linestyle=":", linewidth=1)
        axes.annotate(
            f"deadline {zone}", (seconds / HOUR, 0), xytext=(2, 4), textcoords="offset points",
            rotation=90, fontsize=7, va="bottom",
        )  # fmt: skip
    start = f" after {scenario.clock.local(0.0)}" if scenario is not None else ""
    axes.set_xlabel(f"hours{start}, simulated")
    axes.set_ylim(bottom=0)
    _style(axes, "Plan check: TPS taken in, predicted and measured", "TPS")
    return _save(figure, [axes], path, outside=True)
