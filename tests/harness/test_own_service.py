"""A run against "your own service": the staging-like deployment started on its own (`cluster`),
loaded with `run --target` and no admin token, through a command fault that freezes one instance,
a latency fault on its database link declared in [[proxies]] and an outage of the load path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from faults.toxiproxy.launcher import URL_VARIABLE
from harness.cluster import DB_PROXY
from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE
from tests.harness.test_deployment import processes_mentioning_all
from tests.harness.test_postgres_deployment import _needs_postgres

pytestmark = pytest.mark.slow


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _faults(victim: int) -> str:
    return f"""
[[faults]]
name = "instance frozen"
layer = "command"
kind = "run"
start = "18:40"
end = "18:55"
[faults.params]
apply = ["kill", "-STOP", "{victim}"]
revert = ["kill", "-CONT", "{victim}"]
probe = ["grep", "-q", "^State:.*T", "/proc/{victim}/status"]
timeout_s = 10

[[faults]]
name = "slow database link"
layer = "network"
kind = "latency"
start = "19:10"
end = "19:30"
params = {{ proxy = "{DB_PROXY}", latency_ms = 300 }}
"""


def test_a_rehearsal_against_the_deployment_on_its_own_without_an_admin_token(
    tmp_path: Path, external_toxiproxy: str
) -> None:
    _needs_postgres()
    needs_program("haproxy")
    env = {**os.environ, URL_VARIABLE: external_toxiproxy}
    out = tmp_path / "cluster"
    cluster = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "cluster", str(SMOKE), "--instances", "3",
         "--out", str(out)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert cluster.stdout is not None
        first = cluster.stdout.readline()
        assert first.startswith("cluster: 3 instances behind HAProxy at "), first
        url = first.split(" at ")[1].strip()
        link = httpx.get(f"{external_toxiproxy}/proxies/{DB_PROXY}", timeout=5).json()
        victim = processes_mentioning_all("mock_sirekap", str(out), "--port")[0]
        scenario = tmp_path / "own.toml"
        proxies = (
            f'[[proxies]]\nname = "{DB_PROXY}"\nlisten = "{link["listen"]}"\n'
            f'upstream = "{link["upstream"]}"\n'
        )
        scenario.write_text(
            SMOKE.read_text().replace("[slo]", proxies + _faults(victim) + "\n[slo]")
        )
        runs = tmp_path / "runs"
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(scenario), "--target", url,
             "--plain", "--out", str(runs)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        out_text = done.stdout + done.stderr
        assert done.returncode in {0, 1}, out_text  # by the SLOs alone
        (run_dir,) = runs.iterdir()
        summary: dict[str, Any] = json.loads((run_dir / "report" / "summary.json").read_text())
        integrity = summary["integrity"]
        assert integrity["method"] == "read-back" and integrity["read"] > 0, integrity
        assert (integrity["lost"], integrity["corrupt"], integrity["unread"]) == (0, 0, 0)
        windows = {r["name"] for r in summary["recovery"] if r["injected"]}
        assert {"short outage", "instance frozen", "slow database link"} <= windows
        record = json.loads((run_dir / "run.json").read_text())
        applied = [e for e in record["faults"] if e["action"] == "apply"]
        assert len(applied) == 3 and all(e["ok"] for e in applied), applied
        assert record["toxiproxy"]["dependencies"][DB_PROXY]["created"] is False
        # every fault is gone, seen from outside
        assert _state(victim) in {"S", "R"}
        link = httpx.get(f"{external_toxiproxy}/proxies/{DB_PROXY}", timeout=5).json()
        assert link["enabled"] and link["toxics"] == []
        left = httpx.get(f"{external_toxiproxy}/proxies", timeout=5).json()
        assert set(left) == {DB_PROXY}  # the run's own load proxy went with it
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        cluster.send_signal(signal.SIGTERM)
        cluster.communicate(timeout=60)
    assert not processes_mentioning(str(out))
