"""The example adapter (locustfiles/adapters/renamed.py) against a fake of its ``/v2`` service:
each method sends one request and maps the service's names to the contract's; 401 means log in
again, 5xx and 429 retry, other 4xx refuse; the device flow and the preflight work through it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from locustfiles.adapters.renamed import RenamedApi
from locustfiles.api import Response, Timeouts, Verdict
from locustfiles.device import DeviceContext, FormUpload, TokenCache
from locustfiles.form_record import FormRecord
from locustfiles.jobs import Job, Plan
from locustfiles.options import check_plenary_api
from locustfiles.plain_transport import PlainTransport
from locustfiles.retry import RetryPolicy
from rundir.ledger import result_digest
from scenarios import write_registry
from tests.locustfiles.helpers import SMOKE, FakeClock, smoke_plan
from tests.locustfiles.renamed_service import RunningService, renamed_service

REPO = Path(__file__).resolve().parents[2]
SPEC = "locustfiles.adapters.renamed:RenamedApi"
TIMEOUTS = Timeouts(session=5.0, page=5.0, result=5.0, read=5.0)


@dataclass
class CountingTransport:
    """PlainTransport that remembers each request's endpoint name, method and path."""

    inner: PlainTransport
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, endpoint: str, method: str, path: str, **kwargs: Any) -> Response:
        self.sent.append((endpoint, method, path))
        return self.inner.send(endpoint, method, path, **kwargs)


@dataclass
class Setup:
    service: RunningService
    api: RenamedApi
    transport: CountingTransport
    plan: Plan
    job: Job

    @property
    def truth(self) -> dict[str, Any]:
        return dict(self.plan.population.result_body(self.job.tps_code, self.job.election))

    def photo(self, page: int) -> tuple[bytes, str]:
        photo = self.plan.population.photo(self.job.tps_code, self.job.election, page)
        return photo, hashlib.sha256(photo).hexdigest()

    def login(self) -> str:
        job = self.job
        answer = self.api.login(job.tps_code, job.device_id, job.secret)
        assert answer.ok, answer
        return str(answer.data["token"])

    def upload_all(self, token: str) -> list[str]:
        hashes = []
        for page in range(len(self.job.pages)):
            photo, sha = self.photo(page)
            job = self.job
            assert self.api.upload_page(token, job.tps_code, job.election, page, photo, sha).ok
            hashes.append(sha)
        return hashes


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    plan = smoke_plan()
    write_registry(plan.population, tmp_path / "registry.csv")
    with renamed_service(tmp_path / "registry.csv") as service:
        transport = CountingTransport(PlainTransport(service.url))
        yield Setup(service, RenamedApi(transport, TIMEOUTS), transport, plan, plan.jobs[0])


def test_login_sends_the_renamed_credentials_and_maps_the_token(setup: Setup) -> None:
    job = setup.job
    answer = setup.api.login(job.tps_code, job.device_id, job.secret)
    assert answer.ok and answer.status == 200
    assert set(answer.data) == {"token", "expires_in"}
    assert isinstance(answer.data["token"], str) and answer.data["expires_in"] == 3600.0
    assert setup.transport.sent == [("session", "POST", "/v2/auth")]


def test_a_refused_login_is_a_refusal_with_the_services_own_message(setup: Setup) -> None:
    job = setup.job
    answer = setup.api.login(job.tps_code, job.device_id, "wrong")
    assert answer.verdict is Verdict.REJECT  # 401 at login: logging in again cannot help
    assert (answer.status, answer.failure) == (401, "4xx:401")
    assert answer.detail == "HTTP 401: perangkat, TPS atau kunci salah"


