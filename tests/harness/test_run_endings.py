"""How a run ends, and what it then claims: every way out leaves a record that says how it ended,
nothing outlives the harness, and a verdict never claims more than was measured."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.target import MockTarget
from reports.build import build_report
from scenarios import build_population, load_scenario, write_registry
from tests.conftest import pick_free_port, processes_mentioning, wait_until_http_ok
from tests.harness.conftest import SMOKE, mock_with_registry

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PREFIX = "sirekap-"


def _harness(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", *args, "--plain"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _only_run(out: Path) -> Path:
    (found,) = out.iterdir()
    return found


def _junit_counts(path: Path) -> tuple[dict[str, str | None], dict[str, str | None]]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    keys = ("tests", "failures", "errors", "skipped")
    return {k: root.get(k) for k in keys}, {k: suite.get(k) for k in keys}


@pytest.fixture
def smoke_mock(tmp_path: Path) -> Iterator[MockTarget]:
    """The real mock, started as the harness starts it, knowing the smoke scenario's devices."""
    write_registry(build_population(load_scenario(SMOKE)), tmp_path / "registry.csv")
    with mock_with_registry(tmp_path) as mock:
        yield mock


def test_a_target_run_without_its_admin_token_is_inconclusive_never_breached(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    """No token (no export) and the read-back turned off: no integrity audit, said at the
    start, 'not measured' at the end, exit 4; JUnit has an error (never a failure) and the same
    counts at both levels."""
    out = tmp_path / "runs"
    process = _harness(
        str(SMOKE), "--no-faults", "--target", smoke_mock.url, "--out", str(out),
        "--audit-rate", "0",
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 4, stdout + stderr
    lines = stdout.splitlines()
    assert (
        "not measurable in this run: integrity.lost == 0: no export (admin token) and "
        "--audit-rate 0 turns the read-back audit off" in lines
    )
    assert sum(line.startswith("run directory:") for line in lines) == 1
    assert (
        "INCONCLUSIVE (exit code 4): 1 of 3 SLOs could not be measured: integrity.lost == 0 "
        "(no integrity audit: --audit-rate 0 turned the read-back off and no export ran)" in stdout
    )
    assert "BREACHED" not in stdout and " FAIL" not in stdout
    run_dir = _only_run(out)
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    statuses = {s["expression"]: (s["status"], s["passed"]) for s in summary["slos"]}
    assert statuses["integrity.lost == 0"] == ("not measured", None)
    assert statuses["recovery.time_to_recover('short outage') < 30m"] == ("not applicable", None)
    outer, inner = _junit_counts(run_dir / "report" / "junit.xml")
    # the SLO not measured is its own error case: the run itself is not in doubt
    assert outer == inner == {"tests": "4", "failures": "0", "errors": "1", "skipped": "1"}
    final = [line for line in lines if "] final: " in line]
    assert len(final) == 1 and "acknowledged 31" in final[0], stdout


def test_without_a_token_every_form_is_read_back_and_duplicates_are_not_claimed(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    """The read-back audit: every started form read through the public API after the load;
    lost is measured, duplicate is not (a read shows one result per form)."""
    scenario = tmp_path / "smoke.toml"
    scenario.write_text(
        SMOKE.read_text().replace(
            '"integrity.lost == 0",', '"integrity.lost == 0", "integrity.duplicate == 0",'
        )
    )
    out = tmp_path / "runs"
    process = _harness(
        str(scenario), "--no-faults", "--target", smoke_mock.url, "--out", str(out),
        "--audit-rate", "50",
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 4, stdout + stderr
    assert (
        "not measurable in this run: integrity.duplicate == 0: without the target's admin token "
        "(export) the audit reads every form back, and a read cannot see duplicates"
    ) in stdout.splitlines()
    assert "read-back: 31 forms at 50/s, about 1 s" in stdout
    assert "read-back [##############################] 31/31 forms, 0 failed" in stdout
    run_dir = _only_run(out)
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    integrity = summary["integrity"]
    assert integrity["method"] == "read-back"
    assert (integrity["read"], integrity["unread"], integrity["acknowledged"]) == (31, 0, 31)
    assert (integrity["lost"], integrity["corrupt"]) == (0, 0)
    statuses = {s["expression"]: (s["status"], s["note"]) for s in summary["slos"]}
    assert statuses["integrity.lost == 0"] == ("met", "")
    status, note = statuses["integrity.duplicate == 0"]
    assert status == "not measured" and "a read-back cannot see duplicate results" in note
    reads = [json.loads(line) for line in (run_dir / "readback.jsonl").open()]
    assert len(reads) == 31 and all(r["found"] and r["revision"] == 1 for r in reads)
    html = (run_dir / "report" / "report.html").read_text()
    assert "Audited by reading back 31 forms through the public read API" in html
    record = json.loads((run_dir / "run.json").read_text())
    assert record["parts"]["read_back"] == {"mode": "every form", "rate": 50.0, "exit_code": 0}


def test_sigterm_during_the_read_back_ends_it_and_the_run_is_interrupted(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    """The read-back may take minutes; a cancelled job must not end as a pass."""
    out = tmp_path / "runs"
    process = _harness(
        str(SMOKE), "--no-faults", "--target", smoke_mock.url, "--out", str(out),
        "--audit-rate", "2",  # 31 forms: about 15 s
    )  # fmt: skip
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # bounded: the run ends by itself within its timeouts
        seen.append(line)
        if line.startswith("read-back: 31 forms at 2/s"):
            time.sleep(1)
            process.send_signal(signal.SIGTERM)
            break
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 4, "".join(seen) + rest
    run_dir = _only_run(out)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert record["parts"]["read_back_error"] == "the read-back was interrupted"
    assert not processes_mentioning(str(run_dir))


def test_with_the_token_from_a_file_the_audit_runs_and_the_token_is_kept_nowhere(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text(smoke_mock.admin_token + "\n")
    out = tmp_path / "runs"
    process = _harness(
        str(SMOKE), "--no-faults", "--target", smoke_mock.url, "--out", str(out),
        "--admin-token-file", str(token_file),
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stdout + stderr
    assert "not measurable in this run" not in stdout
    run_dir = _only_run(out)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["options"]["admin_token_given"] is True
    # the export audits; a sample read back through the public API cross-checks the read path
    integrity = json.loads((run_dir / "report" / "summary.json").read_text())["integrity"]
    assert integrity["method"] == "export" and integrity["unseen"] == []
    check = integrity["cross_check"]
    assert check["method"] == "read-back" and check["read"] == 31  # 50 asked, 31 acknowledged
    assert (check["lost"], check["corrupt"], check["unread"]) == (0, 0, 0)
    assert record["parts"]["read_back"]["mode"] == "sample"
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl", ".toml", ".log", ".md", ".xml"}:
            assert smoke_mock.admin_token not in path.read_text(errors="replace"), path


def test_stop_in_the_web_ui_ends_the_run_early_and_inconclusive(tmp_path: Path) -> None:
    port = pick_free_port()
    out = tmp_path / "runs"
    process = _harness(str(SMOKE), "--ui", "--ui-port", str(port), "--out", str(out))
    assert process.stdout is not None
    want, shown = f"Locust web UI: http://127.0.0.1:{port}\n", []
    while want not in shown and len(shown) < 10:  # after the run directory and the live /metrics
        shown.append(process.stdout.readline())
    assert want in shown, shown
    wait_until_http_ok(f"http://127.0.0.1:{port}/", timeout=60)
    time.sleep(8)  # the clock has started (5 s lead): some uploads are under way
    assert httpx.post(f"http://127.0.0.1:{port}/stop", timeout=10).is_success
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stdout + stderr
    assert "INCONCLUSIVE (exit code 4): Locust stopped after " in stdout
    run_dir = _only_run(out)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "ended_early" and record["exit_code"] == 4
    assert record["ended_early"].startswith("Locust stopped after ")
    assert not processes_mentioning(str(run_dir))


def test_a_taken_ui_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--ui", "--ui-port",
             str(port), "--out", str(tmp_path / "runs")],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"sirekap-loadtest run: --ui-port {port}: 127.0.0.1:{port} is taken; choose another "
        "with --ui-port"
    )
    assert not (tmp_path / "runs").exists()


def _wait_for_outage(api: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proxies = httpx.get(f"{api}/proxies", timeout=2).json()
        for name, proxy in proxies.items():
            if name.startswith(PREFIX) and proxy.get("enabled") is False:
                return str(name)
        time.sleep(0.1)
    pytest.fail("the outage was never applied")


def _longer_outage(tmp_path: Path) -> Path:
    text = SMOKE.read_text().replace('end = "18:20"', 'end = "19:30"')
    path = tmp_path / "outage.toml"
    path.write_text(text)
    return path


def test_sigkill_of_the_harness_mid_outage_leaves_no_process_and_no_fault(
    tmp_path: Path, external_toxiproxy: str
) -> None:
    out = tmp_path / "runs"
    process = _harness(
        str(_longer_outage(tmp_path)), "--out", str(out), env={"TOXIPROXY_URL": external_toxiproxy}
    )
    name = _wait_for_outage(external_toxiproxy)
    run_dir = _only_run(out)
    mock_url = json.loads((run_dir / "run.json").read_text())["target"]["url"]
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the reaper kills, removes the proxy, then marks
        gone = httpx.get(f"{external_toxiproxy}/proxies/{name}", timeout=2).status_code == 404
        marked = json.loads((run_dir / "run.json").read_text())["status"] == "killed"
        if gone and marked and not processes_mentioning(str(run_dir)):
            break
        time.sleep(0.2)
    assert httpx.get(f"{external_toxiproxy}/proxies/{name}", timeout=2).status_code == 404
    assert not processes_mentioning(str(run_dir))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{mock_url}/healthz", timeout=2)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "killed"
    assert record["error"].startswith("the harness was killed before the run ended")


def test_the_report_of_a_killed_run_says_so(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "report").mkdir(parents=True)
    (run_dir / "scenario.toml").write_text(SMOKE.read_text())
    (run_dir / "run.json").write_text(json.dumps({
        "run_id": "r", "status": "killed", "error": "the harness was killed before the run ended",
        "clock": {"speedup": 720, "start": 1700000000.0},
    }))  # fmt: skip
    analysis = build_report(run_dir)
    assert analysis.verdict.exit_code == 3
    assert analysis.verdict.reason == "the harness was killed before the run ended"


def test_a_target_that_refuses_every_device_ends_the_run_with_what_to_do(tmp_path: Path) -> None:
    """A mock that does not know the scenario's TPS: exit 3, and the line says how to load them.
    (The preflight's login check says so before any load: test_preflight_run; skipped here.)"""
    (tmp_path / "registry.csv").write_text(
        "tps_code,dpt,device_id,secret\n9999999999001,200,dev-x,secret-x\n"
    )
    with mock_with_registry(tmp_path) as mock:
        out = tmp_path / "runs"
        process = _harness(
            str(SMOKE), "--no-faults", "--no-preflight", "--target", mock.url, "--out", str(out)
        )
        stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 3, stdout + stderr
    assert "ERROR (exit code 3): the target refused every device at login (31 of 31 devices" in (
        stdout
    )
    assert "sirekap-loadtest validate " in stdout and "--registry registry.csv" in stdout
    record = json.loads((_only_run(out) / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["error"].startswith("the target refused every device at login")


def test_a_wrong_admin_token_is_refused_before_the_run(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    token = tmp_path / "wrong-token"
    token.write_text("not-the-token\n")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--no-faults", "--target",
         smoke_mock.url, "--admin-token-file", str(token), "--out", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"sirekap-loadtest run: the target {smoke_mock.url} refused the admin token (HTTP 403); "
        "give the one it was started with (--admin-token-file FILE or $SIREKAP_ADMIN_TOKEN)"
    )
    assert not (tmp_path / "runs").exists()


def _descendants_marked(mark: str) -> list[int]:
    """Live processes whose environment carries ``mark`` (inherited from the harness run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"SIREKAP_TEST_MARK={mark}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(("sig", "after_s"), [(signal.SIGTERM, 0.8), (signal.SIGTERM, 1.6),
                                               (signal.SIGKILL, 1.2)])  # fmt: skip
def test_a_signal_while_the_parts_start_leaves_nothing_running(
    tmp_path: Path, sig: int, after_s: float
) -> None:
    """Whenever the signal comes (here: while Toxiproxy and the mock start), nothing survives."""
    mark = uuid.uuid4().hex
    process = _harness(str(SMOKE), "--out", str(tmp_path / "runs"), env={"SIREKAP_TEST_MARK": mark})
    time.sleep(after_s)
    process.send_signal(sig)
    process.communicate(timeout=120)
    deadline = time.monotonic() + 20
    while _descendants_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _descendants_marked(mark)
