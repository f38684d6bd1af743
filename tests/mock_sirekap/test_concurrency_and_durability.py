"""Idempotency under concurrency, durability across SIGKILL, and the capacity model's shedding."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.mock_sirekap.conftest import (
    ON_BOTH_BACKENDS,
    MockServer,
    photo,
    upload_pages,
    valid_result,
)

pytestmark = pytest.mark.slow


async def _put_results(
    server: MockServer, tps: str, auth: dict[str, str], body: dict[str, Any], keys: list[str]
) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        url = f"{server.url}/api/v1/tps/{tps}/ppwp/result"
        return await asyncio.gather(
            *(client.put(url, json=body, headers={**auth, "Idempotency-Key": k}) for k in keys)
        )


@ON_BOTH_BACKENDS
def test_fifty_concurrent_identical_submissions_store_exactly_one_row(
    mock: MockServer, client: httpx.Client
) -> None:
    """Same key or a fresh key each time: one stored row, one receipt for all 50."""
    for tps, keys in (
        (mock.tps_codes()[0], ["same-key"] * 50),
        (mock.tps_codes()[1], [f"key-{i}" for i in range(50)]),
    ):
        auth = mock.login(client, tps)
        body = {
            **valid_result(mock.registry[tps]["dpt"]),
            "pages": upload_pages(mock, client, tps, auth),
        }
        responses = asyncio.run(_put_results(mock, tps, auth, body, keys))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 49 + [201], tps
        assert len({response.json()["receipt_id"] for response in responses}) == 1
    rows = [
        json.loads(line)
        for line in client.get(f"{mock.url}/admin/export", headers=mock.admin).text.splitlines()
    ]
    assert sum(row["kind"] == "result" for row in rows) == 2


async def _submit_until_killed(
    server: MockServer, jobs: list[tuple[str, dict[str, Any]]]
) -> dict[str, str]:
    """Submit results concurrently; SIGKILL the server mid-stream; return TPS -> acked hash."""
    acked: dict[str, str] = {}
    third_acked = asyncio.Event()
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def device(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            tps, request = queue.get_nowait()
            try:
                response = await client.put(f"{server.url}/api/v1/tps/{tps}/ppwp/result", **request)
            except httpx.HTTPError:
                continue  # the server died under us: not acknowledged
            if response.status_code in {200, 201}:
                acked[tps] = response.json()["content_sha256"]
                if len(acked) >= len(jobs) // 3:
                    third_acked.set()

    async def killer() -> None:
        await third_acked.wait()
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=32)) as client:
        await asyncio.gather(killer(), *(device(client) for _ in range(32)))
    return acked


@ON_BOTH_BACKENDS
def test_every_acknowledged_result_survives_sigkill_without_duplicates(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock(tps=400)
    jobs = []
    for tps in server.tps_codes():
        auth = server.login(client, tps)
        pages = upload_pages(server, client, tps, auth, count=1)
        body = {**valid_result(server.registry[tps]["dpt"]), "pages": pages}
        jobs.append((tps, {"json": body, "headers": {**auth, "Idempotency-Key": f"k-{tps}"}}))
    acked = asyncio.run(_submit_until_killed(server, jobs))
    assert server.process is not None and server.process.wait(timeout=10) == -signal.SIGKILL
    assert len(jobs) // 3 <= len(acked) < len(jobs)  # killed mid-stream
    server.process = None
    server.start()  # same database, same registry
    rows = [
        json.loads(line)
        for line in client.get(f"{server.url}/admin/export", headers=server.admin).text.splitlines()
    ]
    stored = [row for row in rows if row["kind"] == "result"]
    by_tps = {row["tps_code"]: row["content_sha256"] for row in stored}
    assert len(by_tps) == len(stored), "a TPS result was stored twice"
    lost = {tps for tps, sha in acked.items() if by_tps.get(tps) != sha}
    assert not lost, f"acknowledged but lost or changed after SIGKILL: {sorted(lost)[:5]}"
    # Pages acknowledged before the kill are there too.
    assert sum(row["kind"] == "page" for row in rows) == len(jobs)


def test_the_capacity_model_sheds_load_and_serves_workers_over_service_time(
    start_mock: Callable[..., MockServer],
) -> None:
    """W=4 workers, a queue of 4, S=3 s: of 20 requests at once 8 are served (4 at a time, in two
    waves of at least S each), 12 are refused at once with 503 + Retry-After, and no more than 4
    are ever in service. Counts and order only: a busy machine can make it slower, not fail it."""
    workers, queue, service, clients = 4, 4, 3.0, 20
    capacity = {
        "workers": workers,
        "queue": queue,
        "queue_timeout": 60.0,  # nobody queued gives up: the queue bound alone sheds
        "retry_after": 1,
        "service_time": {"read": {"median": service, "p95": service}},
    }
    server = start_mock(capacity=capacity)
    tps = server.tps_codes()[0]

    async def burst() -> tuple[float, list[tuple[float, httpx.Response]], list[float]]:
        answers: list[tuple[float, httpx.Response]] = []
        in_flight: list[float] = []
        limits = httpx.Limits(max_connections=clients + 2)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def device() -> None:
                response = await client.get(f"{server.url}/api/v1/tps/{tps}/ppwp")
                answers.append((time.monotonic(), response))

            async def watch() -> None:  # the server's own gauge, while the burst is served
                while len(answers) < clients:
                    text = (await client.get(f"{server.url}/metrics")).text
                    in_flight.append(_gauge(text, "sirekap_in_flight_requests"))
                    await asyncio.sleep(0.1)

            started = time.monotonic()
            await asyncio.gather(watch(), *(device() for _ in range(clients)))
        return started, answers, in_flight

    started, answers, in_flight = asyncio.run(burst())
    served = sorted(at for at, response in answers if response.status_code == 200)
    shed = [(at, response) for at, response in answers if response.status_code != 200]
    assert len(served) == workers + queue and len(shed) == clients - workers - queue
    for _, response in shed:
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["error"] == "server at capacity (queue full); retry after 1 s"
    assert max(at for at, _ in shed) < served[0]  # refused at once, before any is served
    for index, at in enumerate(served):  # wave k ends no earlier than k service times
        assert at - started >= service * (index // workers + 1) - 0.05, (index, at - started)
    assert max(in_flight) == workers  # bounded concurrency, and the bound is reached
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'sirekap_rejections_total{reason="queue_full"} 12.0' in metrics


def _gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@ON_BOTH_BACKENDS
def test_a_page_whose_connection_breaks_midway_is_not_stored(
    mock: MockServer, client: httpx.Client
) -> None:
    """A client that declares 64 KiB and sends 10 KiB, then hangs up: nothing is stored."""
    import socket  # noqa: PLC0415

    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body, sha = photo("cut", 65536)
    host, port = mock.url.removeprefix("http://").split(":")
    request = (
        f"PUT /api/v1/tps/{tps}/ppwp/pages/1 HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {auth['Authorization']}\r\nX-Content-SHA256: {sha}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request + body[:10240])
    time.sleep(0.3)
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/1").status_code == 404
