"""Headless Locust against the real mock: local and distributed runs, retries, option errors."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rundir.progress import read_progress
from scenarios import build_population, loads_scenario, write_registry
from tests.conftest import pick_free_port
from tests.locustfiles.conftest import LOCUST, LOCUSTFILE, REPO, LocustRun, export, run_locust
from tests.locustfiles.helpers import TINY, scenario_text, tiny_plan
from tests.mock_sirekap.conftest import MockServer, launch_mock

pytestmark = pytest.mark.slow


def locust_run(
    server: MockServer, scenario: Path, run_dir: Path, *extra: str, processes: int = 0
) -> LocustRun:
    args = ["--scenario", str(scenario), "--host", server.url, "--run-dir", str(run_dir), *extra]
    if processes:
        port = str(pick_free_port())
        args += ["--processes", str(processes), "--master-bind-port", port, "--master-port", port]
    process = run_locust(*args)
    assert process.returncode == 0, process.stderr[-3000:]
    return LocustRun(process, run_dir)


def totals(run: LocustRun) -> dict[str, Any]:
    summary = run.summary
    by_endpoint = {
        endpoint: (figures["count"], figures["ok"], figures["failures"])
        for endpoint, figures in summary["requests"]["by_endpoint"].items()
    }
    return {
        "forms": summary["forms"],
        "requests": summary["requests"]["total"],
        "by_endpoint": by_endpoint,
    }


def test_local_and_distributed_runs_write_the_same_files_with_the_same_totals(
    tmp_path: Path, mock_for: Callable[..., MockServer]
) -> None:
    """One process, 1 worker and 2 workers: every form acked once, identical totals."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    plan = tiny_plan()
    expected_keys = sorted(job.key for job in plan.jobs)
    runs = {}
    for processes in (0, 1, 2):
        server = mock_for(TINY)
        run = locust_run(server, scenario, tmp_path / f"run{processes}", processes=processes)
        runs[processes] = run
        ledger = run.ledger
        assert [(x["tps_code"], x["election"], x["device_id"]) for x in ledger] == expected_keys
        assert {x["final_outcome"] for x in ledger} == {"acked"}
        assert {x["read_back"] for x in ledger} == {"verified"}
        stored = {(row["tps_code"], row["election"]): row for row in export(server)
                  if row["kind"] == "result"}  # fmt: skip
        assert len(stored) == len(ledger)
        for line in ledger:
            row = stored[(line["tps_code"], line["election"])]
            assert (line["receipt_id"], line["content_sha256"]) == (
                row["receipt_id"], row["content_sha256"]
            )  # fmt: skip
        summary = run.summary
        assert summary["inconclusive"] is False, summary["reasons"]
        assert summary["generator"]["processes"] == max(1, processes)
        assert summary["start_slip_s"]["p99"] < 1.0
        assert sorted(path.name for path in run.run_dir.iterdir()) == [
            "ledger.jsonl", "load_summary.json", "timeline.jsonl"
        ]  # fmt: skip
        timeline_count = sum(x["count"] for x in run.timeline if x["kind"] == "requests")
        assert (
            timeline_count == summary["requests"]["total"]["count"] == 6 * len(plan.jobs)
        )  # login, 3 pages, result, read
    assert totals(runs[0]) == totals(runs[1]) == totals(runs[2])
    assert {x["worker"] for x in runs[2].ledger} == {0, 1}


