"""The device flow with a fake clock: page timing, think time, retries, outcomes, read-back."""

from __future__ import annotations

import pytest

from locustfiles.api import Verdict
from locustfiles.device import DeviceContext, FormUpload, TokenCache
from locustfiles.form_record import FormRecord
from locustfiles.jobs import Plan
from locustfiles.retry import RetryPolicy
from tests.locustfiles.helpers import FakeApi, FakeClock, failing, scenario_text, tiny_plan

CLOCK_START = 1_000.0


def run_form(
    plan: Plan,
    script: dict[str, list[object]] | None = None,
    read_back: float = 1.0,
    job_index: int = 0,
) -> tuple[FormRecord, FakeApi, FakeClock]:
    job = plan.jobs[job_index]
    speedup = plan.speedup
    due = CLOCK_START + job.ready / speedup
    clock = FakeClock(now_s=due)
    api = FakeApi(clock, script=dict(script or {}))  # type: ignore[arg-type]
    context = DeviceContext(
        population=plan.population,
        policy=RetryPolicy(plan.scenario.client.retry, speedup),
        tokens=TokenCache(),
        think_time=plan.scenario.client.think_time,
        speedup=speedup,
        clock_start=CLOCK_START,
        read_back=read_back,
        now=clock.now,
        sleep=clock.sleep,
    )
    record = FormRecord(job, 0, due, started_at=due)
    FormUpload(record, api, context).run()
    return record, api, clock


def test_pages_go_at_their_page_times_and_think_time_precedes_submit_and_read() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(plan)
    job = plan.jobs[0]
    page_times = [CLOCK_START + at / plan.speedup for at in job.pages]
    assert api.times("upload_page") == pytest.approx(page_times)
    think = 10.0 / plan.speedup  # think_time = 10 s simulated
    assert api.times("submit_result") == pytest.approx([page_times[-1] + think])
    assert api.times("read_result") == pytest.approx([page_times[-1] + 2 * think])
    assert [args[3] for name, _, args in api.calls if name == "upload_page"] == [0, 1, 2]
    assert record.final_outcome == record.first_outcome == "acked"
    assert record.read_back == "verified"
    assert (record.session_attempts, record.page_attempts, record.result_attempts) == (
        1,
        [1, 1, 1],
        1,
    )


def test_the_result_carries_the_populations_ballots_and_the_acknowledged_page_hashes() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(plan)
    job = plan.jobs[0]
    ((_, _, args),) = [call for call in api.calls if call[0] == "submit_result"]
    token, tps_code, election, result, pages, key = args
    assert (token, tps_code, election) == ("tok", job.tps_code, "ppwp")
    assert result == plan.population.result_body(job.tps_code, "ppwp")
    assert pages == record.page_sha256 and len(pages) == 3
    assert key == job.idempotency_key
    assert record.receipt_id == "rcpt_1"


def test_a_503_is_retried_after_the_longer_of_backoff_and_retry_after() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(
        plan, {"submit_result": [failing("5xx:503", retry_after=0.7), failing("5xx:503")]}
    )
    first, second, third = api.times("submit_result")
    # exponential, delay 1 min simulated = 0.05 s real at speedup 1200: below the 0.7 s asked for
    assert second - first == pytest.approx(0.7)
    assert 0 <= third - second <= 2 * 60 / plan.speedup
    assert record.result_attempts == 3
    assert record.failures == {"5xx:503": 2}
    assert (record.first_outcome, record.first_failure, record.final_outcome) == (
        "abandoned", "5xx:503", "acked"
    )  # fmt: skip


def test_a_step_out_of_attempts_abandons_the_form_and_says_why() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(plan, {"upload_page": [failing("refused")] * 4})
    assert record.final_outcome == "abandoned"
    assert record.reason == "page 1 failed 4 times, last: HTTP refused"
    assert record.page_attempts == [4, 0, 0]
    assert api.times("submit_result") == []


def test_policy_none_abandons_at_the_first_failure() -> None:
    plan = tiny_plan(scenario_text(retry='{ policy = "none" }'))
    record, _, clock = run_form(plan, {"login": [failing("timeout")]})
    assert (record.first_outcome, record.final_outcome) == ("abandoned", "abandoned")
    assert record.reason == "session failed 1 time, last: HTTP timeout"
    assert clock.sleeps == []


def test_a_refusal_rejects_the_form_without_retrying() -> None:
    plan = tiny_plan()
    refusal = failing("4xx:422", Verdict.REJECT)
    record, api, _ = run_form(plan, {"submit_result": [refusal]})
    assert (record.first_outcome, record.final_outcome) == ("rejected", "rejected")
    assert record.reason == "result refused: HTTP 4xx:422"
    assert record.result_attempts == 1
    assert api.times("read_result") == []


def test_a_refused_token_makes_the_device_log_in_again() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(plan, {"upload_page": [failing("4xx:401", Verdict.RELOGIN)]})
    names = [name for name, _, _ in api.calls]
    assert names[:4] == ["login", "upload_page", "login", "upload_page"]
    assert record.session_attempts == 2
    assert record.final_outcome == "acked"


def test_a_read_back_that_differs_is_a_mismatch_and_the_form_stays_acked() -> None:
    plan = tiny_plan()
    other = {"chart": {}, "administrasi": {}, "content_sha256": "d" * 64}
    from locustfiles.api import Answer  # noqa: PLC0415

    record, _, _ = run_form(plan, {"read_result": [Answer(Verdict.OK, data=other)]})
    assert record.read_back == "mismatch"
    assert record.final_outcome == "acked"


def test_a_failed_read_back_does_not_change_the_outcome() -> None:
    plan = tiny_plan()
    record, _, _ = run_form(plan, {"read_result": [failing("5xx:500")] * 4})
    assert (record.final_outcome, record.first_outcome, record.read_back) == (
        "acked", "acked", "failed"
    )  # fmt: skip
    assert record.failures == {}


def test_without_read_back_the_form_is_not_read() -> None:
    plan = tiny_plan()
    record, api, _ = run_form(plan, read_back=0.0)
    assert api.times("read_result") == []
    assert record.read_back == "skipped"


def test_a_read_back_fraction_picks_the_same_forms_in_every_run() -> None:
    plan = tiny_plan()

    def read(index: int) -> bool:
        return run_form(plan, read_back=0.5, job_index=index)[0].read_back == "verified"

    chosen = [read(index) for index in range(len(plan.jobs))]
    assert chosen == [read(index) for index in range(len(plan.jobs))]
    assert 0 < sum(chosen) < len(chosen)
