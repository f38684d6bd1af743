"""Helpers of bench_generator.py: scenario files, the mock, Locust runs measured from outside.

Every server listens on 127.0.0.1; every run is bounded by the scenario (or ``-t``) and by a
subprocess timeout. A run's rate and CPU are measured the same way for every locustfile: the
count of requests the mock answered (its /metrics, sampled four times a second) and the Locust
process's CPU time (psutil), both over the steady part of the run (its first two seconds and its
last half second left out).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
LOCUST = Path(sys.executable).parent / "locust"
DEVICE_LOCUSTFILE = ROOT / "locustfiles" / "sirekap.py"
MINIMAL_LOCUSTFILE = Path(__file__).resolve().parent / "_locust_minimal.py"


def scenario_text(
    name: str, *, desa: int, tps_per_desa: int, duration: str, speedup: float, arrival: str,
    page_span: str, think_time: str,
) -> str:  # fmt: skip
    """A regions scenario of ``desa`` villages in Kuta Selatan's kecamatan, 20 kB photos."""
    regions = "".join(
        f'[[population.regions]]\ncode = "510305{1001 + index:04d}"\ntps = {tps_per_desa}\n'
        for index in range(desa)
    )
    return f"""name = "{name}"
[clock]
start = "2024-02-14 17:00"
zone = "WITA"
duration = "{duration}"
speedup = {speedup}
[population]
scale = "regions"
seed = 11
{regions}[population.photo_size]
median = "20kB"
p95 = "20kB"
[arrival]
curve = {arrival}
page_span = {page_span}
[client]
think_time = {think_time}
[target.mock]
mode = "raw"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mock:
    """The raw-mode mock on a fresh database, for one run."""

    def __init__(self, registry: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db = Path(tempfile.mkdtemp(dir=workdir)) / "mock.db"
        command = [sys.executable, "-m", "mock_sirekap", "--host", "127.0.0.1",
                   "--port", str(self.port), "--db", str(db), "--registry", str(registry),
                   "--capacity", "raw", "--admin-token", "bench"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)

    def __enter__(self) -> Mock:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("the mock exited before it was ready")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("the mock did not become ready within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Measured:
    rate: float  # requests/s over the steady window
    cpu: float  # the Locust process's CPU use over the same window (1.0 = one core)
    requests: int
    peak_rss: int = 0  # bytes: the Locust process's resident high-water mark (VmHWM)

    @property
    def per_cpu_second(self) -> float:
        return self.rate / self.cpu if self.cpu > 0 else float("inf")


class CpuSampler(threading.Thread):
    """Samples a process tree's CPU seconds (user + system) with wall-clock times."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []
        self.peak_rss = 0  # the last VmHWM read: the kernel keeps the peak, so none is missed
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                total = _cpu(self.process) + sum(_cpu(child) for child in self.process.children())
                self.peak_rss = max(self.peak_rss, _high_water(self.process.pid))
            except (psutil.Error, OSError):
                return
            self.samples.append((time.time(), total))
            self.stopped.wait(0.2)

    def cpu_between(self, start: float, end: float) -> float:
        return (_interpolate(self.samples, end) - _interpolate(self.samples, start)) / (end - start)


def _high_water(pid: int) -> int:
    """A process's peak resident set so far (VmHWM), in bytes; 0 where /proc does not say."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _interpolate(samples: list[tuple[float, float]], moment: float) -> float:
    """The sampled value at ``moment``, linear between the samples around it."""
    before = [s for s in samples if s[0] <= moment] or samples[:1]
    after = [s for s in samples if s[0] >= moment] or samples[-1:]
    (t0, c0), (t1, c1) = before[-1], after[0]
    return c0 if t1 == t0 else c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


class RequestSampler(threading.Thread):
    """Samples the mock's answered-request count (its /metrics) with wall-clock times."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/metrics"
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stopped.is_set():
                try:
                    text = client.get(self.url).text
                except httpx.HTTPError:
                    text = ""
                count = sum(
                    int(float(line.rsplit(" ", 1)[1]))
                    for line in text.splitlines()
                    if line.startswith("sirekap_requests_total{")
                )
                self.samples.append((time.time(), count))
                self.stopped.wait(0.25)

    def window(self) -> tuple[float, float]:
        """The steady part: from 2 s after the first request to the last second of traffic."""
        first = next(t for t, count in self.samples if count > 0)
        final = self.samples[-1][1]
        last = next(t for t, count in self.samples if count >= final)
        return first + 2.0, last - 0.5


def run_measured(
    args: list[str], mock_url: str, env: dict[str, str] | None = None, timeout: float = 240
) -> tuple[Measured, subprocess.CompletedProcess[str]]:
    """Run Locust headless; its rate (answered by the mock) and CPU over the steady window."""
    command = [str(LOCUST), "--headless", "--only-summary", *args]
    requests = RequestSampler(mock_url)
    requests.start()
    with subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as process:  # fmt: skip
        cpu = CpuSampler(process.pid)
        cpu.start()
        try:
            out, err = process.communicate(timeout=timeout)
        finally:
            cpu.stopped.set()
            requests.stopped.set()
            cpu.join()
            requests.join()
    finished = subprocess.CompletedProcess(command, process.returncode, out, err)
    if process.returncode != 0:
        raise SystemExit(f"locust failed ({process.returncode}): {err[-2000:]}")
    start, end = requests.window()
    if end - start < 3.0:
        raise SystemExit(f"too short a run to measure: {end - start:.1f} s of steady traffic")
    counts = [(t, float(n)) for t, n in requests.samples]
    rate = (_interpolate(counts, end) - _interpolate(counts, start)) / (end - start)
    measured = Measured(rate, cpu.cpu_between(start, end), requests.samples[-1][1], cpu.peak_rss)
    return measured, finished


def write_work(population: Any, path: Path, photo_size: int) -> None:
    """The minimal locustfile's work: every TPS's credentials and true ballots."""
    forms = [
        {"tps_code": tps.code, "device_id": tps.devices[0].device_id,
         "secret": tps.devices[0].secret, "result": population.result_body(tps, "ppwp")}
        for tps in population.tps
    ]  # fmt: skip
    path.write_text(json.dumps({"photo_size": photo_size, "forms": forms}))
