"""``readback.jsonl``: each form read back through the target's public read API after the load.

Written once, after the load and after every fault is cleared (locustfiles/readback.py), sorted
by (tps_code, election); one line per form read::

    {"tps_code": "5103051005001", "election": "ppwp",
     "found": true,             # the service holds a result (false: none; null: the read failed)
     "result_sha256": "...",    # rundir.ledger.result_digest of the numbers read (null: none)
     "revision": 2,             # when the API says (null otherwise)
     "receipt_id": "rcpt_...",  # when the API says (null otherwise)
     "status": 200,             # HTTP status of the last attempt (0: no answer)
     "attempts": 1,
     "error": null}             # what went wrong, when the read failed

A ``readback.json`` header is not kept: the run record's ``parts.read_back`` says which forms were
read (every started form, or a sample when the export audits), the rate and how it ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def form_key(line: Mapping[str, Any]) -> tuple[str, str]:
    """The form a ledger or read-back line is about."""
    return (str(line["tps_code"]), str(line["election"]))