def test_an_overloaded_server_is_retried_and_every_failure_is_counted_once(
    tmp_path: Path, mock_for: Callable[..., MockServer]
) -> None:
    """A two-worker mock sheds load (503 + Retry-After) and answers pages late (timeouts)."""
    text = scenario_text(
        timeouts='{ connect = "2s", session = "5s", page = "0.3s", result = "5s", read = "5s" }',
        retry='{ policy = "exponential", delay = "2m", cap = "10m", max_attempts = 12 }',
    )
    scenario = tmp_path / "busy.toml"
    scenario.write_text(text)
    fast = {"median": 0.005, "p95": 0.01, "per_mib": 0.0}
    capacity = {
        "mode": "model", "workers": 2, "queue": 2, "queue_timeout": 0.2, "retry_after": 1,
        "service_time": {"session": fast, "result": fast, "read": fast, "recap": fast,
                         "page": {"median": 0.15, "p95": 0.6, "per_mib": 0.0}},
    }  # fmt: skip
    server = mock_for(text, capacity)
    run = locust_run(server, scenario, tmp_path / "run", "--read-back", "0", "--drain", "20")
    ledger, summary = run.ledger, run.summary
    failures = Counter[str]()
    for line in ledger:
        failures.update(line["failures"])
    timeline_failures = Counter[str]()
    for line in run.timeline:
        if line["kind"] == "requests":
            timeline_failures.update(line["failures"])
    assert failures == timeline_failures == Counter(summary["requests"]["total"]["failures"])
    assert failures["5xx:503"] > 0 and failures["timeout"] > 0, failures
    retried = [line for line in ledger if line["first_outcome"] != line["final_outcome"]]
    assert retried, "some form needed a retry to be acked"
    assert all(line["first_failure"] for line in retried)
    acked = [line for line in ledger if line["final_outcome"] == "acked"]
    assert len(acked) == len(ledger)
    stored = {row["receipt_id"] for row in export(server) if row["kind"] == "result"}
    assert {line["receipt_id"] for line in acked} <= stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--scenario: missing; give the scenario TOML file"),
        (["--scenario", "nowhere.toml"], "--scenario: nowhere.toml: no such file"),
        (["--scenario", "scenarios/smoke.toml", "--read-back", "2"],
         "--read-back: got 2; must be a fraction between 0 and 1"),
        (["--scenario", "scenarios/smoke.toml", "--host", "http://example.org:8000"],
         "--host http://example.org:8000: example.org is not a loopback address; a load test "
         "goes to a remote service only when you name it: add --allow-remote example.org"),
    ],
)  # fmt: skip
def test_a_bad_option_exits_2_with_one_line_naming_it(args: list[str], message: str) -> None:
    if "--host" not in args:
        args = [*args, "--host", "http://127.0.0.1:9"]
    process = run_locust(*args)
    assert process.returncode == 2
    assert f"locustfiles/sirekap.py: {message}" in process.stderr


def test_sigterm_mid_run_writes_a_line_for_every_form_on_the_given_clock(
    tmp_path: Path, mock_for: Callable[..., MockServer]
) -> None:
    """The harness's clock start is kept; a stopped run still accounts for every form."""
    text = TINY.replace('duration = "1h"', 'duration = "4h"').replace(
        '["17:35", 1.0]', '["20:00", 1.0]'
    )  # 12 TPS ready over 3 simulated hours: 9 s real at speedup 1200
    scenario = tmp_path / "long.toml"
    scenario.write_text(text)
    server = mock_for(text)
    clock_start = time.time() + 2.0
    run_dir = tmp_path / "run"
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
               "--scenario", str(scenario), "--host", server.url, "--run-dir", str(run_dir),
               "--clock-start", repr(clock_start)]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as process:
        # mid-run: once the first form is acknowledged, however long Locust took to start (the
        # arrivals go on 9 s after the clock start)
        deadline = time.monotonic() + 60
        while read_progress(run_dir).get("acked", 0) < 1:
            assert process.poll() is None and time.monotonic() < deadline, "no form acknowledged"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-3000:]
    run = LocustRun(subprocess.CompletedProcess(command, 0, "", stderr), run_dir)
    summary, ledger = run.summary, run.ledger
    assert summary["clock"]["start"] == clock_start
    assert summary["run"]["end_reason"] == "terminated (SIGTERM)"
    assert len(ledger) == summary["forms"]["jobs"] == 12
    outcomes = Counter(line["final_outcome"] for line in ledger)
    assert outcomes["acked"] >= 1 and outcomes["not_started"] >= 1, outcomes
    for line in ledger:
        assert line["due_at"] == pytest.approx(clock_start + line["ready_s"] / 1200, abs=1e-3)
        if line["final_outcome"] == "not_started":
            assert line["reason"] == "not started: the run ended before it was due"
        else:
            assert line["started_at"] >= line["due_at"]


