"""What a KPPS device does with one form: log in, upload each page on time, submit, read back.

Pages go at the page times of the arrival schedule (a page is never sent before its time; after a
slow or retried page the next goes at once). Think time (simulated, scenario ``think_time``) comes
before the steps the schedule does not time: the submission and the read-back. Every failed
request is judged by the API (:mod:`locustfiles.api`) and retried by the scenario's policy
(:mod:`locustfiles.retry`); a step that runs out of attempts abandons the form, a refusal rejects
it. The read-back checks what the server stores but never changes the form's outcome.

A form the app misreads (scenario ``[quality]``, :mod:`scenarios.workload.misreads`) is first
submitted with the misread numbers. When the server's ballot arithmetic refuses them (422) the
officer notices, fixes the numbers (``officer_fix``, simulated) and submits the truth under a new
Idempotency-Key; numbers that still add up are stored as read.

Nothing here imports Locust: the clock (``now``/``sleep``) and the API are passed in, so the flow
and its timing can be tested with a fake clock.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from locustfiles.api import Answer, DeviceCalls, Verdict
from locustfiles.form_record import FormRecord, MisreadState
from locustfiles.retry import RetryPolicy
from rundir.ledger import ABANDONED, ACKED, ARITHMETIC, REJECTED, result_digest
from scenarios import Election, Misread, Population

ARITHMETIC_REFUSAL = 422


class DeviceApi(DeviceCalls, Protocol):
    """The four calls of :class:`locustfiles.api.SirekapApi` a device makes."""

    def upload_page(
        self, token: str, tps_code: str, election: str, page: int, photo: bytes, sha256: str
    ) -> Answer: ...

    def read_result(self, tps_code: str, election: str) -> Answer: ...


class FormEnded(Exception):
    """The form reached a final outcome other than acked (or the run ended)."""

    def __init__(self, outcome: str | None, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class TokenCache:
    """Device tokens of this process, kept across a device's forms until they expire."""

    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def get(self, device_id: str, now: float) -> str | None:
        entry = self.tokens.get(device_id)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def put(self, device_id: str, token: str, expires_at: float) -> None:
        self.tokens[device_id] = (token, expires_at)

    def drop(self, device_id: str) -> None:
        self.tokens.pop(device_id, None)


@dataclass
class DeviceContext:
    """What every device of a process shares."""

    population: Population
    policy: RetryPolicy
    tokens: TokenCache
    think_time: tuple[float, float]  # simulated seconds
    speedup: float
    clock_start: float
    read_back: float  # fraction of acked forms read back
    now: Callable[[], float]
    sleep: Callable[[float], None]
    closed: Callable[[], bool] = lambda: False
    misreads: Mapping[tuple[str, Election], Misread] = field(default_factory=dict)
    officer_fix: tuple[float, float] = (0.0, 0.0)  # simulated seconds


