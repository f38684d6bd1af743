"""A PPK operator's shift with a fake clock and a fake plenary: pace, hours, misreads, waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from locustfiles.api import Answer, Verdict
from locustfiles.jobs import Plan, build_plan
from locustfiles.ppk_operator import (
    MIN_RETRY_S,
    PROGRESS_S,
    REVISIT_SHARE,
    OperatorShift,
    PlenaryContext,
)
from tests.locustfiles.helpers import FakeClock

FIXTURE = Path(__file__).parent / "fixtures" / "plenary_tiny.toml"
CLOCK_START = 1_000.0
Item = tuple[str, str]


@cache
def plan(replace: tuple[tuple[str, str], ...] = ()) -> Plan:
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    return build_plan(text, "plenary_tiny.toml")


@dataclass
class FakePlenary:
    """The mock's plenary in memory: results by revision, manual entries, gavels, a gate."""

    plan: Plan
    clock: FakeClock
    stored: dict[Item, list[dict[str, Any]]] = field(default_factory=dict)
    appears: dict[Item, float] = field(default_factory=dict)  # simulated time an upload appears
    manual: dict[Item, dict[str, Any]] = field(default_factory=dict)
    closed: set[Item] = field(default_factory=set)
    gate: tuple[float, float] | None = None  # simulated window of 503s
    operator_secret_ok: bool = True
    calls: list[tuple[str, float]] = field(default_factory=list)

    def sim(self) -> float:
        return (self.clock.now() - CLOCK_START) * self.plan.speedup

    def upload(self, item: Item, body: dict[str, Any], at: float = 0.0) -> None:
        self.stored[item] = [body]
        self.appears[item] = at

    def _latest(self, item: Item) -> dict[str, Any] | None:
        if item not in self.stored or self.sim() < self.appears[item]:
            return None
        return self.stored[item][-1]

    def _gated(self) -> bool:
        return self.gate is not None and self.gate[0] <= self.sim() < self.gate[1]

    def operator_login(self, operator_id: str, kecamatan_code: str, secret: str) -> Answer:
        self.calls.append(("operator_login", self.sim()))
        if self._gated():
            return Answer(Verdict.RETRY, "5xx:503", "HTTP 503: plenary suspended", 2.0, status=503)
        if not self.operator_secret_ok:
            return Answer(Verdict.REJECT, "4xx:401", "HTTP 401: unknown operator", status=401)
        return Answer(Verdict.OK, data={"token": "op"}, status=201)

    def submit_plenary(
        self, token: str, kecamatan_code: str, election: str, tps_code: str, manual: Any
    ) -> Answer:
        item = (tps_code, election)
        self.calls.append(("plenary " + tps_code, self.sim()))
        if self._gated():
            return Answer(Verdict.RETRY, "5xx:503", "HTTP 503: plenary suspended", 2.0, status=503)
        latest = self._latest(item)
        if latest is None:
            return Answer(Verdict.REJECT, "4xx:409", "HTTP 409: no upload",
                          data={"outcome": "missing_upload"}, status=409)  # fmt: skip
        self.manual[item] = manual
        differences = _differences(manual, latest)
        if not differences:
            self.closed.add(item)
        status = "discrepancy" if differences else "matched"
        data = {"status": status, "differences": differences,
                "revision": len(self.stored[item]), "closed": not differences}  # fmt: skip
        return Answer(Verdict.OK, data=data, status=200)

    def plenary_progress(self, token: str, kecamatan_code: str, election: str) -> Answer:
        self.calls.append(("progress", self.sim()))
        if self._gated():
            return Answer(Verdict.RETRY, "5xx:503", "HTTP 503: plenary suspended", 2.0, status=503)
        missing = [
            code for code, el in self.stored if el == election and not self._latest((code, el))
        ]
        return Answer(Verdict.OK, data={"missing": sorted(missing)}, status=200)

    def login(self, tps_code: str, device_id: str, secret: str) -> Answer:
        return Answer(Verdict.OK, data={"token": "dev", "expires_in": 3600}, status=201)

    def submit_result(
        self,
        token: str,
        tps_code: str,
        election: str,
        result: Any,
        pages: Any,
        key: str,
        revision: int | None = None,
    ) -> Answer:
        item = (tps_code, election)
        self.calls.append((f"correction {tps_code} r{revision}", self.sim()))
        assert revision == len(self.stored[item]) + 1
        assert len(pages) == 3
        self.stored[item].append(dict(result))
        if self.manual.get(item) is not None and not _differences(self.manual[item], result):
            self.closed.add(item)
        return Answer(Verdict.OK, data={"receipt_id": f"rcpt_{revision}", "revision": revision,
                                        "content_sha256": "c" * 64}, status=201)  # fmt: skip


