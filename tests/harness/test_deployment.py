"""The staging-like deployment: mock instances behind a real HAProxy on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.children import Children
from harness.deployment import Deployment, DeploymentFiles
from harness.haproxy import parse_stats
from scenarios import build_population, load_scenario, write_capacity, write_registry
from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow


def _wait_for(check, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    needs_program("haproxy")
    scenario = load_scenario(SMOKE)
    write_registry(build_population(scenario), tmp_path / "registry.csv")
    write_capacity(scenario.target, tmp_path / "capacity.json")
    children = Children()
    files = DeploymentFiles(tmp_path / "registry.csv", tmp_path / "capacity.json")
    deployed = Deployment(children, tmp_path, files, instances=3, db=tmp_path / "mock.db")
    try:
        deployed.start()
        yield deployed
    finally:
        children.stop_all()
    assert not processes_mentioning(str(tmp_path))


def test_the_balancer_spreads_requests_over_every_instance(deployment: Deployment) -> None:
    assert deployment.balancer.view() == {"mock-1": "UP", "mock-2": "UP", "mock-3": "UP"}
    with httpx.Client(timeout=5) as client:
        for _ in range(30):
            assert client.get(f"{deployment.url}/healthz").status_code == 200
    served = {}
    for name, url in deployment.instance_urls:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        served[name] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("sirekap_requests_total{")
        )
    assert all(count > 0 for count in served.values()), served


def test_a_dead_instance_is_taken_out_and_a_restarted_one_comes_back(
    deployment: Deployment,
) -> None:
    victim = deployment.instance("mock-2")
    victim.kill(signal.SIGKILL)
    assert _wait_for(lambda: deployment.balancer.view().get("mock-2") == "DOWN"), (
        deployment.balancer.view()
    )
    with httpx.Client(timeout=5) as client:  # the others carry the load
        codes = [client.get(f"{deployment.url}/healthz").status_code for _ in range(20)]
    assert codes == [200] * 20
    _wait_for(lambda: not victim.alive)
    victim.restart()
    assert _wait_for(lambda: deployment.balancer.view().get("mock-2") == "UP"), (
        deployment.balancer.view()
    )


def test_an_unknown_instance_is_named_with_the_valid_ones(deployment: Deployment) -> None:
    with pytest.raises(KeyError, match="no instance 'mock-9'; the deployment has mock-1, mock-2"):
        deployment.instance("mock-9")


def test_the_stats_csv_is_read_per_backend_server() -> None:
    text = (
        "# pxname,svname,qcur,status\n"
        "instances,mock-1,0,UP\ninstances,mock-2,0,DOWN 1/2\ninstances,BACKEND,0,UP\n"
        "sirekap,FRONTEND,,OPEN\n"
    )
    assert parse_stats(text) == {"mock-1": "UP", "mock-2": "DOWN"}


def _cluster(out: Path, instances: int = 2) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "cluster", str(SMOKE), "--instances",
         str(instances), "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _started(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(5)]
    assert lines[0].startswith("cluster: 2 instances behind HAProxy at http://127.0.0.1:"), lines
    return lines


def test_the_cluster_command_serves_restarts_a_dead_instance_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    needs_program("haproxy")
    process = _cluster(tmp_path)
    try:
        lines = _started(process)
        url = lines[0].split(" at ")[1].strip()
        token = tmp_path / "admin-token"
        assert f"admin token: {token}" in lines[1] and oct(token.stat().st_mode)[-3:] == "600"
        assert lines[3].startswith("  database: PostgreSQL through the Toxiproxy proxy "), lines
        faults = httpx.get(
            f"{url}/admin/faults",
            headers={"Authorization": f"Bearer {token.read_text().strip()}"},
            timeout=5,
        )
        assert faults.status_code == 200
        (victim,) = processes_mentioning_all("mock_sirekap", str(tmp_path), "--port")[:1]
        os.kill(victim, signal.SIGKILL)
        assert process.stdout is not None
        assert "exited with code -9; restarting" in process.stdout.readline()
        assert _wait_for(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0
    assert not processes_mentioning(str(tmp_path))


def test_a_killed_cluster_command_leaves_no_part_running(tmp_path: Path) -> None:
    needs_program("haproxy")
    process = _cluster(tmp_path)
    _started(process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert _wait_for(lambda: not processes_mentioning(str(tmp_path)), timeout=20)


def processes_mentioning_all(*texts: str) -> list[int]:
    first, *rest = texts
    return [
        pid
        for pid in processes_mentioning(first)
        if all(
            t in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for t in rest
        )
    ]
