"""Jobs from the schedule: one per form and device, split over processes deterministically."""

from __future__ import annotations

from collections import Counter

import pytest

from locustfiles.jobs import DueTimes, build_plan
from scenarios import ScenarioError, arrival_schedule
from tests.locustfiles.helpers import TINY, scenario_text, tiny_plan


def test_every_tps_of_the_schedule_gets_one_job_per_device_in_ready_order() -> None:
    plan = tiny_plan()
    in_run = arrival_schedule(plan.scenario, plan.population).in_run()
    assert [job.tps_code for job in plan.jobs] == [tps.code for tps in in_run]
    assert [job.index for job in plan.jobs] == list(range(len(plan.jobs)))
    assert [job.ready for job in plan.jobs] == sorted(job.ready for job in plan.jobs)
    two = build_plan(scenario_text(devices_per_tps="2"))
    assert len(two.jobs) == 2 * len(plan.jobs)
    assert Counter(job.tps_code for job in two.jobs) == Counter({t.code: 2 for t in in_run})


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_partition_covers_every_job_once_and_keeps_a_tps_in_one_process(count: int) -> None:
    plan = build_plan(scenario_text(devices_per_tps="2"))
    parts = [plan.partition(index, count) for index in range(count)]
    assert sorted(job.index for part in parts for job in part) == list(range(len(plan.jobs)))
    owner = {job.tps_code: index for index, part in enumerate(parts) for job in part}
    assert all(owner[job.tps_code] == index for index, part in enumerate(parts) for job in part)
    assert max(map(len, parts)) - min(map(len, parts)) <= 2
    with pytest.raises(ValueError, match=f"process index must be in 0..{count - 1}, got {count}"):
        plan.partition(count, count)


def test_due_times_count_jobs_by_real_offset() -> None:
    plan = tiny_plan()
    due = DueTimes(plan.jobs, plan.speedup)
    last = plan.jobs[-1].ready / plan.speedup
    assert due.due_by(last) == len(plan.jobs)
    assert due.due_by(-1.0) == 0
    assert due.due_by(plan.jobs[0].ready / plan.speedup) >= 1


def test_an_invalid_scenario_is_refused_with_its_field() -> None:
    with pytest.raises(ScenarioError, match=r"clock\.speedup"):
        build_plan(TINY.replace("speedup = 1200", "speedup = -1"), "bad.toml")
