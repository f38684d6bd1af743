"""The charts of one run, from its inputs and analysis, all on the run's simulated span."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from reports import charts
from reports.analyse import Facts
from reports.completion import Completion
from reports.inputs import RunInputs
from reports.instances import balancer_states, by_instance, served_per_second, summed_rounds
from reports.manual import MANUAL_RATES
from reports.plenary_view import plenary_chart
from rundir import endpoints
from rundir.histogram import Histogram

MANUAL_POINTS = 400


def chart_clock(inputs: RunInputs, facts: Facts) -> charts.ChartClock:
    """The clock of every time chart: x from simulated 0 to the end the run covered."""
    scenario = inputs.scenario
    end = facts.span.chart_end_s if facts.span is not None else scenario.clock.duration
    return charts.ChartClock(
        scenario.clock.start.replace(tzinfo=None), scenario.clock.zone, inputs.speedup, (0.0, end)
    )


def run_charts(inputs: RunInputs, facts: Facts, folder: Path) -> dict[str, Path]:
    """Draw every chart the run has data for into ``folder``: title -> PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    clock = chart_clock(inputs, facts)
    made = {
        title: charts.save(figure, folder / f"{name}.png")
        for title, (name, figure) in figures(inputs, facts, clock).items()
    }
    if facts.plenary is not None:
        chart = plenary_chart(facts.plenary, folder / "plenary.png")
        if chart is not None:
            made["Plenary"] = chart
    return made


def figures(inputs: RunInputs, facts: Facts, clock: charts.ChartClock) -> dict[str, Any]:
    """title -> (file stem, figure) of every time chart."""
    windows = [charts.Window(f.name, f.start, f.end) for f in facts.faults]
    rows = facts.per_second
    t = [row["sim"] for row in rows]
    made: dict[str, Any] = {}
    if rows:
        ok, failed = [r["ok"] for r in rows], [r["failed"] for r in rows]
        made["Throughput"] = ("throughput", charts.draw_throughput(clock, t, ok, failed, windows))
        latency = {
            endpoint: {
                name: [_seconds(r["latency"].get(endpoint), q) for r in rows]
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            }
            for endpoint in endpoints.DEVICE  # every endpoint of a device, the read-back too
        }
        made["Latency"] = ("latency", charts.draw_latency(clock, t, latency, windows))
        kinds = sorted({kind for r in rows for kind in r["failures"]})
        by_kind = {kind: [float(r["failures"].get(kind, 0)) for r in rows] for kind in kinds}
        made["Failures"] = ("errors", charts.draw_errors(clock, t, by_kind, windows))
    if facts.completion is not None:
        made.update(_completion_figures(facts.completion, clock, windows))
    server = server_series(inputs, clock.span[1] if clock.span else None)
    if server:
        times = server.pop("t")
        made["Server"] = ("server", charts.draw_server(clock, times, server, windows))
    made.update(_deployment_figures(inputs, clock, windows))
    return made


def _deployment_figures(
    inputs: RunInputs, clock: charts.ChartClock, windows: list[charts.Window]
) -> dict[str, Any]:
    """A deployment's: requests served per instance, and the balancer's view of each."""
    if (inputs.record.get("clock") or {}).get("start") is None:
        return {}
    start, speedup = inputs.clock_start, inputs.speedup
    made: dict[str, Any] = {}
    served = {
        name: served_per_second(lines, start, speedup)[0]
        for name, lines in by_instance(inputs.server_metrics).items()
    }
    if served:
        made["Instances"] = ("instances", charts.draw_instances(clock, served, windows))
    states = balancer_states(inputs.balancer, start, speedup)
    if states:
        made["Load balancer"] = ("balancer", charts.draw_balancer(clock, states, windows))
    return made


def _completion_figures(
    completion: Completion, clock: charts.ChartClock, windows: list[charts.Window]
) -> dict[str, Any]:
    end = clock.span[1] if clock.span else completion.duration
    times, ready, acked = completion.steps(end)
    grid = sorted({*times, *(end * i / (MANUAL_POINTS - 1) for i in range(MANUAL_POINTS))})
    if completion.manual is not None and completion.manual.start_s <= end:
        grid = sorted({*grid, completion.manual.start_s})
    since = "" if completion.manual is None else f",\nfrom {completion.manual.start_local}"
    manual = {
        f"{label}{since}": (grid, [completion.manual_by(g, per_day) for g in grid])
        for label, per_day in MANUAL_RATES.items()
    }
    backlog_times = [t for t in completion.events if t <= end]
    waiting = [float(completion.backlog(t)) for t in backlog_times]
    given_up = [float(completion.given_up_by(t)) for t in backlog_times]
    return {
        "Backlog": (
            "backlog", charts.draw_backlog(clock, backlog_times, waiting, given_up, windows)
        ),
        "Completion": (
            "completion",
            charts.draw_completion(
                clock, times, [float(r) for r in ready], [float(a) for a in acked], manual, windows
            ),
        ),
    }  # fmt: skip


def _seconds(histogram: Histogram | None, q: float) -> float | None:
    value = None if histogram is None else histogram.quantile(q)
    return None if value is None else value / 1000


def server_series(inputs: RunInputs, end: float | None = None) -> dict[str, Any]:
    """In-flight, queue depth and 503s per second from the scraped metrics, within the run's
    simulated span (scrapes before the clock start or after the end are not the run's)."""
    scrapes = summed_rounds([line for line in inputs.server_metrics if line.get("ok")])
    if not scrapes or (inputs.record.get("clock") or {}).get("start") is None:
        return {}  # nothing scraped, or the run failed before its clock started
    start = inputs.clock_start
    t, in_flight, queue, shed = [], [], [], []
    previous: Counter[str] = Counter()
    for line in scrapes:
        samples = line["samples"]
        rejected = sum(v for k, v in samples.items() if k.startswith("sirekap_rejections_total"))
        delta = max(0.0, rejected - previous["rejected"]) if previous else 0.0
        previous["rejected"] = rejected
        sim = (line["t"] - start) * inputs.speedup
        if sim < 0 or (end is not None and sim > end):
            continue
        t.append(sim)
        in_flight.append(samples.get("sirekap_in_flight_requests"))
        queue.append(samples.get("sirekap_queue_depth"))
        shed.append(delta)
    if not t:
        return {}
    return {"t": t, "in flight": in_flight, "queue depth": queue, "503s per second": shed}
