"""``validate`` checks fault parameters with the fault layer, naming file and field path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.faultplan import fault_timeline
from scenarios import load_scenario

REPO = Path(__file__).resolve().parents[2]


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def test_every_shipped_scenario_has_an_applicable_fault_timeline() -> None:
    for path in sorted((REPO / "scenarios").glob("*.toml")):
        timeline = fault_timeline(load_scenario(path))
        assert len(timeline.windows) == len(load_scenario(path).timeline), path.name


def test_a_misspelt_fault_parameter_is_a_scenario_error(tmp_path: Path) -> None:
    text = (REPO / "scenarios" / "smoke.toml").read_text()
    text = text.replace('end = "18:20"', 'end = "18:20"\nparams = { stream = "sideways" }')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = _validate(str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"{bad}: faults[0].params: unknown parameter 'stream' for a network down fault; "
        "valid parameters: proxy"
    )


def test_a_valid_scenario_is_summarised(tmp_path: Path) -> None:
    result = _validate("scenarios/smoke.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("valid")
