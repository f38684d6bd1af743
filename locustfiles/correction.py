"""A KPPS correction asked for by the plenary: the truth, as the next revision of the result.

After a discrepancy the PPK asks the KPPS to correct its upload; the KPPS re-reads its C.Hasil and
submits the true numbers with the TPS's first device as revision n+1 (the mock keeps the earlier
revisions as history). Transient failures are retried by the scenario's client retry policy.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from locustfiles.api import DeviceCalls, Verdict
from locustfiles.retry import RetryPolicy
from rundir.ledger import result_digest
from scenarios import Election, Population, page_digest


def correction_entry(requested_s: float, revision: int) -> dict[str, Any]:
    """A ``corrections`` entry of ``plenary.jsonl``, pending until it is sent."""
    return {
        "requested_s": round(requested_s, 3),
        "at_s": None,
        "revision": revision,
        "outcome": "pending",
        "receipt_id": None,
        "content_sha256": None,
        "result_sha256": None,
        "status": 0,
        "detail": None,
    }


def send_correction(
    api: DeviceCalls,
    population: Population,
    item: tuple[str, Election],
    entry: dict[str, Any],
    *,
    policy: RetryPolicy,
    rng: random.Random,
    sim: Callable[[], float],
    sleep: Callable[[float], None],
    closed: Callable[[], bool],
) -> None:
    """Submit the truth as revision ``entry["revision"]``; fill in ``entry`` with what happened.

    Outcomes: acked, refused (a 4xx), failed (out of attempts), ended (the run ended first).
    """
    tps, election = population.get(item[0]), item[1]
    device = tps.devices[0]
    truth = population.result_body(tps, election)
    pages = [
        page_digest(population.seed, tps, election, page)
        for page in range(len(tps.pages[election]))
    ]
    revision = int(entry["revision"])
    key = f"{device.device_id}/{election}/r{revision}"
    entry["outcome"] = "ended"  # unless an answer below says otherwise
    failures = 0
    while not closed():
        answer = api.login(tps.code, device.device_id, device.secret)
        token = answer.data.get("token") if answer.ok else None
        if isinstance(token, str):
            answer = api.submit_result(
                token, tps.code, election, truth, pages, key, revision=revision
            )
        entry.update(at_s=round(sim(), 3), status=answer.status, detail=None)
        if answer.ok:
            entry.update(
                outcome="acked",
                receipt_id=answer.data.get("receipt_id"),
                content_sha256=answer.data.get("content_sha256"),
                result_sha256=result_digest(truth["chart"], truth["administrasi"]),
            )
            return
        entry["detail"] = answer.detail
        if answer.verdict is Verdict.REJECT:
            entry["outcome"] = "refused"
            return
        failures += 1
        wait = policy.wait(failures, rng.random(), answer.retry_after)
        if wait is None:
            entry["outcome"] = "failed"
            return
        sleep(wait)
