"""How many load-generator processes a scenario needs, from a measurement of one process.

The scenario's demand at its busiest moment, in real seconds (its load factor included): forms
started, requests and bytes of photos, each over its busiest window (``peak_window``, as the
scenario summary). Requests are each device's login when its TPS is ready, every page, each
form's result and, for the share of forms a device reads back (``run --read-back``, 1 unless
told), one read after its result. Retries, corrected re-submissions and the plenary's operators
come on top when a night has failures: the count is for a night that goes well, the least the
run needs. The measurement (rundir/generator_capacity.py) says what one process sustains; the
count is the largest of the three ratios, rounded up, so the scarcest of forms, requests and
bandwidth decides, of those that carry over from the measurement's mix (``generator_need``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rundir.generator_capacity import GeneratorCapacity, rate
from scenarios.schema.scenario import Scenario
from scenarios.workload.arrival import ArrivalSchedule, peak_weighted
from scenarios.workload.overview import peak_window, requests_per_form
from scenarios.workload.population import Population

MIX_TOLERANCE = 0.25  # a photo size or requests per form further off than this is said
DEFAULT_READ_BACK = 1.0  # the share of acknowledged forms a device reads back (run's default)


@dataclass(frozen=True)
class GeneratorDemand:
    """The scenario's peak, per real second."""

    forms_per_s: float
    requests_per_s: float
    bytes_per_s: float
    photo_bytes: int  # median page photo of the scenario
    requests_per_form: float  # login share, pages and result (the calibration's mix)


@dataclass(frozen=True)
class GeneratorNeed:
    demand: GeneratorDemand
    capacity: GeneratorCapacity
    processes: int
    scarcest: str  # "forms", "requests" or "bandwidth"
    # the figures that carry over from the measurement to this scenario (see generator_need)
    counted_by: tuple[str, ...] = ("forms", "requests", "bandwidth")

    @property
    def estimate(self) -> bool:
        """Counted from requests/s alone: measured at another photo size."""
        return self.counted_by == ("requests",)

    def peak(self) -> str:
        demand = self.demand
        return (
            f"{rate(demand.forms_per_s)} forms/s, {rate(demand.requests_per_s)} requests/s, "
            f"{rate(demand.bytes_per_s / 1e6)} MB/s real"
        )

    def needs(self) -> str:
        """``needs N``; ``needs at most N`` from a measurement that is only a lower bound;
        ``needs about N`` when counted from requests/s alone."""
        qualifier = " about" if self.estimate else " at most" if self.capacity.lower_bound else ""
        return f"needs{qualifier} {self.processes} generator process(es)"

    def lines(self) -> list[str]:
        """What validate, plan and run print (the first line is the count)."""
        capacity = self.capacity
        lines = [
            f"{self.needs()} at its peak of {self.peak()} (the {self.scarcest} figure decides)",
            f"by {capacity.source or 'the measurement'}: {capacity.describe()}",
        ]
        bound = capacity.bound_line()
        if bound is not None:
            lines.append(bound)
        mix = self.mix_line()
        if mix is not None:
            lines.append(mix)
        return lines

    def mix_line(self) -> str | None:
        """What of the measurement does not carry over to this scenario, if anything."""
        demand, capacity = self.demand, self.capacity
        if self.counted_by == ("forms", "requests", "bandwidth"):
            return None
        measured = (
            f"measured at {capacity.photo_bytes / 1e6:.3g} MB photos and "
            f"{capacity.requests_per_form:.3g} requests per form (login share, pages, result); "
            f"this scenario sends {demand.photo_bytes / 1e6:.3g} MB and "
            f"{demand.requests_per_form:.3g}"
        )
        if self.estimate:
            return (
                f"{measured}: counted from requests/s alone, an estimate (a photo's size changes "
                "a request's cost); calibrate with this scenario for a count from its own mix"
            )
        return f"{measured}: counted from requests/s and MB/s (forms of another size)"


def _off(measured: float, wanted: float) -> bool:
    return wanted > 0 and abs(measured - wanted) / wanted > MIX_TOLERANCE


def generator_demand(
    scenario: Scenario,
    population: Population,
    schedule: ArrivalSchedule,
    read_back: float = DEFAULT_READ_BACK,
) -> GeneratorDemand:
    """The peak forms, requests and bytes per real second (see the module doc)."""
    speedup = scenario.clock.speedup
    devices = scenario.client.devices_per_tps
    window = peak_window(scenario)
    duration = schedule.duration
    forms: list[tuple[float, float]] = []
    requests: list[tuple[float, float]] = []
    pages: list[tuple[float, float]] = []
    for item in schedule.in_run():
        tps = population.get(item.code)
        requests.append((item.ready or 0.0, 1.0))  # the device's login
        for form in item.forms:
            if form.ready >= duration:
                continue
            forms.append((form.ready, 1.0))
            sizes = tps.pages[form.election]
            sent = [(at, float(size)) for at, size in zip(form.pages, sizes, strict=True)]
            sent = [pair for pair in sent if pair[0] < duration]
            pages += sent
            requests += [(at, 1.0) for at, _ in sent]
            if len(sent) == len(form.pages):  # its result after the last page, then a read
                requests.append((form.pages[-1], 1.0 + read_back))
    return GeneratorDemand(
        forms_per_s=peak_weighted(forms, window) * speedup * devices,
        requests_per_s=peak_weighted(requests, window) * speedup * devices,
        bytes_per_s=peak_weighted(pages, window) * speedup * devices,
        photo_bytes=int(scenario.population.photo_size.median),
        requests_per_form=requests_per_form(scenario),
    )


def stage_demand(scenario: Scenario, requests_per_s: float) -> GeneratorDemand:
    """The demand of a steady sweep stage offering ``requests_per_s`` of the scenario's mix."""
    per_form = requests_per_form(scenario)
    forms = requests_per_s / per_form
    elections = scenario.client.elections
    pages = sum(scenario.population.forms.pages(e) for e in elections) / len(elections)
    photo = scenario.population.photo_size.median
    return GeneratorDemand(forms, requests_per_s, forms * pages * photo, int(photo), per_form)


def generator_need(demand: GeneratorDemand, capacity: GeneratorCapacity) -> GeneratorNeed:
    """The process count: the largest of the ratios that carry over, rounded up (at least 1).

    All three carry over from a measurement of the scenario's own mix. Forms of another size
    (requests per form) leave requests/s and MB/s; photos of another size leave requests/s
    alone (MB/s measured with small photos says nothing of large ones), and the count is an
    estimate."""
    ratios = {
        "forms": demand.forms_per_s / capacity.forms_per_s,
        "requests": demand.requests_per_s / capacity.requests_per_s,
        "bandwidth": demand.bytes_per_s / capacity.bytes_per_s,
    }
    counted: tuple[str, ...] = ("forms", "requests", "bandwidth")
    if _off(capacity.photo_bytes, demand.photo_bytes):
        counted = ("requests",)
    elif _off(capacity.requests_per_form, demand.requests_per_form):
        counted = ("requests", "bandwidth")
    scarcest = max(counted, key=lambda name: ratios[name])
    processes = max(1, math.ceil(ratios[scarcest] - 1e-9))
    return GeneratorNeed(demand, capacity, processes, scarcest, counted)
