"""At the end of a run, what no single process knows: the ledger and the plenary joined.

A form's upload and its plenary may run in different processes, so the conductor, holding every
line, fills in the rest:

- every ledger line of a form with an injected misread gets its ``misread`` object (forms that
  never sent theirs too), the same on every device's line of the form, with ``caught_by``:
  ``arithmetic`` when the server refused the misread numbers (422), ``plenary`` when they were
  stored and the plenary found the discrepancy and a KPPS correction was stored, else null;
- every plenary line gets ``upload_acked_s`` (the form's first ack) and the form's ``misread``.

It also counts both for ``load_summary.json`` (the ``quality`` and ``plenary`` blocks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from locustfiles.jobs import Plan
from rundir.ledger import ACKED, ARITHMETIC, PLENARY
from rundir.plenary_record import ATTEMPT_OUTCOMES, DISCREPANCY, MISSING_UPLOAD

Form = tuple[str, str]


def _form(line: Mapping[str, Any]) -> Form:
    return (line["tps_code"], line["election"])


def corrected_forms(plenary: Sequence[Mapping[str, Any]]) -> set[Form]:
    """Forms where the plenary found a discrepancy and a KPPS correction was stored."""
    return {
        _form(line)
        for line in plenary
        if any(attempt["outcome"] == DISCREPANCY for attempt in line["attempts"])
        and any(correction["outcome"] == "acked" for correction in line["corrections"])
    }


def reconcile(
    plan: Plan, ledger: Sequence[dict[str, Any]], plenary: Sequence[dict[str, Any]]
) -> None:
    """Fill in the ledger's ``misread`` objects and the plenary's joined fields, in place."""
    by_form: dict[Form, list[dict[str, Any]]] = {}
    for line in ledger:
        by_form.setdefault(_form(line), []).append(line)
    corrected = corrected_forms(plenary)
    merged: dict[Form, dict[str, Any]] = {}
    for form, wrong in plan.misreads.items():
        states = [line["misread"] for line in by_form.get(form, ()) if line.get("misread")]
        stored = any(state["stored"] for state in states)
        if any(state["caught_by"] == ARITHMETIC for state in states):
            caught: str | None = ARITHMETIC
        else:
            caught = PLENARY if stored and form in corrected else None
        merged[form] = {**wrong.as_json(), "stored": stored, "caught_by": caught}
        for line in by_form.get(form, ()):
            line["misread"] = dict(merged[form])
    for line in plenary:
        key = _form(line)
        acks = [
            entry["acked_s"]
            for entry in by_form.get(key, ())
            if entry["final_outcome"] == ACKED and entry.get("acked_s") is not None
        ]
        line["upload_acked_s"] = min(acks) if acks else None
        line["misread"] = dict(merged[key]) if key in merged else None


def quality_block(plan: Plan, ledger: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Injected misreads (per form, not per device) and what caught them."""
    states: dict[Form, Mapping[str, Any]] = {}
    for line in ledger:
        if line.get("misread"):
            states.setdefault(_form(line), line["misread"])
    caught = Counter(state["caught_by"] for state in states.values())
    return {
        "misreads_injected": len(plan.misreads),
        "consistent": sum(1 for wrong in plan.misreads.values() if wrong.consistent),
        "stored": sum(1 for state in states.values() if state["stored"]),
        "caught_arithmetic": caught[ARITHMETIC],
        "caught_plenary": caught[PLENARY],
        "undetected": sum(
            1 for state in states.values() if state["stored"] and state["caught_by"] is None
        ),
        "never_stored": sum(
            1 for state in states.values() if not state["stored"] and state["caught_by"] is None
        ),
    }


def plenary_block(plan: Plan, plenary: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of the plenary: operators, TPS forms, gaveled, held up, attempts, corrections."""
    attempts = Counter(attempt["outcome"] for line in plenary for attempt in line["attempts"])
    corrections = [correction for line in plenary for correction in line["corrections"]]
    open_lines = [line for line in plenary if line["gaveled_s"] is None]
    last = Counter(line["attempts"][-1]["outcome"] for line in open_lines if line["attempts"])
    gavels = sorted(line["gaveled_s"] for line in plenary if line["gaveled_s"] is not None)
    return {
        "operators": len(plan.operators),
        "tps_forms": sum(len(operator.items) for operator in plan.operators),
        "dealt_with": len(plenary),
        "gaveled": len(gavels),
        "open_discrepancy": last[DISCREPANCY],
        "open_missing_upload": last[MISSING_UPLOAD],
        "open_other": len(open_lines) - last[DISCREPANCY] - last[MISSING_UPLOAD],
        "with_discrepancy": sum(
            1 for line in plenary if any(a["outcome"] == DISCREPANCY for a in line["attempts"])
        ),
        "attempts": {outcome: attempts[outcome] for outcome in ATTEMPT_OUTCOMES},
        "corrections": {
            "requested": len(corrections),
            "acked": sum(1 for correction in corrections if correction["outcome"] == "acked"),
        },
        "first_gavel_s": gavels[0] if gavels else None,
        "last_gavel_s": gavels[-1] if gavels else None,
    }
