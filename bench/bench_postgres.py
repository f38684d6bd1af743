"""Benchmark: the mock on PostgreSQL against the mock on SQLite, and a deployment's instances
against one instance, side by side in one run.

Targets (issue: a staging-like target):
  raw mode, one process each: durable result submissions/s on PostgreSQL >= 50% of SQLite's
  model mode: 3 instances behind HAProxy serve >= 2.7x one instance's modelled rate (reads with
  a fixed service time and a few workers: the model, not the host, is the limit)
Each pair alternates over rounds; the median ratio is the verdict. Usage:
python bench/bench_postgres.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _streams import Request, cycle, http_request, replay, run
from _targets import Target, report
from bench_mock import N_TPS, Fixture, free_port, start, wait_ready

from harness.children import Children
from harness.deployment import Deployment, DeploymentFiles
from harness.postgres import PostgresServer

READ_CONNECTIONS = 48
MODEL = {  # per instance: 4 workers x 1 / 40 ms = 100 reads/s
    "mode": "model", "workers": 4, "queue": 64, "queue_timeout": 5.0, "retry_after": 1,
    "service_time": {
        endpoint: {"median": 0.04, "p95": 0.0401, "per_mib": 0.0}
        for endpoint in ("session", "page", "result", "read", "recap", "plenary")
    },
}  # fmt: skip


def mock(db: str, port: int, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    return start(
        [sys.executable, "-m", "mock_sirekap", "--port", str(port), "--db", db, "--tps",
         str(N_TPS), "--seed", "1", "--registry-out", str(tmp / "r.csv"), "--capacity", "raw",
         "--admin-token", "bench"],
        tmp / f"{name}.log",
    )  # fmt: skip


def storage_ratio(tmp: Path, rounds: int, seconds: float) -> float:
    """Durable result submissions/s, PostgreSQL over SQLite (raw mode, one process each)."""
    with PostgresServer(tmp / "postgres") as server:
        ports = (free_port(), free_port())
        servers = (
            mock(str(tmp / "s.db"), ports[0], tmp, "sqlite"),
            mock(server.url(), ports[1], tmp, "postgres"),
        )
        try:
            for port, process in zip(ports, servers, strict=True):
                wait_ready(f"http://127.0.0.1:{port}/readyz", process)
            fixtures = [Fixture(f"http://127.0.0.1:{port}", tmp / "r.csv") for port in ports]
            sent: list[dict[str, int]] = [{}, {}]
            ratios = []
            for index in range(rounds):
                rates = []
                for which in (0, 1):
                    streams = fixtures[which].result_streams(sent[which])
                    tally = run(replay(ports[which], streams, seconds))
                    rates.append(tally.rate)
                ratios.append(rates[1] / rates[0])
                print(
                    f"  results round {index + 1}: sqlite {rates[0]:7.1f}/s  postgres "
                    f"{rates[1]:7.1f}/s  ratio {rates[1] / rates[0]:5.2f}"
                )
        finally:
            for process in servers:
                process.terminate()
                process.wait(timeout=15)
    return statistics.median(ratios)


def read_streams(codes: list[str]) -> list[Iterator[tuple[Request, int]]]:
    def factory_for(offset: int):  # type: ignore[no-untyped-def]
        def make(index: int) -> tuple[Request, int]:
            code = codes[(offset + index * READ_CONNECTIONS) % len(codes)]
            return http_request("GET", f"/api/v1/tps/{code}/ppwp", {}, b""), 0

        return make

    return [cycle(factory_for(i)) for i in range(READ_CONNECTIONS)]


def scaling_ratio(tmp: Path, rounds: int, seconds: float) -> float:
    """Modelled reads/s served, 3 instances behind HAProxy over 1 (each the same model)."""
    capacity = tmp / "capacity.json"
    capacity.write_text(json.dumps(MODEL))
    registry = tmp / "r.csv"
    codes = sorted({line.split(",")[0] for line in registry.read_text().splitlines()[1:]})
    ratios = []
    children = Children()
    try:
        deployments = []
        for instances in (1, 3):
            folder = tmp / f"deployment-{instances}"
            folder.mkdir()
            deployed = Deployment(
                children, folder, DeploymentFiles(registry, capacity), instances=instances,
                db=folder / "m.db",
            )  # fmt: skip
            deployed.start()
            deployments.append(deployed)
        for index in range(rounds):
            rates = []
            for deployed in deployments:
                tally = run(replay(deployed.balancer.port, read_streams(codes), seconds))
                rates.append(tally.rate)
            ratios.append(rates[1] / rates[0])
            print(
                f"  reads round {index + 1}: 1 instance {rates[0]:7.1f}/s  3 instances "
                f"{rates[1]:7.1f}/s  ratio {rates[1] / rates[0]:5.2f}  "
                f"(model: {MODEL['workers'] / 0.04:.0f}/s an instance)"
            )
    finally:
        children.stop_all()
    return statistics.median(ratios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as folder:
        tmp = Path(folder)
        print("durable result submissions, raw mode (req/s):")
        storage = storage_ratio(tmp, opts.rounds, opts.seconds)
        print("modelled reads through HAProxy (req/s):")
        scaling = scaling_ratio(tmp, opts.rounds, opts.seconds)
    return report([
        Target("postgres / sqlite durable results", storage, ">=", 0.50),
        Target("3 instances / 1 instance, model mode", scaling, ">=", 2.70),
    ])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
