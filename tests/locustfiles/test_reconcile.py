"""The conductor's join of ledger and plenary lines: caught_by, upload_acked_s, summary blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from locustfiles.jobs import build_plan
from locustfiles.reconcile import plenary_block, quality_block, reconcile

FIXTURE = Path(__file__).parent / "fixtures" / "plenary_tiny.toml"
PLAN = build_plan(FIXTURE.read_text(encoding="utf-8"), "plenary_tiny.toml")
CONSISTENT = sorted(key for key, wrong in PLAN.misreads.items() if wrong.consistent)
INCONSISTENT = sorted(key for key, wrong in PLAN.misreads.items() if not wrong.consistent)
CLEAN = sorted(
    (tps.code, "ppwp") for tps in PLAN.population if (tps.code, "ppwp") not in PLAN.misreads
)


def ledger_line(
    form: tuple[str, str], device: int, acked_s: float | None, misread: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "tps_code": form[0], "election": form[1], "device_id": f"{form[0]}-{device}",
        "final_outcome": "acked" if acked_s is not None else "not_started",
        "acked_s": acked_s, "misread": misread,
    }  # fmt: skip


def state(form: tuple[str, str], stored: bool, caught_by: str | None) -> dict[str, Any]:
    return {**PLAN.misreads[form].as_json(), "stored": stored, "caught_by": caught_by}


def plenary_line(
    form: tuple[str, str], outcomes: list[str], correction: str | None
) -> dict[str, Any]:
    return {
        "tps_code": form[0], "election": form[1],
        "gaveled_s": 9.0 if "matched" in outcomes else None,
        "attempts": [{"outcome": outcome} for outcome in outcomes],
        "corrections": [{"outcome": correction}] if correction else [],
        "upload_acked_s": None, "misread": None,
    }  # fmt: skip


def test_caught_by_is_joined_over_devices_and_the_plenary_and_the_same_on_every_line() -> None:
    caught, missed, arithmetic, never = CONSISTENT[0], CONSISTENT[1], INCONSISTENT[0], CONSISTENT[2]
    ledger = [
        ledger_line(caught, 1, 50.0, state(caught, True, None)),
        ledger_line(caught, 2, 40.0, state(caught, True, None)),
        ledger_line(missed, 1, 60.0, state(missed, True, None)),
        ledger_line(arithmetic, 1, 70.0, state(arithmetic, False, "arithmetic")),
        ledger_line(arithmetic, 2, 75.0, state(arithmetic, False, None)),
        ledger_line(never, 1, None, None),
        ledger_line(CLEAN[0], 1, 80.0, None),
    ]
    plenary = [
        plenary_line(caught, ["discrepancy", "matched"], "acked"),
        plenary_line(missed, ["discrepancy"], "pending"),
        plenary_line(arithmetic, ["matched"], None),
        plenary_line(CLEAN[0], ["missing_upload", "matched"], None),
    ]
    reconcile(PLAN, ledger, plenary)
    by_device = {(line["tps_code"], line["device_id"][-1]): line["misread"] for line in ledger}
    assert (
        by_device[(caught[0], "1")] == by_device[(caught[0], "2")] == state(caught, True, "plenary")
    )
    assert by_device[(missed[0], "1")] == state(missed, True, None)
    assert by_device[(arithmetic[0], "2")] == state(arithmetic, False, "arithmetic")
    assert by_device[(never[0], "1")] == state(never, False, None)
    assert by_device[(CLEAN[0][0], "1")] is None
    assert [line["upload_acked_s"] for line in plenary] == [40.0, 60.0, 70.0, 80.0]
    assert plenary[0]["misread"] == state(caught, True, "plenary")
    assert plenary[3]["misread"] is None
    quality = quality_block(PLAN, ledger)
    assert quality == {
        "misreads_injected": len(PLAN.misreads), "consistent": len(CONSISTENT), "stored": 2,
        "caught_arithmetic": 1, "caught_plenary": 1, "undetected": 1, "never_stored": 1,
    }  # fmt: skip
    counts = plenary_block(PLAN, plenary)
    assert counts["gaveled"] == 3 and counts["open_discrepancy"] == 1
    assert counts["with_discrepancy"] == 2 and counts["operators"] == 1
    assert counts["attempts"]["discrepancy"] == 2 and counts["attempts"]["missing_upload"] == 1
    assert counts["corrections"] == {"requested": 2, "acked": 1}
    assert (counts["tps_forms"], counts["dealt_with"]) == (12, 4)
