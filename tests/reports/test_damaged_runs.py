"""A damaged run directory is one line naming the file and what is wrong (exit code 2), never a
traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "smoke-run"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("file", "content", "says"),
    [
        ("run.json", "[1, 2]", "run.json: not a JSON object; the run record is damaged"),
        ("run.json", "{}", "run.json: clock.speedup missing or not a number from 0 to 1e+07"),
        ("run.json", '{"clock": {"speedup": NaN}}', "clock.speedup missing or not a number from 0"),
        ("run.json", '{"clock": {"speedup": 720}, "faults": "x"}',
         "run.json: 'faults' has the wrong type; the run record is damaged"),
        ("run.json", '{"clock": {"speed', "run.json: not JSON (Unterminated string starting at:"),
        ("load_summary.json", '{"run": ', "load_summary.json: not JSON ("),
    ],
)  # fmt: skip
def test_a_damaged_file_is_one_line_and_exit_code_2(
    tmp_path: Path, file: str, content: str, says: str
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    (run_dir / file).write_text(content)
    done = _cli("report", str(run_dir))
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"sirekap-loadtest report: {run_dir / file}: ") and says in line


def test_a_record_that_is_not_utf8_is_refused_naming_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    (run_dir / "run.json").write_bytes(b"\xff\xfe{")
    done = _cli("report", str(run_dir))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("run.json: not UTF-8 text; the run record is damaged")


@pytest.mark.parametrize(
    ("file", "line", "says"),
    [
        ("timeline.jsonl", "[1, 2]", "not a JSON object; the file is damaged"),
        ("timeline.jsonl", '{"kind": "requests", "second": 10000000}',
         "second 10000000 is not a whole second from 0 to"),
        ("timeline.jsonl", '{"kind": "requests", "second": 3, "count": NaN}',
         "count nan is not a count; the file is damaged"),
        ("timeline.jsonl", '{"kind": "requests", "second": 3, "count": 1e308}', "is not a count"),
        ("timeline.jsonl", '{"kind": "requests", "second": 3, "count": 1, "ok": 2}',
         "ok exceeds count"),
        ("ledger.jsonl", "null", "not a JSON object; the file is damaged"),
        ("ledger.jsonl", '{"tps_code": "1", "ready_s": Infinity}', "ready_s inf is not a finite"),
        ("ledger.jsonl", "{}", "a file of it is damaged and cannot be analysed (KeyError"),
    ],
)  # fmt: skip
def test_a_line_of_the_wrong_shape_is_one_line_and_exit_2_never_a_regression(
    tmp_path: Path, file: str, line: str, says: str
) -> None:
    """Valid JSON of the wrong shape (or a number no run writes) is damage, exit code 2: never
    exit 1, which would read as a regression, and never unbounded work."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    with (run_dir / file).open("a") as handle:
        handle.write(line + "\n")
    done = _cli("compare", str(FIXTURE), str(run_dir), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    (error,) = done.stderr.strip().splitlines()
    assert error.startswith(f"sirekap-loadtest compare: {run_dir}") and says in error, error
    assert done.stdout == ""


def test_a_run_without_its_timeline_is_not_comparable_rather_than_regressed(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    (run_dir / "timeline.jsonl").unlink()
    done = _cli("compare", str(FIXTURE), str(run_dir), "--out", str(tmp_path / "out"))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "NOT COMPARABLE (exit code 4): the new run lacks timeline.jsonl" in done.stdout
