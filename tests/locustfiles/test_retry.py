"""Retry timing: the scenario's policies on the simulated clock, Retry-After on the real one."""

from __future__ import annotations

import email.utils
import random

import pytest

from locustfiles.retry import RetryPolicy, parse_retry_after
from scenarios.schema.client import RetrySpec
from tests.locustfiles.helpers import outage_at_first_request, smoke_outage, smoke_plan


def policy(speedup: float = 1.0, **spec: object) -> RetryPolicy:
    return RetryPolicy(RetrySpec.model_validate(spec), speedup)


def test_policy_none_gives_up_after_the_first_failure() -> None:
    none = policy(policy="none")
    assert none.attempts == 1
    assert none.wait(1, 0.5) is None
    assert none.wait(1, 0.5, retry_after=2.0) is None


def test_fixed_waits_the_delay_divided_by_the_speedup_until_attempts_run_out() -> None:
    fixed = policy(speedup=60.0, policy="fixed", delay="2m", max_attempts=3)
    assert [fixed.wait(n, 0.9) for n in (1, 2, 3)] == [2.0, 2.0, None]


def test_exponential_is_full_jitter_under_a_doubling_ceiling_and_the_cap() -> None:
    exponential = policy(
        speedup=10.0, policy="exponential", delay="30s", cap="200s", max_attempts=8
    )
    # ceiling (simulated): 30, 60, 120, 200 (capped), 200; real = ceiling * draw / 10
    assert exponential.wait(1, 1.0 - 1e-12) == pytest.approx(3.0)
    assert exponential.wait(2, 0.5) == pytest.approx(3.0)
    assert exponential.wait(3, 0.25) == pytest.approx(3.0)
    assert exponential.wait(4, 0.5) == pytest.approx(10.0)
    assert exponential.wait(7, 0.5) == pytest.approx(10.0)
    assert exponential.wait(2, 0.0) == 0.0
    assert exponential.wait(8, 0.5) is None


def test_retry_after_is_real_seconds_and_wins_when_longer() -> None:
    exponential = policy(speedup=100.0, policy="exponential", delay="1m", cap="10m")
    assert exponential.wait(1, 0.5) == pytest.approx(0.3)
    assert exponential.wait(1, 0.5, retry_after=2.0) == 2.0
    assert exponential.wait(1, 0.5, retry_after=0.1) == pytest.approx(0.3)


def test_retry_after_is_ignored_when_the_scenario_says_so() -> None:
    fixed = policy(speedup=10.0, policy="fixed", delay="5s", honour_retry_after=False)
    assert fixed.wait(1, 0.0, retry_after=30.0) == 0.5


def test_a_failure_count_below_one_and_a_bad_speedup_are_errors() -> None:
    with pytest.raises(ValueError, match="failures must be >= 1, got 0"):
        policy().wait(0, 0.5)
    with pytest.raises(ValueError, match="speedup must be > 0, got 0"):
        RetryPolicy(RetrySpec(), 0)


def test_retry_after_headers_in_seconds_or_as_a_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(12.0)
    assert parse_retry_after(email.utils.formatdate(now - 50, usegmt=True), now) == 0.0
    for unreadable in (None, "", "soon", "-3", "nan"):
        assert parse_retry_after(unreadable, now) is None


# ---- the smoke scenario's retry schedule against its own outage ----


def test_every_smoke_device_retries_through_the_smokes_outage_at_its_worst_moment() -> None:
    """The outage starts with the form's first request: no attempt is spent before it, so the
    device's whole retry schedule (its own seeded jitter, the scenario's policy on the simulated
    clock) must outlast it. A device that gives up inside it drops its TPS from the run."""
    plan = smoke_plan()
    outage = smoke_outage(plan)
    assert outage == pytest.approx(1200 / 720)  # 20 simulated minutes at speedup 720
    gave_up, covered = [], []
    for job in plan.jobs:
        record, api = outage_at_first_request(plan, job, outage)
        if record.final_outcome != "acked":
            gave_up.append(f"{job.tps_code}: {record.reason}")
            continue
        refused = [at for _, at, _ in api.calls if at < record.due_at + outage]
        assert record.failures == {"refused": len(refused)}
        covered.append(api.calls[len(refused)][1] - record.due_at)  # the first one through
    assert gave_up == []
    assert len(covered) == 31
    assert min(covered) >= outage


def test_the_smokes_retry_schedule_outlasts_its_outage_for_nearly_every_draw() -> None:
    """Over 10,000 jitter streams, the time from a first failure to the last attempt (every
    attempt failing, the waits only) is shorter than the outage for fewer than 1 in 100."""
    plan = smoke_plan()
    outage = smoke_outage(plan)
    retry = RetryPolicy(plan.scenario.client.retry, plan.speedup)
    draws = random.Random(0)
    short = 0
    for _ in range(10_000):
        span, failures = 0.0, 1
        while (wait := retry.wait(failures, draws.random())) is not None:
            span += wait
            failures += 1
        assert failures == retry.attempts
        short += span < outage
    assert short < 100, f"{short} of 10,000 schedules end inside the {outage:.2f} s outage"
