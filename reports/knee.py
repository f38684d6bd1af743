"""The knee of a load sweep: per-stage figures, the SLO check of a stage, the knee of each sweep,
and the median and spread over repeated sweeps.

A stage offers a constant request rate (open arrivals) for a while; its figures come from the
seconds after its warm-up (steady state), out of the per-second histograms the load generator
wrote. A stage *passes* when every stage SLO holds and its goodput keeps up with the offered
rate (at least 95% of it); it is *generator-limited* (neither pass nor
fail) when the generator could not start the uploads on time. The knee of one sweep is the
highest passing offered load below the lowest failing one: the highest load at which the SLOs
still hold. One sweep is not a result on a noisy machine, so sweeps are repeated and the knee is
given as the median with its spread.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from reports.analyse import ScopeFigures, figures_of, scope_value
from scenarios import ENDPOINT_SCOPES, Slo, parse_slo

# Metrics that do not depend on how long a stage lasts; counts and rates do, so they are not
# stage SLOs.
STAGE_METRICS = frozenset({"p50", "p90", "p95", "p99", "p999", "max", "mean"}) | {
    "success_ratio",
    "error_ratio",
}
# Unless the scenario bounds the error ratio, a stage passes when fewer than 1% of requests fail.
DEFAULT_STAGE_SLOS = ("upload.error_ratio < 1%",)
# A stage whose start slip p99 exceeds this was not offered the load it claims (the
# harness must start each upload on time or say so).
MAX_SLIP_S = 1.0
# A service past its knee stops keeping up: queues grow and throughput falls behind the offer
# before anything fails (the 503s come once the queue is full). A stage passes only if its
# goodput is at least this share of the offered rate.
KEEP_UP = 0.95
KEEP_UP_CHECK = f"goodput >= {KEEP_UP:.0%} of offered"
SHED_KIND = "5xx:503"


def stage_slos(slos: Iterable[Slo]) -> tuple[Slo, ...]:
    """The scenario's SLOs that a sweep stage can be judged by (endpoint scopes, stage-length
    independent metrics), plus ``upload.error_ratio < 1%`` unless the scenario bounds the
    error or success ratio itself (without it, shedding up to 5% would pass unnoticed)."""
    chosen = tuple(s for s in slos if s.scope in ENDPOINT_SCOPES and s.metric in STAGE_METRICS)
    if any(s.metric in {"error_ratio", "success_ratio"} for s in chosen):
        return chosen
    return tuple(parse_slo(text) for text in DEFAULT_STAGE_SLOS) + chosen


@dataclass(frozen=True)
class StageCheck:
    expression: str
    value: float | None
    passed: bool


@dataclass(frozen=True)
class Stage:
    """One stage of one sweep, measured over its steady window."""

    repeat: int
    index: int
    offered_rps: float  # the request rate the stage offered (open arrivals)
    attempted_rps: float  # requests that ended in the window, per second
    goodput_rps: float  # successful requests per second
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    error_ratio: float | None
    shed_ratio: float | None  # 503 answers (admission control) among the requests
    failures: dict[str, int]
    slip_p99_s: float | None
    window_s: float
    checks: tuple[StageCheck, ...]
    note: str = ""

    @property
    def generator_limited(self) -> bool:
        return self.slip_p99_s is not None and self.slip_p99_s > MAX_SLIP_S

    @property
    def passed(self) -> bool:
        return not self.generator_limited and all(check.passed for check in self.checks)

    @property
    def failed(self) -> bool:
        return not self.generator_limited and not self.passed

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"], data["generator_limited"] = self.passed, self.generator_limited
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stage:
        fields = {k: v for k, v in data.items() if k not in {"passed", "generator_limited"}}
        fields["checks"] = tuple(StageCheck(**check) for check in data.get("checks", ()))
        return cls(**fields)


def measure_stage(
    timeline: Iterable[dict[str, Any]],
    slos: Sequence[Slo],
    *,
    repeat: int,
    index: int,
    offered_rps: float,
    window: tuple[int, int],
    slip_p99_s: float | None,
) -> Stage:
    """A stage's figures over the real seconds ``[window[0], window[1])`` of its timeline."""
    first, last = window
    lines = [
        line
        for line in timeline
        if line.get("kind") == "requests" and first <= int(line["second"]) < last
    ]
    scopes = figures_of(lines)
    upload = scopes["upload"]
    span = float(last - first)
    keeping_up = upload.ok / span / offered_rps if offered_rps > 0 else None
    checks = (
        StageCheck(KEEP_UP_CHECK, keeping_up, keeping_up is not None and keeping_up >= KEEP_UP),
        *(_check(slo, scopes, span) for slo in slos),
    )
    failures = Counter(upload.failures)
    shed = failures.get(SHED_KIND, 0)

    def latency(q: str) -> float | None:
        return scope_value(upload, q, span)

    return Stage(
        repeat=repeat,
        index=index,
        offered_rps=offered_rps,
        attempted_rps=upload.requests / span,
        goodput_rps=upload.ok / span,
        p50_s=latency("p50"),
        p95_s=latency("p95"),
        p99_s=latency("p99"),
        error_ratio=scope_value(upload, "error_ratio", span),
        shed_ratio=shed / upload.requests if upload.requests else None,
        failures=dict(sorted(failures.items())),
        slip_p99_s=slip_p99_s,
        window_s=span,
        checks=checks,
        note="" if upload.requests else "no request ended in the steady window",
    )


