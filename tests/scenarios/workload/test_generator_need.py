"""The generator processes a scenario needs: its peak demand from its own schedule, divided by
what one measured process sustains; the scarcest of forms, requests and bandwidth decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from rundir.generator_capacity import GeneratorCapacity
from scenarios import arrival_schedule, build_population, loads_scenario
from scenarios.workload.arrival import peak_rate, peak_weighted
from scenarios.workload.generator_need import (
    GeneratorDemand,
    generator_demand,
    generator_need,
    stage_demand,
)
from tests.generator_measurement import measurement

REPO = Path(__file__).resolve().parents[3]


def _capacity(
    forms: float, requests: float, mb: float, limited_by: str = "generator"
) -> GeneratorCapacity:
    return measurement(
        photo_bytes=20_000, requests_per_form=5.0, forms_per_s=forms, requests_per_s=requests,
        bytes_per_s=mb * 1e6, limited_by=limited_by, source="runs/generator.json",
    )  # fmt: skip


def _demand(forms: float, requests: float, mb: float) -> GeneratorDemand:
    return GeneratorDemand(forms, requests, mb * 1e6, photo_bytes=20_000, requests_per_form=5.0)


def test_the_peak_is_the_heaviest_window_of_weights() -> None:
    points = [(2.0, 3.0), (0.0, 1.0), (1.0, 2.0), (10.0, 4.0)]
    assert peak_weighted(points, 2.0) == 2.5  # [1, 3): 2 + 3
    assert peak_weighted(points, 100.0) == 0.1  # everything, over 100 s
    assert peak_weighted([], 5.0) == 0.0
    assert peak_rate([0.0, 0.5, 1.0, 9.0], 1.0) == 2.0  # the unweighted count


def test_the_scarcest_ratio_decides_and_an_exact_fit_is_not_rounded_up() -> None:
    need = generator_need(_demand(10, 100, 50), _capacity(4, 50, 10))  # 2.5, 2, 5
    assert (need.processes, need.scarcest) == (5, "bandwidth")
    assert generator_need(_demand(40, 10, 1), _capacity(20, 50, 10)).processes == 2
    assert generator_need(_demand(0.1, 1, 0.1), _capacity(20, 50, 10)).processes == 1
    lines = generator_need(_demand(10, 100, 50), _capacity(4, 50, 10)).lines()
    assert lines[0] == (
        "needs 5 generator process(es) at its peak of 10 forms/s, 100 requests/s, 50 MB/s "
        "real (the bandwidth figure decides)"
    )
    assert lines[1].startswith("by runs/generator.json: one generator process keeps 4 forms/s")
    assert len(lines) == 2  # the same mix as measured, a real capacity: nothing more to say


def test_a_lower_bound_says_at_most() -> None:
    lines = generator_need(_demand(10, 100, 50), _capacity(4, 50, 10, "target")).lines()
    assert lines[0].startswith("needs at most 5 generator process(es)")
    assert "the target failed before the process did" in lines[2] and len(lines) == 3


def test_what_carries_over_from_another_mix_decides_and_is_said() -> None:
    capacity = _capacity(4, 50, 10)  # at 0.02 MB photos, 5 requests a form
    # forms of another size, same photos: requests/s and MB/s carry over, forms/s does not
    other_forms = GeneratorDemand(40, 100, 10e6, photo_bytes=20_000, requests_per_form=13.8)
    need = generator_need(other_forms, capacity)
    assert (need.processes, need.scarcest, need.estimate) == (2, "requests", False)
    assert need.lines()[-1].endswith("counted from requests/s and MB/s (forms of another size)")
    # photos of another size: requests/s alone, an estimate
    other_photos = GeneratorDemand(40, 100, 500e6, photo_bytes=1_200_000, requests_per_form=5.0)
    need = generator_need(other_photos, capacity)
    assert (need.processes, need.scarcest, need.estimate) == (2, "requests", True)
    assert need.lines()[0].startswith("needs about 2 generator process(es)")
    assert need.lines()[-1] == (
        "measured at 0.02 MB photos and 5 requests per form (login share, pages, result); this "
        "scenario sends 1.2 MB and 5: counted from requests/s alone, an estimate (a photo's "
        "size changes a request's cost); calibrate with this scenario for a count from its own "
        "mix"
    )


def _scenario(speedup: int) -> str:
    text = (REPO / "scenarios" / "smoke.toml").read_text()
    text = text.replace("speedup = 720", f"speedup = {speedup}")
    text = text.replace('median = "20kB"', 'median = "30kB"').replace(
        'p95 = "40kB"', 'p95 = "30kB"'
    )
    return text.split("[[faults]]")[0]


def test_the_demand_counts_logins_pages_results_and_reads_at_the_scenarios_speed() -> None:
    demands = []
    for speedup in (360, 720):
        scenario = loads_scenario(_scenario(speedup))
        population = build_population(scenario)
        schedule = arrival_schedule(scenario, population)
        demand = generator_demand(scenario, population, schedule)
        assert demand.requests_per_form == 5.0  # a login, 3 pages, the result (one form a TPS)
        assert demand.photo_bytes == 30_000
        # every photo is 30 kB: the bandwidth peak is the page peak times 30 kB, per real second
        window = max(60.0, 5.0 * speedup)
        pages = schedule.peak_page_rate(window) * speedup
        assert demand.bytes_per_s == pytest.approx(pages * 30_000)
        # without read-backs: one request fewer per form, at the same moment as its result
        unread = generator_demand(scenario, population, schedule, read_back=0.0)
        assert unread.requests_per_s < demand.requests_per_s
        assert (unread.forms_per_s, unread.bytes_per_s) == (demand.forms_per_s, demand.bytes_per_s)
        events = schedule.page_events()
        forms = sum(1 for event in events if event.page == 0)
        total = len(schedule.in_run()) + len(events) + 2 * forms  # logins, pages, results, reads
        assert demand.requests_per_s <= total / window * speedup + 1e-9
        demands.append(demand)
    slow, fast = demands
    assert fast.forms_per_s > slow.forms_per_s  # twice as fast: the same work in half the time


def test_a_sweep_stage_demands_its_rate_in_the_scenarios_mix() -> None:
    scenario = loads_scenario(_scenario(720))
    demand = stage_demand(scenario, 50.0)
    assert demand.requests_per_s == 50.0 and demand.forms_per_s == 10.0  # 5 requests a form
    assert demand.bytes_per_s == 10.0 * 3 * 30_000
