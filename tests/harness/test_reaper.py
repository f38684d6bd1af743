"""The reaper and the sweep: what a killed harness leaves behind is cleaned up, by its reaper at
once, or by the next run when the reaper died too."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import run_report
from harness.leftovers import sweep_dead_runs
from harness.reaper import Reaper
from harness.run import Run
from harness.run_options import parser, prepare
from tests.conftest import pick_free_port

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "scenarios" / "smoke.toml"


def _proxy(api: str, name: str) -> None:
    body = {"name": name, "listen": f"127.0.0.1:{pick_free_port()}", "upstream": "127.0.0.1:9"}
    assert httpx.post(f"{api}/proxies", json=body, timeout=5).status_code == 201
    httpx.post(f"{api}/proxies/{name}", json={"enabled": False}, timeout=5)


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "120"], start_new_session=True)


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_a_reaper_whose_harness_vanishes_kills_its_groups_removes_proxies_and_marks_the_record(
    tmp_path: Path, external_toxiproxy: str
) -> None:
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"status": "running"}))
    _proxy(external_toxiproxy, "sirekap-test")
    sleeper = _sleeper()
    reaper = Reaper(tmp_path / "reaper.log")
    reaper.record(record)
    reaper.watch(sleeper.pid)
    reaper.proxy(external_toxiproxy, "sirekap-test")
    assert reaper.process.stdin is not None
    reaper.process.stdin.close()  # what the kernel does when the harness dies
    reaper.process.wait(timeout=30)
    assert sleeper.wait(timeout=10) == -9
    assert httpx.get(f"{external_toxiproxy}/proxies/sirekap-test", timeout=5).status_code == 404
    data = json.loads(record.read_text())
    assert data["status"] == "killed" and data["ended_utc"]


def test_a_reaper_told_done_touches_nothing(tmp_path: Path, external_toxiproxy: str) -> None:
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"status": "completed"}))
    _proxy(external_toxiproxy, "kept")
    sleeper = _sleeper()
    try:
        reaper = Reaper(tmp_path / "reaper.log")
        reaper.watch(sleeper.pid)
        reaper.proxy(external_toxiproxy, "kept")
        reaper.done()
        assert reaper.process.returncode == 0
        time.sleep(0.3)
        assert sleeper.poll() is None
        assert httpx.get(f"{external_toxiproxy}/proxies/kept", timeout=5).status_code == 200
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_next_run_sweeps_up_after_a_run_whose_harness_and_reaper_died(
    tmp_path: Path, external_toxiproxy: str
) -> None:
    out = tmp_path / "runs"
    dead, alive = out / "20240214T100000Z-smoke", out / "20240214T110000Z-smoke"
    sleeper = _sleeper()
    _proxy(external_toxiproxy, "sirekap-dead")
    # a harness still running (by its command line) is left alone
    harness = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "harness.cli", "run"]
    )
    for folder, pid in ((dead, _dead_pid()), (alive, harness.pid)):
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({
            "status": "running",
            "parts": {"harness": {"pid": pid}, "mock": {"pid": sleeper.pid,
                                                         "command": ["sleep", "120"]}},
            "toxiproxy": {"url": external_toxiproxy, "proxies": ["sirekap-dead"]},
        }))  # fmt: skip
    said = sweep_dead_runs(out)
    assert said == [
        f"run {dead.name} had died without ending: marked killed; removed its proxies sirekap-dead"
    ]
    assert sleeper.wait(timeout=10) == -9
    assert httpx.get(f"{external_toxiproxy}/proxies/sirekap-dead", timeout=5).status_code == 404
    record = json.loads((dead / "run.json").read_text())
    assert record["status"] == "killed" and "found by a later run" in record["error"]
    assert json.loads((alive / "run.json").read_text())["status"] == "running"
    assert sweep_dead_runs(out) == []  # once is enough
    harness.kill()
    harness.wait()


def test_a_process_whose_command_differs_is_never_killed_by_the_sweep(tmp_path: Path) -> None:
    """A pid reused by another program: the recorded command no longer matches it."""
    folder = tmp_path / "runs" / "r"
    folder.mkdir(parents=True)
    sleeper = _sleeper()
    try:
        (folder / "run.json").write_text(json.dumps({
            "status": "running",
            "parts": {"harness": {"pid": _dead_pid()},
                      "mock": {"pid": sleeper.pid, "command": ["python", "-m", "mock_sirekap"]}},
        }))  # fmt: skip
        sweep_dead_runs(tmp_path / "runs")
        time.sleep(0.2)
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_ctrl_c_while_the_report_is_written_leaves_a_record_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_report, "build_report", interrupted)
    args = parser().parse_args([str(SMOKE), "--out", str(tmp_path)])
    run = Run(args, prepare(args))
    run.record.status = "completed"
    try:
        assert run.report() == 4
    finally:
        run.reaper.done()
    record = json.loads(run.dir.record.read_text())
    assert record["status"] == "interrupted" and record["exit_code"] == 4
    assert record["error"] == (
        "interrupted while the report was being written; rebuild it with: "
        f"sirekap-loadtest report {run.dir.path}"
    )


def test_a_kill_while_the_report_is_written_marks_the_ended_run_killed(tmp_path: Path) -> None:
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"status": "completed", "reporting": True}))
    reaper = Reaper(tmp_path / "reaper.log")
    reaper.record(record)
    assert reaper.process.stdin is not None
    reaper.process.stdin.close()
    reaper.process.wait(timeout=30)
    data = json.loads(record.read_text())
    assert data["status"] == "killed" and data["reporting"] is False
    assert data["error"] == (
        "the harness was killed while writing the report of a run that had ended (completed); "
        f"rebuild it with: sirekap-loadtest report {tmp_path}"
    )