def _differences(manual: Any, stored: Any) -> list[dict[str, Any]]:
    found = []
    for section in ("chart", "administrasi"):
        for key in sorted(set(manual[section]) | set(stored[section])):
            ours, theirs = manual[section].get(key), stored[section].get(key)
            if ours != theirs:
                found.append({"field": f"{section}.{key}", "manual": ours, "sirekap": theirs})
    return sorted(found, key=lambda entry: entry["field"])


def shift_for(
    the_plan: Plan, *, misread: bool = True, late: dict[str, float] | None = None
) -> tuple[OperatorShift, FakePlenary, FakeClock]:
    """The kecamatan's operator, with every form uploaded (misread as the plan says)."""
    clock = FakeClock(now_s=CLOCK_START)
    server = FakePlenary(the_plan, clock)
    population = the_plan.population
    for tps in population:
        item = (tps.code, "ppwp")
        wrong = the_plan.misreads.get(item)
        body = wrong.body if misread and wrong is not None and wrong.consistent else None
        truth = population.result_body(tps, "ppwp")
        server.upload(item, dict(body or truth), (late or {}).get(tps.code, 0.0))
    context = PlenaryContext(the_plan, CLOCK_START, clock.now, clock.sleep)
    (operator,) = the_plan.operators
    return OperatorShift(operator, server, context), server, clock


def put_times(server: FakePlenary) -> list[tuple[str, float]]:
    return [(name.split()[1], at) for name, at in server.calls if name.startswith("plenary")]


def test_the_operator_goes_through_the_tps_in_code_order_at_its_pace_from_its_start() -> None:
    the_plan = plan((("misread_fraction = 0.5", "misread_fraction = 0.0"),))
    shift, server, _ = shift_for(the_plan)
    shift.run()
    puts = put_times(server)
    codes = [tps.code for tps in the_plan.population]
    assert [code for code, _ in puts] == codes  # every upload matches: one PUT each
    start = 1800.0  # [plenary] start = "17:30", half an hour after the 17:00 start
    assert [at for _, at in puts] == pytest.approx([start + 300.0 * n for n in range(1, 13)])
    assert server.closed == {(code, "ppwp") for code in codes}
    assert shift.finished and not shift.work_left
    record = shift.records[(codes[0], "ppwp")]
    assert (record.first_attempt_s, record.gaveled_s) == (pytest.approx(2100.0),) * 2
    assert record.to_json()["attempts"][0] == {
        "at_s": 2100.0, "step": "plenary", "outcome": "matched", "differences": [],
        "status": 200, "detail": None,
    }  # fmt: skip


def test_work_stops_outside_working_hours_and_for_breaks() -> None:
    """08:00-16:00 less 12:00-13:00, from the next morning: 21 minutes a TPS, 20 TPS a day."""
    the_plan = plan(
        (
            ('duration = "6h"', 'duration = "2d"'),
            ('start = "17:30"', 'start = "+1d 11:00"'),
            ("minutes_per_tps = 5", "minutes_per_tps = 21"),
            ('working_hours = ["00:00", "24:00"]', 'working_hours = ["08:00", "16:00"]'),
            ("breaks = []", 'breaks = [["12:00", "13:00"]]'),
            ("misread_fraction = 0.5", "misread_fraction = 0.0"),
        )
    )
    shift, server, _ = shift_for(the_plan)
    shift.run()
    next_day_11 = 18 * 3600.0  # from 2024-02-14 17:00 to 15 Feb 11:00
    times = [at - next_day_11 for _, at in put_times(server)]
    # 11:21, 11:42, then 12:03 is the 21st minute counted across the break: 13:03; ...
    assert times[:4] == pytest.approx([21 * 60, 42 * 60, 2 * 3600 + 3 * 60, 2 * 3600 + 24 * 60])
    assert all((t + next_day_11) % 86400 for t in times)
    for at in times:
        local = (11 * 3600 + at) % 86400
        assert 8 * 3600 < local <= 16 * 3600 and not 12 * 3600 < local < 13 * 3600
    assert len(times) == 12


