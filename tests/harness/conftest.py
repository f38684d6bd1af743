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
from rundir import exits
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


# a mild, constant network latency on most of the run, away from the outage (18:00-18:20) and
# its recovery: 80 ms on each chunk of the load path from 17:01 to 17:58 and 18:35 to 21:00 WITA
LATENCY_FAULT = """
[[faults]]
name = "slow link"
layer = "network"
kind = "latency"
start = "17:01"
end = "17:58"
params = { latency_ms = 80, jitter_ms = 0 }

[[faults]]
name = "slow link again"
layer = "network"
kind = "latency"
start = "18:35"
end = "20:59"
params = { latency_ms = 80, jitter_ms = 0 }
"""


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``sirekap-loadtest ARGS`` as a user runs it, from the repository."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], check=False,
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _run(scenario: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    done = cli("run", str(scenario), "--plain", "--out", str(out), *extra)
    (folder,) = [p for p in out.iterdir() if (p / "run.json").exists()]
    return done, folder


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Three real runs: a base, the same again with --baseline, and one with a latency fault
    added, also with --baseline."""
    root = tmp_path_factory.mktemp("smoke-runs")
    slow = root / "slow.toml"
    slow.write_text(SMOKE.read_text() + LATENCY_FAULT)
    done, base = _run(SMOKE, root / "base")
    assert done.returncode == exits.OK, done.stdout + done.stderr
    same_done, same = _run(SMOKE, root / "same", "--baseline", str(base))
    slow_done, slower = _run(slow, root / "slow", "--baseline", str(base))
    yield {"root": root, "base": base, "same": same, "slow": slower}
    for done in (same_done, slow_done):  # printed on failure only
        print(done.stdout[-3000:], done.stderr[-2000:])
