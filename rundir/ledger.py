"""The ledger: one line per TPS form and device, what happened to it and what the server acked.

``ledger.jsonl`` holds one JSON object per line, sorted by (tps_code, election, device_id);
every job of the schedule has exactly one line, started or not::

    {"tps_code": "5103051005001", "election": "ppwp", "device_id": "5103051005001-1",
     "ready_s": 1234.5,            # simulated seconds from the start: when the form is ready
     "due_at": 1732755612.3,       # real UNIX time the upload was due to start
     "started_at": 1732755612.35,  # real UNIX time it started (null if it never did)
     "start_slip_s": 0.05,         # started_at - due_at, real seconds (null if not started)
     "attempts": {"session": 1, "pages": [1, 2, 1], "result": 1, "read": 1},
     "failures": {"5xx:503": 1},   # failed attempts of this form by kind
     "first_outcome": "abandoned", # the outcome had the device never retried
     "first_failure": "5xx:503",   # what failed first (null if nothing did)
     "final_outcome": "acked",     # acked | abandoned | rejected | not_started
     "reason": null,               # why it is not acked, in words
     "receipt_id": "rcpt_...", "content_sha256": "...", "revision": 1,   # as acknowledged
     "page_sha256": ["...", "...", "..."],   # page photos acknowledged (null: not acked)
     "result_sha256": "...",       # result_digest of the numbers acknowledged (null: not acked)
     "acked_at": 1732755620.1,     # real UNIX time the result was acknowledged
     "acked_s": 9876.0,            # the simulated offset of that moment
     "ended_at": 1732755620.2,     # real UNIX time the device finished with the form (any outcome)
     "ended_s": 9876.3,            # its simulated offset (null if the form never started)
     "read_back": "verified",      # verified | mismatch | failed | skipped | null
     "misread": null,              # or, for a form whose first upload carries a misread:
        # {"fields": ["administrasi.suara_sah", "chart.100025", ...],  # differing from the truth
        #  "consistent": true,        # whether the misread numbers still add up
        #  "stored": true,            # whether the server acknowledged the misread numbers
        #  "caught_by": "plenary"}    # "arithmetic" (a 422, the officer sent the truth),
        #  "plenary" (a discrepancy, then a KPPS correction was stored), or null: not caught
        #  (still Sirekap's latest if stored); filled in by the conductor at the end
     "worker": 0}                  # generator process index
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

# what caught a misread (``misread.caught_by``)
ARITHMETIC: Final = "arithmetic"
PLENARY: Final = "plenary"
# final_outcome / first_outcome
ACKED: Final = "acked"
ABANDONED: Final = "abandoned"
REJECTED: Final = "rejected"
NOT_STARTED: Final = "not_started"
FINAL_OUTCOMES: Final = (ACKED, ABANDONED, REJECTED, NOT_STARTED)
# The reason of a form whose generator process was lost (or never sent its final report): the
# generator's loss, never the target's; not a start slip either (the loss is said on its own).
LOST_PREFIX: Final = "lost: "


def ledger_order(line: Mapping[str, Any]) -> tuple[str, str, str]:
    """The order of ``ledger.jsonl``: by TPS, election, device."""
    return (line["tps_code"], line["election"], line["device_id"])


def result_digest(chart: Any, administrasi: Any) -> str:
    """The numbers of a result as one hash, whatever the service: SHA-256 of the canonical JSON
    (sorted keys, no spaces) of ``{"administrasi": ..., "chart": ...}``. The ledger keeps it for
    what was acknowledged; the read-back audit computes it from what a read shows (KPU's per-TPS
    JSON has both fields), so an API without content hashes is audited too."""
    text = json.dumps(
        {"administrasi": administrasi, "chart": chart}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()
