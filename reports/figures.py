"""The figures of one run that a comparison or a history lines up: named as in the SLOs.

Per endpoint and scope: p50, p95, p99, error ratio and rate; per injected fault window: time to
first success, time to recover, drain time and backlog peak; completion, throughput, integrity,
the generator's start slip, the plenary and the misreads where the run has them; and every SLO's
metric. Each value comes from the same resolver that judges the SLOs (reports.measurable), so a
figure means exactly what its SLO means. A latency quantile with fewer than ``MIN_TAIL``
successful requests beyond it is not measured: one slow request would move it.
summary.json keeps them under ``figures`` (key -> value, kind, better, clock, n, why).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.analyse import PERCENTILES, Facts
from reports.inputs import SHAPE_ERRORS, RunInputs, damaged, read_run
from reports.measurable import measured, resolve
from reports.verdict import Unmeasured, show_kind
from rundir.exits import LoadtestError
from scenarios import Slo
from scenarios.schema.compare import Better, better
from scenarios.schema.slo import Kind, SloSyntaxError, parse_metric

MIN_TAIL = 10  # successful requests beyond a quantile for it to count as measured
ENDPOINT_FIGURES = ("p50", "p95", "p99", "error_ratio", "rate")
WINDOW_FIGURES = ("time_to_first_success", "time_to_recover", "drain_time", "backlog_peak")
SIM_CLOCK_SCOPES = frozenset({"recovery", "completion", "plenary"})  # durations on the sim clock


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # "page.p95", "recovery.time_to_recover('short outage')"
    kind: Kind
    better: Better
    value: float | None  # seconds, a fraction, a count or a number; inf: never; None: see why
    n: int | None = None  # the requests behind an endpoint's figure
    why: str = ""  # why it is not measured

    @property
    def metric(self) -> str:
        return self.key.split(".", 1)[1].split("(", 1)[0]

    @property
    def scope(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def simulated(self) -> bool:
        """A duration on the simulated clock (recovery, completion, gavel times)."""
        return self.kind == "duration" and self.scope in SIM_CLOCK_SCOPES

    def as_dict(self) -> dict[str, Any]:
        finite = self.value is not None and math.isfinite(self.value)
        return {
            "value": self.value if finite else None,
            "never": self.value is not None and not finite,  # JSON has no infinity
            "kind": self.kind,
            "better": self.better,
            "clock": ("simulated" if self.simulated else "real")
            if self.kind == "duration"
            else None,
            "n": self.n,
            "why": self.why or None,
        }

    @classmethod
    def from_dict(cls, key: str, data: dict[str, Any]) -> Figure:
        value = data.get("value")
        number = math.inf if data.get("never") else (None if value is None else float(value))
        return cls(
            key, data["kind"], data["better"], number, data.get("n"), str(data.get("why") or "")
        )


def figure_keys(facts: Facts, slos: Sequence[Slo]) -> list[str]:
    """The figures this run has, in the order a table shows them."""
    keys = [
        f"{scope}.{metric}"
        for scope, figures in facts.scopes.items()
        if figures.requests
        for metric in ENDPOINT_FIGURES
    ]
    for recovery in facts.recovery:
        if recovery.injected:
            keys += [f"recovery.{metric}({recovery.name!r})" for metric in WINDOW_FIGURES]
    keys += ["recovery.outages", "recovery.max_retry_amplification"]
    if facts.completion is not None:
        keys += ["completion.final", "throughput.tps_per_day"]
    if facts.integrity is not None:
        keys += [f"integrity.{m}" for m in ("acknowledged", "lost", "duplicate", "corrupt")]
        keys += ["integrity.ambiguous"]
    keys += ["load.slip_p99", "load.abandoned"]
    if facts.plenary is not None:
        keys += [f"plenary.{m}" for m in ("tps_per_day", "gaveled", "open", "discrepancies")]
    if facts.quality is not None:
        keys += ["quality.misreads_undetected"]
    if facts.hindcast is not None:
        keys += facts.hindcast.figure_keys()
    keys += [slo.key for slo in slos if slo.scope != "plan"]
    return list(dict.fromkeys(keys))


def run_figures(facts: Facts, inputs: RunInputs, slos: Sequence[Slo]) -> dict[str, Figure]:
    """Every figure of :func:`figure_keys`, measured or with the reason it is not."""
    found: dict[str, Figure] = {}
    for key in figure_keys(facts, slos):
        try:
            metric = parse_metric(key)
        except SloSyntaxError:
            continue  # a window name no figure name can quote
        found[key] = _figure(facts, inputs, metric)
    return found


def _figure(facts: Facts, inputs: RunInputs, metric: Slo) -> Figure:
    way = better(metric.metric)
    scope = facts.scopes.get(metric.scope)
    n = None if scope is None else scope.requests
    if scope is not None and metric.metric in PERCENTILES:
        q = PERCENTILES[metric.metric]
        needed = math.ceil(MIN_TAIL / (1 - q))
        if scope.latency.count < needed:
            why = (
                f"too few requests: {scope.latency.count} succeeded, a {metric.metric} needs "
                f"{needed} ({MIN_TAIL} beyond it)"
            )
            return Figure(metric.key, metric.kind, way, None, n, why)
    value = resolve(facts, inputs, metric)
    if isinstance(value, Unmeasured):
        return Figure(metric.key, metric.kind, way, None, n, value.reason)
    return Figure(metric.key, metric.kind, way, value, n)


@dataclass(frozen=True)
class MeasuredRun:
    """A saved run, analysed again from its directory alone."""

    path: Path
    inputs: RunInputs
    facts: Facts
    figures: dict[str, Figure]


def measure_run(path: Path) -> MeasuredRun:
    """Read and analyse the run directory ``path`` (RunDirError when it is not one, or when a
    file of it has the wrong shape)."""
    try:
        inputs = read_run(path)
        slos = [slo for slo in inputs.scenario.slo.parsed if slo.scope != "plan"]
        facts = measured(inputs, slos)
        return MeasuredRun(path, inputs, facts, run_figures(facts, inputs, slos))
    except LoadtestError:
        raise
    except SHAPE_ERRORS as error:
        raise damaged(path, error) from None


def figures_json(figures: dict[str, Figure]) -> dict[str, Any]:
    return {key: figure.as_dict() for key, figure in figures.items()}


def show_value(figure: Figure, value: float | None) -> str:
    """A value of ``figure`` as the tables show it: "-" when not measured, a rate per second,
    a simulated duration marked "sim"."""
    if value is None:
        return "-"
    if figure.metric == "rate":
        return f"{value:.3g}/s"
    if figure.metric == "knee_rps":
        return f"{value:.4g} req/s"
    text = show_kind(figure.kind, value)
    return f"{text} sim" if figure.simulated and math.isfinite(value) else text
