"""Capacity planning: from a measured knee to election night's instance count.

The scenario gives the population (its TPS before sampling, their zones, forms, pages and photo
sizes) and the arrival curves; the sweep gives the knee, the request rate one instance takes
with the SLOs holding. The fluid model of :mod:`reports.sizing` then answers, per instance
count, peak rates, backlog, completion times and storage, and the fewest instances that take in
a share of the TPS ready by a local deadline, with and without the scenario's fault timeline.
It compares the result with the manual recap and with 2024's observed national curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from reports.knee import Knee
from reports.manual import MANUAL_RECAP_START as RECAP_START
from reports.sizing import Demand, Sizing, fault_factor, instances_for, manual_recap, simulate
from reports.verdict import Unmeasured
from scenarios import (
    PUBLISHED_2024,
    Population,
    Scenario,
    Slo,
    Zone,
    build_population,
    curve_seconds,
    load_factor,
    lognormal_sigma,
    parse_time_spec,
    plan_args,
    requests_per_tps,
)

DAY: Final = 86_400.0
STEP_S: Final = 60.0
# Counting ends by +2d (scenarios/FACTS.md, "Timing"); two weeks leave room to drain.
HORIZON_DAYS: Final = 14
# The seed (NusaBali, 16 Feb 2024): the manual recap takes 20 TPS a day per kecamatan when it runs
# smoothly, 2 on the day Sirekap was down; 7,277 kecamatan (PPK) nationally (okezone 2023-07-02).
MANUAL_PER_DAY: Final = {"smooth (20 TPS/day per kecamatan)": 20.0, "stalled (2 TPS/day)": 2.0}
NATIONAL_KECAMATAN: Final = 7_277
# KPU's public results JSON counts 823,236 TPS (820,161 domestic, the rest overseas);
# the generated national population models the domestic ones, their zones stand for all.
NATIONAL_TPS: Final = 823_236
# National presidential progress (share of all TPS with data), WIB: scenarios/schema/hindcast.py.
OBSERVED_2024: Final = PUBLISHED_2024
TABLE_COUNTS: Final = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000)


@dataclass(frozen=True)
class Workload:
    """What election night asks of the service, from the scenario's population."""

    total_tps: int  # before sampling: the whole population the scenario models
    zones: dict[Zone, float]  # zone -> share of the TPS
    kecamatan: int
    requests_per_tps: float
    bytes_per_tps: float  # photo bytes one TPS stores (one copy: duplicates are deduplicated)
    devices_per_tps: int = 1  # each device sends every photo: the bytes sent per TPS

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def workload(
    scenario: Scenario, requests_per_tps: float, population: Population | None = None
) -> Workload:
    """What the scenario's population asks (``population``: the scenario's, when already
    built)."""
    population = population or build_population(scenario)
    counts = population.zones
    total = sum(counts.values()) or 1
    elections = scenario.client.elections
    photo = sum(tps.form_bytes(e) for tps in population for e in elections) / max(
        1, len(population)
    )
    kecamatan = len({tps.kecamatan for tps in population})
    total_tps = population.real_tps
    if scenario.population.scale == "national":
        kecamatan, total_tps = NATIONAL_KECAMATAN, NATIONAL_TPS
    elif scenario.population.scale == "regions":  # sampling drops TPS, not kecamatan
        kecamatan = len({region.code[:6] for region in scenario.population.regions})
    elif population.sample < 1:  # generated provinces: est. from the sample
        kecamatan = max(kecamatan, round(kecamatan / population.sample))
    return Workload(
        total_tps=total_tps,
        zones={zone: count / total for zone, count in sorted(counts.items())},
        kecamatan=kecamatan,
        requests_per_tps=requests_per_tps,
        bytes_per_tps=photo,
        devices_per_tps=scenario.client.devices_per_tps,
    )


@dataclass(frozen=True)
class Deadline:
    share: float
    text: str  # as written: "D0 24:00"
    seconds: dict[str, float]  # zone -> simulated seconds from the scenario start


@dataclass(frozen=True)
class Answer:
    """Instances needed for a share by a deadline, with and without the fault timeline."""

    deadline: Deadline
    instances: int | None
    instances_with_faults: int | None


