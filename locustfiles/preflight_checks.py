"""The preflight's device checks, through the devices' own API class (``--api-class``).

- ``login``: a device of the scenario's registry logs in;
- ``page``: a page photo PUT twice is stored once (idempotent by its hash);
- ``arithmetic``: a result whose votes do not add up is refused with 422;
- ``result``: the true result PUT twice under one Idempotency-Key gets one receipt;
- ``read``: the read gives the stored numbers, in KPU's per-TPS shape.

With the mock's own API class the answers' statuses and bodies are checked against its contract
too (README, "API"); through an adapter, what the adapter's answers say. No retries: the preflight
expects a quiet target, and a 503 is a failure that shows the server's answer.

Which form it sends: the run's earliest form that the app does not misread (a presidential one
if there is one), as the device that sends it first would: the same photos, numbers and
Idempotency-Key. The run's own upload of that form is then an idempotent repeat that gets the
same receipt, so the run's ledger and audit see nothing the run did not send. The result that
breaks the arithmetic goes under a key of its own and is refused before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from locustfiles.api import Answer, json_object
from locustfiles.device import DeviceApi
from locustfiles.jobs import Job, Plan
from locustfiles.plain_transport import PlainTransport

PASS, FAIL, SKIP = "pass", "fail", "skip"
# KPU's per-TPS JSON (mock_sirekap/public_json.py, README "API")
KPU_KEYS = ("mode", "chart", "images", "administrasi", "psu", "ts", "status_suara", "status_adm")
ARITHMETIC_REFUSAL = 422
REGISTRY_FIX = (
    "load the scenario's registry into the target (sirekap-loadtest validate SCENARIO "
    "--registry FILE writes it)"
)


@dataclass(frozen=True)
class Line:
    check: str
    status: str
    detail: str

    def as_json(self) -> str:
        return json.dumps({"check": self.check, "status": self.status, "detail": self.detail})


def choose_job(plan: Plan) -> Job:
    """The form the preflight sends (see the module doc); ValueError if the run sends none."""
    clean = [job for job in plan.jobs if (job.tps_code, job.election) not in plan.misreads]
    if not clean:
        raise ValueError(
            "the scenario sends no form the app reads correctly within its duration; "
            "nothing to check with"
        )
    presidential = [job for job in clean if job.election == "ppwp"]
    return (presidential or clean)[0]


class Preflight:
    """The device checks, in order; a check that needs an earlier one's outcome is skipped."""

    def __init__(
        self, plan: Plan, job: Job, api: DeviceApi, transport: PlainTransport, contract: bool
    ):
        self.plan, self.job, self.api, self.transport = plan, job, api, transport
        self.contract = contract  # the mock's own API: its statuses and bodies are checked too
        self.form = f"TPS {job.tps_code} {job.election}"
        self.truth = plan.population.result_body(job.tps_code, job.election)
        self.token = ""
        self.hashes: list[str] = []

    def run(self) -> list[Line]:
        lines = [self.login()]
        if not self.token:
            return lines + _skipped(("page", "arithmetic", "result", "read"), "login")
        lines.append(self.pages())
        if len(self.hashes) < len(self.job.pages):
            return lines + _skipped(("arithmetic", "result", "read"), "page")
        lines.append(self.arithmetic())
        result, stored = self.result()
        lines.append(result)
        lines.append(self.read() if stored else _skipped(("read",), "result")[0])
        return lines

    def login(self) -> Line:
        job = self.job
        answer = self.api.login(job.tps_code, job.device_id, job.secret)
        token = answer.data.get("token")
        who = f"device {job.device_id} of TPS {job.tps_code}"
        if answer.ok and isinstance(token, str) and token:
            self.token = token
            return Line("login", PASS, f"{who} (the scenario's registry) logged in")
        fix = (
            REGISTRY_FIX
            if answer.status in {401, 403}
            else "POST /api/v1/sessions must answer 201 with a token (README, API)"
        )
        return Line("login", FAIL, f"{who} could not log in: {_said(answer)}; {fix}")

    def pages(self) -> Line:
        job, population = self.job, self.plan.population
        for page in range(len(job.pages)):
            photo = population.photo(job.tps_code, job.election, page)
            sha256 = hashlib.sha256(photo).hexdigest()
            first = self.api.upload_page(
                self.token, job.tps_code, job.election, page, photo, sha256
            )
            where = f"PUT page {page + 1} of {self.form}"
            if not first.ok:
                return Line("page", FAIL, f"{where} was refused: {_said(first)}")
            if page == 0:
                first_body = _body(self.transport)
                repeat = self.api.upload_page(
                    self.token, job.tps_code, job.election, page, photo, sha256
                )
                problem = self._repeat_problem(sha256, first_body, repeat)
                if problem:
                    return Line("page", FAIL, f"not idempotent: {where} twice: {problem}")
            self.hashes.append(sha256)
        more = f"; pages 2-{len(job.pages)} stored" if len(job.pages) > 1 else ""
        return Line(
            "page", PASS, f"page 1 of {self.form} PUT twice was stored once "
            f"(sha256 {self.hashes[0][:12]}...){more}",
        )  # fmt: skip

    def _repeat_problem(self, sha256: str, first: dict[str, Any], repeat: Answer) -> str:
        """What shows the repeat of a stored photo was not taken as the same one ('' if none)."""
        fix = "a repeat of a stored hash must answer 200 with the stored copy (README, API)"
        if not repeat.ok:
            return f"the repeat was refused: {_said(repeat)}; {fix}"
        if repeat.data.get("sha256") != sha256:
            return f"the repeat answered sha256 {repeat.data.get('sha256')!r}; {fix}"
        if not self.contract:
            return ""
        again = _body(self.transport)
        if first.get("stored_at") != again.get("stored_at"):
            return (
                f"stored twice (stored_at {first.get('stored_at')}, then "
                f"{again.get('stored_at')}); {fix}"
            )
        if repeat.status != 200:
            return f"the repeat answered HTTP {repeat.status}, not 200; {fix}"
        job = self.job
        path = f"/api/v1/tps/{job.tps_code}/{job.election}/pages/1"
        listed = self.transport.send(
            "read",
            "GET",
            path,
            body=None,
            headers={},
            timeout=self.plan.scenario.client.timeouts.read,
        )
        if listed.status == 200:  # the stored versions, where the target lists them
            versions = json_object(listed.content).get("versions") or []
            copies = sum(1 for v in versions if isinstance(v, dict) and v.get("sha256") == sha256)
            if copies != 1:
                return f"GET {path} lists {copies} copies of the photo; {fix}"
        return ""

    def arithmetic(self) -> Line:
        job = self.job
        chart = dict(self.truth["chart"])
        candidate = min(chart)
        chart[candidate] += 1
        wrong = {"chart": chart, "administrasi": dict(self.truth["administrasi"])}
        key = f"preflight/{job.device_id}/{job.election}/arithmetic"
        answer = self.api.submit_result(
            self.token, job.tps_code, job.election, wrong, self.hashes, key
        )
        broken = f"a result of {self.form} whose votes do not add up (chart.{candidate} + 1)"
        if answer.status == ARITHMETIC_REFUSAL or answer.failure == f"4xx:{ARITHMETIC_REFUSAL}":
            return Line("arithmetic", PASS, f"{broken} was refused with 422")
        fix = "it must be refused with 422 naming each broken ballot rule (README, API)"
        if answer.ok:
            return Line("arithmetic", FAIL, f"{broken} was stored (HTTP {answer.status}); {fix}")
        return Line("arithmetic", FAIL, f"{broken} got {_said(answer)}; {fix}")

    def result(self) -> tuple[Line, bool]:
        """The result check, and whether the true result is stored."""
        job = self.job
        key = job.idempotency_key
        sent = f"the true result of {self.form} under Idempotency-Key {key}"
        first = self._submit(key)
        if not first.ok:
            fix = (
                "the target holds another result for this form: start it on an empty database "
                "or one only this scenario has written to"
                if first.status == 409
                else "PUT .../result must answer 201 with a receipt (README, API)"
            )
            return Line("result", FAIL, f"{sent} was refused: {_said(first)}; {fix}"), False
        repeat = self._submit(key)
        fix = "a replay must get the stored receipt (README, API)"
        if not repeat.ok:
            detail = f"not idempotent: {sent}, sent again, was refused: {_said(repeat)}; {fix}"
            return Line("result", FAIL, detail), True
        receipts = (first.data.get("receipt_id"), repeat.data.get("receipt_id"))
        if receipts[0] != receipts[1]:
            detail = (
                f"not idempotent: {sent}, sent twice, got two receipts ({receipts[0]}, then "
                f"{receipts[1]}); {fix}"
            )
            return Line("result", FAIL, detail), True
        return Line("result", PASS, f"{sent}, sent twice, got one receipt ({receipts[0]})"), True

    def _submit(self, key: str) -> Answer:
        job = self.job
        return self.api.submit_result(
            self.token, job.tps_code, job.election, self.truth, self.hashes, key
        )

    def read(self) -> Line:
        job = self.job
        answer = self.api.read_result(job.tps_code, job.election)
        where = f"the read of {self.form}"
        if not answer.ok:
            return Line("read", FAIL, f"{where} failed: {_said(answer)}")
        differ = [k for k in ("chart", "administrasi") if answer.data.get(k) != self.truth[k]]
        if differ:
            return Line(
                "read", FAIL, f"{where} does not give the stored {' and '.join(differ)}; "
                "a read must give the numbers as stored (README, API)",
            )  # fmt: skip
        if not self.contract:
            return Line("read", PASS, f"{where} gives the stored numbers (through the API class)")
        document = _body(self.transport)
        missing = [key for key in KPU_KEYS if key not in document]
        images = document.get("images")
        if not missing and not (isinstance(images, list) and len(images) == len(self.hashes)):
            missing = [f"images (one per page: {len(self.hashes)})"]
        if missing:
            return Line(
                "read", FAIL, f"{where} lacks KPU's {', '.join(missing)}: GET /api/v1/tps/"
                f"{{tps}}/{{election}} must answer KPU's per-TPS shape ({', '.join(KPU_KEYS)})",
            )  # fmt: skip
        return Line("read", PASS, f"{where} gives the stored numbers in KPU's per-TPS shape")


def _skipped(checks: tuple[str, ...], needs: str) -> list[Line]:
    return [Line(check, SKIP, f"not checked: needs the {needs} check to pass") for check in checks]


def _said(answer: Answer) -> str:
    return answer.detail or (f"HTTP {answer.status}" if answer.status else "no answer")


def _body(transport: PlainTransport) -> dict[str, Any]:
    """The last answer's JSON object ({} if none)."""
    return json_object(transport.last.content) if transport.last is not None else {}