def test_with_a_new_connection_per_upload_every_request_comes_from_its_own_port(
    tmp_path: Path, mock_for: Callable[..., MockServer]
) -> None:
    """A phone on a cellular network: no connection is reused (the mock's access log shows it)."""
    text = scenario_text(new_connection_per_upload="true")
    scenario = tmp_path / "cellular.toml"
    scenario.write_text(text)
    server = mock_for(text, None, "--access-log", "--log-level", "info")
    run = locust_run(server, scenario, tmp_path / "run")
    ports = re.findall(r"127\.0\.0\.1:(\d+) - \"(?:GET|PUT|POST) /api/v1/", server.log.read_text())
    requests = run.summary["requests"]["total"]["count"]
    assert requests == 6 * 12
    assert len(ports) == requests
    assert len(set(ports)) == requests


def test_a_target_that_knows_none_of_the_scenarios_tps_fails_with_exit_3_and_says_so(
    tmp_path: Path,
) -> None:
    """The mock started as `sirekap-loadtest mock --tps N` serves its own TPS, not the
    scenario's: every login is 401. The run's files are written, its last line says what to do
    and the exit code is 3 (the target refuses), never 0."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    server = launch_mock(tmp_path, "stranger", "--tps", "5", "--seed", "1")
    try:
        process = run_locust(
            "--scenario", str(scenario), "--host", server.url, "--run-dir", str(tmp_path / "run")
        )
    finally:
        server.stop()
    assert process.returncode == 3, process.stderr[-3000:]
    message = (
        "the target refused every device at login (12 of 12 devices, 12 TPS; HTTP 401: unknown "
        "device, wrong TPS or wrong secret) and accepted nothing: it does not know the "
        "scenario's TPS. Write their registry with `sirekap-loadtest validate "
        f"{scenario} --registry registry.csv` and start the mock with it (`sirekap-loadtest "
        "mock --db DB --registry registry.csv`) or load it into the target, then run again"
    )
    assert process.stderr.strip().splitlines()[-1] == f"locustfiles/sirekap.py: {message}"
    assert "(ok)" not in process.stderr
    assert "and accepted none so far: does it know the scenario's TPS?" in process.stderr  # early
    run = LocustRun(process, tmp_path / "run")
    summary = run.summary
    assert summary["refused"] == {
        "devices": 12, "devices_started": 12, "tps": 12, "tps_in_run": 12, "forms": 12,
        "statuses": {"4xx:401": 12}, "every_device": True,
        "examples": sorted(job.tps_code for job in tiny_plan().jobs)[:3],
        "answer": "HTTP 401: unknown device, wrong TPS or wrong secret", "message": message,
    }  # fmt: skip
    assert summary["inconclusive"] is True and message in summary["reasons"]
    assert {line["final_outcome"] for line in run.ledger} == {"rejected"}


def test_a_registry_that_lacks_some_tps_is_counted_and_said_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    """3 of the 12 TPS are missing from the mock's registry: their devices are refused at login
    and their forms rejected, the other 9 are acknowledged; the run says which, exit code 0."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    full = tmp_path / "full.csv"
    write_registry(build_population(loads_scenario(TINY)), full)
    rows = full.read_text().splitlines()
    codes = sorted({row.split(",")[0] for row in rows[1:]})
    missing = codes[:3]
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(row for row in rows if row.split(",")[0] not in missing) + "\n")
    server = launch_mock(tmp_path, "partial", "--registry", str(partial), "--capacity", "raw")
    try:
        run = locust_run(server, scenario, tmp_path / "run")
    finally:
        server.stop()
    refused = run.summary["refused"]
    message = (
        f"the target refused 3 of 12 devices at login (3 of 12 TPS: {', '.join(missing)}; HTTP "
        "401: unknown device, wrong TPS or wrong secret): it does not know those TPS, so their "
        "forms are rejected; load the scenario's whole registry (`sirekap-loadtest validate "
        f"{scenario} --registry registry.csv`) into the target"
    )
    assert (refused["devices"], refused["tps"], refused["every_device"]) == (3, 3, False)
    assert refused["examples"] == missing and refused["message"] == message
    assert f"sirekap: {message}" in run.process.stderr
    assert run.summary["inconclusive"] is False
    outcomes = {line["tps_code"]: line["final_outcome"] for line in run.ledger}
    assert outcomes == {code: "rejected" if code in missing else "acked" for code in codes}
