"""What happened to one job, filled in as the device works: one line of ``ledger.jsonl``.

The line's format is :mod:`rundir.ledger`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from locustfiles.jobs import Job
from rundir.ledger import (
    ABANDONED,
    NOT_STARTED,
    REJECTED,
)


@dataclass
class MisreadState:
    """What happened to a form's misread numbers (see the module doc)."""

    fields: tuple[str, ...]
    consistent: bool
    stored: bool = False
    caught_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "consistent": self.consistent,
            "stored": self.stored,
            "caught_by": self.caught_by,
        }


@dataclass
class FormRecord:
    """What happened to one job; filled in as the device works."""

    job: Job
    worker: int
    due_at: float
    started_at: float | None = None
    session_attempts: int = 0
    page_attempts: list[int] = field(default_factory=list)
    result_attempts: int = 0
    read_attempts: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    first_failure: str | None = None
    first_verdict: str | None = None  # "retry" or "reject": how the first failure was judged
    final_outcome: str = NOT_STARTED
    reason: str | None = None
    receipt_id: str | None = None
    content_sha256: str | None = None
    revision: int | None = None
    page_sha256: list[str | None] = field(default_factory=list)
    result_sha256: str | None = None  # rundir.ledger.result_digest of the numbers acknowledged
    acked_at: float | None = None
    ended_at: float | None = None  # when the device stopped working on it, whatever the outcome
    read_back: str | None = None
    misread: MisreadState | None = None
    step: str = "waiting"  # where the device is (for the reason when the run ends)

    def __post_init__(self) -> None:
        pages = len(self.job.pages)
        if not self.page_attempts:
            self.page_attempts = [0] * pages
        if not self.page_sha256:
            self.page_sha256 = [None] * pages

    @property
    def slip(self) -> float | None:
        return None if self.started_at is None else self.started_at - self.due_at

    def failed(self, kind: str, verdict: str) -> None:
        """Count one failed attempt; the first one decides the first outcome."""
        self.failures[kind] = self.failures.get(kind, 0) + 1
        if self.first_failure is None:
            self.first_failure = kind
            self.first_verdict = verdict

    @property
    def first_outcome(self) -> str:
        if self.started_at is None:
            return NOT_STARTED
        if self.first_verdict == "reject":
            return REJECTED
        if self.first_verdict is not None:
            return ABANDONED
        return self.final_outcome if self.final_outcome != NOT_STARTED else ABANDONED

    def to_json(self, clock_start: float, speedup: float) -> dict[str, Any]:
        job = self.job
        slip = self.slip
        return {
            "tps_code": job.tps_code,
            "election": job.election,
            "device_id": job.device_id,
            "ready_s": round(job.ready, 3),
            "due_at": round(self.due_at, 6),
            "started_at": None if self.started_at is None else round(self.started_at, 6),
            "start_slip_s": None if slip is None else round(slip, 6),
            "attempts": {
                "session": self.session_attempts,
                "pages": list(self.page_attempts),
                "result": self.result_attempts,
                "read": self.read_attempts,
            },
            "failures": dict(sorted(self.failures.items())),
            "first_outcome": self.first_outcome,
            "first_failure": self.first_failure,
            "final_outcome": self.final_outcome,
            "reason": self.reason,
            "receipt_id": self.receipt_id,
            "content_sha256": self.content_sha256,
            "revision": self.revision,
            "page_sha256": list(self.page_sha256),
            "result_sha256": self.result_sha256,
            "acked_at": None if self.acked_at is None else round(self.acked_at, 6),
            "acked_s": (
                None if self.acked_at is None else round((self.acked_at - clock_start) * speedup, 3)
            ),
            "ended_at": None if self.ended_at is None else round(self.ended_at, 6),
            "ended_s": (
                None if self.ended_at is None else round((self.ended_at - clock_start) * speedup, 3)
            ),
            "read_back": self.read_back,
            "misread": None if self.misread is None else self.misread.to_json(),
            "worker": self.worker,
        }