def _check(slo: Slo, scopes: dict[str, ScopeFigures], span: float) -> StageCheck:
    figures = scopes.get(slo.scope, ScopeFigures())
    value = scope_value(figures, slo.metric, span)
    return StageCheck(slo.expression, value, value is not None and slo.holds(value))


@dataclass(frozen=True)
class SweepKnee:
    """The knee of one sweep: ``rps`` is None when no stage passed."""

    repeat: int
    rps: float | None
    first_failing_rps: float | None  # None: the sweep never failed (the knee is a lower bound)

    @property
    def bounded(self) -> bool:
        return self.first_failing_rps is not None


def sweep_knee(stages: Sequence[Stage], repeat: int) -> SweepKnee:
    """The highest passing offered load below the lowest failing one, for one sweep."""
    failing = [s.offered_rps for s in stages if s.failed]
    ceiling = min(failing, default=None)
    passing = [
        s.offered_rps for s in stages if s.passed and (ceiling is None or s.offered_rps < ceiling)
    ]
    return SweepKnee(repeat, max(passing, default=None), ceiling)


@dataclass(frozen=True)
class Knee:
    """The knee over repeated sweeps: the median, and how far the sweeps spread around it."""

    sweeps: tuple[SweepKnee, ...]
    median_rps: float | None
    low_rps: float | None
    high_rps: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def spread(self) -> float | None:
        """(high - low) / median: 0.1 means the sweeps spread over 10% of the knee."""
        if self.median_rps is None or self.low_rps is None or self.high_rps is None:
            return None
        return (self.high_rps - self.low_rps) / self.median_rps if self.median_rps else None

    @property
    def lower_bound(self) -> bool:
        """True when some sweep never failed: the knee is at least the median, maybe more."""
        return any(not sweep.bounded for sweep in self.sweeps)

    def to_json(self) -> dict[str, Any]:
        return {
            "median_rps": self.median_rps,
            "low_rps": self.low_rps,
            "high_rps": self.high_rps,
            "spread": self.spread,
            "lower_bound": self.lower_bound,
            "sweeps": [asdict(sweep) for sweep in self.sweeps],
            "notes": list(self.notes),
        }


def knee_of(stages: Sequence[Stage]) -> Knee:
    """The knee of every sweep (by ``repeat``) and their median and range."""
    repeats = sorted({stage.repeat for stage in stages})
    sweeps = tuple(sweep_knee([s for s in stages if s.repeat == r], r) for r in repeats)
    values = [sweep.rps for sweep in sweeps if sweep.rps is not None]
    notes = []
    if any(sweep.rps is None for sweep in sweeps):
        notes.append("a sweep had no passing stage: even its lowest load broke an SLO")
    if any(not sweep.bounded for sweep in sweeps):
        notes.append("a sweep never failed: the knee is at least this much (raise --max-rps)")
    limited = sum(1 for stage in stages if stage.generator_limited)
    if limited:
        notes.append(
            f"{limited} stage(s) were generator-limited (start slip p99 > {MAX_SLIP_S:g} s) "
            "and count neither as passing nor failing"
        )
    if len(sweeps) == 1:
        notes.append("one sweep only: a single sweep is not a result on a noisy machine")
    if not values:
        return Knee(sweeps, None, None, None, tuple(notes))
    return Knee(sweeps, statistics.median(values), min(values), max(values), tuple(notes))