class FormUpload:
    """One run of one job; fills in its :class:`FormRecord`."""

    def __init__(self, record: FormRecord, api: DeviceApi, context: DeviceContext) -> None:
        self.record = record
        self.api = api
        self.context = context
        job = record.job
        self.rng = random.Random(f"{context.population.seed}/{job.device_id}/{job.election}")
        self.result: dict[str, Any] = {}

    def run(self) -> None:
        """Upload the form; sets the record's final outcome (acked, abandoned or rejected)."""
        record = self.record
        try:
            self._token()
            for page in range(len(record.job.pages)):
                self._page(page)
            self._think()
            self._submit()
        except FormEnded as ended:
            if ended.outcome is not None:
                record.final_outcome = ended.outcome
                record.reason = ended.reason
            return
        if self._reads_back():
            self._read_back()
        else:
            record.read_back = "skipped"

    def _reads_back(self) -> bool:
        """Whether this form is read back: a draw of its own, the same in every run."""
        share = self.context.read_back
        if share >= 1 or share <= 0:
            return share >= 1
        seed = self.context.population.seed
        return random.Random(f"{seed}/read/{self.record.job.key}").random() < share

    # ---- steps ----

    def _token(self) -> str:
        context, job = self.context, self.record.job
        token = context.tokens.get(job.device_id, context.now())
        if token is not None:
            return token
        self.record.step = "session"
        answer = self._attempts(
            "session", lambda: self.api.login(job.tps_code, job.device_id, job.secret)
        )
        token, expires_in = answer.data.get("token"), answer.data.get("expires_in")
        if not isinstance(token, str):
            raise FormEnded(ABANDONED, "session: the server sent no token")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) else 3600.0
        # Renew a little early so a token does not expire mid-form.
        context.tokens.put(job.device_id, token, context.now() + 0.9 * lifetime)
        return token

    def _page(self, page: int) -> None:
        record, context, job = self.record, self.context, self.record.job
        due = context.clock_start + job.pages[page] / context.speedup
        delay = due - context.now()
        if delay > 0:
            context.sleep(delay)
        first: bytes | None = self._photo(page)
        sha256 = hashlib.sha256(first or b"").hexdigest()
        record.step = f"page {page + 1}"

        def upload() -> Answer:
            nonlocal first
            token = self._token()
            record.step = f"page {page + 1}"
            # Made again for a retry, so no photo is held while a device waits.
            photo, first = (first if first is not None else self._photo(page)), None
            return self.api.upload_page(token, job.tps_code, job.election, page, photo, sha256)

        answer = self._attempts(f"page {page + 1}", upload, page=page)
        stored = answer.data.get("sha256")
        record.page_sha256[page] = stored if isinstance(stored, str) else sha256

    def _submit(self) -> None:
        record, context, job = self.record, self.context, self.record.job
        truth = context.population.result_body(job.tps_code, job.election)
        key = job.idempotency_key
        wrong = context.misreads.get((job.tps_code, job.election))
        if wrong is not None:
            state = record.misread = MisreadState(wrong.fields, wrong.consistent)
            if self._result(wrong.body, key, arithmetic_may_refuse=True):
                state.stored = True
                return
            # The arithmetic check refused the numbers as read: the officer fixes them.
            state.caught_by = ARITHMETIC
            self._pause(context.officer_fix)
            key = job.key_for(2)
        self._result(truth, key)

    def _result(self, body: Any, key: str, *, arithmetic_may_refuse: bool = False) -> bool:
        """Submit ``body``; True once acked, False on an arithmetic refusal if allowed."""
        record, job = self.record, self.record.job
        pages = [sha for sha in record.page_sha256 if sha is not None]
        record.step = "result"

        def submit() -> Answer:
            token = self._token()
            record.step = "result"
            return self.api.submit_result(token, job.tps_code, job.election, body, pages, key)

        answer = self._attempts(
            "result", submit, keep_refusal=_arithmetic if arithmetic_may_refuse else None
        )
        if not answer.ok:
            return False
        record.receipt_id = _text(answer.data.get("receipt_id"))
        record.content_sha256 = _text(answer.data.get("content_sha256"))
        revision = answer.data.get("revision")
        record.revision = revision if isinstance(revision, int) else None
        record.acked_at = self.context.now()
        record.final_outcome = ACKED
        self.result = dict(body)
        record.result_sha256 = result_digest(body["chart"], body["administrasi"])
        return True

    def _read_back(self) -> None:
        record, job = self.record, self.record.job
        try:
            self._think()
            record.step = "read"
            answer = self._attempts(
                "read", lambda: self.api.read_result(job.tps_code, job.election)
            )
        except FormEnded:
            record.read_back = "failed"
            return
        stored_hash = answer.data.get("content_sha256")
        if stored_hash is not None:
            same = stored_hash == record.content_sha256
        else:
            same = (answer.data.get("chart"), answer.data.get("administrasi")) == (
                self.result["chart"],
                self.result["administrasi"],
            )
        record.read_back = "verified" if same else "mismatch"

    # ---- retries ----

    def _attempts(
        self,
        step: str,
        call: Callable[[], Answer],
        page: int | None = None,
        keep_refusal: Callable[[Answer], bool] | None = None,
    ) -> Answer:
        """Call until ok; FormEnded when refused, out of attempts, or the run has ended.

        A refusal ``keep_refusal`` accepts is returned (counted as a failure) instead.
        """
        record, context = self.record, self.context
        failures = 0
        while True:
            if context.closed():
                raise FormEnded(None, "run ended")
            answer = call()
            self._count(step, page)
            if answer.verdict is Verdict.OK:
                return answer
            kind = answer.failure or "other"
            refused = answer.verdict is Verdict.REJECT
            if record.final_outcome != ACKED:  # a failed read-back does not change the outcome
                record.failed(kind, "reject" if refused else "retry")
            if refused and keep_refusal is not None and keep_refusal(answer):
                return answer
            if refused:
                raise FormEnded(REJECTED, f"{step} refused: {answer.detail or kind}")
            if answer.verdict is Verdict.RELOGIN:
                context.tokens.drop(record.job.device_id)
            failures += 1
            wait = context.policy.wait(failures, self.rng.random(), answer.retry_after)
            if wait is None:
                raise FormEnded(
                    ABANDONED,
                    f"{step} failed {failures} time{'s' if failures > 1 else ''}, "
                    f"last: {answer.detail or kind}",
                )
            context.sleep(wait)

    def _count(self, step: str, page: int | None) -> None:
        record = self.record
        if step == "session":
            record.session_attempts += 1
        elif page is not None:
            record.page_attempts[page] += 1
        elif step == "result":
            record.result_attempts += 1
        elif step == "read":
            record.read_attempts += 1

    def _think(self) -> None:
        self._pause(self.context.think_time)

    def _pause(self, span: tuple[float, float]) -> None:
        """Wait a uniform draw from ``span`` (simulated seconds)."""
        low, high = span
        pause = (low if high <= low else self.rng.uniform(low, high)) / self.context.speedup
        if pause > 0:
            self.context.sleep(pause)

    def _photo(self, page: int) -> bytes:
        job = self.record.job
        return self.context.population.photo(job.tps_code, job.election, page)


def _arithmetic(answer: Answer) -> bool:
    """Whether a refusal is the server's ballot-arithmetic check (422)."""
    return answer.status == ARITHMETIC_REFUSAL or answer.failure == f"4xx:{ARITHMETIC_REFUSAL}"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
