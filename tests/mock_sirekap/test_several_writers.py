"""Several processes and instances writing the same rows at once on one PostgreSQL database: the
same page, the same result, rival first results and rival corrections race across two instances
(one with two worker processes), each batch locking the TPS it touches rather than the whole
database. Idempotency, uniqueness and corrections as history hold: one stored copy and one
receipt each, one winner of every race, the others told why (409); fault states set at once
(which lock every TPS) get a version each; no batch deadlocks (that would be a 503)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mock_sirekap.conftest import MockServer, launch_mock, photo, valid_result

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)]
COPIES = 6  # of each request, sent at once, alternating between the instances
N_TPS = 16


Request = tuple[str, dict[str, Any]]  # path, httpx options of a PUT


async def _race(urls: list[str], requests: list[Request]) -> list[httpx.Response]:
    """Every PUT at once, the i-th to ``urls[i % len(urls)]``, each on its own connection (so the
    processes of an instance share them)."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.put(urls[index % len(urls)] + path, **options)
                for index, (path, options) in enumerate(requests)
            )
        )


def _race_per_tps(
    urls: list[str],
    codes: list[str],
    make: Callable[[str, int], Request],
    others: list[Request] | None = None,
) -> dict[str, list[httpx.Response]]:
    """``COPIES`` requests ``make(tps, copy)`` of every TPS and the ``others``, all at once; the
    answers by TPS (the others' under "")."""
    requests = [make(code, n) for code in codes for n in range(COPIES)] + (others or [])
    answers = asyncio.run(_race(urls, requests))
    by_tps = {code: answers[i * COPIES : (i + 1) * COPIES] for i, code in enumerate(codes)}
    return {**by_tps, "": answers[len(codes) * COPIES :]}


def _statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def test_racing_writers_of_two_instances_store_each_thing_once_and_one_correction_wins(
    start_mock: Callable[..., MockServer], tmp_path: Path, client: httpx.Client
) -> None:
    first = start_mock("--workers", "2", tps=N_TPS)
    second = launch_mock(
        tmp_path, "second", "--registry", str(tmp_path / "mock0-registry.csv"),
        "--operators", str(tmp_path / "mock0-operators.csv"), "--capacity", "raw",
        db_url=str(first.db),
    )  # fmt: skip
    try:
        _race_and_check(first, [first.url, second.url], client)
    finally:
        second.stop()


def _race_and_check(server: MockServer, urls: list[str], client: httpx.Client) -> None:
    codes = server.tps_codes()
    auth = {code: server.login(client, code) for code in codes}
    photos = {code: photo(f"race-{code}") for code in codes}

    def page(code: str, _: int) -> Request:
        body, sha = photos[code]
        headers = {**auth[code], "X-Content-SHA256": sha}
        return f"/api/v1/tps/{code}/ppwp/pages/1", {"content": body, "headers": headers}

    def result(code: str, key: str, shift: int, revision: int | None = None) -> Request:
        body = {
            **valid_result(server.registry[code]["dpt"], shift),
            "pages": [photos[code][1]],
            **({} if revision is None else {"revision": revision}),
        }
        headers = {**auth[code], "Idempotency-Key": key}
        return f"/api/v1/tps/{code}/ppwp/result", {"json": body, "headers": headers}

    pages = _race_per_tps(urls, codes, page)
    assert pages.pop("") == []
    for code, copies in pages.items():
        assert _statuses(copies) == {201: 1, 200: COPIES - 1}, code
        assert len({answer.json()["stored_at"] for answer in copies}) == 1

    # The first half sends the same result and key six times: one row, one receipt. The second
    # half sends six different first results: one is stored, the others are told to correct.
    half = len(codes) // 2
    answers = _race_per_tps(
        urls,
        codes,
        lambda code, n: result(code, "same", 0) if code in codes[:half] else (
            result(code, f"rival-{n}", n)
        ),
    )  # fmt: skip
    assert answers.pop("") == []
    for code in codes[:half]:
        assert _statuses(answers[code]) == {201: 1, 200: COPIES - 1}, code
        assert len({answer.json()["receipt_id"] for answer in answers[code]}) == 1
    for code in codes[half:]:
        assert _statuses(answers[code]) == {201: 1, 409: COPIES - 1}, code
        refused = [answer.json()["error"] for answer in answers[code] if answer.status_code == 409]
        assert all("a correction must say revision 2" in text for text in refused), refused

    # Six different corrections to revision 2 of every TPS: one wins, the history is kept. Six
    # fault states set at the same time (a write of no one TPS) each get a version of their own.
    faults = [
        ("/admin/faults", {"json": {"latency_ms": n + 1, "endpoints": ["recap"]},
                           "headers": server.admin})
        for n in range(COPIES)
    ]  # fmt: skip
    fixes = _race_per_tps(urls, codes, lambda code, n: result(code, f"fix-{n}", 10 + n, 2), faults)
    set_faults = fixes.pop("")
    assert _statuses(set_faults) == {200: COPIES}, [a.text for a in set_faults]
    versions = sorted(answer.json()["version"] for answer in set_faults)
    assert versions == list(range(versions[0], versions[0] + COPIES)), versions
    for code, answers_of_tps in fixes.items():
        assert _statuses(answers_of_tps) == {201: 1, 409: COPIES - 1}, code
        refused = [a.json()["error"] for a in answers_of_tps if a.status_code == 409]
        assert all("the stored revision is 2, so send revision 3" in text for text in refused)

    export = client.get(f"{urls[-1]}/admin/export", headers=server.admin).text
    rows = [json.loads(line) for line in export.splitlines()]
    results = [row for row in rows if row["kind"] == "result"]
    revisions = sorted((row["tps_code"], row["revision"]) for row in results)
    assert revisions == [(code, revision) for code in codes for revision in (1, 2)]
    assert len({row["receipt_id"] for row in results}) == len(results)
    keys = [(row["tps_code"], key) for row in results for key in row["idempotency_keys"]]
    assert len(keys) == len(set(keys)) == 2 * len(codes)  # the winners' keys alone
    assert sum(row["kind"] == "page" for row in rows) == len(codes)
