"""Fixtures of the harness tests: the parts a run talks to, started for real on free ports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.children import Children
from harness.target import MockTarget
from scenarios import load_scenario, write_capacity
from tests.conftest import pick_free_port, wait_until_http_ok

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "scenarios" / "smoke.toml"


@pytest.fixture
def external_toxiproxy() -> Iterator[str]:
    """A Toxiproxy that outlives runs (``TOXIPROXY_URL``), as a shared one does: its API URL."""
    port = pick_free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "faults.toxiproxy", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_http_ok(f"{url}/version")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def mock_with_registry(folder: Path) -> Iterator[MockTarget]:
    """The real mock as the harness starts it, knowing the TPS of ``folder``/registry.csv."""
    write_capacity(load_scenario(SMOKE).target, folder / "capacity.json")
    children = Children()
    mock = MockTarget(
        children, port=pick_free_port(), db=folder / "mock.db",
        registry=folder / "registry.csv", capacity=folder / "capacity.json", logs=folder / "logs",
    )  # fmt: skip
    try:
        mock.start()
        yield mock
    finally:
        children.stop_all()
