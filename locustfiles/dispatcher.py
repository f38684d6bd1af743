"""Open arrivals: hands each job to an idle device user when the job is due.

An idle user claims the next job in ready order and waits until it is due; a job that comes due
while every user is busy is claimed by the next user to finish, late. The delay between the due
time and the actual start is the job's start slip, recorded for every job and never hidden: the
schedule is not slowed to fit the generator. The user pool grows ahead of demand (see
:meth:`Dispatcher.need` and :mod:`locustfiles.conductor`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import gevent
from gevent.event import Event

from locustfiles.form_record import FormRecord
from locustfiles.jobs import DueTimes, Job
from locustfiles.recorder import Recorder
from rundir.ledger import ABANDONED, NOT_STARTED


class Dispatcher:
    """The jobs of one generator process, handed out in ready order."""

    def __init__(
        self,
        jobs: Sequence[Job],
        speedup: float,
        recorder: Recorder,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = tuple(jobs)
        self.speedup = speedup
        self.recorder = recorder
        self.clock = clock
        self.due = DueTimes(self.jobs, speedup)
        self.clock_start: float | None = None
        self._next = 0
        self._claimed: dict[int, FormRecord] = {}  # job index -> record, until finished
        self._busy = 0
        self._started = 0
        self._finished = 0
        self._go = Event()
        self._closed = Event()

    # ---- the run's clock ----

    def begin(self, clock_start: float) -> None:
        """Start handing out jobs: ``clock_start`` is the real UNIX time of simulated 0."""
        if self.clock_start is None:
            self.clock_start = clock_start
            self._go.set()

    @property
    def closed(self) -> bool:
        return bool(self._closed.is_set())

    def wait_closed(self, timeout: float | None = None) -> None:
        self._closed.wait(timeout)

    def wait_started(self) -> bool:
        """Wait for the clock start; False if the run ended first."""
        gevent.wait([self._go, self._closed], count=1)
        return not self.closed

    # ---- users ----

    def claim(self) -> FormRecord | None:
        """The next job, once due (its record marked started); None when none is left or closed."""
        if not self._go.is_set():
            gevent.wait([self._go, self._closed], count=1)
        if self.closed or self._next >= len(self.jobs):
            return None
        position = self._next
        self._next += 1
        job = self.jobs[position]
        assert self.clock_start is not None
        record = FormRecord(job, self.recorder.worker, self.clock_start + job.ready / self.speedup)
        self._claimed[job.index] = record
        delay = record.due_at - self.clock()
        if delay > 0 and self._closed.wait(delay):
            return None
        if self.closed:
            return None
        record.started_at = self.clock()
        record.step = "starting"
        self._busy += 1
        self._started += 1
        self.recorder.form_started(record)
        return record

    def done(self, record: FormRecord) -> None:
        """The user finished ``record``'s job (whatever its outcome)."""
        if self.closed:
            return
        self._busy -= 1
        self._finished += 1
        self._claimed.pop(record.job.index, None)
        self.recorder.form_finished(record, self.clock())

    # ---- status ----

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def all_done(self) -> bool:
        return self._finished == len(self.jobs)

    def need(self, lookahead: float) -> int:
        """Users wanted now: busy ones plus one per job due within ``lookahead`` real seconds."""
        if self.clock_start is None:
            soon = self.due.due_by(lookahead)
        else:
            soon = self.due.due_by(self.clock() - self.clock_start + lookahead)
        return self._busy + max(0, soon - self._started)

    def counts(self) -> dict[str, int]:
        return {
            "jobs": len(self.jobs),
            "started": self._started,
            "finished": self._finished,
            "busy": self._busy,
        }

    # ---- the end ----

    def close(self) -> None:
        """End the run here: unfinished jobs get their final ledger line; nothing more is sent."""
        if self.closed:
            return
        now = self.clock()
        start = self.clock_start if self.clock_start is not None else now
        for position, job in enumerate(self.jobs):
            record = self._claimed.get(job.index)
            if record is None:
                if position < self._next:
                    continue  # claimed and finished earlier
                record = FormRecord(job, self.recorder.worker, start + job.ready / self.speedup)
            self._finalize(record, now)
            self.recorder.form_finished(record, now)
        self._claimed.clear()
        self.recorder.close()
        self._closed.set()

    @staticmethod
    def _finalize(record: FormRecord, now: float) -> None:
        if record.started_at is None:
            record.final_outcome = NOT_STARTED
            late = now - record.due_at
            record.reason = (
                f"not started: due {late:.3f} s before the run ended"
                if late > 0
                else "not started: the run ended before it was due"
            )
        elif record.final_outcome == NOT_STARTED:
            record.final_outcome = ABANDONED
            record.reason = f"run ended during {record.step}"
