"""The run as Prometheus sees it while it runs: the figures of the harness's own ``/metrics``.

Every figure is one the run already has live: the generator's ``progress.json`` (the timeline's
running totals: requests by endpoint and outcome with their latency histograms, forms, start
slip; re-read only when it changed, never the whole timeline), the fault applier's active windows
and the shared clock. Once the generator has written its final files (``load_summary.json``
last), ``timeline.jsonl`` is read once and the figures are final: the counters then equal the
report's totals (summary.json ``endpoints[].requests``, ``ok``, ``failed``) exactly.

The metrics (prefix ``sirekap_loadtest_``; README "Live metrics: Prometheus and Grafana"):
``requests_total{endpoint,outcome}`` (``ok`` or a failure kind of rundir.failures),
``request_duration_seconds{endpoint,result}`` (histogram, ``result`` ok or failed),
``forms_started_total``, ``forms_finished_total{outcome}``, ``backlog_forms``, ``tps{state}``,
``start_slip_seconds`` (histogram), ``fault_active{window,layer,kind}``,
``simulated_time_seconds``, ``scenario_start_timestamp_seconds``,
``clock_start_timestamp_seconds``, ``speedup``, ``final_figures`` and ``run_info{run_id,scenario}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from faults.timeline import FaultWindow
from rundir import names
from rundir.endpoints import DEVICE
from rundir.files import read_json, read_jsonl
from rundir.histogram import Histogram
from rundir.progress import read_progress
from rundir.timeline import OUTCOMES, FormCell, RequestCell

PREFIX = "sirekap_loadtest_"
# seconds; the mock's own request buckets, so both sides of a dashboard panel compare alike
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
SLIP_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


@dataclass(frozen=True)
class RunFacts:
    """What the collector knows of its run; the clock and the active windows are read live."""

    run_dir: Path
    run_id: str
    scenario: str
    speedup: float
    scenario_start: float  # the simulated start (simulated 0) as a UNIX time
    windows: Sequence[FaultWindow] = ()
    sim_duration: float | None = None  # the scenario's length (simulated s): the clock stops there
    clock_start: Callable[[], float] = lambda: 0.0  # real UNIX time of simulated 0; 0: not yet
    active: Callable[[], Sequence[FaultWindow]] = lambda: ()


@dataclass
class Figures:
    """Totals so far (``final``: the generator's final files, the report's figures)."""

    endpoints: dict[str, RequestCell] = field(default_factory=dict)
    forms: FormCell = field(default_factory=FormCell)
    tps_ready: int | None = None
    tps_total: int | None = None
    sim_s: float | None = None  # the simulated clock where the load ended (final figures only)
    final: bool = False


def progress_figures(data: Mapping[str, Any]) -> Figures | None:
    """Figures of a ``progress.json``; None for one without totals (workers still joining)."""
    if "endpoints" not in data:
        return None
    forms = FormCell()
    forms.started = int(data.get("started", 0))
    forms.outcomes = {outcome: int(data.get(outcome, 0)) for outcome in OUTCOMES}
    if data.get("slip"):
        forms.slip = Histogram.from_json(data["slip"])
    return Figures(
        endpoints={str(k): RequestCell.from_json(cell) for k, cell in data["endpoints"].items()},
        forms=forms,
        tps_ready=data.get("tps_ready"),
        tps_total=data.get("tps_total"),
    )


def final_figures(run_dir: Path) -> Figures | None:
    """The run's final figures once the generator wrote its files (load_summary.json last); the
    timeline read once, every second added up as the report adds it."""
    summary = read_json(run_dir / names.LOAD_SUMMARY)
    if summary is None:
        return None
    figures = Figures(final=True, sim_s=(summary.get("run") or {}).get("sim_s"))
    figures.tps_total = (summary.get("forms") or {}).get("tps")
    for line in read_jsonl(run_dir / names.TIMELINE):
        if line.get("kind") == "requests":
            cell = figures.endpoints.setdefault(str(line["endpoint"]), RequestCell())
            cell.merge(RequestCell.from_json(line))
        elif line.get("kind") == "forms":
            figures.forms.merge(FormCell.from_json(line))
    return figures


def _buckets(histogram: Histogram, bounds_s: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative counts at each bound (to the histogram's 2% bucket resolution), then +Inf."""
    found = [(str(float(b)), float(histogram.count_at_most(b * 1000.0))) for b in bounds_s]
    return [*found, ("+Inf", float(histogram.count))]


