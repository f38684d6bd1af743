"""The mock on PostgreSQL: several instances (and their worker processes) share one database, and
a database restart or crash mid-run is 503 (storage unavailable) until the mock reconnects by
itself, losing nothing it acknowledged."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from harness.postgres import PostgresServer
from tests.mock_sirekap.conftest import (
    MockServer,
    launch_mock,
    photo,
    postgres_folder,
    read_operators,
    read_registry,
    submit,
    upload_pages,
    valid_result,
)

pytestmark = pytest.mark.slow
ON_POSTGRES = pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
FAILING_READS = {"error_rate": 1.0, "error_status": 500, "endpoints": ["read"]}


def _statuses(url: str, headers: dict[str, str] | None = None, times: int = 12) -> set[int]:
    """Statuses of ``url`` over fresh connections (they spread over a mock's processes)."""
    found = set()
    for _ in range(times):
        with httpx.Client(timeout=10) as fresh:
            found.add(fresh.get(url, headers=headers).status_code)
    return found


def _eventually(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {within} s"
        time.sleep(0.1)


@ON_POSTGRES
def test_instances_and_their_workers_on_one_database_share_faults_and_the_plenary(
    start_mock: Callable[..., MockServer],
    postgres_server: PostgresServer,
    tmp_path: Path,
    client: httpx.Client,
) -> None:
    """Instance A (2 worker processes) and instance B on one database: a result uploaded on A
    is gaveled by an operator on B; faults set on B hold on every process of A until removed on
    A; tokens of one instance are good on the other."""
    first = start_mock("--workers", "2")
    second = launch_mock(
        tmp_path, "second", "--registry", str(tmp_path / "mock0-registry.csv"),
        "--operators", str(tmp_path / "mock0-operators.csv"), "--capacity", "raw",
        db_url=str(first.db),
    )  # fmt: skip
    try:
        second.registry = read_registry(tmp_path / "mock0-registry.csv")
        second.operators = read_operators(tmp_path / "mock0-operators.csv")
        tps = first.tps_codes()[0]
        kecamatan = tps[:6]
        auth = first.login(client, tps)
        numbers = valid_result(first.registry[tps]["dpt"])
        pages = upload_pages(first, client, tps, auth)
        stored = submit(second, client, tps, auth, {**numbers, "pages": pages})  # A's token on B
        assert stored.status_code == 201, stored.text
        operator = second.operator_login(client, kecamatan)
        gavel = client.put(
            f"{second.url}/api/v1/recap/{kecamatan}/ppwp/plenary/{tps}",
            json=numbers,
            headers=operator,
        )
        assert gavel.status_code == 200 and gavel.json()["status"] == "matched", gavel.text
        for _ in range(6):  # every process of A sees the gavel
            with httpx.Client(timeout=10) as fresh:
                progress = fresh.get(
                    f"{first.url}/api/v1/recap/{kecamatan}/ppwp/plenary", headers=operator
                ).json()
            assert [row["tps_code"] for row in progress["closed_tps"]] == [tps]

        read = f"{first.url}/api/v1/tps/{tps}/ppwp"
        put = client.put(f"{second.url}/admin/faults", json=FAILING_READS, headers=second.admin)
        assert put.status_code == 200, put.text
        _eventually(lambda: _statuses(read) == {500}, 5, "B's fault on every process of A")
        assert (
            client.get(f"{first.url}/admin/faults", headers=first.admin).json()["version"]
            == (put.json()["version"])
        )
        assert client.delete(f"{first.url}/admin/faults", headers=first.admin).status_code == 204
        second_read = f"{second.url}/api/v1/tps/{tps}/ppwp"
        _eventually(lambda: _statuses(second_read, times=3) == {200}, 5, "A's removal on B")
        _eventually(lambda: _statuses(read) == {200}, 5, "the removal on every process of A")
    finally:
        second.stop()
    with psycopg.connect(str(first.db)) as conn:  # one database holds it all
        assert conn.execute("SELECT count(*) FROM results").fetchone() == (1,)
        assert conn.execute("SELECT status FROM plenary").fetchall() == [("closed",)]


async def _stream(
    server: MockServer, jobs: list[tuple[str, dict[str, Any]]], outage: Callable[[], None]
) -> tuple[dict[str, tuple[str, str]], dict[str, list[int]]]:
    """Submit ``jobs`` from 8 devices that send a refused one again after 0.2 s, while
    ``outage()`` runs in a thread once a quarter is acked; TPS -> acked (content hash, receipt),
    and each TPS's statuses in order."""
    acked: dict[str, tuple[str, str]] = {}
    statuses: dict[str, list[int]] = {}
    quarter = asyncio.Event()
    pending = list(jobs)
    deadline = time.monotonic() + 90

    async def device(client: httpx.AsyncClient) -> None:
        while pending:
            tps, request = pending.pop(0)
            while time.monotonic() < deadline:
                response = await client.put(f"{server.url}/api/v1/tps/{tps}/ppwp/result", **request)
                statuses.setdefault(tps, []).append(response.status_code)
                if response.status_code != 503:
                    break
                await asyncio.sleep(0.2)
            if response.status_code in {200, 201}:
                acked[tps] = (response.json()["content_sha256"], response.json()["receipt_id"])
                if len(acked) >= len(jobs) // 4:
                    quarter.set()
            await asyncio.sleep(0.01)

    async def database_outage() -> None:
        await quarter.wait()
        await asyncio.to_thread(outage)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(database_outage(), *(device(client) for _ in range(8)))
    return acked, statuses


@ON_POSTGRES
@pytest.mark.parametrize("how", ["fast shutdown", "kill -9"])
def test_a_database_restart_is_503_until_the_mock_reconnects_and_loses_nothing_acked(
    how: str, start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    """PostgreSQL stops (or crashes) mid-run: uploads, reads and /readyz answer 503 (storage
    unavailable) while it is down; once it is back the same mock process serves again without a
    restart, the devices' retries go through, and every acknowledged result is there once, with
    the receipt it was acknowledged with."""
    with postgres_folder() as folder:
        database = PostgresServer(folder)
        try:
            _restart_mid_run(how, database, start_mock, client)
        finally:
            database.stop()


def _restart_mid_run(
    how: str,
    database: PostgresServer,
    start_mock: Callable[..., MockServer],
    client: httpx.Client,
) -> None:
    url = database.start()
    server = start_mock(tps=160, db_url=url)
    assert server.process is not None
    pid = server.process.pid
    jobs = []
    for tps in server.tps_codes():
        auth = server.login(client, tps)
        pages = upload_pages(server, client, tps, auth, count=1)
        body = {**valid_result(server.registry[tps]["dpt"]), "pages": pages}
        jobs.append((tps, {"json": body, "headers": {**auth, "Idempotency-Key": f"k-{tps}"}}))
    down: dict[str, httpx.Response] = {}
    tps, (_, headers) = jobs[0][0], jobs[0][1].values()
    body, sha = photo("during the outage")

    def outage() -> None:
        database.kill() if how == "kill -9" else database.stop()
        down["readyz"] = client.get(f"{server.url}/readyz")
        down["read"] = client.get(f"{server.url}/api/v1/tps/{tps}/ppwp")
        down["page"] = client.put(
            f"{server.url}/api/v1/tps/{tps}/ppwp/pages/2",
            content=body,
            headers={**headers, "X-Content-SHA256": sha},
        )
        time.sleep(1.0)  # the devices keep sending into the outage
        database.start()

    acked, statuses = asyncio.run(_stream(server, jobs, outage))
    seen = {status for sequence in statuses.values() for status in sequence}
    assert {201, 503} <= seen <= {200, 201, 503}, sorted(seen)
    for tps, sequence in statuses.items():
        # 503s while the database is down, then stored (201); or a 200, the replay of a result
        # whose commit went through as the database stopped, its acknowledgement lost in a 503
        assert set(sequence[:-1]) <= {503} and sequence[-1] in {200, 201}, (tps, sequence)
        assert sequence[-1] == 201 or 503 in sequence, (tps, sequence)
    assert down["readyz"].status_code == 503
    assert down["readyz"].json()["error"].startswith("database not readable: ")
    assert down["read"].status_code == 503
    assert down["read"].json()["error"].startswith("storage unavailable: ")
    assert down["page"].status_code == 503
    assert down["page"].json()["error"].startswith("storage could not commit: ")
    assert client.get(f"{server.url}/readyz").status_code == 200
    assert server.alive and server.process.pid == pid  # the same process reconnected
    assert len(acked) == len(jobs)
    for tps, request in jobs:  # a replay is answered with the receipt acknowledged
        again = client.put(f"{server.url}/api/v1/tps/{tps}/ppwp/result", **request)
        assert again.status_code == 200, (tps, again.text)
        assert (again.json()["content_sha256"], again.json()["receipt_id"]) == acked[tps]
    export = client.get(f"{server.url}/admin/export", headers=server.admin).text
    rows = [json.loads(line) for line in export.splitlines()]
    stored = [row for row in rows if row["kind"] == "result"]
    by_tps = {row["tps_code"]: (row["content_sha256"], row["receipt_id"]) for row in stored}
    assert len(stored) == len(by_tps) == len(jobs), "a result stored twice or missing"
    assert by_tps == acked
    assert sum(row["kind"] == "page" for row in rows) == len(jobs)  # not the refused page


def test_a_mock_whose_database_cannot_be_reached_does_not_start(tmp_path: Path) -> None:
    """One line naming the database (never its password), exit code 3."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from tests.conftest import pick_free_port  # noqa: PLC0415

    where = f"127.0.0.1:{pick_free_port()}/nowhere_{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [sys.executable, "-m", "mock_sirekap", "--port", "0", "--tps", "3",
         "--db", f"postgresql://postgres:s3cret@{where}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"mock_sirekap: --db postgresql://postgres:***@{where}: cannot reach PostgreSQL "
    )
    assert "s3cret" not in done.stderr + done.stdout
