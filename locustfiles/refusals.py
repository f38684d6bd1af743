"""Devices the target refused at login (401 or 403): counted, and said in one line.

A target that does not know the scenario's TPS (the mock started without the scenario's
registry, or a service the registry was never loaded into) answers every device login 401. Such
a run measured nothing about the service: the conductor writes the run files, prints
:func:`refusal_line` as the last line and exits with :data:`rundir.exits.INFRASTRUCTURE`. When
only some devices are refused (a registry that lacks some TPS) the run goes on, their forms are
rejected, and the line says how many and which. ``load_summary.json`` has the figures under
``refused``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from locustfiles.jobs import Plan
from rundir.ledger import ACKED, REJECTED
from rundir.timeline import Timeline

LOGIN_REFUSALS: Final = ("4xx:401", "4xx:403")
SESSION_REFUSED: Final = "session refused: "  # the reason device.py gives a refused login
EXAMPLES: Final = 3


def login_refused(line: Mapping[str, Any]) -> bool:
    """Whether a ledger line's form ended with its device's login refused (401 or 403)."""
    if line["final_outcome"] != REJECTED:
        return False
    reason = line.get("reason") or ""
    failures = line.get("failures") or {}
    return reason.startswith(SESSION_REFUSED) and any(kind in failures for kind in LOGIN_REFUSALS)


def session_counts(timeline: Timeline) -> tuple[int, int]:
    """(device logins accepted, device logins refused with 401 or 403) so far."""
    accepted = refused = 0
    for (_, endpoint), cell in timeline.requests.items():
        if endpoint == "session":
            accepted += cell.ok
            refused += sum(cell.failures.get(kind, 0) for kind in LOGIN_REFUSALS)
    return accepted, refused


def refusal_block(
    plan: Plan, ledger: Sequence[Mapping[str, Any]], logins_accepted: int
) -> dict[str, Any]:
    """The summary's ``refused`` block; ``every_device`` when nothing was ever accepted."""
    acked = {line["device_id"] for line in ledger if line["final_outcome"] == ACKED}
    started = {line["device_id"] for line in ledger if line["started_at"] is not None}
    lines = [line for line in ledger if login_refused(line) and line["device_id"] not in acked]
    devices = {line["device_id"] for line in lines}
    tps = sorted({line["tps_code"] for line in lines})
    statuses = Counter(
        kind for line in lines for kind in line["failures"] if kind in LOGIN_REFUSALS
    )
    every = bool(devices) and not acked and logins_accepted == 0
    answer = str(lines[0]["reason"])[len(SESSION_REFUSED) :] if lines else None
    block: dict[str, Any] = {
        "devices": len(devices),
        "devices_started": len(started),
        "tps": len(tps),
        "tps_in_run": plan.tps_in_run,
        "forms": len(lines),
        "statuses": dict(sorted(statuses.items())),
        "every_device": every,
        "examples": tps[:EXAMPLES],
        "answer": answer,
    }
    block["message"] = refusal_line(block, plan.scenario.source) if devices else None
    return block


def refusal_line(block: Mapping[str, Any], source: str) -> str:
    """One line: what the target refused and what to do about it."""
    scenario = source or "SCENARIO"
    write = f"`sirekap-loadtest validate {scenario} --registry registry.csv`"
    answer = block["answer"]
    if block["every_device"]:
        counted = f"{block['devices']} of {block['devices_started']} devices"
        return (
            f"the target refused every device at login ({counted}, {block['tps']} TPS; "
            f"{answer}) and accepted nothing: it does not know the scenario's TPS. Write their "
            f"registry with {write} and start the mock with it (`sirekap-loadtest mock --db DB "
            "--registry registry.csv`) or load it into the target, then run again"
        )
    shown = ", ".join(block["examples"]) + (", ..." if block["tps"] > EXAMPLES else "")
    return (
        f"the target refused {block['devices']} of {block['devices_started']} devices at "
        f"login ({block['tps']} of {block['tps_in_run']} TPS: {shown}; {answer}): it does not "
        f"know those TPS, so their forms are rejected; load the scenario's whole registry "
        f"({write}) into the target"
    )


def early_warning(timeline: Timeline) -> str | None:
    """While running: a line when logins are being refused and none has been accepted yet."""
    accepted, refused = session_counts(timeline)
    if accepted or not refused:
        return None
    return (
        f"the target has refused {refused} device login(s) (401/403) and accepted none so far: "
        "does it know the scenario's TPS? The run goes on; its end says how many were refused"
    )
