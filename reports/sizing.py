"""Sizing election night: how many instances take the whole population in, and by when.

A fluid model over simulated time: TPS become ready as the arrival curves say (each zone's curve
weighted by its share of the TPS), and the service completes TPS at ``instances x knee`` requests
per second divided by the requests one TPS needs, scaled down while a fault window holds (an outage
to zero, a brown-out to its fraction). Completion shares (50/90/99%) are of the TPS that finish
counting within the horizon: the 2024 curve plateaus at 78.8% (KPU public results JSON), and what
never arrives cannot be taken in. Times are simulated seconds from the scenario start; at load
factor 1 a simulated second is a real one, so the rates are the real national ones.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rundir import endpoints

Key = TypeVar("Key")  # a zone
UPLOAD_ENDPOINTS = frozenset(endpoints.UPLOAD)
Points = Sequence[tuple[float, float]]  # (simulated seconds, cumulative fraction), sorted
SHARES = ((0.5, "50%"), (0.9, "90%"), (0.99, "99%"))


def fraction_at(points: Points, t: float) -> float:
    """The piecewise-linear cumulative fraction at ``t`` (flat before and after the points)."""
    times = [p[0] for p in points]
    if t <= times[0]:
        return points[0][1]
    if t >= times[-1]:
        return points[-1][1]
    i = bisect.bisect_right(times, t)
    (t0, f0), (t1, f1) = points[i - 1], points[i]
    return f0 + (f1 - f0) * (t - t0) / (t1 - t0)


@dataclass(frozen=True)
class Demand:
    """TPS becoming ready per step, and what each TPS asks of the service."""

    step: float  # simulated seconds per step
    arrivals: tuple[float, ...]  # TPS ready in each step, from simulated second 0
    requests_per_tps: float
    bytes_per_tps: float  # sent: every device sends its photos
    stored_bytes_per_tps: float | None = None  # kept: one copy (default: bytes_per_tps)

    @property
    def ready(self) -> float:
        return sum(self.arrivals)

    @classmethod
    def from_curves(
        cls,
        curves: Mapping[Key, Points],
        shares: Mapping[Key, float],
        total_tps: float,
        requests_per_tps: float,
        bytes_per_tps: float,
        horizon: float,
        step: float = 60.0,
        stored_bytes_per_tps: float | None = None,
    ) -> Demand:
        steps = max(1, round(horizon / step))
        arrivals = []
        for i in range(steps):
            t0, t1 = i * step, (i + 1) * step
            arrivals.append(
                total_tps
                * sum(
                    shares[zone] * (fraction_at(points, t1) - fraction_at(points, t0))
                    for zone, points in curves.items()
                )
            )
        # TPS ready before the start (a backlog at simulated second 0) arrive in the first step.
        arrivals[0] += total_tps * sum(
            shares[zone] * fraction_at(points, 0.0) for zone, points in curves.items()
        )
        return cls(step, tuple(arrivals), requests_per_tps, bytes_per_tps, stored_bytes_per_tps)


@dataclass(frozen=True)
class Sizing:
    instances: int
    peak_requests_per_s: float  # offered by the arrivals (the service's own pace may be lower)
    peak_mb_per_s: float
    max_backlog: float  # TPS ready but not yet taken in
    completion: dict[str, float | None]  # "50%" -> simulated second reached (None: not reached)
    storage_bytes: float
    step: float = 60.0
    taken_in: tuple[float, ...] = ()  # TPS taken in by the end of each step (cumulative)
    arrived: tuple[float, ...] = ()  # TPS ready by the end of each step (cumulative)

    def _at(self, series: tuple[float, ...], t: float) -> float:
        if not series or t < 0:
            return 0.0
        index = min(len(series) - 1, int(t // self.step))
        before = series[index - 1] if index else 0.0
        return before + (series[index] - before) * min(1.0, (t - index * self.step) / self.step)

    def taken_in_by(self, t: float) -> float:
        """TPS taken in by simulated second ``t`` (linear within a step)."""
        return self._at(self.taken_in, t)

    def ready_by(self, t: float) -> float:
        """TPS that had finished counting by simulated second ``t``."""
        return self._at(self.arrived, t)


CapacityFactor = Callable[[float], float]


def simulate(
    demand: Demand, instances: int, knee_rps: float, factor: CapacityFactor = lambda _: 1.0
) -> Sizing:
    """Run the fluid model for ``instances`` instances that each serve ``knee_rps``."""
    step, per_tps = demand.step, demand.requests_per_tps
    ready, backlog, done, max_backlog = demand.ready, 0.0, 0.0, 0.0
    reached: dict[str, float | None] = {label: None for _, label in SHARES}
    taken_in: list[float] = []
    arrived: list[float] = []
    for i, arriving in enumerate(demand.arrivals):
        t = i * step
        capacity = instances * knee_rps / per_tps * step * max(0.0, factor(t))
        backlog += arriving
        served = min(backlog, capacity)
        before = done
        backlog -= served
        done += served
        max_backlog = max(max_backlog, backlog)
        taken_in.append(done)
        arrived.append((arrived[-1] if arrived else 0.0) + arriving)
        for share, label in SHARES:
            target = share * ready
            if reached[label] is None and done >= target - 1e-9 and served > 0:
                # linear within the step: the moment the target was crossed
                reached[label] = t + step * (target - before) / served
    peak = max(demand.arrivals, default=0.0) / step
    return Sizing(
        instances=instances,
        peak_requests_per_s=peak * per_tps,
        peak_mb_per_s=peak * demand.bytes_per_tps / 1e6,
        max_backlog=max_backlog,
        completion=reached,
        storage_bytes=ready
        * (
            demand.bytes_per_tps
            if demand.stored_bytes_per_tps is None
            else demand.stored_bytes_per_tps
        ),
        step=step,
        taken_in=tuple(taken_in),
        arrived=tuple(arrived),
    )


def manual_recap(demand: Demand, kecamatan: float, per_day: float, start_s: float) -> Sizing:
    """The manual recap as the same fluid model: ``per_day`` TPS a day in each of ``kecamatan``
    plenaries, none before ``start_s`` (the first plenary, see reports.manual), never more TPS
    than have finished counting."""
    rate = kecamatan * per_day / 86_400.0 * demand.requests_per_tps
    return simulate(demand, 1, rate, lambda t: 1.0 if t >= start_s else 0.0)


def meets_deadlines(sizing: Sizing, share: float, deadlines: Sequence[float]) -> bool:
    """True when, at every deadline, ``share`` of the TPS ready by then are taken in."""
    return all(sizing.taken_in_by(d) >= share * sizing.ready_by(d) - 1e-9 for d in deadlines)


def instances_for(
    demand: Demand,
    knee_rps: float,
    share: float,
    deadlines: Sequence[float],
    factor: CapacityFactor = lambda _: 1.0,
    most: int = 100_000,
) -> int | None:
    """The fewest instances that, at each deadline (a zone's local midnight, say), have taken in
    ``share`` of the TPS that had finished counting by then; None if even ``most`` cannot (an
    outage until after the deadline, say). TPS still counting at a deadline are not due by it:
    in 2024 only about half had finished by midnight (scenarios/FACTS.md, "Timing")."""

    def meets(n: int) -> bool:
        return meets_deadlines(simulate(demand, n, knee_rps, factor), share, deadlines)

    if not meets(most):
        return None
    low, high = 1, most
    while low < high:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle + 1
    return low


def fault_factor(
    windows: Sequence[tuple[float, float, str, str, Mapping[str, object]]],
) -> CapacityFactor:
    """Capacity left while fault windows hold: (start, end, layer, kind, params) each.

    An outage (network down, process kill or freeze) leaves nothing; a brown-out its
    ``capacity_fraction``; an error rate or flaky links the share of requests that get through.
    Latency-only faults do not change capacity in this model.
    """

    def left(layer: str, kind: str, params: Mapping[str, object]) -> float:
        endpoints = params.get("endpoints")
        if isinstance(endpoints, list | tuple) and not set(endpoints) & UPLOAD_ENDPOINTS:
            return 1.0  # a server fault on reads or the recap only: uploads go on
        if (layer, kind) in {("network", "down"), ("process", "kill"), ("process", "freeze")}:
            return 0.0
        if (layer, kind) == ("server", "brownout"):
            return float(params.get("capacity_fraction", 1.0))  # type: ignore[arg-type]
        if (layer, kind) == ("server", "errors"):
            return 1.0 - float(params.get("rate", 0.0))  # type: ignore[arg-type]
        if (layer, kind) == ("network", "flaky"):
            return 1.0 - float(params.get("fraction", 0.0))  # type: ignore[arg-type]
        return 1.0

    def factor(t: float) -> float:
        value = 1.0
        for start, end, layer, kind, params in windows:
            if start <= t < end:
                value *= left(layer, kind, params)
        return value

    return factor
