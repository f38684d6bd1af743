"""Every TPS form that was never acknowledged, and its last failure as the ledger tells it.

A form is unacknowledged when none of its devices' ledger lines has an acknowledgement. For each
one the report shows where its device stopped (endpoint), how often it tried there, the kind of
failure it saw most and the last answer in the device's own words (the ledger's ``reason``, e.g.
"page 1 failed 8 times, last: ConnectionRefusedError ..."). The list is bounded; the count is not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SHOWN = 50  # forms listed in the report; the count covers them all
_REASON = re.compile(
    r"^(session|page \d+|result|read) (?:failed \d+ times?, last: |refused: )(.*)$"
)


@dataclass(frozen=True)
class Unacked:
    tps_code: str
    election: str
    outcome: str  # abandoned | rejected | not_started
    endpoint: str  # where the device stopped: session, page 2, result, ...
    attempts: int  # attempts at that endpoint
    kind: str  # the failure kind seen most ("-" when nothing failed)
    last_status: str  # the last answer, or why the device stopped
    ready_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stopped_at(attempts: dict[str, Any]) -> tuple[str, int]:
    """The furthest step the device reached, from its attempt counts."""
    for step in ("read", "result"):
        if attempts.get(step):
            return step, int(attempts[step])
    pages = attempts.get("pages") or []
    for index in range(len(pages) - 1, -1, -1):
        if pages[index]:
            return f"page {index + 1}", int(pages[index])
    return "session", int(attempts.get("session") or 0)


def _attempts_at(attempts: dict[str, Any], endpoint: str) -> int:
    if endpoint.startswith("page "):
        pages = attempts.get("pages") or []
        index = int(endpoint.split()[1]) - 1
        return int(pages[index]) if index < len(pages) else 0
    return int(attempts.get(endpoint) or 0)


def _describe(lines: Sequence[dict[str, Any]]) -> Unacked:
    last = max(lines, key=lambda line: float(line.get("ended_s") or line.get("ready_s") or 0))
    attempts = last.get("attempts") or {}
    reason = str(last.get("reason") or "")
    match = _REASON.match(reason)
    if match:
        endpoint, status = match.group(1), match.group(2)
        count = _attempts_at(attempts, endpoint)
    else:
        (endpoint, count), status = _stopped_at(attempts), reason or "no reason recorded"
    kinds: Counter[str] = Counter()
    for line in lines:
        kinds.update(line.get("failures") or {})
    return Unacked(
        tps_code=str(last["tps_code"]),
        election=str(last["election"]),
        outcome=str(last.get("final_outcome") or "unknown"),
        endpoint=endpoint,
        attempts=count,
        kind=kinds.most_common(1)[0][0] if kinds else "-",
        last_status=status,
        ready_s=min(float(line["ready_s"]) for line in lines),
    )


def unacknowledged(ledger: Sequence[dict[str, Any]]) -> list[Unacked]:
    """The never-acknowledged forms, in ready order."""
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in ledger:
        forms.setdefault((line["tps_code"], line["election"]), []).append(line)
    missing = [
        _describe(lines)
        for lines in forms.values()
        if not any(line.get("final_outcome") == "acked" for line in lines)
    ]
    return sorted(missing, key=lambda form: (form.ready_s, form.tps_code, form.election))


def unacknowledged_json(forms: Sequence[Unacked]) -> dict[str, Any]:
    """``{count, shown, forms: [...]}``: at most SHOWN forms, the count of all of them."""
    return {
        "count": len(forms),
        "shown": min(len(forms), SHOWN),
        "forms": [form.as_dict() for form in forms[:SHOWN]],
    }