@dataclass
class Plan:
    scenario: str
    workload: Workload
    knee: Knee
    knee_rps: float | None
    answers: list[Answer]
    rows: list[Sizing]  # per instance count, no faults
    rows_with_faults: list[Sizing]  # the same counts through the scenario's fault timeline
    faults: list[str]  # the fault windows used, described
    recommended: int | None
    sweep_counts: list[int]  # instance counts of the completion-vs-count chart
    sweep_times: dict[str, list[float | None]]  # "50%" -> completion second per count
    observed_2024: list[tuple[float, float]]  # (simulated s, share of all TPS)
    wib_midnight_s: float  # D0 24:00 WIB, simulated s (the comparison's extra moment)
    manual_days: dict[str, float]  # label -> days for the manual recap to take every TPS in
    notes: list[str] = field(default_factory=list)
    demand: Demand | None = None
    recommended_sizing: Sizing | None = None
    manual: dict[str, Sizing] = field(default_factory=dict)


def modelled_rps(scenario: Scenario) -> float | None:
    """Requests/s one instance of the mock's capacity model serves for the scenario's request mix
    (its workers over the mean busy time of a TPS): where `plan`'s sweep starts and stops looking
    (the sweep measures the knee), and the modelled rate of a hindcast's fluid model."""
    mock = scenario.target.mock
    if scenario.target.url or mock is None or mock.mode != "model":
        return None
    per_tps = requests_per_tps(scenario)
    forms = scenario.population.forms
    pages = sum(forms.pages(e) for e in scenario.client.elections)
    devices = scenario.client.devices_per_tps
    photo_mib = scenario.population.photo_size.median / 2**20
    times = mock.service_time
    busy = devices * (
        _mean(times.session.median, times.session.p95)
        + pages * (_mean(times.page.median, times.page.p95) + times.page.per_mib * photo_mib)
        + len(scenario.client.elections) * _mean(times.result.median, times.result.p95)
    )
    return mock.workers / (busy / per_tps)


def _mean(median: float, p95: float) -> float:
    """The mean of a log-normal given by its median and p95."""
    sigma = lognormal_sigma(median, p95)
    return median * math.exp(sigma * sigma / 2)


def deadline(scenario: Scenario, share_text: str, when: str, zones: list[Zone]) -> Deadline:
    """A share and a local deadline per zone (SLO arguments); ValueError when unusable."""
    share, spec = plan_args(share_text, when)
    seconds: dict[str, float] = {zone: scenario.clock.offset(spec, zone) for zone in zones}
    return Deadline(share, when, seconds)


def demand_of(scenario: Scenario, work: Workload, horizon: float | None = None) -> Demand:
    """The fluid model's arrivals; ``horizon`` (simulated s) defaults to the curves' end plus
    HORIZON_DAYS."""
    curves = {zone: curve_seconds(scenario, zone) for zone in work.zones}
    if horizon is None:
        horizon = max(points[-1][0] for points in curves.values()) + HORIZON_DAYS * DAY
    return Demand.from_curves(
        curves, work.zones, work.total_tps, work.requests_per_tps,
        work.bytes_per_tps * work.devices_per_tps, horizon=horizon, step=STEP_S,
        stored_bytes_per_tps=work.bytes_per_tps,
    )  # fmt: skip


def fault_windows(scenario: Scenario) -> list[tuple[float, float, str, str, dict[str, Any]]]:
    return [(f.start, f.end, f.layer, f.kind, dict(f.params)) for f in scenario.timeline]


