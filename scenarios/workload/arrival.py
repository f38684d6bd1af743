"""The arrival schedule: when each TPS finishes counting and when each of its pages is sent.

Times are simulated seconds from the scenario start. The schedule is open: TPS become ready on
it whatever the server does.

How the times are drawn (see :mod:`scenarios.schema.arrival` for the knobs):

- Counting: within each zone the TPS are put in a seeded random order and the i-th of n gets
  ``u = (i + jitter) / n``; its counting ends where the zone's cumulative curve reaches u (the
  curve is inverted piecewise-linearly). This stratified draw follows the curve closely even for
  small populations. A TPS whose u lies above the curve's last value never finishes in the run.
- Forms: the election with position k in the counting order (ppwp 0, pdpr 1, ...) is ready
  ``k * form_gap`` after counting ends; an offline TPS sends nothing before ``offline_delay``.
- Pages: the first page goes at the form's time, the last ``span`` later (log-normal; scaled by
  ``(pages - 1) / 2``), the others uniformly in between.
- Times before the start are moved to the start (a backlog when the run begins).
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from scenarios.schema.population import ELECTIONS, Election
from scenarios.schema.scenario import Scenario
from scenarios.schema.units import Zone
from scenarios.workload.population import Population, Tps
from scenarios.workload.sampling import derive_seed, lognormal, stream


@dataclass(frozen=True, slots=True)
class FormArrival:
    """When each page of one form is sent (simulated seconds from the start)."""

    election: Election
    pages: tuple[float, ...]

    @property
    def ready(self) -> float:
        return self.pages[0]


@dataclass(frozen=True, slots=True)
class TpsArrival:
    """One TPS's schedule. ``counted`` may be negative (before the start) or None (never)."""

    code: str
    zone: Zone
    counted: float | None
    offline: bool
    forms: tuple[FormArrival, ...]

    @property
    def ready(self) -> float | None:
        """When the device starts uploading (its first page), or None if it never does."""
        return min(form.ready for form in self.forms) if self.forms else None


@dataclass(frozen=True, slots=True, order=True)
class PageEvent:
    """One page to send: at ``at`` simulated seconds, page ``page`` (0-based) of a form."""

    at: float
    tps: str
    election: Election
    page: int


@dataclass(frozen=True)
class ArrivalSchedule:
    """The schedule of every TPS in the population (population order)."""

    duration: float
    tps: tuple[TpsArrival, ...]

    def in_run(self) -> list[TpsArrival]:
        """TPS whose first page falls inside the run, by ready time."""
        ready = [item for item in self.tps if item.ready is not None and item.ready < self.duration]
        return sorted(ready, key=lambda item: (item.ready, item.code))

    def ready_times(self) -> list[float]:
        """Sorted ready times inside the run."""
        return sorted(
            item.ready for item in self.tps if item.ready is not None and item.ready < self.duration
        )

    def page_events(self) -> list[PageEvent]:
        """Every page sent inside the run, in time order."""
        events = [
            PageEvent(at, item.code, form.election, index)
            for item in self.tps
            for form in item.forms
            for index, at in enumerate(form.pages)
            if at < self.duration
        ]
        events.sort()
        return events

    def peak_tps_rate(self, window: float = 60.0) -> float:
        """Most TPS becoming ready per simulated second, over any ``window`` seconds."""
        return peak_rate(self.ready_times(), window)

    def peak_page_rate(self, window: float = 60.0) -> float:
        """Most pages sent per simulated second, over any ``window`` seconds."""
        return peak_rate([event.at for event in self.page_events()], window)


def peak_rate(sorted_times: Sequence[float], window: float) -> float:
    """The highest count of times in any interval [t, t + window), divided by ``window``."""
    return peak_weighted([(moment, 1.0) for moment in sorted_times], window)


def peak_weighted(weighted: Sequence[tuple[float, float]], window: float) -> float:
    """The highest sum of the weights of (time, weight) pairs in any interval [t, t + window),
    divided by ``window``."""
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


def curve_seconds(scenario: Scenario, zone: Zone) -> tuple[tuple[float, float], ...]:
    """The zone's counting curve as (simulated seconds from the start, fraction) points, its
    times stretched by ``arrival.time_scale`` about the first."""
    clock, scale = scenario.clock, scenario.arrival.time_scale
    points = [(clock.offset(spec, zone), f) for spec, f in scenario.arrival.curve_for(zone)]
    first = points[0][0]
    return tuple((first + (t - first) * scale, fraction) for t, fraction in points)


def invert_curve(points: Sequence[tuple[float, float]], u: float) -> float | None:
    """The time where the cumulative curve reaches ``u``; None above its last value."""
    fractions = [fraction for _, fraction in points]
    if u > fractions[-1]:
        return None
    index = max(1, bisect_left(fractions, u))  # first point with fraction >= u
    (t0, f0), (t1, f1) = points[index - 1], points[index]
    return t0 if f1 == f0 else t0 + (u - f0) / (f1 - f0) * (t1 - t0)


def arrival_schedule(scenario: Scenario, population: Population) -> ArrivalSchedule:
    """The schedule of every TPS, deterministic from the population's seed."""
    seed = population.seed
    by_zone: dict[Zone, list[Tps]] = {}
    for tps in population.tps:
        by_zone.setdefault(tps.zone, []).append(tps)
    result: dict[str, TpsArrival] = {}
    for zone, members in by_zone.items():
        points = curve_seconds(scenario, zone)
        order = sorted(members, key=lambda tps: derive_seed(seed, "order", tps.code))
        for rank, tps in enumerate(order):
            rng = stream(seed, "arrival", tps.code)
            counted = invert_curve(points, (rank + rng.random()) / len(order))
            result[tps.code] = _tps_arrival(scenario, tps, counted, rng)
    return ArrivalSchedule(scenario.clock.duration, tuple(result[tps.code] for tps in population))


def _tps_arrival(
    scenario: Scenario, tps: Tps, counted: float | None, rng: random.Random
) -> TpsArrival:
    spec = scenario.arrival
    offline = rng.random() < spec.offline_fraction
    delay = rng.uniform(*spec.offline_delay)
    # Draw every form's spacing, uploaded or not, so the times do not depend on client.elections.
    spacing = {election: _page_offsets(rng, scenario, tps, election) for election in ELECTIONS}
    if counted is None:
        return TpsArrival(tps.code, tps.zone, None, offline, ())
    forms = []
    for position, election in enumerate(ELECTIONS):
        if election not in scenario.client.elections:
            continue
        sent = counted + position * spec.form_gap
        if offline:
            sent = max(sent, counted + delay)
        sent = max(0.0, sent)
        forms.append(FormArrival(election, tuple(sent + offset for offset in spacing[election])))
    return TpsArrival(tps.code, tps.zone, counted, offline, tuple(forms))


def _page_offsets(
    rng: random.Random, scenario: Scenario, tps: Tps, election: Election
) -> tuple[float, ...]:
    pages = len(tps.pages[election])
    span_spec = scenario.arrival.page_span
    span = lognormal(rng, span_spec.median, span_spec.p95) * (pages - 1) / 2
    inner = sorted(rng.uniform(0.0, span) for _ in range(max(0, pages - 2)))
    return (0.0, *inner, span) if pages > 1 else (0.0,)
