"""A whole ``run --target`` through the example adapter: the preflight, the devices and the
read-back audit all speak the fake ``/v2`` service's API, and the audit finds every form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import build_population, load_scenario, write_registry
from tests.conftest import processes_mentioning
from tests.locustfiles.helpers import SMOKE
from tests.locustfiles.renamed_service import renamed_service

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SPEC = "locustfiles.adapters.renamed:RenamedApi"


def test_a_run_through_the_adapter_is_audited_by_reading_back_every_form(tmp_path: Path) -> None:
    write_registry(build_population(load_scenario(SMOKE)), tmp_path / "registry.csv")
    out = tmp_path / "runs"
    with renamed_service(tmp_path / "registry.csv") as service:
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--target", service.url,
             "--api-class", SPEC, "--no-faults", "--audit-rate", "50", "--plain",
             "--out", str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        paths = {path for _, path in service.store.requests}
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "preflight: PASS read:" in result.stdout, result.stdout
    (run_dir,) = out.iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["target"]["preflight"]["status"] == "passed"
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    integrity = summary["integrity"]
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    started = {(row["tps_code"], row["election"]) for row in ledger if row["started_at"]}
    assert len(started) == 31  # the smoke's 31 TPS, one presidential form each
    assert integrity["method"] == "read-back", integrity
    assert integrity["lost"] == 0 and integrity["corrupt"] == 0, integrity
    assert integrity["read"] == len(started) and integrity["unread"] == 0, integrity
    reads = [json.loads(line) for line in (run_dir / "readback.jsonl").read_text().splitlines()]
    receipts = {(row["tps_code"], row["election"]): row["receipt_id"] for row in ledger}
    # the audit read the service's receipts (tanda_terima) through the adapter
    assert all(row["found"] for row in reads), reads
    assert {(r["tps_code"], r["election"]): r["receipt_id"] for r in reads} == receipts
    # nothing spoke the mock's API to it: only /v2, and the harness's health check and scrape
    assert {p for p in paths if not p.startswith("/v2/")} <= {"/healthz", "/metrics"}, paths
    assert not processes_mentioning(str(run_dir))
