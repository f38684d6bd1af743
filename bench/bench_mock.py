"""Benchmark: the mock's durable write paths against a bare FastAPI endpoint, side by side.

Both servers run in raw mode (no capacity model), one uvicorn process each, on 127.0.0.1, and get
the same request bytes from the same client in alternating rounds. Targets (issue: foundation):
  durable result submissions/s >= 50% of the bare endpoint's requests/s
  1 MiB photo ingest MB/s (hashing, verifying, committing) >= 60% of the bare endpoint's MB/s
  memory: 16 concurrent 8 MiB photo uploads lift the mock's peak RSS by < 48 MiB (it streams
  them; held whole they would need 128 MiB and more)
Prints each round and the median ratio.
Usage: python bench/bench_mock.py [--rounds N] [--seconds S] [--only results|photos|memory]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _profile
from _streams import Request, Tally, cycle, http_request, replay, run
from _targets import Target, report

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ("100025", "100026", "100027")
N_TPS = 1024
RESULT_CONNECTIONS = 64
PAGE_CONNECTIONS = 16
MIB = 1_048_576


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early: {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server did not answer: {url}")


def result_body(dpt: int, pages: list[str], revision: int) -> dict[str, object]:
    voters_l, voters_p = dpt // 2 - 5, dpt - dpt // 2 - 5
    voters = voters_l + voters_p
    valid = voters - 2
    shift = revision % 2  # consecutive revisions differ
    chart = [valid // 3 + shift, valid // 3 - shift, valid - 2 * (valid // 3)]
    adm = {
        "suara_sah": valid, "suara_tidak_sah": 2, "suara_total": voters,
        "pemilih_dpt_j": dpt, "pemilih_dpt_l": dpt // 2, "pemilih_dpt_p": dpt - dpt // 2,
        "pengguna_dpt_j": voters, "pengguna_dpt_l": voters_l, "pengguna_dpt_p": voters_p,
        "pengguna_total_j": voters, "pengguna_total_l": voters_l, "pengguna_total_p": voters_p,
    }  # fmt: skip
    return {
        "chart": dict(zip(CANDIDATES, chart, strict=True)),
        "administrasi": adm,
        "pages": pages,
        "revision": revision,
    }


class Fixture:
    """Registry, tokens and one stored page per TPS, so every result submission is valid."""

    def __init__(self, mock_url: str, registry: Path) -> None:
        import csv  # noqa: PLC0415

        self.tps: dict[str, dict[str, object]] = {}
        with registry.open() as handle:
            for row in csv.DictReader(handle):
                self.tps.setdefault(row["tps_code"], {"dpt": int(row["dpt"]), "cred": row})
        self.codes = sorted(self.tps)[:N_TPS]
        self.tokens: dict[str, str] = {}
        self.page_sha = hashlib.sha256(b"page-one").hexdigest()
        asyncio.run(self._prepare(mock_url))

    async def _prepare(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            sem = asyncio.Semaphore(32)

            async def one(code: str) -> None:
                async with sem:
                    cred = self.tps[code]["cred"]
                    assert isinstance(cred, dict)
                    login = await client.post(
                        f"{url}/api/v1/sessions",
                        json={"device_id": cred["device_id"], "tps_code": code,
                              "secret": cred["secret"]},
                    )  # fmt: skip
                    token = login.json()["token"]
                    self.tokens[code] = f"Bearer {token}"
                    page = await client.put(
                        f"{url}/api/v1/tps/{code}/ppwp/pages/1",
                        content=b"page-one",
                        headers={"Authorization": self.tokens[code],
                                 "X-Content-SHA256": self.page_sha},
                    )  # fmt: skip
                    assert page.status_code in {200, 201}, page.text

            await asyncio.gather(*(one(code) for code in self.codes))

    def result_streams(self, revisions: dict[str, int]) -> list:  # type: ignore[type-arg]
        """Each TPS's next revision; ``revisions`` holds the last one sent to that server."""

        def factory_for(owned: list[str]):  # type: ignore[no-untyped-def]
            def make(index: int) -> tuple[Request, int]:
                code = owned[index % len(owned)]
                revisions[code] = rev = revisions.get(code, 0) + 1
                dpt = self.tps[code]["dpt"]
                assert isinstance(dpt, int)
                body = json.dumps(result_body(dpt, [self.page_sha], rev)).encode()
                headers = {
                    "Authorization": self.tokens[code],
                    "Idempotency-Key": f"{code}-{rev}",
                    "Content-Type": "application/json",
                }
                return http_request("PUT", f"/api/v1/tps/{code}/ppwp/result", headers, body), 0

            return make

        return [
            cycle(factory_for(self.codes[i::RESULT_CONNECTIONS])) for i in range(RESULT_CONNECTIONS)
        ]

    def page_streams(self, photos: list[tuple[bytes, str]]) -> list:  # type: ignore[type-arg]
        def factory_for(offset: int):  # type: ignore[no-untyped-def]
            def make(index: int) -> tuple[Request, int]:
                n = offset + index * PAGE_CONNECTIONS
                code = self.codes[n % len(self.codes)]
                body, sha = photos[(n // len(self.codes)) % len(photos)]
                headers = {
                    "Authorization": self.tokens[code],
                    "X-Content-SHA256": sha,
                    "Content-Type": "application/octet-stream",
                }
                page = 2 + n % 2
                return http_request(
                    "PUT", f"/api/v1/tps/{code}/ppwp/pages/{page}", headers, body
                ), len(body)

            return make

        return [cycle(factory_for(i)) for i in range(PAGE_CONNECTIONS)]


MEMORY_UPLOADS = 16
MEMORY_PHOTO = 8 * MIB


def peak_rss(pid: int) -> int:
    """The process's peak resident set so far (the kernel's VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc/PID/status: the memory figure needs Linux")


def memory_growth(url: str, fixture: Fixture, server: psutil.Process) -> float:
    """MiB the mock's peak RSS rises over its RSS before, while 16 distinct 8 MiB photos are
    uploaded at once (each to its own TPS)."""
    photos = []
    for i in range(MEMORY_UPLOADS):
        body = hashlib.sha256(f"memory-{i}".encode()).digest() * (MEMORY_PHOTO // 32)
        photos.append((body, hashlib.sha256(body).hexdigest()))
    before = server.memory_info().rss

    async def upload() -> list[int]:
        async with httpx.AsyncClient(timeout=120) as client:

            async def one(index: int) -> int:
                code = fixture.codes[index]
                body, sha = photos[index]
                answer = await client.put(
                    f"{url}/api/v1/tps/{code}/ppwp/pages/3", content=body,
                    headers={"Authorization": fixture.tokens[code], "X-Content-SHA256": sha},
                )  # fmt: skip
                return answer.status_code

            return list(await asyncio.gather(*(one(i) for i in range(MEMORY_UPLOADS))))

    statuses = asyncio.run(upload())
    if any(status not in {200, 201} for status in statuses):
        raise SystemExit(f"memory round: uploads answered {statuses}")
    return (peak_rss(server.pid) - before) / MIB


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


def measured(port: int, server: psutil.Process, streams: list[Iterator[tuple[Request, int]]],
             seconds: float) -> tuple[Tally, float, float]:  # fmt: skip
    """One run, with the CPU time (ms per answered request) of the client and of the server."""
    client_before, server_before = time.process_time(), sum(server.cpu_times()[:2])
    tally = run(replay(port, streams, seconds))
    client = time.process_time() - client_before
    served = sum(server.cpu_times()[:2]) - server_before
    count = max(tally.requests, 1)
    return tally, 1000 * client / count, 1000 * served / count


def rounds(
    name: str,
    ports: tuple[int, int],
    servers: tuple[psutil.Process, psutil.Process],
    streams: Callable[[bool], list[Iterator[tuple[Request, int]]]],
    seconds: float,
    n: int,
    rate: str,
) -> float:
    """``n`` alternating rounds, bare then mock; the median of the per-round ratios."""
    ratios = []
    for index in range(n):
        bare, bare_client, bare_cpu = measured(ports[0], servers[0], streams(False), seconds)
        mock, mock_client, mock_cpu = measured(ports[1], servers[1], streams(True), seconds)
        b, m = getattr(bare, rate), getattr(mock, rate)
        ratios.append(m / b)
        bad = {k: v for k, v in (mock.statuses or {}).items() if not 200 <= k < 300}
        print(
            f"  {name} round {index + 1}: bare {b:8.1f}  mock {m:8.1f}  ratio {m / b:5.2f}   "
            f"cpu ms/request: server {bare_cpu:.2f} vs {mock_cpu:.2f}, "
            f"client {bare_client:.2f} vs {mock_client:.2f}" + (f"  non-2xx {bad}" if bad else "")
        )
    return statistics.median(ratios)


def mock_command(port: int, tmp: Path) -> list[str]:
    return [sys.executable, "-m", "mock_sirekap", "--port", str(port), "--db",
            str(tmp / f"m{port}.db"), "--tps", str(N_TPS), "--seed", "1", "--registry-out",
            str(tmp / "r.csv"), "--capacity", "raw", "--admin-token", "bench"]  # fmt: skip


def profile_part(part: str, tmp: Path, photos: list[tuple[bytes, str]], seconds: float) -> None:
    """One more round of ``part`` ("results" or "photos") against a mock under cProfile; prints
    the top of its profile (the event loop's thread: routing, validation, hashing, the writer's
    hand-off)."""
    port, stats = free_port(), tmp / f"{part}.prof"
    mock = start(_profile.under_profiler(mock_command(port, tmp), stats), tmp / "profiled.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", mock)
        fixture = Fixture(f"http://127.0.0.1:{port}", tmp / "r.csv")
        streams = fixture.result_streams({}) if part == "results" else fixture.page_streams(photos)
        measured(port, psutil.Process(mock.pid), streams, seconds)
    finally:
        mock.terminate()  # uvicorn shuts down on SIGTERM; cProfile then writes its stats
        mock.wait(timeout=30)
    print(_profile.top(stats, f"the mock, {part}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--only", choices=["results", "photos", "memory"], help="run one part")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as folder:
        tmp = Path(folder)
        bare_port, mock_port = free_port(), free_port()
        bare = start([sys.executable, "bench/_bare_app.py", str(bare_port)], tmp / "bare.log")
        mock = start(mock_command(mock_port, tmp), tmp / "mock.log")
        try:
            wait_ready(f"http://127.0.0.1:{bare_port}/", bare)
            wait_ready(f"http://127.0.0.1:{mock_port}/readyz", mock)
            servers = (psutil.Process(bare.pid), psutil.Process(mock.pid))
            fixture = Fixture(f"http://127.0.0.1:{mock_port}", tmp / "r.csv")
            photos = []
            for i in range(16):
                body = hashlib.sha256(f"photo-{i}".encode()).digest() * (MIB // 32)
                photos.append((body, hashlib.sha256(body).hexdigest()))
            result_ratio = page_ratio = memory = float("nan")
            if opts.only in {None, "memory"}:  # first: the peak RSS is the whole life's
                memory = memory_growth(f"http://127.0.0.1:{mock_port}", fixture, servers[1])
                print(
                    f"memory: {MEMORY_UPLOADS} concurrent {MEMORY_PHOTO // MIB} MiB photos lifted "
                    f"the mock's peak RSS by {memory:.1f} MiB"
                )
            if opts.only in {None, "results"}:
                print(f"durable result submissions ({RESULT_CONNECTIONS} connections, req/s):")
                sent: dict[str, int] = {}  # revisions the mock has seen: each is the next one
                result_ratio = rounds(
                    "results", (bare_port, mock_port), servers,
                    lambda to_mock: fixture.result_streams(sent if to_mock else {}),
                    opts.seconds, opts.rounds, "rate",
                )  # fmt: skip
            if opts.only in {None, "photos"}:
                print(f"1 MiB photo ingest ({PAGE_CONNECTIONS} connections, MB/s):")
                page_ratio = rounds(
                    "photos", (bare_port, mock_port), servers,
                    lambda _: fixture.page_streams(photos), opts.seconds, opts.rounds, "mb_per_s",
                )  # fmt: skip
        finally:
            for process in (bare, mock):
                process.terminate()
                process.wait(timeout=15)
        targets = [
            Target("durable result submissions / bare requests", result_ratio, ">=", 0.50),
            Target("1 MiB photo ingest / bare MB/s", page_ratio, ">=", 0.60),
            Target("peak RSS rise, 16 x 8 MiB uploads (MiB)", memory, "<", 48.0),
        ]
        measured_targets = [t for t in targets if not math.isnan(t.value)]  # NaN: --only
        if _profile.wanted():
            for part, target in (("results", targets[0]), ("photos", targets[1])):
                if not math.isnan(target.value) and not target.held:
                    profile_part(part, tmp, photos, opts.seconds)
    return report(measured_targets)


if __name__ == "__main__":
    sys.exit(main())
