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


@pytest.mark.parametrize(
    ("file", "content", "says"),
    [
        ("run.json", "[1, 2]", "run.json: not a JSON object; the run record is damaged"),
        ("run.json", "{}", "run.json: clock.speedup missing or not a number > 0; damaged record"),
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
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(run_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"sirekap-loadtest report: {run_dir / file}: ") and says in line


def test_a_record_that_is_not_utf8_is_refused_naming_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    (run_dir / "run.json").write_bytes(b"\xff\xfe{")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(run_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().endswith("run.json: not UTF-8 text; the run record is damaged")
