"""Recovery: for every fault window, and every outage in the data that nobody injected.

Works on a per-second series (``Second``, real seconds since the clock start) built from the run's
timeline. For a window it finds, after the window ends: the first success, the moment the service
is healthy again for a sustained period (success ratio and latency back within bounds), the backlog
peak and when it has drained, and how many requests each success cost (retry amplification).
Every duration is given in real seconds; the simulated ones are ``speedup`` times longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

# A second is bad when most requests in it fail. Bad runs closer than MERGE_GAP_S are one outage;
# an outage must last MIN_OUTAGE_S: shorter blips are noise, not an outage.
MIN_OUTAGE_S = 2.0
MERGE_GAP_S = 3.0
# Recovered: this many consecutive seconds with traffic, each within the bounds below.
SUSTAIN_S = 3
HEALTHY_RATIO = 0.95


@dataclass(frozen=True, slots=True)
class Second:
    real: float  # start of the second, real seconds since the clock start
    ok: int  # requests that succeeded
    failed: int  # requests that failed (any kind)
    p95: float | None  # real seconds; None when nothing completed in this second
    backlog: int  # TPS ready but not yet fully acknowledged

    @property
    def requests(self) -> int:
        return self.ok + self.failed

    @property
    def bad(self) -> bool:
        return self.failed > self.ok


@dataclass(frozen=True, slots=True)
class Recovery:
    name: str
    injected: bool
    start: float  # real seconds since the clock start
    end: float
    time_to_first_success: float | None  # real seconds after the end; None: never
    time_to_recover: float | None
    backlog_peak: int
    drain_time: float | None  # real seconds after the end until the backlog is back down
    retry_amplification: float | None  # requests per success from start to recovery
    detected: tuple[float, float] | None = None  # the outage as found in the data (real s)

    def with_detected(self, period: tuple[float, float]) -> Recovery:
        return replace(self, detected=period)

    def as_dict(self, speedup: float, sim_origin: float = 0.0) -> dict[str, Any]:
        """Both clocks: ``*_s`` real seconds, ``*_sim_s`` simulated seconds."""

        def both(key: str, value: float | None) -> dict[str, float | None]:
            return {
                f"{key}_s": None if value is None else round(value, 3),
                f"{key}_sim_s": None if value is None else round(value * speedup, 1),
            }

        return {
            "name": self.name,
            "injected": self.injected,
            "start_s": round(self.start, 3),
            "end_s": round(self.end, 3),
            "start_sim_s": round(sim_origin + self.start * speedup, 1),
            "end_sim_s": round(sim_origin + self.end * speedup, 1),
            **both("time_to_first_success", self.time_to_first_success),
            **both("time_to_recover", self.time_to_recover),
            **both("drain_time", self.drain_time),
            "backlog_peak": self.backlog_peak,
            "retry_amplification": self.retry_amplification,
            "detected_start_s": None if self.detected is None else round(self.detected[0], 3),
            "detected_end_s": None if self.detected is None else round(self.detected[1], 3),
        }


def detect_outages(seconds: Sequence[Second]) -> list[tuple[float, float]]:
    """Periods (real start, real end) in which most requests failed."""
    runs: list[list[float]] = []
    for second in seconds:
        if not second.bad:
            continue
        if runs and second.real - runs[-1][1] <= MERGE_GAP_S:
            runs[-1][1] = second.real + 1
        else:
            runs.append([second.real, second.real + 1])
    return [(start, end) for start, end in runs if end - start >= MIN_OUTAGE_S]


def analyse(
    name: str,
    window: tuple[float, float],
    seconds: Sequence[Second],
    *,
    injected: bool,
    latency_bound: float | None = None,
) -> Recovery:
    """Recovery from ``window`` (real seconds). ``latency_bound``: p95 a healthy second keeps."""
    start, end = window
    after = [s for s in seconds if s.real >= end]
    first_ok = next((s.real for s in after if s.ok > 0), None)
    recovered = _recovered_at(after, latency_bound)
    baseline = _baseline_backlog(seconds, start)
    drained = next((s.real for s in after if s.backlog <= baseline), None)
    until = recovered if recovered is not None else end
    span = [s for s in seconds if start <= s.real < until]
    successes = sum(s.ok for s in span)
    requests = sum(s.requests for s in span)
    peak = max(
        (s.backlog for s in seconds if start <= s.real and (drained is None or s.real <= drained)),
        default=0,
    )
    return Recovery(
        name=name,
        injected=injected,
        start=start,
        end=end,
        time_to_first_success=None if first_ok is None else max(0.0, first_ok - end),
        time_to_recover=None if recovered is None else max(0.0, recovered - end),
        backlog_peak=peak,
        drain_time=None if drained is None else max(0.0, drained - end),
        retry_amplification=round(requests / successes, 3) if successes else None,
    )


def _recovered_at(after: Sequence[Second], latency_bound: float | None) -> float | None:
    """Start of the first run of SUSTAIN_S healthy seconds with traffic (quiet seconds skipped)."""
    streak: list[float] = []
    for second in after:
        if second.requests == 0:
            continue
        healthy = second.ok >= HEALTHY_RATIO * second.requests and (
            latency_bound is None or second.p95 is None or second.p95 <= latency_bound
        )
        streak = [*streak, second.real] if healthy else []
        if len(streak) >= SUSTAIN_S:
            return streak[0]
    return None


def _baseline_backlog(seconds: Sequence[Second], start: float) -> int:
    """The backlog of normal operation: the largest one seen in the few seconds before ``start``."""
    before = [s.backlog for s in seconds if start - 5 <= s.real < start]
    return max(before, default=0)