def test_a_consistent_misread_is_corrected_by_the_kpps_then_gaveled() -> None:
    the_plan = plan()
    shift, server, _ = shift_for(the_plan)
    shift.run()
    consistent = [key for key, wrong in the_plan.misreads.items() if wrong.consistent]
    assert consistent, "the fixture has consistent misreads"
    low, high = the_plan.scenario.plenary.correction_delay
    for item in consistent:
        record = shift.records[item]
        outcomes = [attempt["outcome"] for attempt in record.attempts]
        assert outcomes == ["discrepancy", "matched"]
        assert record.causes == ["misread"]
        fields = {entry["field"] for entry in record.attempts[0]["differences"]}
        assert fields == set(the_plan.misreads[item].fields)
        (correction,) = record.corrections
        assert correction["outcome"] == "acked" and correction["revision"] == 2
        delay = correction["at_s"] - correction["requested_s"]
        assert low <= delay <= high + 1
        # The operator comes back once done with the TPS in hand: a quarter of a TPS's work.
        revisit = record.attempts[1]["at_s"] - correction["at_s"]
        assert REVISIT_SHARE * 300.0 - 1 <= revisit <= 300.0 + REVISIT_SHARE * 300.0 + 1
        assert server.stored[item][-1] == the_plan.population.result_body(*item)
    assert server.closed == {(tps.code, "ppwp") for tps in the_plan.population}


def test_a_missing_upload_is_put_aside_and_taken_up_once_the_progress_shows_it() -> None:
    the_plan = plan((("misread_fraction = 0.5", "misread_fraction = 0.0"),))
    first = the_plan.population.tps[0].code
    shift, server, _ = shift_for(the_plan, late={first: 3 * 3600.0})
    shift.run()
    record = shift.records[(first, "ppwp")]
    assert [attempt["outcome"] for attempt in record.attempts] == ["missing_upload", "matched"]
    # The operator went on with the other TPS meanwhile...
    assert put_times(server)[1][0] == the_plan.population.tps[1].code
    # ... looked at the progress (a minute's look) every missing_recheck (20 minutes) until
    # the upload was there,
    checks = [at for name, at in server.calls if name == "progress"]
    recheck = the_plan.scenario.plenary.missing_recheck
    assert checks[0] >= record.attempts[0]["at_s"] + recheck + PROGRESS_S - 0.01
    assert all(b - a >= recheck - 0.01 for a, b in pairwise(checks))
    assert checks[-1] >= 3 * 3600.0 > checks[-2]
    # ... and came back to it with a revisit's work.
    revisit = REVISIT_SHARE * 300.0
    assert record.attempts[1]["at_s"] == pytest.approx(checks[-1] + revisit, abs=1.0)
    assert not shift.missing and not shift.work_left


def test_the_plenary_gate_holds_the_operator_who_waits_and_then_goes_on() -> None:
    the_plan = plan((("misread_fraction = 0.5", "misread_fraction = 0.0"),))
    shift, server, _ = shift_for(the_plan)
    server.gate = (4000.0, 6000.0)
    shift.run()
    during = [at for _, at in put_times(server) if 4000.0 <= at < 6000.0]
    # One TPS is retried (no new TPS is taken while it waits), at least a simulated minute apart,
    # honouring Retry-After (2 s real = 2400 s simulated at speedup 1200).
    gated = [code for code, at in put_times(server) if 4000.0 <= at < 6000.0]
    assert len(set(gated)) == 1 and len(during) >= 1
    assert all(b - a >= max(MIN_RETRY_S, 2400.0) for a, b in pairwise(during))
    record = shift.records[(gated[0], "ppwp")]
    assert record.attempts[0]["outcome"] == "refused" and record.attempts[0]["status"] == 503
    assert record.attempts[-1]["outcome"] == "matched"
    assert server.closed == {(tps.code, "ppwp") for tps in the_plan.population}


def test_a_refused_login_ends_the_shift_with_the_refusal_recorded() -> None:
    the_plan = plan()
    shift, server, _ = shift_for(the_plan)
    server.operator_secret_ok = False
    shift.run()
    assert shift.finished and shift.locked_out
    (record,) = shift.records.values()
    assert record.to_json()["attempts"] == [
        {"at_s": pytest.approx(2100.0), "step": "session", "outcome": "refused",
         "differences": [], "status": 401, "detail": "HTTP 401: unknown operator"}
    ]  # fmt: skip


def test_at_the_scenario_end_the_operator_stops_and_a_correction_not_yet_due_is_pending() -> None:
    the_plan = plan((('duration = "6h"', 'duration = "90m"'),))
    shift, server, clock = shift_for(the_plan)
    shift.run()
    assert (clock.now() - CLOCK_START) * the_plan.speedup == pytest.approx(5400.0)
    assert all(at < 5400.0 for _, at in server.calls)
    corrections = [c for r in shift.records.values() for c in r.corrections]
    pending = [c for c in corrections if c["outcome"] == "pending"]
    assert pending and all(c["at_s"] is None for c in pending)
    assert {c["outcome"] for c in corrections} <= {"pending", "acked"}
    assert shift.work_left
