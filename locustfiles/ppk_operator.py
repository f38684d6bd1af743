"""What a PPK operator does in the kecamatan plenary, at human pace on the simulated clock.

From ``[plenary] start``, in working hours (less breaks, in the kecamatan's zone), the operator
goes through its TPS forms in code order: ``minutes_per_tps`` of work, then it PUTs the manual
totals (the truth) to the plenary and reads the answer:

- matched: the TPS is closed (gaveled); next TPS.
- discrepancy: the operator asks the KPPS for a correction and goes on; ``correction_delay``
  later the KPPS submits the truth as revision n+1, at any hour (:mod:`locustfiles.correction`);
  then the operator comes back to the TPS (a revisit: a quarter of the work, est.) and PUTs again.
- missing_upload (409): the TPS is put aside and the operator goes on. Every
  ``missing_recheck`` it looks at the kecamatan's progress (one GET, a minute's work, est.) and
  comes back to each put-aside TPS whose upload has arrived.
- no answer, a 5xx (the plenary gate's 503 too), a 401: the operator waits (the longer of the
  server's Retry-After and the client back-off, at least a simulated minute) and tries the same
  TPS again, taking no other TPS meanwhile: the plenary is held up, as when Sirekap was down.
- another 4xx: the TPS is left; a refused login ends the operator's shift.

Revisits that are due come first, then a due progress check, then new TPS. The shift ends when
every TPS is closed or left, or at the scenario's end. Nothing here imports Locust: the clock
and the API are passed in, so a shift can be tested with a fake clock.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol

from locustfiles.api import Answer, DeviceCalls, Verdict
from locustfiles.correction import correction_entry, send_correction
from locustfiles.jobs import OperatorJob, Plan
from locustfiles.retry import RetryPolicy
from rundir.plenary_record import (
    DISCREPANCY,
    MATCHED,
    MISSING_UPLOAD,
    REFUSED,
    PlenaryRecord,
    failure_outcome,
)
from scenarios import Election

REVISIT_SHARE = 0.25  # est.: coming back to a TPS takes a quarter of the first look
PROGRESS_S = 60.0  # est.: a look at the kecamatan's progress screen takes a minute
MIN_RETRY_S = 60.0  # est.: a person tries again after a simulated minute at the earliest
EPSILON = 1e-3  # simulated seconds: closer than this counts as there (float rounding)
Item = tuple[str, Election]  # (TPS code, election)


class PlenaryApi(DeviceCalls, Protocol):
    def operator_login(self, operator_id: str, kecamatan_code: str, secret: str) -> Answer: ...

    def submit_plenary(
        self, token: str, kecamatan_code: str, election: str, tps_code: str, manual: Any
    ) -> Answer: ...

    def plenary_progress(self, token: str, kecamatan_code: str, election: str) -> Answer: ...


@dataclass
class PlenaryContext:
    """What every operator of a process shares; ``now``/``sleep`` are real seconds."""

    plan: Plan
    clock_start: float
    now: Callable[[], float]
    sleep: Callable[[float], None]
    closed: Callable[[], bool] = lambda: False
    worker: int = 0


class OperatorShift:
    """One operator's work through the run; fills in a :class:`PlenaryRecord` per TPS form."""

    def __init__(self, job: OperatorJob, api: PlenaryApi, context: PlenaryContext) -> None:
        self.job, self.api, self.context = job, api, context
        plan = context.plan
        self.spec = plan.scenario.plenary
        self.speedup = plan.speedup
        self.end = plan.scenario.clock.duration
        self.periods = self.spec.periods(plan.scenario.clock, job.zone)
        self.policy = RetryPolicy(plan.scenario.client.retry, self.speedup)
        self.rng = random.Random(f"{plan.population.seed}/plenary/{job.operator_id}")
        self.records: dict[Item, PlenaryRecord] = {}
        self.queue: deque[Item] = deque(job.items)
        self.revisits: list[tuple[float, int, Item, float]] = []  # due, order, item, work (s)
        self.corrections: list[tuple[float, int, Item, dict[str, Any]]] = []  # due, ..., entry
        self.missing: set[Item] = set()  # put aside until their upload arrives
        self.progress_due: float | None = None
        self.retrying: Item | None = None  # a TPS that failed: the operator waits for it
        self.failures: dict[Item, int] = {}
        self.token: str | None = None
        self.locked_out = False
        self.finished = False
        self._order = count()

    # ---- the clock ----

    def _sim(self) -> float:
        return (self.context.now() - self.context.clock_start) * self.speedup

    def _over(self) -> bool:
        return self.locked_out or self.context.closed() or self._sim() >= self.end

    def _working_until(self, moment: float) -> float | None:
        """The end of the working period holding ``moment``, or None outside working time."""
        return next((end for start, end in self.periods if start <= moment < end - EPSILON), None)

    def _next_working(self, moment: float) -> float:
        """The first working moment from ``moment`` on (the run's end if there is none)."""
        if self._working_until(moment) is not None:
            return moment
        return next((start for start, _ in self.periods if start > moment), self.end)

    def _sleep_until(self, target: float) -> None:
        """Sleep to ``target`` (simulated), doing the KPPS corrections that fall due meanwhile."""
        while not self._over():
            now = self._sim()
            if now >= min(target, self.end) - EPSILON:
                return
            if self.corrections and self.corrections[0][0] <= now:
                self._correct(*heapq.heappop(self.corrections)[2:])
                continue
            until = min(target, self.end, *(due for due, *_ in self.corrections[:1]))
            self.context.sleep((until - now) / self.speedup)

    def _work(self, seconds: float) -> bool:
        """Spend ``seconds`` of working time; False if the run ended first."""
        remaining = seconds
        while remaining > EPSILON and not self._over():
            now = self._sim()
            period_end = self._working_until(now)
            if period_end is None:
                self._sleep_until(self._next_working(now))
                continue
            step = min(remaining, period_end - now)
            self._sleep_until(now + step)
            remaining -= step
        return not self._over()

    # ---- the shift ----

    def run(self) -> None:
        try:
            while not self._over():
                now = self._sim()
                if self.corrections and self.corrections[0][0] <= now:
                    self._correct(*heapq.heappop(self.corrections)[2:])
                    continue
                task = self._take(now) if self._working_until(now) is not None else None
                if task is not None:
                    action, work = task
                    if self._work(work):
                        action()
                    continue
                wake = self._wake(now)
                if wake is None:
                    return
                self._sleep_until(wake)
        finally:
            self.finished = True

    @property
    def work_left(self) -> bool:
        return bool(self.queue or self.revisits or self.corrections or self.missing)

    def _take(self, now: float) -> tuple[Callable[[], None], float] | None:
        """The next thing to do now and its work (simulated seconds), or None."""
        if self.revisits and self.revisits[0][0] <= now:
            _, _, item, work = heapq.heappop(self.revisits)
            return (lambda: self._visit(item)), work
        if self.progress_due is not None and self.progress_due <= now:
            self.progress_due = None
            return self._check_progress, PROGRESS_S
        if self.retrying is None and self.queue:
            item = self.queue.popleft()
            return (lambda: self._visit(item)), self.spec.minutes_per_tps * 60.0
        return None

    def _wake(self, now: float) -> float | None:
        """When there is something to do next; None when nothing is left."""
        wakes = [self.corrections[0][0]] if self.corrections else []
        if self.revisits:
            wakes.append(self._next_working(max(now, self.revisits[0][0])))
        if self.progress_due is not None:
            wakes.append(self._next_working(max(now, self.progress_due)))
        if self.queue and self.retrying is None:
            wakes.append(self._next_working(now))
        return min(wakes) if wakes else None

    def _revisit(self, item: Item, due: float, work: float) -> None:
        heapq.heappush(self.revisits, (due, next(self._order), item, work))

    @property
    def _revisit_work(self) -> float:
        return REVISIT_SHARE * self.spec.minutes_per_tps * 60.0

    def _record(self, item: Item) -> PlenaryRecord:
        record = self.records.get(item)
        if record is None:
            job = self.job
            record = PlenaryRecord(
                item[0], job.kecamatan_code, item[1], job.operator_id, self.context.worker
            )
            self.records[item] = record
        return record

    # ---- one TPS ----

    def _visit(self, item: Item) -> None:
        record, (code, election) = self._record(item), item
        self.retrying = None
        token = self._operator_token(item, record)
        if token is None:
            return
        truth = self.context.plan.population.result_body(code, election)
        answer = self.api.submit_plenary(token, self.job.kecamatan_code, election, code, truth)
        at = self._sim()
        status = answer.data.get("status") if answer.ok else None
        if status == MATCHED:
            record.attempt(at, MATCHED, answer.status)
        elif status == DISCREPANCY:
            differences = list(answer.data.get("differences") or [])
            record.attempt(at, DISCREPANCY, answer.status, differences=differences)
            record.cause(self._cause(item, differences))
            self._ask_correction(item, answer.data.get("revision"), at)
        elif answer.data.get("outcome") == MISSING_UPLOAD:
            record.attempt(at, MISSING_UPLOAD, answer.status, detail=answer.detail)
            self.missing.add(item)
            if self.progress_due is None:
                self.progress_due = at + self.spec.missing_recheck
        elif answer.verdict is Verdict.REJECT:
            record.attempt(at, REFUSED, answer.status, detail=answer.detail)
        else:
            detail = answer.detail or f"plenary answered {status!r}"
            record.attempt(at, failure_outcome(answer.status), answer.status, detail=detail)
            if answer.verdict is Verdict.RELOGIN:
                self.token = None
            self._retry(item, answer, at)
            return
        self.failures.pop(item, None)

    def _login(self) -> Answer:
        job = self.job
        answer = self.api.operator_login(job.operator_id, job.kecamatan_code, job.secret)
        token = answer.data.get("token") if answer.ok else None
        self.token = token if isinstance(token, str) else None
        if answer.verdict is Verdict.REJECT:
            self.locked_out = True  # wrong credentials: nothing this operator can do
        return answer

    def _operator_token(self, item: Item, record: PlenaryRecord) -> str | None:
        if self.token is not None:
            return self.token
        answer = self._login()
        if self.token is not None:
            return self.token
        at = self._sim()
        detail = answer.detail or "the server sent no token"
        outcome = failure_outcome(answer.status)
        record.attempt(at, outcome, answer.status, step="session", detail=detail)
        if answer.verdict is not Verdict.REJECT:
            self._retry(item, answer, at)
        return None

    def _retry(self, item: Item, answer: Answer, at: float) -> None:
        failures = self.failures[item] = self.failures.get(item, 0) + 1
        self.retrying = item
        self._revisit(item, at + self._wait(failures, answer), 0.0)

    def _wait(self, failures: int, answer: Answer) -> float:
        """Simulated seconds before trying again after a failure."""
        backoff = self.policy.spec.backoff(failures, self.rng.random())
        return max(MIN_RETRY_S, backoff, (answer.retry_after or 0.0) * self.speedup)

    def _cause(self, item: Item, differences: list[dict[str, Any]]) -> str:
        wrong = self.context.plan.misreads.get(item)
        fields = {str(entry.get("field")) for entry in differences}
        return "misread" if wrong is not None and fields <= set(wrong.fields) else "unknown"

    # ---- uploads put aside, KPPS corrections ----

    def _check_progress(self) -> None:
        """Look at the kecamatan's progress: back to every put-aside TPS now uploaded."""
        if self.token is None:
            self._login()
        for election in sorted({election for _, election in self.missing}):
            if self.token is None:
                break
            answer = self.api.plenary_progress(self.token, self.job.kecamatan_code, election)
            if answer.verdict is Verdict.RELOGIN:
                self.token = None
            if not answer.ok:
                continue
            still = set(answer.data.get("missing") or ())
            for item in sorted(self.missing):
                if item[1] == election and item[0] not in still:
                    self.missing.discard(item)
                    self._revisit(item, self._sim(), self._revisit_work)
        if self.missing:  # a failed look is tried again at the next one
            self.progress_due = self._sim() + self.spec.missing_recheck

    def _ask_correction(self, item: Item, revision: object, at: float) -> None:
        if any(pending[2] == item for pending in self.corrections):
            return
        low, high = self.spec.correction_delay
        due = at + (low if high <= low else self.rng.uniform(low, high))
        stored = revision if isinstance(revision, int) else 1
        entry = correction_entry(at, stored + 1)
        self._record(item).corrections.append(entry)
        heapq.heappush(self.corrections, (due, next(self._order), item, entry))

    def _correct(self, item: Item, entry: dict[str, Any]) -> None:
        send_correction(
            self.api, self.context.plan.population, item, entry, policy=self.policy,
            rng=self.rng, sim=self._sim, sleep=self.context.sleep, closed=self.context.closed,
        )  # fmt: skip
        if entry["outcome"] == "ended":
            return
        again = self._sim() + (0.0 if entry["outcome"] == "acked" else self.spec.missing_recheck)
        self._revisit(item, again, self._revisit_work)
