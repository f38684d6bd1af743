"""``sirekap-loadtest run`` end to end: the real mock, Toxiproxy and Locust on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html import escape as html_escape
from pathlib import Path

import httpx
import pytest

from tests.conftest import pick_free_port, processes_mentioning
from tests.generator_measurement import write_measurement

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

# The smoke scenario with a longer outage: 18:00-19:00 WITA = 5 s to 10 s real at speedup 720.
OUTAGE_START_REAL, OUTAGE_END_REAL = 5.0, 10.0


def _scenario(tmp_path: Path) -> Path:
    text = (REPO / "scenarios" / "smoke.toml").read_text()
    text = text.replace('end = "18:20"', 'end = "19:00"')
    text = text.replace("\"recovery.time_to_recover('short outage') < 30m\",", "")
    text = text.replace('"completion.final >= 0.95"', '"completion.final >= 0.5"')
    path = tmp_path / "outage.toml"
    path.write_text(text)
    return path


def _run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(_scenario(tmp_path)), "--plain",
         "--out", str(tmp_path / "runs"), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _run_dir(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "runs").iterdir()
    return found


def _slow_generator(tmp_path: Path) -> Path:
    """A measurement of a generator process far too slow for the smoke night."""
    return write_measurement(
        tmp_path / "generator.json", photo_bytes=20_000, requests_per_form=5.0,
        forms_per_s=0.01, requests_per_s=0.05, bytes_per_s=600.0,
    )  # fmt: skip


def test_a_run_with_a_scheduled_outage_reports_it_and_exits_by_its_slos(tmp_path: Path) -> None:
    process = _run(tmp_path, "--generator", str(_slow_generator(tmp_path)))
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, out + err
    run_dir = _run_dir(tmp_path)
    # too few generator processes by the measurement: said at the start, kept, in the report
    (short,) = [line for line in out.splitlines() if " this run has 1 process(es);" in line]
    assert short.startswith("sirekap-loadtest run: generator: this run has 1 process(es); the ")
    assert "expect start slip and an inconclusive run" in short
    generator = json.loads((run_dir / "run.json").read_text())["generator"]
    assert generator["needed"] > 1 and generator["processes"] == 1
    assert generator["measured"].startswith("one generator process keeps 0.01 forms/s on time")
    assert generator["shortfall"] == short.removeprefix("sirekap-loadtest run: ")
    assert out.splitlines()[-1] == f"report: {run_dir / 'report' / 'report.html'}"
    live = [line for line in out.splitlines() if line.startswith("[2024-02-14 ")]
    assert len(live) >= 3, out  # plain progress lines every few seconds
    assert any("acknowledged 0;" not in line and "acknowledged ?" not in line for line in live)
    assert any("faults: short outage" in line for line in live)
    # errors are totals so far: once counted they never read "none" again, up to the final line
    first = next(i for i, line in enumerate(live) if "errors so far: refused" in line)
    assert all("errors so far: none" not in line for line in live[first:]), out
    assert live[-1].startswith("[2024-02-14 ") and "] final: " in live[-1], out
    assert sum(line.startswith("run directory:") for line in out.splitlines()) == 1
    assert "PASSED (exit code 0): all 3 SLOs met" in out
    report = run_dir / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["verdict"] == "passed" and summary["exit_code"] == 0
    assert summary["integrity"]["lost"] == 0 and summary["integrity"]["acknowledged"] > 0
    (outage,) = [r for r in summary["recovery"] if r["injected"]]
    assert abs(outage["detected_start_s"] - OUTAGE_START_REAL) <= 2.0, outage
    assert abs(outage["detected_end_s"] - OUTAGE_END_REAL) <= 2.0, outage
    assert not [r for r in summary["recovery"] if not r["injected"]]
    suite = ET.parse(report / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"
    assert (report / "summary.md").read_text().startswith("## PASS: smoke")
    html = (report / "report.html").read_text()
    assert "data:image/png;base64," in html
    # the report sets the warning beside what the run measured: here the schedule was kept
    assert html_escape(generator["shortfall"] + "; measured: start slip p99 ") in html
    assert "s, within the 1 s bound" in html
    charts = {p.stem for p in (report / "charts").iterdir()}
    assert charts >= {"throughput", "latency", "errors", "completion", "backlog", "server"}
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["exit_code"] == 0
    actions = [(e["action"], e["layer"], e["ok"]) for e in record["faults"]]
    assert actions[:2] == [("apply", "network", True), ("remove", "network", True)]
    # the parts' CPU over the load: the generator and the target worked, none beyond the host
    cpu = record["parts"]["cpu"]
    assert cpu["cores"] >= 1 and cpu["seconds"] > 10
    for part in ("locust", "mock", "harness"):
        assert cpu["parts"][part]["cpu_s"] > 0, cpu
        assert cpu["parts"][part]["of_the_host"] <= 1.05, cpu
        assert cpu["parts"][part]["peak_of_a_core"] >= cpu["parts"][part]["of_a_core"] * 0.5
    assert "CPU over the load (" in out and "locust " in out
    assert not processes_mentioning(str(run_dir))


def test_ctrl_c_stops_every_process_and_removes_every_fault(
    tmp_path: Path, external_toxiproxy: str
) -> None:
    url = external_toxiproxy
    process = _run(tmp_path, env={"TOXIPROXY_URL": url})
    deadline = time.monotonic() + 60
    name = None
    while time.monotonic() < deadline and name is None:  # until the outage is applied
        proxies = httpx.get(f"{url}/proxies", timeout=2).json()
        name = next(
            (n for n, p in proxies.items() if n.startswith("sirekap-") and not p["enabled"]),
            None,
        )
        time.sleep(0.1)
    if name is None:
        pytest.fail("the outage was never applied")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=90)
    run_dir = _run_dir(tmp_path)
    assert process.returncode == 4, out + err  # interrupted: the figures are partial
    assert "INCONCLUSIVE (exit code 4): the run was interrupted" in out
    # the run's own proxy, with its fault, is gone from the shared Toxiproxy
    assert httpx.get(f"{url}/proxies/{name}", timeout=2).status_code == 404
    assert not processes_mentioning(str(run_dir))
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert (run_dir / "report" / "report.html").exists()


def test_a_remote_target_needs_to_be_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "scenarios/smoke.toml",
         "--target", "https://sirekap.example.org", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "sirekap-loadtest run: --target https://sirekap.example.org: sirekap.example.org is not "
        "a loopback address; a load test goes to a remote service only when you name it: "
        "add --allow-remote sirekap.example.org"
    )
    assert not list(tmp_path.iterdir())  # nothing started, no run directory


def test_a_target_that_refuses_is_an_infrastructure_error(tmp_path: Path) -> None:
    port = pick_free_port()
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "scenarios/smoke.toml", "--no-faults",
         "--target", f"http://127.0.0.1:{port}", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"ERROR (exit code 3): target http://127.0.0.1:{port} does not answer" in result.stdout
    # nothing was measured: the error is all it prints, no rows of blanks marked as failures
    assert "FAIL" not in result.stdout and "not measured" not in result.stdout
    record = json.loads(next(tmp_path.iterdir()).joinpath("run.json").read_text())
    assert record["status"] == "failed"


def test_an_abort_on_fail_slo_stops_the_run_early_with_exit_code_1(tmp_path: Path) -> None:
    """The outage refuses every request; 'at most 5 failures' is breached within seconds."""
    scenario = _scenario(tmp_path)
    text = scenario.read_text().replace(
        '"integrity.lost == 0",',
        '"integrity.lost == 0",\n    { check = "upload.failures <= 5", abort_on_fail = true },',
    )
    scenario.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
         "--out", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    # the load stopped on the generator's own clock well before the scenario's 20 s real
    load = json.loads((_run_dir(tmp_path) / "load_summary.json").read_text())["run"]
    assert load["real_s"] < 19 and load["ended_early"], load
    assert "sirekap-loadtest run: aborted: upload.failures <= 5 was breached during the run" in (
        result.stdout
    )
    assert "BREACHED (exit code 1): aborted: upload.failures <= 5" in result.stdout
    record = json.loads((_run_dir(tmp_path) / "run.json").read_text())
    assert record["status"] == "aborted"
    assert not processes_mentioning(str(_run_dir(tmp_path)))


def test_a_part_dying_mid_run_ends_it_as_an_infrastructure_error(tmp_path: Path) -> None:
    """Kill the built-in Toxiproxy the run started: exit 3, the record says why, no orphans."""
    process = _run(tmp_path, "--no-faults")
    deadline = time.monotonic() + 60
    proxy_pid = None
    while time.monotonic() < deadline and proxy_pid is None:
        runs = tmp_path / "runs"
        if runs.exists() and any(runs.iterdir()):
            path = _run_dir(tmp_path) / "run.json"  # written just after the folder
            record = json.loads(path.read_text() or "{}") if path.exists() else {}
            if record.get("status") == "running":
                proxy_pid = next(
                    (pid for pid in processes_mentioning("faults.toxiproxy")
                     if _parent(pid) == process.pid),
                    None,
                )  # fmt: skip
        time.sleep(0.2)
    assert proxy_pid is not None, "the run never started its Toxiproxy"
    os.kill(proxy_pid, signal.SIGKILL)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, out + err
    assert "ERROR (exit code 3): toxiproxy died during the run" in out
    record = json.loads((_run_dir(tmp_path) / "run.json").read_text())
    assert record["status"] == "failed" and record["error"] == "toxiproxy died during the run"
    assert not processes_mentioning(str(_run_dir(tmp_path)))


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return -1
