"""``sirekap-loadtest run`` with a plenary: operators.csv in the run directory, the mock serving
those operators, the plenary gate applied as a server fault, plenary.jsonl written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import build_population, load_scenario, read_operators

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "locustfiles" / "fixtures" / "plenary_tiny.toml"
# The plenary is suspended from 18:10 to 18:40 WITA (simulated), 1 s of Retry-After (real).
GATE = """
[[faults]]
name = "plenary suspended"
layer = "server"
kind = "plenary_gate"
start = "18:10"
end = "18:40"
params = { retry_after_s = 1 }
"""


def test_a_run_writes_the_operators_the_mock_serves_and_the_plenary_they_held(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "plenary.toml"
    scenario.write_text(FIXTURE.read_text(encoding="utf-8") + GATE, encoding="utf-8")
    process = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
         "--out", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    population = build_population(load_scenario(scenario))
    operators = read_operators(run_dir / "operators.csv")
    assert [(row.kecamatan_code, row.operator_id) for row in operators] == [
        ("510305", "ppk-510305-1")
    ]
    record = json.loads((run_dir / "run.json").read_text())
    gate = [event for event in record["faults"] if event.get("kind") == "plenary_gate"]
    assert gate, record["faults"]
    lines = [json.loads(line) for line in (run_dir / "plenary.jsonl").read_text().splitlines()]
    assert [line["tps_code"] for line in lines] == [tps.code for tps in population]
    assert all(line["gaveled_s"] is not None for line in lines)
    attempts = [a for line in lines for a in line["attempts"]]
    assert any(a["status"] == 503 for a in attempts), "the gate held the operator"
    assert all(line["operator_id"] == "ppk-510305-1" for line in lines)
    summary = json.loads((run_dir / "load_summary.json").read_text())
    assert summary["plenary"]["gaveled"] == len(population)
    assert summary["quality"]["undetected"] == 0
