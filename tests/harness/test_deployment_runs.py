"""``run`` against the staging-like deployment its scenario asks for: instances behind HAProxy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow

KILL_ONE = """
[[faults]]
name = "mock-2 killed"
layer = "process"
kind = "kill"
start = "18:40"
end = "19:10"
params = { victim = "mock-2" }
"""


def _deployed(tmp_path: Path, faults: str = KILL_ONE, instances: int = 3) -> Path:
    text = SMOKE.read_text().replace(
        'retry_after = "1s"     # real', f'retry_after = "1s"     # real\ninstances = {instances}'
    )
    text = text.replace("[slo]", faults + "\n[slo]")
    path = tmp_path / "deployed.toml"
    path.write_text(text)
    return path


def _run(tmp_path: Path, scenario: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
         "--out", str(tmp_path / "runs")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_one_instance_killed_mid_run_the_others_carry_it_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    needs_program("haproxy")
    process = _run(tmp_path, _deployed(tmp_path))
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, out + err
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["integrity"]["lost"] == 0 and summary["integrity"]["duplicate"] == 0
    instances = {i["name"]: i for i in summary["instances"]}
    assert sorted(instances) == ["mock-1", "mock-2", "mock-3"]
    assert instances["mock-2"]["restarts"] == 1 and instances["mock-2"]["down_sim_s"] > 0
    assert instances["mock-1"]["restarts"] == 0 and instances["mock-1"]["down_sim_s"] == 0
    assert all(i["served"] > 0 for i in instances.values())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["target"]["kind"] == "deployment"
    assert [i["name"] for i in record["target"]["instances"]] == ["mock-1", "mock-2", "mock-3"]
    charts = {p.stem for p in (run_dir / "report" / "charts").iterdir()}
    assert {"instances", "balancer"} <= charts
    html = (run_dir / "report" / "report.html").read_text()
    assert "<h2>Instances</h2>" in html
    assert not processes_mentioning(str(run_dir))


def test_a_victim_the_deployment_lacks_is_refused_before_any_load(tmp_path: Path) -> None:
    needs_program("haproxy")
    faults = KILL_ONE.replace('victim = "mock-2"', 'victim = "mock-7"')
    process = _run(tmp_path, _deployed(tmp_path, faults))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out + err
    assert "no process 'mock-7'; valid victims: all, mock-1, mock-2, mock-3" in err
    assert not (tmp_path / "runs").exists()  # refused before anything started


def test_no_part_of_the_deployment_outlives_a_sigkilled_harness(tmp_path: Path) -> None:
    needs_program("haproxy")
    process = _run(tmp_path, _deployed(tmp_path, faults=""))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = list((tmp_path / "runs").glob("*/run.json"))
        if runs and json.loads(runs[0].read_text()).get("status") == "running":
            break
        time.sleep(0.2)
    run_dir = runs[0].parent
    assert len(processes_mentioning(str(run_dir))) >= 4  # three instances and HAProxy at least
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the reaper kills everything, then marks the record
        marked = json.loads((run_dir / "run.json").read_text())["status"] == "killed"
        if marked and not processes_mentioning(str(run_dir)):
            break
        time.sleep(0.2)
    assert not processes_mentioning(str(run_dir))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "killed"
