"""Devices the target refused at login: which ledger lines count, the block and its one line."""

from __future__ import annotations

from typing import Any

from locustfiles.refusals import early_warning, login_refused, refusal_block
from rundir.timeline import Timeline
from tests.locustfiles.helpers import tiny_plan

UNKNOWN = "HTTP 401: unknown device, wrong TPS or wrong secret"


def line(tps: str, outcome: str, reason: str | None = None, **failures: int) -> dict[str, Any]:
    return {
        "tps_code": tps,
        "device_id": f"{tps}-1",
        "started_at": 1.0,
        "final_outcome": outcome,
        "reason": reason,
        "failures": {kind.replace("_", ":"): n for kind, n in failures.items()},
    }


def test_only_a_login_refused_with_401_or_403_counts() -> None:
    assert login_refused(line("a", "rejected", f"session refused: {UNKNOWN}", **{"4xx_401": 1}))
    assert login_refused(line("a", "rejected", "session refused: HTTP 403: no", **{"4xx_403": 1}))
    assert not login_refused(line("a", "rejected", "session refused: HTTP 422", **{"4xx_422": 1}))
    assert not login_refused(line("a", "rejected", "result refused: HTTP 401", **{"4xx_401": 1}))
    assert not login_refused(line("a", "abandoned", "session failed 4 times", refused=4))


def test_some_devices_refused_are_counted_and_named_but_the_run_is_not_every_device() -> None:
    plan = tiny_plan()
    codes = sorted({job.tps_code for job in plan.jobs})
    refused = [line(code, "rejected", f"session refused: {UNKNOWN}", **{"4xx_401": 1})
               for code in codes[:4]]  # fmt: skip
    acked = [line(code, "acked") for code in codes[4:]]
    block = refusal_block(plan, refused + acked, logins_accepted=8)
    assert (block["devices"], block["devices_started"], block["tps"], block["forms"]) == (
        4,
        12,
        4,
        4,
    )
    assert block["every_device"] is False
    assert block["examples"] == codes[:3]
    assert block["message"] == (
        f"the target refused 4 of 12 devices at login (4 of 12 TPS: {', '.join(codes[:3])}, ...; "
        f"{UNKNOWN}): it does not know those TPS, so their forms are rejected; load the "
        "scenario's whole registry (`sirekap-loadtest validate tiny.toml --registry "
        "registry.csv`) into the target"
    )


def test_every_device_needs_every_login_refused_and_nothing_accepted() -> None:
    plan = tiny_plan()
    ledger = [line(job.tps_code, "rejected", f"session refused: {UNKNOWN}", **{"4xx_401": 1})
              for job in plan.jobs]  # fmt: skip
    assert refusal_block(plan, ledger, logins_accepted=0)["every_device"] is True
    assert refusal_block(plan, ledger, logins_accepted=1)["every_device"] is False
    nothing = refusal_block(plan, [line(job.tps_code, "acked") for job in plan.jobs], 12)
    assert (nothing["devices"], nothing["message"], nothing["answer"]) == (0, None, None)


def test_the_early_warning_comes_while_no_login_has_been_accepted() -> None:
    timeline = Timeline()
    assert early_warning(timeline) is None
    timeline.record_request(0, "session", 5.0, "4xx:401")
    timeline.record_request(1, "session", 5.0, "4xx:401")
    timeline.record_request(1, "page", 5.0, "4xx:403")  # not a login
    assert early_warning(timeline) == (
        "the target has refused 2 device login(s) (401/403) and accepted none so far: does it "
        "know the scenario's TPS? The run goes on; its end says how many were refused"
    )
    timeline.record_request(2, "session", 5.0, None)
    assert early_warning(timeline) is None