def plan(
    scenario: Scenario, knee: Knee, requests_per_tps: float, asked: list[tuple[str, str]]
) -> Plan:
    """The whole plan; ``asked`` are (share, deadline) pairs, e.g. ("99%", "D0 24:00")."""
    work = workload(scenario, requests_per_tps)
    demand = demand_of(scenario, work)
    with_faults = fault_factor(fault_windows(scenario))
    described = [f"{f.name}: {f.layer} {f.kind} {dict(f.params)}" for f in scenario.timeline]
    notes = list(knee.notes)
    factor = load_factor(scenario).factor
    if scenario.target.url is None and abs(factor - 1) > 0.01:
        notes.append(
            f"the scenario replays at load factor {factor:.3g} (sample x speedup); the sweep runs "
            "in real time, so the knee is read as the capacity of one real instance: a "
            "[target.mock] capacity model scaled up for a fast replay overstates it that much"
        )
    observed = [
        (scenario.clock.offset(parse_time_spec(text), "WIB"), share)
        for text, share in OBSERVED_2024
    ]
    manual = {
        label: manual_recap(demand, work.kecamatan, per_day, scenario.clock.offset(RECAP_START))
        for label, per_day in MANUAL_PER_DAY.items()
    }
    manual_days = {
        label: demand.ready / (per_day * work.kecamatan)
        for label, per_day in MANUAL_PER_DAY.items()
    }
    result = Plan(
        scenario=scenario.name, workload=work, knee=knee, knee_rps=knee.median_rps,
        answers=[], rows=[], rows_with_faults=[], faults=described, recommended=None,
        sweep_counts=[], sweep_times={}, observed_2024=observed,
        wib_midnight_s=scenario.clock.offset(parse_time_spec("24:00"), "WIB"),
        manual_days=manual_days,
        notes=notes, demand=demand, manual=manual,
    )  # fmt: skip
    rate = knee.median_rps
    if rate is None or rate <= 0:
        notes.append("no knee: no instance count can be computed")
        return result
    result.answers = answers_at(scenario, work, demand, rate, asked)
    needed = [n for a in result.answers for n in (a.instances, a.instances_with_faults) if n]
    result.recommended = max(needed) if needed else None
    top = max(10, 2 * (result.recommended or 10))
    counts = sorted({n for n in TABLE_COUNTS if n <= top} | set(needed))
    result.rows = [simulate(demand, n, rate) for n in counts]
    result.rows_with_faults = [simulate(demand, n, rate, with_faults) for n in counts]
    result.sweep_counts = _log_counts(top)
    sized = [simulate(demand, n, rate, with_faults) for n in result.sweep_counts]
    result.sweep_times = {
        label: [s.completion[label] for s in sized] for label in ("50%", "90%", "99%")
    }
    if result.recommended is not None:
        result.recommended_sizing = simulate(demand, result.recommended, rate, with_faults)
    if any(a.instances is None or a.instances_with_faults is None for a in result.answers):
        notes.append("a deadline cannot be met by any instance count (an outage past it?)")
    return result


def answers_at(
    scenario: Scenario, work: Workload, demand: Demand, rate: float, asked: list[tuple[str, str]]
) -> list[Answer]:
    """The instances each (share, deadline) of ``asked`` needs at a knee of ``rate`` req/s."""
    windows = fault_windows(scenario)
    found = []
    for share_text, when in asked:
        due = deadline(scenario, share_text, when, list(work.zones))
        zones = list(due.seconds.values())
        plain = instances_for(demand, rate, due.share, zones)
        faulty = (
            instances_for(demand, rate, due.share, zones, fault_factor(windows))
            if windows
            else plain
        )
        found.append(Answer(due, plain, faulty))
    return found


def _log_counts(top: int) -> list[int]:
    """About 30 instance counts from 1 to ``top``, evenly spaced on a log scale."""
    steps = 30
    return sorted({max(1, round(top ** (i / steps))) for i in range(steps + 1)})


def asked_deadlines(slos: list[Slo]) -> list[tuple[str, str]]:
    """The (share, deadline) pairs the scenario's plan SLOs ask about; 99% by D0 24:00 local
    (the issue's question) when none do."""
    pairs = [(s.args[0], s.args[1]) for s in slos if s.scope == "plan" and len(s.args) == 2]
    unique = list(dict.fromkeys(pairs))
    return unique or [("99%", "D0 24:00")]


def resolve(result: Plan, slo: Slo) -> float | Unmeasured | None:
    """The value of a ``plan.*`` SLO; inf when no instance count meets the deadline."""
    if slo.scope != "plan":
        return None
    if result.knee_rps is None:
        return Unmeasured(
            "no stage passed, so the knee is below the lowest load offered: sweep from a lower "
            "load (--start-rps)"
        )
    if slo.metric == "knee_rps":
        return result.knee_rps
    for answer in result.answers:
        due = answer.deadline
        if (due.text, due.share) == (slo.args[1], plan_args(slo.args[0], slo.args[1])[0]):
            value = answer.instances if slo.metric == "instances_for" else (
                answer.instances_with_faults
            )  # fmt: skip
            return math.inf if value is None else float(value)
    return None
