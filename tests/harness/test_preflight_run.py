"""``run --target`` runs the preflight first: a failed one ends the run with exit 3 before any
load; a passed one leaves the run's results as they would be without it; --no-preflight skips it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from locustfiles.preflight import USER_AGENT
from scenarios import build_population, load_scenario, write_registry
from tests.conftest import processes_mentioning
from tests.harness.conftest import SMOKE, mock_with_registry
from tests.harness.fake_service import fake_service

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TPS = "5103052003004"  # the smoke run's earliest form, which the preflight sends


def _run(out: Path, *extra: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SIREKAP_ADMIN_TOKEN"}
    if token:
        env["SIREKAP_ADMIN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--plain", "--out", str(out),
         *extra],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False, env=env,
    )  # fmt: skip


def _record(out: Path) -> dict:  # type: ignore[type-arg]
    (run_dir,) = out.iterdir()
    record: dict = json.loads((run_dir / "run.json").read_text())  # type: ignore[type-arg]
    return record


def test_a_failed_preflight_ends_the_run_with_exit_3_before_any_load(tmp_path: Path) -> None:
    with fake_service() as service:
        result = _run(tmp_path / "runs", "--target", service.url)
        requests = list(service.requests)
    assert result.returncode == 3, result.stdout + result.stderr
    failing = (
        f"FAIL page: not idempotent: PUT page 1 of TPS {TPS} ppwp twice: stored twice (stored_at "
        "2024-02-14T12:00:00.000+00:00, then 2024-02-14T12:00:01.000+00:00); a repeat of a "
        "stored hash must answer 200 with the stored copy (README, API)"
    )
    assert f"preflight: {failing}" in result.stdout.splitlines()
    assert (
        f"ERROR (exit code 3): preflight failed: {failing} (no load was sent; --no-preflight "
        "skips it)"
    ) in result.stdout
    assert "BREACHED" not in result.stdout  # nothing was measured: never exit 1
    # only the health checks (httpx) and the preflight's few requests reached the service
    agents = {agent.split("/")[0] for _, _, agent in requests}
    assert agents <= {"python-httpx", USER_AGENT}, requests
    assert len(requests) <= 6, requests
    record = _record(tmp_path / "runs")
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert record["target"]["preflight"]["status"] == "failed"
    checks = {c["check"]: c["status"] for c in record["target"]["preflight"]["checks"]}
    assert checks == {
        "health": "pass", "login": "pass", "page": "fail", "arithmetic": "skip",
        "result": "skip", "read": "skip", "admin": "skip", "proxies": "skip",
    }  # fmt: skip
    assert "locust" not in record["parts"]


def test_a_target_without_the_scenarios_registry_is_caught_by_the_preflights_login(
    tmp_path: Path,
) -> None:
    (tmp_path / "registry.csv").write_text(
        "tps_code,dpt,device_id,secret\n9999999999001,200,dev-x,secret-x\n"
    )
    with mock_with_registry(tmp_path) as mock:
        result = _run(tmp_path / "runs", "--target", mock.url, "--no-faults")
    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        f"ERROR (exit code 3): preflight failed: FAIL login: device {TPS}-1 of TPS {TPS} could "
        "not log in: HTTP 401: unknown device, wrong TPS or wrong secret; load the scenario's "
        "registry into the target (sirekap-loadtest validate SCENARIO --registry FILE writes it)"
    ) in result.stdout
    assert "locust" not in _record(tmp_path / "runs")["parts"]


def test_no_preflight_sends_the_load_without_checking(tmp_path: Path) -> None:
    with fake_service() as service:
        result = _run(tmp_path / "runs", "--target", service.url, "--no-preflight",
                      "--speedup", "2880", "--no-faults")  # fmt: skip
        agents = {agent.split("/")[0] for _, _, agent in service.requests}
    assert "preflight:" not in result.stdout, result.stdout
    assert agents - {"python-httpx", "sirekap-loadtest", USER_AGENT}, agents  # Locust's devices
    assert USER_AGENT not in agents  # and no preflight
    record = _record(tmp_path / "runs")
    assert record["target"]["preflight"] == {"status": "skipped", "reason": "--no-preflight"}


def test_a_passed_preflight_leaves_the_run_as_it_would_be(tmp_path: Path) -> None:
    """The preflight's form is the run's first, sent as its device sends it: the device's upload
    is an idempotent repeat with the same receipt, and the audit finds nothing it did not send."""
    write_registry(build_population(load_scenario(SMOKE)), tmp_path / "registry.csv")
    with mock_with_registry(tmp_path) as mock:
        result = _run(tmp_path / "runs", "--target", mock.url, "--no-faults",
                      token=mock.admin_token)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preflight: PASS result:" in result.stdout
    record = _record(tmp_path / "runs")
    preflight = record["target"]["preflight"]
    assert preflight["status"] == "passed", preflight
    (result_check,) = [c for c in preflight["checks"] if c["check"] == "result"]
    receipt = result_check["detail"].rsplit("(", 1)[1].rstrip(")")
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    integrity = summary["integrity"]
    assert integrity["lost"] == 0 and integrity["duplicate"] == 0, integrity
    assert integrity["ambiguous"] == 0 and integrity["corrupt"] == 0, integrity
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    (form,) = [row for row in ledger if row["tps_code"] == TPS and row["election"] == "ppwp"]
    assert form["final_outcome"] == "acked" and form["receipt_id"] == receipt, form
    assert form["revision"] == 1
    assert not processes_mentioning(str(run_dir))
