"""How many load-generator processes a scenario needs, from a measurement of one process.

The scenario's demand at its busiest moment, in real seconds (its load factor included): forms
started, requests (each device's login when its TPS is ready, every page, each form's result;
read-backs come after the load) and bytes of photos, each over its busiest window of
``PEAK_WINDOW_REAL`` real seconds (at least a simulated minute, as the scenario summary). The
measurement (rundir/generator_capacity.py) says what one process sustains; the count is the
largest of the three ratios, rounded up, so the scarcest of forms, requests and bandwidth decides.
A measurement at another photo size or request mix is still used, and said, since its
requests/s and MB/s are what the host's process did at that size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rundir.generator_capacity import GeneratorCapacity, rate
from scenarios.schema.scenario import Scenario
from scenarios.workload.arrival import ArrivalSchedule
from scenarios.workload.overview import PEAK_WINDOW_REAL
from scenarios.workload.population import Population

MIX_TOLERANCE = 0.25  # a photo size or requests per form further off than this is said


@dataclass(frozen=True)
class GeneratorDemand:
    """The scenario's peak, per real second."""

    forms_per_s: float
    requests_per_s: float
    bytes_per_s: float
    photo_bytes: int  # median page photo of the scenario
    requests_per_form: float


@dataclass(frozen=True)
class GeneratorNeed:
    demand: GeneratorDemand
    capacity: GeneratorCapacity
    processes: int
    scarcest: str  # "forms", "requests" or "bandwidth"

    def peak(self) -> str:
        demand = self.demand
        return (
            f"{rate(demand.forms_per_s)} forms/s, {rate(demand.requests_per_s)} requests/s, "
            f"{rate(demand.bytes_per_s / 1e6)} MB/s real"
        )

    def needs(self) -> str:
        """``needs N`` or, from a measurement that is only a lower bound, ``needs at most N``."""
        at_most = " at most" if self.capacity.lower_bound else ""
        return f"needs{at_most} {self.processes} generator process(es)"

    def lines(self) -> list[str]:
        """What validate, plan and run print (the first line is the count)."""
        demand, capacity = self.demand, self.capacity
        lines = [
            f"{self.needs()} at its peak of {self.peak()} (the {self.scarcest} figure decides)",
            f"by {capacity.source or 'the measurement'}: {capacity.describe()}",
        ]
        bound = capacity.bound_line()
        if bound is not None:
            lines.append(bound)
        if _off(capacity.photo_bytes, demand.photo_bytes) or _off(
            capacity.requests_per_form, demand.requests_per_form
        ):
            lines.append(
                f"measured at {capacity.photo_bytes / 1e6:.3g} MB photos and "
                f"{capacity.requests_per_form:.3g} requests per form; this scenario sends "
                f"{demand.photo_bytes / 1e6:.3g} MB and {demand.requests_per_form:.3g}: for a "
                "closer count, calibrate with this scenario"
            )
        return lines


def _off(measured: float, wanted: float) -> bool:
    return wanted > 0 and abs(measured - wanted) / wanted > MIX_TOLERANCE


def generator_demand(
    scenario: Scenario, population: Population, schedule: ArrivalSchedule
) -> GeneratorDemand:
    """The peak forms, requests and bytes per real second (see the module doc)."""
    speedup = scenario.clock.speedup
    devices = scenario.client.devices_per_tps
    window = max(60.0, PEAK_WINDOW_REAL * speedup)
    duration = schedule.duration
    forms: list[float] = []
    requests: list[tuple[float, float]] = []
    pages: list[tuple[float, float]] = []
    for item in schedule.in_run():
        tps = population.get(item.code)
        requests.append((item.ready or 0.0, 1.0))  # the device's login
        for form in item.forms:
            if form.ready >= duration:
                continue
            forms.append(form.ready)
            sizes = tps.pages[form.election]
            sent = [(at, float(size)) for at, size in zip(form.pages, sizes, strict=True)]
            sent = [pair for pair in sent if pair[0] < duration]
            pages += sent
            requests += [(at, 1.0) for at, _ in sent]
            if len(sent) == len(form.pages):
                requests.append((form.pages[-1], 1.0))  # its result, after the last page
    forms.sort()
    photo = scenario.population.photo_size.median
    per_form = len(requests) / len(forms) if forms else 0.0
    return GeneratorDemand(
        forms_per_s=_peak([(at, 1.0) for at in forms], window) * speedup * devices,
        requests_per_s=_peak(requests, window) * speedup * devices,
        bytes_per_s=_peak(pages, window) * speedup * devices,
        photo_bytes=int(photo),
        requests_per_form=per_form,
    )


def _peak(weighted: Sequence[tuple[float, float]], window: float) -> float:
    """The highest sum of weights in any interval [t, t + window), per second of ``window``."""
    points = sorted(weighted)
    best = total = 0.0
    start = 0
    for moment, weight in points:
        total += weight
        while points[start][0] <= moment - window:
            total -= points[start][1]
            start += 1
        best = max(best, total)
    return best / window


def generator_need(demand: GeneratorDemand, capacity: GeneratorCapacity) -> GeneratorNeed:
    """The process count: the largest of the three ratios, rounded up (at least 1)."""
    ratios = {
        "forms": demand.forms_per_s / capacity.forms_per_s,
        "requests": demand.requests_per_s / capacity.requests_per_s,
        "bandwidth": demand.bytes_per_s / capacity.bytes_per_s,
    }
    scarcest = max(ratios, key=lambda name: ratios[name])
    processes = max(1, math.ceil(ratios[scarcest] - 1e-9))
    return GeneratorNeed(demand, capacity, processes, scarcest)
