"""Charts of a run (matplotlib, PNG): simulated local clock on the x axis, fault windows shaded.

Every function takes plain series (simulated seconds since the start, values) so the charts can
be drawn from a saved run directory alone. One figure per file, readable at a glance:

- every time chart of a run shows the same x range, the run's simulated span (``ChartClock.span``),
  with ticks chosen by that span (:mod:`reports.timeaxis`);
- a per-second value holds over its whole second (steps), so nothing slopes between seconds: a
  failure drawn at 18:00 starts at 18:00; seconds without data (None) leave a gap;
- legends sit outside the plot area, on the right, where they cannot cover data.

``draw_*`` return the figure (tests read its limits, lines and legends); ``save`` writes a PNG.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reports import timeaxis

FAULT_COLOURS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
SIZE = (10, 4.2)
Values = Sequence[float | None]


@dataclass(frozen=True)
class Window:
    name: str
    start: float  # simulated seconds since the start
    end: float


@dataclass(frozen=True)
class ChartClock:
    """Maps simulated seconds to local wall time for the axis labels."""

    start: dt.datetime  # naive local time of simulated second 0
    zone: str
    speedup: float
    span: tuple[float, float] | None = None  # simulated seconds every chart shows

    def at(self, seconds: Sequence[float]) -> list[float]:
        """Matplotlib date numbers of the simulated times ``seconds``."""
        origin: float = mdates.date2num(self.start)  # type: ignore[no-untyped-call]
        return [origin + s / 86_400 for s in seconds]


def time_figure(title: str, clock: ChartClock, ylabel: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.set_ylabel(ylabel)
    axes.set_xlabel(f"simulated time ({clock.zone}); real time = simulated / {clock.speedup:g}")
    axes.xaxis_date()
    if clock.span is not None:
        begin, end = clock.span
        left, right = clock.at([begin, end])
        timeaxis.apply(axes, left, right, end - begin)
    axes.grid(True, alpha=0.3)
    return figure, axes


def shade(axes: Axes, clock: ChartClock, windows: Sequence[Window]) -> None:
    for index, window in enumerate(windows):
        start, end = clock.at([window.start, window.end])
        axes.axvspan(
            start,
            end,
            color=FAULT_COLOURS[index % len(FAULT_COLOURS)],
            alpha=0.12,
            label=f"fault: {window.name}",
        )


def _gaps(values: Values) -> list[float]:
    """None as NaN: matplotlib breaks the line there instead of drawing across the gap."""
    return [math.nan if v is None else v for v in values]


def stairs(
    starts: Sequence[float], width: float, values: Values
) -> tuple[list[float], list[float]]:
    """A staircase: each value held over [start, start + width); NaN breaks at missing data
    and between intervals that do not touch. Vertical edges only, no slopes."""
    xs: list[float] = []
    ys: list[float] = []
    values = _gaps(values)
    for index, (start, value) in enumerate(zip(starts, values, strict=True)):
        following = starts[index + 1] if index + 1 < len(starts) else math.inf
        touching = following <= start + width * 1.001
        stop = following if touching else start + width  # exact edges: vertical, no slope
        xs += [start, stop] + ([] if touching else [stop])
        ys += [value, value] + ([] if touching else [math.nan])
    return xs, ys


def hold(times: Sequence[float], values: Values, end: float) -> tuple[list[float], list[float]]:
    """A step function from events: each value holds from its time until the next (or ``end``)."""
    edges = [*times[1:], max(end, times[-1])] if times else []
    xs: list[float] = []
    ys: list[float] = []
    for start, stop, value in zip(times, edges, _gaps(values), strict=True):
        xs += [start, stop]
        ys += [value, value]
    return xs, ys


def finish(figure: Figure, axes: Axes) -> Figure:
    handles, _ = axes.get_legend_handles_labels()
    if handles:  # outside on the right: a legend never covers data
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return figure


def save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw_throughput(
    clock: ChartClock, t: Sequence[float], ok: Values, failed: Values, windows: Sequence[Window]
) -> Figure:
    figure, axes = time_figure("Throughput", clock, "requests per real second")
    x = clock.at(t)
    width = clock.at([clock.speedup])[0] - clock.at([0.0])[0]
    axes.plot(*stairs(x, width, ok), color="#2ca02c", linewidth=1.2, label="succeeded")
    axes.plot(*stairs(x, width, failed), color="#d62728", linewidth=1.2, label="failed")
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_latency(
    clock: ChartClock, t: Sequence[float], percentiles: Mapping[str, Mapping[str, Values]],
    windows: Sequence[Window],
) -> Figure:  # fmt: skip
    """``percentiles[endpoint][p50|p95|p99]``: real seconds per second (None: no data)."""
    title = "Latency per endpoint (successful requests)"
    figure, axes = time_figure(title, clock, "seconds (real)")
    x = clock.at(t)
    width = clock.at([clock.speedup])[0] - clock.at([0.0])[0]
    styles = {"p50": ":", "p95": "-", "p99": "--"}
    for index, (endpoint, series) in enumerate(sorted(percentiles.items())):
        for name, values in series.items():
            if any(v is not None for v in values):  # gaps (no data) break the line
                axes.plot(*stairs(x, width, values), styles.get(name, "-"), color=f"C{index}",
                          linewidth=1, label=f"{endpoint} {name}")  # fmt: skip
    axes.set_yscale("log")
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_errors(
    clock: ChartClock, t: Sequence[float], by_kind: Mapping[str, Sequence[float]],
    windows: Sequence[Window],
) -> Figure:  # fmt: skip
    figure, axes = time_figure("Failures by kind (stacked)", clock, "failures per real second")
    kinds = [kind for kind, values in sorted(by_kind.items()) if any(values)]
    x = clock.at(t)
    width = clock.at([clock.speedup])[0] - clock.at([0.0])[0]
    below = [0.0] * len(x)
    for index, kind in enumerate(kinds):
        above = [b + v for b, v in zip(below, by_kind[kind], strict=True)]
        xs, low = stairs(x, width, below)
        _, high = stairs(x, width, above)
        axes.fill_between(xs, low, high, color=f"C{index}", alpha=0.8, linewidth=0, label=kind)
        below = above
    if not kinds:
        axes.text(0.5, 0.5, "no failures", transform=axes.transAxes, ha="center", color="grey")
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_completion(
    clock: ChartClock, t: Sequence[float], ready: Sequence[float], acked: Sequence[float],
    manual: Mapping[str, tuple[Sequence[float], Sequence[float]]], windows: Sequence[Window],
    note: str = "",
) -> Figure:  # fmt: skip
    """``t``: the moments a count changes; ``manual``: label -> (times, TPS) of a baseline."""
    figure, axes = time_figure("Completion: TPS fully uploaded", clock, "TPS")
    end = clock.span[1] if clock.span else (t[-1] if t else 0.0)
    for values, style in ((ready, {"color": "grey", "linewidth": 1.5}),
                          (acked, {"color": "#1f77b4", "linewidth": 2})):  # fmt: skip
        xs, ys = hold(t, values, end)
        label = "ready (finished counting)" if values is ready else "acknowledged"
        axes.plot(clock.at(xs), ys, label=label, **style)  # type: ignore[arg-type]
    for name, (times, values) in manual.items():
        axes.plot(clock.at(times), values, ":", linewidth=1.5, label=f"manual recap, {name}")
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_backlog(
    clock: ChartClock, t: Sequence[float], waiting: Sequence[float], given_up: Sequence[float],
    windows: Sequence[Window],
) -> Figure:  # fmt: skip
    """``t``: the moments the backlog changes; ``waiting`` and ``given_up`` from each on."""
    figure, axes = time_figure("Backlog: TPS forms ready but not acknowledged", clock, "TPS forms")
    end = clock.span[1] if clock.span else (t[-1] if t else 0.0)
    xs, low = hold(t, waiting, end)
    _, high = hold(t, [w + g for w, g in zip(waiting, given_up, strict=True)], end)
    x = clock.at(xs)
    axes.fill_between(x, 0, low, color="#ff7f0e", alpha=0.55, linewidth=0,
                      label="waiting: ready, devices still trying")  # fmt: skip
    if any(given_up):
        axes.fill_between(x, low, high, color="#7f7f7f", alpha=0.45, linewidth=0, hatch="//",
                          label="given up: devices stopped, never acknowledged")  # fmt: skip
    axes.plot(x, high, color="black", linewidth=0.8, label="all unacknowledged")
    shade(axes, clock, windows)
    return finish(figure, axes)


def _scrape_steps(t: Sequence[float], values: Values) -> tuple[list[float], list[float]]:
    """Each scrape holds until the next one; a pause of over 3 scrape intervals is a gap."""
    if len(t) < 2:
        return list(t), _gaps(values)
    step = statistics.median(b - a for a, b in itertools.pairwise(t))
    xs: list[float] = []
    ys: list[float] = []
    for index, (start, value) in enumerate(zip(t, _gaps(values), strict=True)):
        following = t[index + 1] if index + 1 < len(t) else start + step
        stop = following if following - start <= 3 * step else start + step
        xs += [start, stop] + ([stop] if stop < following else [])
        ys += [value, value] + ([math.nan] if stop < following else [])
    return xs, ys


def draw_server(
    clock: ChartClock, t: Sequence[float], series: Mapping[str, Values], windows: Sequence[Window]
) -> Figure:
    """Scraped server metrics: e.g. in-flight, queue depth, 503s per second."""
    figure, axes = time_figure("Server (scraped /metrics)", clock, "requests")
    for name, values in series.items():
        if any(v is not None for v in values):
            axes.plot(*_scrape_steps(clock.at(t), values), linewidth=1.2, label=name)
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_instances(
    clock: ChartClock, series: Mapping[str, tuple[Sequence[float], Values]],
    windows: Sequence[Window],
) -> Figure:  # fmt: skip
    """Requests each instance of a deployment served per real second (its scraped counters)."""
    figure, axes = time_figure("Instances: requests served", clock, "requests per real second")
    for name, (t, values) in sorted(series.items()):
        axes.plot(*_scrape_steps(clock.at(t), values), linewidth=1.2, label=name)
    shade(axes, clock, windows)
    return finish(figure, axes)


def draw_balancer(
    clock: ChartClock, states: Mapping[str, tuple[Sequence[float], Values]],
    windows: Sequence[Window],
) -> Figure:  # fmt: skip
    """HAProxy's view: each instance in (up) or out (down) of the balancer, one row each."""
    figure, axes = time_figure("Load balancer: instances in service", clock, "instance")
    names = sorted(states)
    for row, name in enumerate(names):
        t, up = states[name]
        shown = [row + 0.8 * (value or 0.0) for value in up]
        axes.plot(*_scrape_steps(clock.at(t), shown), linewidth=1.6, label=f"{name} (high: up)")
    axes.set_yticks([row + 0.4 for row in range(len(names))], names)
    shade(axes, clock, windows)
    return finish(figure, axes)
