"""Run charts: one x range for all (the run's simulated span), per-second values as steps with
gaps where there is no data, legends outside the plot, tick labels that never overlap."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reports import charts
from reports.analyse import measure
from reports.inputs import read_run
from reports.run_charts import chart_clock, figures

FIXTURE = Path(__file__).parent / "fixtures" / "smoke-run"
SPAN = (0.0, 36_000.0)
CLOCK = charts.ChartClock(dt.datetime(2024, 2, 14, 13, 0), "WITA", 600.0, SPAN)
WINDOWS = [charts.Window("server down", 5400.0, 16200.0)]
T = [600.0 * i for i in range(60)]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _synthetic() -> dict[str, Figure]:
    ok = [0.0 if 9 <= i < 27 else 10.0 for i in range(60)]
    failed = [10.0 if 9 <= i < 27 else 0.0 for i in range(60)]
    gaps = [None if 9 <= i < 27 else 0.2 for i in range(60)]
    steps = [float(i) for i in range(60)]
    return {
        "throughput": charts.draw_throughput(CLOCK, T, ok, failed, WINDOWS),
        "latency": charts.draw_latency(CLOCK, T, {"page": {"p50": gaps, "p95": gaps}}, WINDOWS),
        "errors": charts.draw_errors(CLOCK, T, {"refused": failed, "timeout": ok}, WINDOWS),
        "no errors": charts.draw_errors(CLOCK, T, {"refused": [0.0] * 60}, []),
        "completion": charts.draw_completion(
            CLOCK, T, steps, steps, {"20 TPS/day": (T, [i / 3 for i in range(60)])}, WINDOWS
        ),
        "backlog": charts.draw_backlog(CLOCK, T, failed, [1.0] * 60, WINDOWS),
        "server": charts.draw_server(CLOCK, T, {"in flight": gaps}, WINDOWS),
    }


@pytest.fixture(scope="module")
def run_figures(tmp_path_factory: pytest.TempPathFactory) -> tuple[charts.ChartClock, dict]:
    run_dir = tmp_path_factory.mktemp("run") / "run"
    shutil.copytree(FIXTURE, run_dir)
    inputs = read_run(run_dir)
    facts = measure(inputs, inputs.scenario.slo.parsed)
    clock = chart_clock(inputs, facts)
    return clock, {title: figure for title, (_, figure) in figures(inputs, facts, clock).items()}


def test_every_chart_renders_a_png(tmp_path: Path) -> None:
    for name, figure in _synthetic().items():
        path = charts.save(figure, tmp_path / f"{name}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_every_time_chart_of_a_run_shows_the_runs_simulated_span(run_figures) -> None:  # type: ignore[no-untyped-def]
    """server.png used to start an hour early (scrapes before the clock start) and
    completion.png to run to the planned end: now all share 0 .. the end the run covered."""
    clock, made = run_figures
    assert set(made) == {"Throughput", "Latency", "Failures", "Backlog", "Completion", "Server"}
    expected = tuple(clock.at([0.0, clock.span[1]]))
    assert clock.span[1] < 14_400  # the smoke run ended when every form had its outcome
    for title, figure in made.items():
        assert figure.axes[0].get_xlim() == pytest.approx(expected), title
    server = made["Server"].axes[0].lines[0].get_xdata()
    assert min(server) >= expected[0] - 1e-9


def _sloped(xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
    """Segments that change both x and y (an interpolated line), NaN breaks skipped."""
    found = []
    for (x0, y0), (x1, y1) in itertools.pairwise(zip(xs, ys, strict=True)):
        if any(math.isnan(v) for v in (x0, y0, x1, y1)):
            continue
        if abs(x1 - x0) > 1e-12 and abs(y1 - y0) > 1e-12:
            found.append((x0, x1))
    return found


def _data_paths(figure: Figure) -> list[tuple[str, list[float], list[float]]]:
    axes = figure.axes[0]
    paths = [
        (str(line.get_label()), [float(x) for x in line.get_xdata()],  # type: ignore[union-attr]
         [float(y) for y in line.get_ydata()])  # type: ignore[union-attr]
        for line in axes.lines
        if isinstance(line, Line2D)
    ]  # fmt: skip
    for collection in axes.collections:
        if isinstance(collection, PolyCollection):
            for path in collection.get_paths():
                vertices = path.vertices
                label = str(collection.get_label())
                paths.append((label, list(vertices[:, 0]), list(vertices[:, 1])))
    return paths


def test_per_second_series_are_drawn_as_steps_never_sloping_before_an_outage(run_figures) -> None:  # type: ignore[no-untyped-def]
    _, made = run_figures
    for title, figure in made.items():
        for label, xs, ys in _data_paths(figure):
            if label.startswith("manual recap"):
                continue  # a modelled rate, not data
            assert _sloped(xs, ys) == [], (title, label)
    failed = next(line for line in made["Throughput"].axes[0].lines if line.get_label() == "failed")
    xs, ys = list(failed.get_xdata()), list(failed.get_ydata())  # type: ignore[arg-type]
    first = next(i for i, y in enumerate(ys) if y > 0)
    assert xs[first] == xs[first - 1] and ys[first - 1] == 0  # rises straight up at its second


def test_seconds_without_data_leave_a_gap_in_the_line() -> None:
    figure = _synthetic()["latency"]
    ys = list(figure.axes[0].lines[0].get_ydata())  # type: ignore[arg-type]
    assert any(math.isnan(y) for y in ys) and not _sloped(
        list(figure.axes[0].lines[0].get_xdata()),
        ys,  # type: ignore[arg-type]
    )


def test_legends_sit_outside_the_plot_area(run_figures) -> None:  # type: ignore[no-untyped-def]
    _, made = run_figures
    for title, figure in {**made, **_synthetic()}.items():
        axes = figure.axes[0]
        legend = axes.get_legend()
        if legend is None:
            continue
        figure.canvas.draw()
        box, plot = legend.get_window_extent(), axes.get_window_extent()
        assert box.x0 >= plot.x1 or not box.overlaps(plot), title


@pytest.mark.parametrize("span_h", [0.2, 4, 18, 30, 80, 14 * 24])
def test_tick_labels_never_overlap_whatever_the_span(span_h: float) -> None:
    clock = charts.ChartClock(dt.datetime(2024, 2, 14, 11, 0), "WIB", 100.0, (0, span_h * 3600))
    t = [i * span_h * 36 for i in range(100)]
    figure = charts.draw_throughput(clock, t, [1.0] * 100, [0.0] * 100, [])
    figure.canvas.draw()
    labels = [label for label in figure.axes[0].get_xticklabels() if label.get_text()]
    assert 2 <= len(labels) <= 8
    boxes = sorted((label.get_window_extent() for label in labels), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes)), span_h
    for label in labels:
        assert label.get_text().count(":") == 1  # one time per label, the date on its own line
    texts = [label.get_text() for label in labels]
    assert "\n" in texts[0]  # the date, on its own line, at the first tick
    days = [mdates.num2date(v).date() for v in figure.axes[0].get_xticks()]
    for index, text in enumerate(texts[1:], start=1):
        assert ("\n" in text) == (days[index] != days[index - 1])  # and where the day changes