def test_a_page_goes_to_the_renamed_path_and_a_repeat_is_the_stored_copy(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    photo, sha = setup.photo(0)
    first = setup.api.upload_page(token, job.tps_code, job.election, 0, photo, sha)
    repeat = setup.api.upload_page(token, job.tps_code, job.election, 0, photo, sha)
    assert (first.ok, first.status, first.data) == (True, 201, {"sha256": sha})
    assert (repeat.ok, repeat.status, repeat.data) == (True, 200, {"sha256": sha})
    path = f"/v2/formulir/{job.tps_code}/{job.election}/foto/1"  # pages count from 1 on the wire
    assert setup.transport.sent[1:] == [("page", "PUT", path)] * 2
    assert len(setup.service.store.photos[(job.tps_code, job.election, 1)]) == 1


def test_a_photo_damaged_on_the_way_is_retried_and_never_stored(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    photo, sha = setup.photo(0)
    answer = setup.api.upload_page(token, job.tps_code, job.election, 0, photo[:-1], sha)
    assert (answer.verdict, answer.status, answer.failure) == (Verdict.RETRY, 400, "4xx:400")
    assert answer.detail == "HTTP 400: isi foto tidak cocok dengan X-Hash-Foto"
    assert setup.service.store.photos.get((job.tps_code, job.election, 1), []) == []


def test_a_result_maps_its_receipt_and_a_replay_gets_the_same_one(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    hashes = setup.upload_all(token)
    key = job.idempotency_key
    first = setup.api.submit_result(token, job.tps_code, job.election, setup.truth, hashes, key)
    again = setup.api.submit_result(token, job.tps_code, job.election, setup.truth, hashes, key)
    other_key = setup.api.submit_result(
        token, job.tps_code, job.election, setup.truth, hashes, "another-device/ppwp/1"
    )
    assert (first.ok, first.status) == (True, 201)
    assert set(first.data) == {"receipt_id", "content_sha256", "revision"}
    assert first.data["revision"] == 1 and first.data["receipt_id"].startswith("TT-")
    assert (again.status, again.data) == (200, first.data)
    assert (other_key.status, other_key.data) == (200, first.data)  # the same numbers: one result
    assert setup.transport.sent[-1] == ("result", "PUT", f"/v2/formulir/{job.tps_code}/ppwp")


def test_a_correction_is_sent_as_the_next_versi(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    hashes = setup.upload_all(token)
    truth = setup.truth
    assert setup.api.submit_result(token, job.tps_code, job.election, truth, hashes, "k1").ok
    chart = dict(truth["chart"])
    first, second = sorted(chart)[:2]
    chart[first], chart[second] = chart[first] + 1, chart[second] - 1  # still adds up
    fixed = {"chart": chart, "administrasi": truth["administrasi"]}
    without = setup.api.submit_result(token, job.tps_code, job.election, fixed, hashes, "k2")
    assert (without.verdict, without.status) == (Verdict.REJECT, 409)
    assert "koreksi dengan versi 2" in without.detail
    answer = setup.api.submit_result(
        token, job.tps_code, job.election, fixed, hashes, "k3", revision=2
    )
    assert (answer.ok, answer.data["revision"]) == (True, 2)


def test_a_result_that_does_not_add_up_is_refused_with_422(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    hashes = setup.upload_all(token)
    chart = dict(setup.truth["chart"])
    chart[min(chart)] += 1
    wrong = {"chart": chart, "administrasi": setup.truth["administrasi"]}
    answer = setup.api.submit_result(token, job.tps_code, job.election, wrong, hashes, "k")
    assert (answer.verdict, answer.status, answer.failure) == (Verdict.REJECT, 422, "4xx:422")
    assert answer.detail.startswith("HTTP 422: sum(chart) ")
    assert (job.tps_code, job.election) not in setup.service.store.forms or not (
        setup.service.store.forms[(job.tps_code, job.election)].revisions
    )


def test_a_read_maps_the_renamed_numbers_back_to_chart_and_administrasi(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    empty = setup.api.read_result(job.tps_code, job.election)
    assert empty.ok and empty.data["chart"] is None and empty.data["administrasi"] is None
    hashes = setup.upload_all(token)
    truth = setup.truth
    receipt = setup.api.submit_result(token, job.tps_code, job.election, truth, hashes, "k").data
    answer = setup.api.read_result(job.tps_code, job.election)
    assert answer.ok
    assert answer.data["chart"] == truth["chart"]
    assert answer.data["administrasi"] == truth["administrasi"]
    assert {k: answer.data[k] for k in receipt} == receipt  # receipt, content hash, revision
    # the audit's hash of what was read is the hash of what was acknowledged
    digest = result_digest(answer.data["chart"], answer.data["administrasi"])
    assert digest == result_digest(truth["chart"], truth["administrasi"])
    assert setup.transport.sent[-1] == ("read", "GET", f"/v2/formulir/{job.tps_code}/ppwp")


def test_a_read_of_a_tps_the_service_does_not_know_is_refused(setup: Setup) -> None:
    answer = setup.api.read_result("9999999999001", "ppwp")
    assert (answer.verdict, answer.status) == (Verdict.REJECT, 404)


def test_an_expired_token_means_log_in_again(setup: Setup) -> None:
    token, job = setup.login(), setup.job
    photo, sha = setup.photo(0)
    setup.service.store.expire_tokens()
    answer = setup.api.upload_page(token, job.tps_code, job.election, 0, photo, sha)
    assert (answer.verdict, answer.status) == (Verdict.RELOGIN, 401)
    assert setup.api.upload_page(setup.login(), job.tps_code, job.election, 0, photo, sha).ok


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_server_error_or_overload_means_retry_after_what_it_asks(
    setup: Setup, status: int
) -> None:
    setup.service.store.fail_next(1, status, retry_after="2")
    job = setup.job
    answer = setup.api.login(job.tps_code, job.device_id, job.secret)
    assert (answer.verdict, answer.status, answer.retry_after) == (Verdict.RETRY, status, 2.0)
    assert answer.failure == f"{status // 100}xx:{status}"
    assert setup.api.login(job.tps_code, job.device_id, job.secret).ok


def test_a_write_to_another_tps_is_refused(setup: Setup) -> None:
    token = setup.login()
    other = next(job for job in setup.plan.jobs if job.tps_code != setup.job.tps_code)
    photo, sha = setup.photo(0)
    answer = setup.api.upload_page(token, other.tps_code, "ppwp", 0, photo, sha)
    assert (answer.verdict, answer.status) == (Verdict.REJECT, 403)
    assert answer.detail.startswith(f"HTTP 403: token ini untuk TPS {setup.job.tps_code}")


def test_a_success_without_the_renamed_fields_is_judged_cut_off() -> None:
    @dataclass
    class Answering:
        body: bytes

        def send(self, *args: Any, **kwargs: Any) -> Response:
            return Response(200, None, self.body)

    api = RenamedApi(Answering(b'{"token": "t", "expires_in": 60}'), TIMEOUTS)
    answer = api.login("5103051005001", "5103051005001-1", "s")
    assert (answer.verdict, answer.failure) == (Verdict.RETRY, "truncated")
    assert answer.detail == "HTTP 200: body has no akses, berlaku"
    bad = json.dumps({"perolehan": {"100025": 1}, "rekap": {}}).encode()
    read = RenamedApi(Answering(bad), TIMEOUTS).read_result("5103051005001", "ppwp")
    assert (read.verdict, read.failure) == (Verdict.RETRY, "truncated")


def test_a_device_uploads_and_verifies_a_form_through_the_adapter(setup: Setup) -> None:
    """The real device flow (on a fake clock) over real HTTP: one request per call, the form
    acked, and its read-back verified by the service's own content hash."""
    plan, job = setup.plan, setup.job
    clock = FakeClock(now_s=1_000.0)
    context = DeviceContext(
        population=plan.population,
        policy=RetryPolicy(plan.scenario.client.retry, plan.speedup),
        tokens=TokenCache(),
        think_time=plan.scenario.client.think_time,
        speedup=plan.speedup,
        clock_start=1_000.0 - job.ready / plan.speedup,
        read_back=1.0,
        now=clock.now,
        sleep=clock.sleep,
    )
    setup.service.store.fail_next(1, 503)  # the first request is retried
    record = FormRecord(job, 0, clock.now(), started_at=clock.now())
    FormUpload(record, setup.api, context).run()
    assert (record.final_outcome, record.read_back) == ("acked", "verified"), record.reason
    assert record.result_sha256 == result_digest(setup.truth["chart"], setup.truth["administrasi"])
    assert record.session_attempts == 2 and record.failures == {"5xx:503": 1}
    endpoints = [endpoint for endpoint, _, _ in setup.transport.sent]
    assert endpoints == ["session", "session", *["page"] * len(job.pages), "result", "read"]
    assert len(setup.service.store.requests) == len(endpoints)  # exactly one request per call


def test_the_preflight_passes_through_the_adapter(setup: Setup) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "locustfiles.preflight", "--scenario", str(SMOKE),
         "--host", setup.service.url, "--api-class", SPEC],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stdout + result.stderr
    assert {line["check"]: line["status"] for line in lines} == dict.fromkeys(
        ("login", "page", "arithmetic", "result", "read"), "pass"
    )


def test_a_scenario_with_a_plenary_needs_the_operator_methods(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        check_plenary_api(SPEC)
    assert ended.value.code == 2
    assert capsys.readouterr().err.startswith(
        f"locustfiles/sirekap.py: --api-class: {SPEC} has no operator_login, submit_plenary, "
        "plenary_progress; the scenario's [plenary] needs the PPK operator methods"
    )
