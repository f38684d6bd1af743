"""Charts of a run (matplotlib, PNG): simulated local clock on the x axis, fault windows shaded.

Every function takes plain series (simulated seconds since the start, values) so the charts can
be drawn from a saved run directory alone. One figure per file, readable at a glance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FAULT_COLOURS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
SIZE = (10, 4.2)


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

    def at(self, seconds: Sequence[float]) -> list[float]:
        """Matplotlib date numbers of the simulated times ``seconds``."""
        origin: float = mdates.date2num(self.start)  # type: ignore[no-untyped-call]
        return [origin + s / 86_400 for s in seconds]


def _figure(title: str, clock: ChartClock, ylabel: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.set_ylabel(ylabel)
    axes.set_xlabel(f"simulated time ({clock.zone}); real time = simulated / {clock.speedup:g}")
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M"))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.3)
    return figure, axes


def _shade(axes: Axes, clock: ChartClock, windows: Sequence[Window]) -> None:
    for index, window in enumerate(windows):
        start, end = clock.at([window.start, window.end])
        axes.axvspan(
            start,
            end,
            color=FAULT_COLOURS[index % len(FAULT_COLOURS)],
            alpha=0.12,
            label=f"fault: {window.name}",
        )


def _gaps(values: Sequence[float | None]) -> list[float]:
    """None as NaN: matplotlib breaks the line there instead of drawing across the gap."""
    return [math.nan if v is None else v for v in values]


def _save(figure: Figure, axes: Axes, path: Path) -> Path:
    handles, _ = axes.get_legend_handles_labels()
    if handles:
        axes.legend(loc="best", fontsize=8, framealpha=0.85)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def throughput(
    path: Path, clock: ChartClock, t: Sequence[float], ok: Sequence[float], failed: Sequence[float],
    windows: Sequence[Window],
) -> Path:  # fmt: skip
    figure, axes = _figure("Throughput", clock, "requests per real second")
    x = clock.at(t)
    axes.plot(x, ok, color="#2ca02c", linewidth=1.2, label="succeeded")
    axes.plot(x, failed, color="#d62728", linewidth=1.2, label="failed")
    _shade(axes, clock, windows)
    return _save(figure, axes, path)


def latency(
    path: Path, clock: ChartClock, t: Sequence[float],
    percentiles: Mapping[str, Mapping[str, Sequence[float | None]]], windows: Sequence[Window],
) -> Path:  # fmt: skip
    """``percentiles[endpoint][p50|p95|p99]``: real seconds per point (None: no data)."""
    figure, axes = _figure("Latency per endpoint", clock, "seconds (real)")
    x = clock.at(t)
    styles = {"p50": ":", "p95": "-", "p99": "--"}
    for index, (endpoint, series) in enumerate(sorted(percentiles.items())):
        colour = f"C{index}"
        for name, values in series.items():
            if any(v is not None for v in values):  # gaps (no data) break the line
                axes.plot(x, _gaps(values), styles.get(name, "-"), color=colour, linewidth=1,
                          marker=".", markersize=2.5,
                          label=f"{endpoint} {name}")  # fmt: skip
    axes.set_yscale("log")
    _shade(axes, clock, windows)
    return _save(figure, axes, path)


def errors(
    path: Path, clock: ChartClock, t: Sequence[float], by_kind: Mapping[str, Sequence[float]],
    windows: Sequence[Window],
) -> Path:  # fmt: skip
    figure, axes = _figure("Failures by kind", clock, "failures per real second")
    kinds = [kind for kind, values in sorted(by_kind.items()) if any(values)]
    if kinds:
        axes.stackplot(clock.at(t), *[by_kind[k] for k in kinds], labels=kinds, alpha=0.8)
    else:
        axes.text(0.5, 0.5, "no failures", transform=axes.transAxes, ha="center", color="grey")
    _shade(axes, clock, windows)
    return _save(figure, axes, path)


def completion(
    path: Path, clock: ChartClock, t: Sequence[float], ready: Sequence[float],
    acked: Sequence[float], manual: Mapping[str, Sequence[float]], windows: Sequence[Window],
) -> Path:  # fmt: skip
    figure, axes = _figure("Completion: TPS fully uploaded", clock, "TPS")
    x = clock.at(t)
    axes.plot(x, ready, color="grey", linewidth=1.5, label="ready (finished counting)")
    axes.plot(x, acked, color="#1f77b4", linewidth=2, label="acknowledged")
    for name, values in manual.items():
        axes.plot(x, values, ":", linewidth=1.5, label=f"manual recap, {name}")
    _shade(axes, clock, windows)
    return _save(figure, axes, path)


def backlog(
    path: Path, clock: ChartClock, t: Sequence[float], waiting: Sequence[float],
    windows: Sequence[Window],
) -> Path:  # fmt: skip
    figure, axes = _figure("Backlog: TPS ready but not yet acknowledged", clock, "TPS")
    axes.fill_between(clock.at(t), waiting, color="#ff7f0e", alpha=0.5, label="backlog")
    _shade(axes, clock, windows)
    return _save(figure, axes, path)


def server(
    path: Path, clock: ChartClock, t: Sequence[float], series: Mapping[str, Sequence[float | None]],
    windows: Sequence[Window],
) -> Path:  # fmt: skip
    """Scraped server metrics: e.g. in-flight, queue depth, 503s per second."""
    figure, axes = _figure("Server (scraped /metrics)", clock, "requests")
    x = clock.at(t)
    for name, values in series.items():
        if any(v is not None for v in values):
            axes.plot(x, _gaps(values), linewidth=1.2, marker=".", markersize=2.5, label=name)
    _shade(axes, clock, windows)
    return _save(figure, axes, path)
