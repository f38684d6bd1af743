"""One run, Locust workers on other hosts: the harness and master in one network namespace, two
workers in a second, the mock in a third (veth pairs; addresses inside the namespaces only)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rundir.progress import read_progress
from scenarios import build_population, load_scenario, write_capacity, write_registry
from tests import netns
from tests.harness.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow

SKEW_S = -2.0  # one worker's clock this far behind the master's
TOKEN = "distributed-test-admin-token"
CLI = [sys.executable, "-m", "harness.cli"]


@pytest.fixture
def network() -> Iterator[netns.Network]:
    reason = netns.available()
    if reason is not None:
        pytest.skip(reason)
    with netns.hosts(
        ["harness", "workers", "mock"], [("harness", "workers"), ("harness", "mock")]
    ) as net:
        yield net


def _start_mock(net: netns.Network, folder: Path) -> str:
    scenario = load_scenario(SMOKE)
    write_registry(build_population(scenario), folder / "registry.csv")
    write_capacity(scenario.target, folder / "capacity.json")
    (folder / "token").write_text(TOKEN)
    address = net.address("mock", "harness")
    command = [
        *CLI, "mock", "--host", address, "--port", "8000", "--db", str(folder / "mock.db"),
        "--registry", str(folder / "registry.csv"), "--capacity", str(folder / "capacity.json"),
        "--admin-token-file", str(folder / "token"),
    ]  # fmt: skip
    subprocess.Popen(
        net.command("mock", command), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=(folder / "mock.log").open("w"),
    )  # fmt: skip
    url = f"http://{address}:8000"
    probe = [
        "python3",
        "-c",
        f"import urllib.request;urllib.request.urlopen('{url}/healthz',timeout=2)",
    ]
    deadline = time.monotonic() + 30
    while net.run("harness", probe, capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, (folder / "mock.log").read_text()[-2000:]
        time.sleep(0.3)
    return url


def _host(url: str) -> str:
    return url.split("//")[1].split(":", maxsplit=1)[0]


def _acknowledged(out: Path, count: int, process: subprocess.Popen[str]) -> None:
    """Until the run has acknowledged ``count`` forms (its live figures), at most 120 s."""
    deadline = time.monotonic() + 120
    while True:
        found = [read_progress(run_dir).get("acked", 0) for run_dir in out.glob("*")]
        if max(found, default=0) >= count:
            return
        assert process.poll() is None and time.monotonic() < deadline, "no form acknowledged"
        time.sleep(0.2)


def _run(
    net: netns.Network, folder: Path, url: str, skews: list[float], kill_mid_run: bool = False
) -> tuple[subprocess.CompletedProcess[str], Path]:
    bind = f"{net.address('harness', 'workers')}:5557"
    out = folder / "runs"
    command = [
        *CLI, "run", str(SMOKE), "--target", url, "--allow-remote", _host(url),
        "--admin-token-file", str(folder / "token"), "--out", str(out), "--plain",
        "--expect-workers", str(len(skews)), "--master-bind", bind, "--join-timeout", "60",
    ]  # fmt: skip
    harness = subprocess.Popen(
        net.command("harness", command), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            net.command("workers", [*CLI, "worker", "--master", bind, "--clock-skew", f"{skew:g}"]),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for skew in skews
    ]
    if kill_mid_run:  # once forms are being acknowledged, however long the start took
        _acknowledged(out, 3, harness)
        victim = subprocess.run(
            ["pgrep", "-n", "-f", f"locust.*--worker.*{bind.split(':', maxsplit=1)[0]}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()[0]  # fmt: skip
        subprocess.run(["kill", "-9", victim], check=True)
    stdout, _ = harness.communicate(timeout=240)
    for worker in workers:
        worker.wait(timeout=60)
    run_dir = next(out.iterdir())
    return subprocess.CompletedProcess(command, harness.returncode, stdout), run_dir


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _totals(run_dir: Path) -> dict[str, Any]:
    summary = json.loads((run_dir / "load_summary.json").read_text())
    forms = summary["forms"]
    return {"jobs": forms["jobs"], "tps": forms["tps"], "final": forms["final"]}


def test_two_remote_workers_give_one_process_totals_and_keep_the_schedule_on_the_master_clock(
    network: netns.Network, tmp_path: Path
) -> None:
    url = _start_mock(network, tmp_path)
    done, run_dir = _run(network, tmp_path, url, [0.0, SKEW_S])
    assert done.returncode == 0, done.stdout[-3000:]
    assert "workers: 2 of 2 joined the master" in done.stdout
    assert "its clock is 2.0" in done.stdout and "s behind the master's" in done.stdout
    report = (run_dir / "report" / "report.html").read_text()
    assert "s behind the master&#x27;s" in report or "s behind the master's" in report
    record = json.loads((run_dir / "run.json").read_text())
    workers = record["generator"]["workers"]
    assert len(workers) == 2
    offsets = sorted(w["offset_s"] for w in workers)
    # measured within half the shortest round trip (a busy machine's can be long), corrected
    assert offsets[0] == pytest.approx(0.0, abs=0.25)
    assert offsets[1] == pytest.approx(-SKEW_S, abs=0.25)

    # The same scenario in one local process, against the embedded mock.
    local = subprocess.run(
        [*CLI, "run", str(SMOKE), "--out", str(tmp_path / "local"), "--plain"],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert local.returncode == 0, local.stdout[-3000:]
    local_dir = next((tmp_path / "local").iterdir())
    assert _totals(run_dir) == _totals(local_dir)
    ledger = _lines(run_dir / "ledger.jsonl")
    assert len(ledger) == len(_lines(local_dir / "ledger.jsonl"))
    exported = {(r["tps_code"], r["election"]): r for r in _lines(run_dir / "export.ndjson")}
    assert {
        (line["tps_code"], line["election"]) for line in ledger if line["final_outcome"] == "acked"
    } == set(exported)

    # The schedule as the target saw it (its own clock, the true one): a clean form is stored
    # within a second of being due; a worker 2 s behind that did not correct would be >= 2 s late.
    late = [
        datetime.fromisoformat(
            exported[(line["tps_code"], line["election"])]["stored_at"]
        ).timestamp()
        - line["due_at"]
        for line in ledger
        if line["final_outcome"] == "acked" and not line["failures"]
    ]
    assert len(late) >= 10
    assert statistics.median(late) < 1.0, late
    assert sorted(late)[int(0.9 * (len(late) - 1))] < 1.5, late


def test_a_worker_killed_mid_run_is_named_the_run_inconclusive_and_no_acknowledged_form_lost(
    network: netns.Network, tmp_path: Path
) -> None:
    url = _start_mock(network, tmp_path)
    done, run_dir = _run(network, tmp_path, url, [0.0, 0.0], kill_mid_run=True)
    assert done.returncode == 4, done.stdout[-3000:]
    assert "was lost" in done.stdout and "the generator's loss, not the target's" in done.stdout
    assert "GENERATOR LOST: process" in done.stdout  # the live panel named it
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["integrity"]["lost"] == 0
    ledger = _lines(run_dir / "ledger.jsonl")
    lost = [line for line in ledger if str(line.get("reason") or "").startswith("lost: ")]
    assert lost, "the lost worker's forms are marked as the generator's loss"
    exported = {(r["tps_code"], r["election"]) for r in _lines(run_dir / "export.ndjson")}
    acked = {
        (line["tps_code"], line["election"]) for line in ledger if line["final_outcome"] == "acked"
    }
    assert acked <= exported  # nothing acknowledged was lost
