"""The read-back audit's reads (locustfiles/readback.py): which forms, each read's line, the
pace, through a fake API (the end-to-end read-back runs in tests/harness/test_run_endings.py)."""

from __future__ import annotations

import time
from typing import Any

from locustfiles.api import Answer, Verdict
from locustfiles.readback import Pacer, forms_to_read, read_back, read_one
from rundir.ledger import result_digest

LEDGER = [
    {"tps_code": f"{i:03d}", "election": "ppwp", "started_at": 1.0 if i < 8 else None,
     "final_outcome": "acked" if i < 6 else "abandoned"}
    for i in range(10)
]  # fmt: skip


class FakeApi:
    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers
        self.calls = 0

    def read_result(self, tps_code: str, election: str) -> Answer:
        self.calls += 1
        return self.answers.pop(0)


def test_every_started_form_is_read_or_a_sample_the_same_every_time() -> None:
    assert forms_to_read(LEDGER, None) == [(f"{i:03d}", "ppwp") for i in range(8)]
    sample = forms_to_read(LEDGER, 3)
    assert len(sample) == 3 and sample == forms_to_read(list(reversed(LEDGER)), 3)
    assert all(int(code) < 6 for code, _ in sample)  # acknowledged ones only
    assert len(forms_to_read(LEDGER, 50)) == 6


def test_a_read_gives_the_numbers_digest_or_says_there_are_none() -> None:
    pacer = Pacer(1000.0)
    data: dict[str, Any] = {"chart": {"100025": 3}, "administrasi": {"suara_sah": 3},
                            "revision": 2, "receipt_id": "rcpt_1"}  # fmt: skip
    line = read_one(FakeApi([Answer(Verdict.OK, data=data, status=200)]), ("A", "ppwp"), pacer)
    assert line["found"] is True and line["revision"] == 2 and line["receipt_id"] == "rcpt_1"
    assert line["result_sha256"] == result_digest({"100025": 3}, {"suara_sah": 3})
    empty = Answer(Verdict.OK, data={"chart": None, "administrasi": None}, status=200)
    assert read_one(FakeApi([empty]), ("A", "ppwp"), pacer)["found"] is False
    missing = Answer(Verdict.REJECT, "4xx:404", "no such TPS", status=404)
    assert read_one(FakeApi([missing]), ("A", "ppwp"), pacer)["found"] is False


def test_a_transient_failure_is_read_again_and_a_lasting_one_is_unread() -> None:
    pacer = Pacer(1000.0)
    busy = Answer(Verdict.RETRY, "5xx:503", "busy", retry_after=0.01, status=503)
    ok = Answer(Verdict.OK, data={"chart": {}, "administrasi": {}}, status=200)
    api = FakeApi([busy, ok])
    line = read_one(api, ("A", "ppwp"), pacer)
    assert (line["found"], line["attempts"], api.calls) == (True, 2, 2)
    down = FakeApi([Answer(Verdict.RETRY, "refused", "refused", retry_after=0.01)] * 4)
    line = read_one(down, ("A", "ppwp"), pacer)
    assert (line["found"], line["attempts"], line["error"]) == (None, 4, "refused")
    refused = FakeApi([Answer(Verdict.REJECT, "4xx:403", "forbidden", status=403)])
    assert read_one(refused, ("A", "ppwp"), pacer)["found"] is None


def test_reads_keep_to_the_rate_and_report_progress() -> None:
    ok = Answer(Verdict.OK, data={"chart": {}, "administrasi": {}}, status=200)
    api = FakeApi([ok] * 21)
    seen: list[tuple[int, int, int]] = []
    started = time.monotonic()

    def progress(done: int, failed: int, total: int, _left: float) -> None:
        seen.append((done, failed, total))

    lines = read_back(api, [(str(i), "ppwp") for i in range(21)], 40.0, progress)
    assert time.monotonic() - started >= 0.5  # 21 starts at 40/s take at least 20/40 s
    assert len(lines) == 21 and seen[-1] == (21, 0, 21)
