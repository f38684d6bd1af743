"""``report`` on a saved run directory gives the verdict the run gave, with nothing running."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from reports.build import build_report

FIXTURE = Path(__file__).parent / "fixtures" / "smoke-run"
REPO = Path(__file__).resolve().parents[2]


def test_the_report_of_a_saved_run_has_the_verdict_of_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    recorded = json.loads((run_dir / "run.json").read_text())
    analysis = build_report(run_dir)
    assert analysis.verdict.exit_code == recorded["exit_code"] == 0
    assert [r.passed for r in analysis.slos] == [True, True, True, True]
    assert analysis.integrity is not None and analysis.integrity.acknowledged == 31
    assert analysis.integrity.lost == 0
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["recovery"][0]["name"] == "short outage"
    assert summary["failures"] == {"refused": 30}


def test_the_report_command_prints_the_slo_table_and_exits_by_the_verdict(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(run_dir)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "PASSED (exit code 0): all 4 SLOs met" in result.stdout
    assert result.stdout.strip().endswith(f"report: {run_dir / 'report' / 'report.html'}")


def test_a_folder_that_is_not_a_run_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"sirekap-loadtest report: {tmp_path / 'run.json'}: missing; {tmp_path} is not a run "
        "directory"
    )


def _edit_record(run_dir: Path, **changes: object) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record.update(changes)
    (run_dir / "run.json").write_text(json.dumps(record))


def test_a_failed_export_is_not_audited_as_a_loss(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    _edit_record(run_dir, parts={"export_error": "HTTP 503"})
    analysis = build_report(run_dir)
    assert analysis.integrity is None
    (lost,) = [r for r in analysis.slos if r.slo.key == "integrity.lost"]
    assert not lost.passed and lost.shown_value == "not measured"
    assert "export.ndjson (the export failed: HTTP 503) is missing from the run directory" in (
        analysis.notes
    )


def test_a_fault_window_that_was_never_applied_is_not_measured(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    _edit_record(run_dir, faults=[])  # as with --no-faults
    analysis = build_report(run_dir)
    assert [r for r in analysis.recovery if r.injected] == []
    (recovery,) = [r for r in analysis.slos if r.slo.scope == "recovery"]
    assert not recovery.passed and recovery.shown_value == "not measured"
    assert analysis.notes == [
        "fault window 'short outage' was not applied (the run ended before it, or ran without "
        "faults); not measured"
    ]
