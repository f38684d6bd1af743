"""A device whose app misreads the form: the first submission carries the misread numbers.
And the API class a plenary needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from locustfiles.api import Answer, Verdict
from locustfiles.device import DeviceContext, FormUpload, TokenCache
from locustfiles.form_record import FormRecord
from locustfiles.jobs import Job, Plan, build_plan
from locustfiles.options import check_plenary_api
from locustfiles.retry import RetryPolicy
from tests.locustfiles.helpers import FakeApi, FakeClock, failing

FIXTURE = Path(__file__).parent / "fixtures" / "plenary_tiny.toml"
PLAN = build_plan(FIXTURE.read_text(encoding="utf-8"), "plenary_tiny.toml")
CLOCK_START = 1_000.0
REFUSED_422 = Answer(Verdict.REJECT, "4xx:422", "HTTP 422: ballot arithmetic violated", status=422)


def job_of(consistent: bool) -> Job:
    return next(
        job
        for job in PLAN.jobs
        if (wrong := PLAN.misreads.get((job.tps_code, job.election))) is not None
        and wrong.consistent is consistent
    )


def upload(plan: Plan, job: Job, script: dict[str, list[Answer]]) -> tuple[FormRecord, FakeApi]:
    due = CLOCK_START + job.ready / plan.speedup
    clock = FakeClock(now_s=due)
    api = FakeApi(clock, script=dict(script))
    context = DeviceContext(
        population=plan.population,
        policy=RetryPolicy(plan.scenario.client.retry, plan.speedup),
        tokens=TokenCache(),
        think_time=plan.scenario.client.think_time,
        speedup=plan.speedup,
        clock_start=CLOCK_START,
        read_back=0.0,
        now=clock.now,
        sleep=clock.sleep,
        misreads=plan.misreads,
        officer_fix=plan.scenario.quality.officer_fix,
    )
    record = FormRecord(job, 0, due, started_at=due)
    FormUpload(record, api, context).run()
    return record, api


def submissions(api: FakeApi) -> list[tuple[float, dict[str, object], str]]:
    return [(at, args[3], args[5]) for name, at, args in api.calls if name == "submit_result"]


def test_refused_misread_numbers_are_fixed_by_the_officer_and_the_truth_is_sent() -> None:
    job = job_of(consistent=False)
    wrong = PLAN.misreads[(job.tps_code, job.election)]
    record, api = upload(PLAN, job, {"submit_result": [REFUSED_422]})
    (first_at, first, first_key), (second_at, second, second_key) = submissions(api)
    assert first == wrong.body
    assert second == PLAN.population.result_body(job.tps_code, job.election)
    assert (first_key, second_key) == (job.idempotency_key, job.key_for(2))
    low, high = PLAN.scenario.quality.officer_fix
    assert low / PLAN.speedup <= second_at - first_at <= high / PLAN.speedup
    assert record.final_outcome == "acked" and record.first_outcome == "rejected"
    assert record.failures == {"4xx:422": 1} and record.result_attempts == 2
    assert record.to_json(CLOCK_START, PLAN.speedup)["misread"] == {
        "fields": list(wrong.fields), "consistent": False, "stored": False,
        "caught_by": "arithmetic",
    }  # fmt: skip


def test_misread_numbers_that_add_up_are_stored_as_read() -> None:
    job = job_of(consistent=True)
    wrong = PLAN.misreads[(job.tps_code, job.election)]
    record, api = upload(PLAN, job, {})
    ((_, body, key),) = submissions(api)
    assert (body, key) == (wrong.body, job.idempotency_key)
    assert record.final_outcome == record.first_outcome == "acked"
    assert record.to_json(CLOCK_START, PLAN.speedup)["misread"] == {
        "fields": list(wrong.fields), "consistent": True, "stored": True, "caught_by": None,
    }  # fmt: skip


@pytest.mark.parametrize("consistent", [True, False])
def test_another_refusal_of_a_misread_form_rejects_it_as_any_refusal_does(
    consistent: bool,
) -> None:
    job = job_of(consistent)
    record, api = upload(PLAN, job, {"submit_result": [failing("4xx:409", Verdict.REJECT)]})
    assert len(submissions(api)) == 1
    assert record.final_outcome == "rejected"
    assert record.misread is not None and record.misread.caught_by is None


def test_a_form_without_a_misread_has_none_in_its_ledger_line() -> None:
    job = next(job for job in PLAN.jobs if (job.tps_code, job.election) not in PLAN.misreads)
    record, api = upload(PLAN, job, {})
    ((_, body, _),) = submissions(api)
    assert body == PLAN.population.result_body(job.tps_code, job.election)
    assert record.to_json(CLOCK_START, PLAN.speedup)["misread"] is None


class DevicesOnly:
    """An API class with the device calls only."""

    def __init__(self, transport: object, timeouts: object) -> None: ...


def test_a_plenary_with_an_api_class_lacking_the_operator_calls_exits_2_naming_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        check_plenary_api(f"{__name__}:DevicesOnly")
    assert ended.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"locustfiles/sirekap.py: --api-class: {__name__}:DevicesOnly has no operator_login, "
        "submit_plenary, plenary_progress; the scenario's [plenary] needs the PPK operator "
        "methods operator_login, submit_plenary, plenary_progress (see locustfiles/api.py), "
        "or set [plenary] enabled = false"
    )
    check_plenary_api("locustfiles.api:SirekapApi")  # the default has them
