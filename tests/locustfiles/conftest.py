"""Run the real mock and Locust (as subprocesses: Locust is never imported by pytest)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scenarios import build_population, capacity_json, loads_scenario, write_registry
from tests.mock_sirekap.conftest import MockServer, launch_mock, read_registry

REPO = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).parent / "locust"
LOCUSTFILE = REPO / "locustfiles" / "sirekap.py"


@dataclass
class LocustRun:
    """A finished Locust run and the files it wrote."""

    process: subprocess.CompletedProcess[str]
    run_dir: Path

    @property
    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "load_summary.json").read_text())
        return data

    @property
    def ledger(self) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in (self.run_dir / "ledger.jsonl").read_text().splitlines()
        ]

    @property
    def timeline(self) -> list[dict[str, Any]]:
        text = (self.run_dir / "timeline.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]


def run_locust(
    *args: str, cwd: Path = REPO, timeout: float = 90.0
) -> subprocess.CompletedProcess[str]:
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--only-summary", *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def export(server: MockServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/admin/export", headers=server.admin, timeout=20.0)
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture
def mock_for(tmp_path: Path) -> Iterator[Callable[..., MockServer]]:
    """Start a mock serving a scenario's population (raw mode unless a capacity is given)."""
    servers: list[MockServer] = []

    def start(
        scenario_text: str, capacity: dict[str, Any] | None = None, *extra: str
    ) -> MockServer:
        name = f"mock{len(servers)}"
        scenario = loads_scenario(scenario_text)
        registry = tmp_path / f"{name}-registry.csv"
        write_registry(build_population(scenario), registry)
        capacity_file = tmp_path / f"{name}-capacity.json"
        capacity_file.write_text(json.dumps(capacity or capacity_json(scenario.target)))
        server = launch_mock(
            tmp_path, name, "--registry", str(registry), "--capacity", str(capacity_file), *extra
        )
        servers.append(server)
        server.registry = read_registry(registry)
        return server

    yield start
    for server in servers:
        server.stop()