class LiveCollector(Collector):
    """A prometheus_client collector of one run's figures, refreshed as each scrape asks."""

    def __init__(self, facts: RunFacts) -> None:
        self.facts = facts
        self.figures = Figures()
        self.scrapes = 0
        self.collected = threading.local()  # ``final``: what this thread's last scrape showed
        self._seen: tuple[int, int, int] | None = None  # progress.json's (inode, mtime, size)
        self._lock = threading.Lock()
        self._names = self._window_names()

    def _window_names(self) -> list[str]:
        """A name per window (its label, else layer/kind), made unique: one series each."""
        found: list[str] = []
        for window in self.facts.windows:
            base = window.label or f"{window.layer}/{window.kind}"
            name, n = base, 1
            while name in found:
                n += 1
                name = f"{base} #{n}"
            found.append(name)
        return found

    def refresh(self) -> None:
        """The latest figures: the final files once there, else a changed progress.json."""
        with self._lock:
            if self.figures.final:
                return
            run_dir = self.facts.run_dir
            try:
                final = final_figures(run_dir)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                final = None  # not readable whole: the live figures stay until it is
            if final is not None:  # the TPS ready are the generator's live figure alone
                final.tps_ready = self.figures.tps_ready
                final.tps_total = final.tps_total or self.figures.tps_total
                self.figures = final
                return
            try:
                stat = (run_dir / names.PROGRESS).stat()
            except OSError:
                return
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # each write a new file
            if seen == self._seen:
                return
            self._seen = seen
            try:
                figures = progress_figures(read_progress(run_dir))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                figures = None  # a shape we do not know: keep what we had
            if figures is not None:
                self.figures = figures

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the families depend on the run: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        self.refresh()
        figures = self.figures
        yield from self._run(figures)
        yield from self._requests(figures)
        yield from self._forms(figures)
        yield self._faults()
        self.collected.final = figures.final
        with self._lock:
            self.scrapes += 1

    def _run(self, figures: Figures) -> Iterator[Metric]:
        facts = self.facts
        info = GaugeMetricFamily(
            PREFIX + "run_info", "The run: its id (run directory name) and scenario; always 1",
            labels=["run_id", "scenario"],
        )  # fmt: skip
        info.add_metric([facts.run_id, facts.scenario], 1.0)
        yield info
        yield GaugeMetricFamily(
            PREFIX + "speedup", "Simulated seconds per real second", value=facts.speedup
        )
        yield GaugeMetricFamily(
            PREFIX + "scenario_start_timestamp_seconds",
            "The scenario's simulated start (simulated 0) as a UNIX time",
            value=facts.scenario_start,
        )
        yield GaugeMetricFamily(
            PREFIX + "final_figures",
            "1 once the figures are the run's final totals (the report's), 0 while live",
            value=1.0 if figures.final else 0.0,
        )
        clock_start = facts.clock_start()
        if not clock_start:
            return  # the clock is not fixed yet
        yield GaugeMetricFamily(
            PREFIX + "clock_start_timestamp_seconds",
            "Real UNIX time of simulated 0 (the shared clock's start)",
            value=clock_start,
        )
        if figures.sim_s is not None:
            simulated = float(figures.sim_s)
        else:  # the clock stops at the scenario's end (the drain and the report come after)
            simulated = max(0.0, (time.time() - clock_start) * facts.speedup)
            if facts.sim_duration is not None:
                simulated = min(simulated, facts.sim_duration)
        yield GaugeMetricFamily(
            PREFIX + "simulated_time_seconds",
            "The simulated clock: seconds since the scenario's start (stops where the load ended)",
            value=simulated,
        )

    def _requests(self, figures: Figures) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            PREFIX + "requests",
            "Requests the load generator finished, by endpoint and outcome (ok, or the failure "
            "kind: refused, timeout, reset, truncated, 4xx:<status>, 5xx:<status>, other)",
            labels=["endpoint", "outcome"],
        )
        latency = HistogramMetricFamily(
            PREFIX + "request_duration_seconds",
            "Request latency seen by the devices, by endpoint and result (ok or failed)",
            labels=["endpoint", "result"],
        )
        cells = {name: RequestCell() for name in DEVICE} | figures.endpoints
        for endpoint, cell in cells.items():
            requests.add_metric([endpoint, "ok"], float(cell.ok))
            for kind, count in sorted(cell.failures.items()):
                requests.add_metric([endpoint, kind], float(count))
            for result, histogram in (("ok", cell.ok_latency), ("failed", cell.failed_latency)):
                latency.add_metric(
                    [endpoint, result], _buckets(histogram, LATENCY_BUCKETS_S),
                    sum_value=histogram.sum / 1000.0,
                )  # fmt: skip
        yield requests
        yield latency

    def _forms(self, figures: Figures) -> Iterator[Metric]:
        forms = figures.forms
        yield CounterMetricFamily(
            PREFIX + "forms_started",
            "TPS forms (per device) whose upload started",
            value=float(forms.started),
        )
        finished = CounterMetricFamily(
            PREFIX + "forms_finished",
            "TPS forms (per device) that reached an outcome: acked, abandoned (given up) or "
            "rejected",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            finished.add_metric([outcome], float(forms.outcomes.get(outcome, 0)))
        yield finished
        yield GaugeMetricFamily(
            PREFIX + "backlog_forms",
            "TPS forms started and not yet acknowledged, given up or rejected (in progress)",
            value=float(max(0, forms.started - sum(forms.outcomes.values()))),
        )
        tps = GaugeMetricFamily(
            PREFIX + "tps", "TPS with a form ready by now (ready), and in the run (total)",
            labels=["state"],
        )  # fmt: skip
        for state, count in (("ready", figures.tps_ready), ("total", figures.tps_total)):
            if count is not None:
                tps.add_metric([state], float(count))
        yield tps
        slip = HistogramMetricFamily(
            PREFIX + "start_slip_seconds",
            "How late each form's upload started after its ready time (real seconds)",
        )
        slip.add_metric([], _buckets(forms.slip, SLIP_BUCKETS_S), sum_value=forms.slip.sum / 1e3)
        yield slip

    def _faults(self) -> Metric:
        active = {id(window) for window in self.facts.active()}
        faults = GaugeMetricFamily(
            PREFIX + "fault_active",
            "1 while a fault window of the scenario is in place, else 0",
            labels=["window", "layer", "kind"],
        )
        for name, window in zip(self._names, self.facts.windows, strict=True):
            faults.add_metric([name, window.layer, window.kind], float(id(window) in active))
        return faults
