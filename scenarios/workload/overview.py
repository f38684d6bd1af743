"""A one-screen summary of a scenario: TPS, pages, bytes, peak arrival rate, load factor, faults.

Every duration is shown on both clocks where it matters.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.schema.scenario import Scenario
from scenarios.schema.units import ZONES, format_duration, format_size
from scenarios.workload.arrival import ArrivalSchedule, peak_rate
from scenarios.workload.loadfactor import load_factor
from scenarios.workload.misreads import misreads
from scenarios.workload.population import Population

# Peak rates are taken over the busiest window of this many real seconds (at least a simulated
# minute), long enough not to be a single burst.
PEAK_WINDOW_REAL = 5.0


def peak_window(scenario: Scenario) -> float:
    """The simulated seconds peak rates are taken over (``PEAK_WINDOW_REAL`` real, at least a
    simulated minute)."""
    return max(60.0, PEAK_WINDOW_REAL * scenario.clock.speedup)


def requests_per_tps(scenario: Scenario) -> float:
    """Requests one TPS makes without retries: per device a login, then each form's pages and
    its result (the mock's contract; read-backs are not counted here)."""
    forms = scenario.population.forms
    per_device = 1 + sum(forms.pages(election) + 1 for election in scenario.client.elections)
    return float(scenario.client.devices_per_tps * per_device)


def requests_per_form(scenario: Scenario) -> float:
    """The same per form a device sends: a share of its login, the pages and the result."""
    forms = len(scenario.client.elections) * scenario.client.devices_per_tps
    return requests_per_tps(scenario) / forms


@dataclass(frozen=True)
class Figures:
    """The numbers the summary prints (also handy for the harness's run record)."""

    tps: int
    devices: int
    dpt: int
    ready_in_run: int
    ready_at_start: int
    offline: int
    never_ready: int
    pages: int
    bytes: int
    peak_window: float
    peak_tps_rate: float
    peak_page_rate: float


def figures(scenario: Scenario, population: Population, schedule: ArrivalSchedule) -> Figures:
    """Count what the run will send (pages and bytes by every uploading device)."""
    devices_sending = scenario.client.devices_per_tps
    events = schedule.page_events()
    sizes = sum(population.get(event.tps).pages[event.election][event.page] for event in events)
    window = peak_window(scenario)
    in_run = schedule.in_run()
    return Figures(
        tps=len(population),
        devices=sum(len(tps.devices) for tps in population),
        dpt=population.total_dpt,
        ready_in_run=len(in_run),
        ready_at_start=sum(1 for item in in_run if item.ready == 0.0),
        offline=sum(1 for item in in_run if item.offline),
        never_ready=sum(1 for item in schedule.tps if item.ready is None),
        pages=len(events) * devices_sending,
        bytes=sizes * devices_sending,
        peak_window=window,
        peak_tps_rate=peak_rate([item.ready or 0.0 for item in in_run], window),
        peak_page_rate=peak_rate([event.at for event in events], window) * devices_sending,
    )


def summarize(scenario: Scenario, population: Population, schedule: ArrivalSchedule) -> str:
    """The summary text, about twenty lines."""
    clock, facts = scenario.clock, figures(scenario, population, schedule)
    speed = clock.speedup
    factor = load_factor(scenario)
    zones = ", ".join(
        f"{zone} {population.zones[zone]:,}" for zone in ZONES if population.zones[zone]
    )
    client = scenario.client
    lines = [
        f"{scenario.name}  {scenario.source}".rstrip(),
        *(
            [f"  {scenario.description.strip().splitlines()[0]}"]
            if scenario.description.strip()
            else []
        ),
        f"clock       {clock.local(0)} -> {clock.local(clock.duration)}: "
        f"{format_duration(clock.duration)} simulated = "
        f"{format_duration(clock.real_duration)} real (speedup {speed:g})",
        f"population  {population.scale}, seed {population.seed}, sample {population.sample:g}: "
        f"{facts.tps:,} of {population.real_tps:,} TPS ({zones}), {facts.devices:,} devices, "
        f"DPT {facts.dpt:,}",
        f"uploads     {', '.join(client.elections)} by {client.devices_per_tps} device(s) per TPS: "
        f"{facts.ready_in_run:,} TPS ready in the run ({facts.ready_at_start:,} at the start, "
        f"{facts.offline:,} offline first, {facts.never_ready:,} never), {facts.pages:,} pages, "
        f"{format_size(facts.bytes)}",
        f"arrival     peak {facts.peak_tps_rate:.3g} TPS/s, {facts.peak_page_rate:.3g} pages/s "
        f"simulated = {facts.peak_tps_rate * speed:.3g} TPS/s, "
        f"{facts.peak_page_rate * speed:.3g} pages/s real "
        f"(busiest {format_duration(facts.peak_window)} simulated)",
        f"load        factor {factor.factor:.3g} (sample {factor.sample:g} x speedup {speed:g}) "
        f"relative to {factor.reference}; {factor.national:.3g} of the national rate",
        f"target      {_target(scenario)}",
        f"client      {_client(scenario)}",
        f"quality     {_quality(scenario, population, schedule)}",
        f"plenary     {_plenary(scenario, population)}",
        f"faults      {len(scenario.timeline)} window(s)",
    ]
    for fault in scenario.timeline:
        lines.append(
            f"  {fault.name:<22} {clock.local(fault.start)} -> {clock.local(fault.end)} "
            f"({format_duration(fault.duration)} simulated; real "
            f"{format_duration(clock.to_real(fault.start))} -> "
            f"{format_duration(clock.to_real(fault.end))} after the start)"
        )
    if scenario.hindcast is not None:
        lines.append(f"hindcast    {_hindcast(scenario)}")
    lines.append(f"slo         {len(scenario.slo.checks)} check(s)")
    lines += [
        f"  {slo.expression}" + ("  (abort on fail)" if slo.abort_on_fail else "")
        for slo in scenario.slo.parsed
    ]
    return "\n".join(lines)


def _target(scenario: Scenario) -> str:
    target = scenario.target
    if target.mock is None:
        return f"real service at {target.url}"
    mock = target.mock
    if mock.mode == "raw":
        return "mock, raw (no capacity model)"
    page = mock.service_time.page
    return (
        f"mock model: {mock.workers} workers, queue {mock.queue}, queue timeout "
        f"{format_duration(mock.queue_timeout)}, Retry-After {int(mock.retry_after)}s, page "
        f"{format_duration(page.median)} median + {format_duration(page.per_mib)}/MiB (real)"
    )


def _client(scenario: Scenario) -> str:
    client = scenario.client
    retry = client.retry
    if retry.policy == "none":
        policy = "no retries"
    elif retry.policy == "fixed":
        policy = f"retry every {format_duration(retry.delay)} x{retry.max_attempts}"
    else:
        policy = (
            f"retry exponential {format_duration(retry.delay)}..{format_duration(retry.cap)} "
            f"with full jitter x{retry.max_attempts}"
        )
    honour = ", honour Retry-After" if retry.honour_retry_after and retry.policy != "none" else ""
    return (
        f"{policy} (simulated){honour}; page timeout {format_duration(client.timeouts.page)} real"
        + ("; new connection per upload" if client.new_connection_per_upload else "")
    )


def _range(low: float, high: float) -> str:
    if low == high:
        return format_duration(low)
    return f"{format_duration(low)}..{format_duration(high)}"


def _quality(scenario: Scenario, population: Population, schedule: ArrivalSchedule) -> str:
    quality = scenario.quality
    if not quality.active:
        return "no misreads"
    forms = [
        (item.code, form.election)
        for item in schedule.in_run()
        for form in item.forms
        if form.election in quality.elections
    ]
    found = misreads(quality, population, forms)
    consistent = sum(1 for item in found.values() if item.consistent)
    return (
        f"{quality.misread_fraction:.1%} of {', '.join(quality.elections)} forms misread on the "
        f"first upload, {quality.consistent_fraction:.0%} of them still adding up: "
        f"{len(found):,} in the run ({consistent:,} for the plenary to catch, "
        f"{len(found) - consistent:,} for the arithmetic check); officer fix "
        f"{_range(*quality.officer_fix)} (simulated)"
    )


def _plenary(scenario: Scenario, population: Population) -> str:
    plenary, clock = scenario.plenary, scenario.clock
    if not plenary.enabled:
        return "none"
    kecamatan = len({tps.kecamatan for tps in population})
    hours = plenary.model_dump(mode="json")
    breaks = len(plenary.breaks)
    return (
        f"{plenary.operators_per_kecamatan} PPK operator(s) per kecamatan, "
        f"{kecamatan * plenary.operators_per_kecamatan:,} in all, for {len(population):,} TPS x "
        f"{', '.join(plenary.elections)}, from {clock.local(clock.offset(plenary.start))}: "
        f"{plenary.minutes_per_tps:g} min/TPS, {'-'.join(hours['working_hours'])} less "
        f"{breaks} break{'s' if breaks != 1 else ''} = {plenary.tps_per_day:.3g} TPS/day each; "
        f"missing upload rechecked after {format_duration(plenary.missing_recheck)}, KPPS "
        f"correction {_range(*plenary.correction_delay)} (simulated)"
    )


def _hindcast(scenario: Scenario) -> str:
    spec = scenario.hindcast
    assert spec is not None
    held = [text for text, _, fitted in spec.moments() if not fitted]
    fits = ", ".join(
        f"{k.field} = {spec.fitted[k.field]:g} (fitted)" if k.field in spec.fitted
        else f"{k.field} in [{k.low:g}, {k.high:g}] (fitted before the run)"
        for k in spec.fit
    ) or "nothing fitted"  # fmt: skip
    return (
        f"{len(spec.published)} published moments (WIB): fitted on "
        f"{', '.join(spec.fit_on) or 'none'}; "
        f"held out {', '.join(held) or 'none'}; {fits}; the recap read every "
        f"{format_duration(spec.poll_every)} real"
    )
