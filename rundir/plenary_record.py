"""``plenary.jsonl``: one line per (TPS, election) a PPK operator dealt with, sorted.

Times are simulated seconds from the scenario start (like the ledger's ``*_s``)::

    {"tps_code": "5103051005001", "kecamatan_code": "510305", "election": "ppwp",
     "operator_id": "ppk-510305-1",
     "upload_acked_s": 5432.1,       # first ack of the form's upload (from the ledger; null: never)
     "first_attempt_s": 97200.0,     # the operator's first request for this TPS
     "gaveled_s": 99012.5,           # when the operator saw it matched (closed); null: it did not
        # (the mock also closes a TPS when a KPPS correction matches the kept manual entry; the
        # export's plenary lines have the server's own closed_at)
     "attempts": [                   # every request for this TPS, in order
        {"at_s": 97200.0, "step": "plenary",   # "plenary" (the PUT) or "session" (its login)
         "outcome": "discrepancy",   # matched | discrepancy | missing_upload | refused (a 4xx
                                     # or 503: the gate, overload) | error (no answer, other 5xx)
         "differences": [{"field": "chart.100025", "manual": 41, "sirekap": 91}, ...],
         "status": 200,              # HTTP status, 0 when no answer came
         "detail": null}, ...],      # the error in words for refused and error
     "corrections": [                # KPPS corrections asked for after a discrepancy
        {"requested_s": 97200.0, "at_s": 104400.0, "revision": 2,
         "outcome": "acked",  # acked | refused | failed (out of attempts) | pending (not due
                              # before the run ended) | ended (the run ended while sending it)
         "receipt_id": "rcpt_...", "content_sha256": "...",
         "result_sha256": "...",     # rundir.ledger.result_digest of the numbers acked
         "status": 201, "detail": null}],
     "discrepancy_causes": ["misread"],  # per discrepancy kind seen: misread | unknown
     "misread": null,                # the form's ledger ``misread`` object (null: none)
     "worker": 0}                    # generator process index

``upload_acked_s`` and ``misread`` are filled in by the conductor from the ledger at the end
(:mod:`locustfiles.reconcile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

MATCHED: Final = "matched"
DISCREPANCY: Final = "discrepancy"
MISSING_UPLOAD: Final = "missing_upload"
REFUSED: Final = "refused"
ERROR: Final = "error"
ATTEMPT_OUTCOMES: Final = (MATCHED, DISCREPANCY, MISSING_UPLOAD, REFUSED, ERROR)
CORRECTION_OUTCOMES: Final = ("acked", "refused", "failed", "pending", "ended")


def failure_outcome(status: int) -> str:
    """``refused`` when the server said no (a 4xx, or a 503: the plenary gate, overload), else
    ``error`` (no answer, a cut-off answer, another 5xx)."""
    return REFUSED if 400 <= status < 500 or status == 503 else ERROR


def _s(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class PlenaryRecord:
    """What the plenary did with one TPS form; filled in as the operator works."""

    tps_code: str
    kecamatan_code: str
    election: str
    operator_id: str
    worker: int
    first_attempt_s: float | None = None
    gaveled_s: float | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.gaveled_s is not None

    @property
    def last_outcome(self) -> str | None:
        return self.attempts[-1]["outcome"] if self.attempts else None

    def attempt(
        self,
        at_s: float,
        outcome: str,
        status: int,
        *,
        step: str = "plenary",
        differences: list[dict[str, Any]] | None = None,
        detail: str | None = None,
    ) -> None:
        if self.first_attempt_s is None:
            self.first_attempt_s = at_s
        self.attempts.append(
            {
                "at_s": round(at_s, 3),
                "step": step,
                "outcome": outcome,
                "differences": differences or [],
                "status": status,
                "detail": detail,
            }
        )
        if outcome == MATCHED and self.gaveled_s is None:
            self.gaveled_s = at_s

    def cause(self, cause: str) -> None:
        if cause not in self.causes:
            self.causes.append(cause)

    def to_json(self) -> dict[str, Any]:
        return {
            "tps_code": self.tps_code,
            "kecamatan_code": self.kecamatan_code,
            "election": self.election,
            "operator_id": self.operator_id,
            "upload_acked_s": None,
            "first_attempt_s": _s(self.first_attempt_s),
            "gaveled_s": _s(self.gaveled_s),
            "attempts": list(self.attempts),
            "corrections": list(self.corrections),
            "discrepancy_causes": list(self.causes),
            "misread": None,
            "worker": self.worker,
        }


def plenary_order(line: Mapping[str, Any]) -> tuple[str, str]:
    return (line["tps_code"], line["election"])
