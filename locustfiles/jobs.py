"""The work of a run: one job per TPS form and device, from the scenario's arrival schedule.

A job is one device sending one form: log in (unless it holds a token), upload each page at its
page time, submit the result, read it back. Jobs are ordered by ready time; with N generator
processes each takes the TPS whose rank (in ready order) modulo N is its index, so the split is
deterministic, balanced over time, and every form of a TPS stays with one process (one token
cache per device).

With a ``[plenary]``, the plan also holds one :class:`OperatorJob` per PPK operator (the TPS forms
it goes through, in code order); with ``[quality]``, the misread of every form that has one.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from scenarios import (
    Election,
    Misread,
    Population,
    Scenario,
    Zone,
    arrival_schedule,
    build_population,
    loads_scenario,
    misreads,
    operator_rows,
)


@dataclass(frozen=True, slots=True)
class Job:
    """One device sending one form. Times are simulated seconds from the scenario start."""

    index: int
    tps_code: str
    tps_rank: int
    election: Election
    device_id: str
    secret: str
    pages: tuple[float, ...]

    @property
    def ready(self) -> float:
        return self.pages[0]

    @property
    def key(self) -> tuple[str, str, str]:
        """Sort key of the ledger: TPS, election, device."""
        return (self.tps_code, self.election, self.device_id)

    @property
    def idempotency_key(self) -> str:
        """One key per device and form, the same on every retry (and in every run)."""
        return self.key_for(1)

    def key_for(self, submission: int) -> str:
        """The key of the device's ``submission``-th result for this form (2: a fixed misread)."""
        return f"{self.device_id}/{self.election}/{submission}"


@dataclass(frozen=True, slots=True)
class OperatorJob:
    """One PPK operator and the TPS forms it reconciles, in the order it goes through them."""

    index: int
    operator_id: str
    kecamatan_code: str
    secret: str
    zone: Zone
    items: tuple[tuple[str, Election], ...]  # (TPS code, election)


@dataclass(frozen=True)
class Plan:
    """A scenario with its population and every job of the run, in ready order."""

    scenario: Scenario
    population: Population
    jobs: tuple[Job, ...]
    scenario_text: str = field(repr=False)
    operators: tuple[OperatorJob, ...] = ()
    misreads: Mapping[tuple[str, Election], Misread] = field(default_factory=dict, repr=False)

    @property
    def speedup(self) -> float:
        return self.scenario.clock.speedup

    @property
    def real_duration(self) -> float:
        return self.scenario.clock.real_duration

    @cached_property
    def tps_in_run(self) -> int:
        return len({job.tps_code for job in self.jobs})

    @cached_property
    def tps_ready(self) -> tuple[float, ...]:
        """When each TPS of the run has its first form ready (simulated seconds), sorted."""
        first: dict[str, float] = {}
        for job in self.jobs:
            first[job.tps_code] = min(job.ready, first.get(job.tps_code, job.ready))
        return tuple(sorted(first.values()))

    def partition(self, index: int, count: int) -> tuple[Job, ...]:
        """The jobs of generator process ``index`` of ``count``."""
        if not 0 <= index < count:
            raise ValueError(f"process index must be in 0..{count - 1}, got {index}")
        return tuple(job for job in self.jobs if job.tps_rank % count == index)


def build_plan(text: str, source: str = "<scenario>") -> Plan:
    """Validate scenario ``text`` (ScenarioError if invalid) and lay out every job."""
    scenario = loads_scenario(text, source)
    population = build_population(scenario)
    schedule = arrival_schedule(scenario, population)
    devices = scenario.client.devices_per_tps
    jobs: list[Job] = []
    for rank, arrival in enumerate(schedule.in_run()):
        tps = population.get(arrival.code)
        for form in arrival.forms:
            if form.ready >= schedule.duration:
                continue
            for device in tps.devices[:devices]:
                jobs.append(
                    Job(
                        0,
                        tps.code,
                        rank,
                        form.election,
                        device.device_id,
                        device.secret,
                        form.pages,
                    )
                )
    jobs.sort(key=lambda job: (job.ready, job.tps_code, job.election, job.device_id))
    numbered = tuple(
        Job(i, j.tps_code, j.tps_rank, j.election, j.device_id, j.secret, j.pages)
        for i, j in enumerate(jobs)
    )
    forms = dict.fromkeys((job.tps_code, job.election) for job in numbered)
    found = misreads(scenario.quality, population, forms)
    return Plan(scenario, population, numbered, text, operator_jobs(scenario, population), found)


def operator_jobs(scenario: Scenario, population: Population) -> tuple[OperatorJob, ...]:
    """The PPK operators of the plenary; with n per kecamatan, operator k takes every n-th TPS."""
    plenary = scenario.plenary
    if not plenary.enabled:
        return ()
    per = plenary.operators_per_kecamatan
    by_kecamatan: dict[str, list[str]] = {}
    zones: dict[str, Zone] = {}
    for tps in population.tps:
        by_kecamatan.setdefault(tps.kecamatan, []).append(tps.code)
        zones.setdefault(tps.kecamatan, tps.zone)
    operators: list[OperatorJob] = []
    for row in operator_rows(population, per):
        number = int(row.operator_id.rsplit("-", 1)[1])
        codes = sorted(by_kecamatan[row.kecamatan_code])[number - 1 :: per]
        items = tuple((code, election) for code in codes for election in plenary.elections)
        operators.append(
            OperatorJob(
                len(operators),
                row.operator_id,
                row.kecamatan_code,
                row.secret,
                zones[row.kecamatan_code],
                items,
            )
        )
    return tuple(operators)


def text_digest(text: str) -> str:
    """A short fingerprint of scenario text (to check master and workers run the same one)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


LOOKAHEAD = 3.0
"""Real seconds of due jobs the user pool is sized ahead for (it takes about that long to grow)."""


class DueTimes:
    """Sorted due times (real offsets from the clock start) of a set of jobs, for pool sizing."""

    def __init__(self, jobs: Sequence[Job], speedup: float) -> None:
        self._times = [job.ready / speedup for job in jobs]

    def __len__(self) -> int:
        return len(self._times)

    def due_by(self, offset: float) -> int:
        """Jobs due at or before ``offset`` real seconds after the clock start."""
        return bisect.bisect_right(self._times, offset)
