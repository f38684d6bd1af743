"""``plan --verify`` on its own scenario: a real sweep of one instance, the plan, and replays
against the deployment (real mock instances behind real HAProxy) at the recommended count and
one fewer, predicted against measured in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO

pytestmark = pytest.mark.slow

SCENARIO = REPO / "scenarios" / "plan_check_2024.toml"
# A short sweep: one repeat of 8-second stages from just under the model's knee.
SWEEP = ["--repeat", "1", "--stage", "8", "--warmup", "2", "--start-rps", "20", "--refine", "2"]


def _plan(tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "plan", str(SCENARIO), *SWEEP, "--verify",
         "--out", str(tmp_path / "runs"), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    folders = list((tmp_path / "runs").glob("*-plan-*"))
    return done.returncode, done.stdout + done.stderr, folders[0] if folders else tmp_path


def test_the_plan_is_replayed_at_its_count_and_one_fewer_predicted_against_measured(
    tmp_path: Path,
) -> None:
    needs_program("haproxy")
    code, out, plan_dir = _plan(tmp_path)
    assert code in {0, 1}, out
    summary: dict[str, Any] = json.loads((plan_dir / "report" / "summary.json").read_text())
    check = summary["check"]
    recommended = summary["recommended"]
    assert recommended is not None and recommended >= 2, out  # the scenario is made for N >= 2
    # load factor 1: the replay's instances are election night's
    assert check["load_factor"] == pytest.approx(1.0)
    assert check["replay_recommended"] == recommended
    replays = check["replays"]
    assert [r["instances"] for r in replays] == [recommended, recommended - 1]
    for replay in replays:
        assert replay["trusted"], replay["why_untrusted"]
        record = json.loads((Path(replay["run_dir"]) / "run.json").read_text())
        assert len(record["target"]["instances"]) == replay["instances"]
        assert record["options"]["read_back"] == 0  # the sweep's request mix
        zones = {d["zone"] for d in replay["deadlines"]}
        assert zones == {"WIB", "WITA", "WIT"}
        for deadline in replay["deadlines"]:
            assert 0 <= deadline["predicted"] <= 1 and 0 <= deadline["measured"] <= 1
        # what "measured" means: the same shares recomputed from the replay's own ledger
        ledger = [json.loads(line) for line in (Path(replay["run_dir"]) / "ledger.jsonl").open()]
        wib = next(d for d in replay["deadlines"] if d["zone"] == "WIB")
        ready = {x["tps_code"] for x in ledger if x["ready_s"] <= wib["seconds"]}
        taken = {
            x["tps_code"] for x in ledger
            if x["final_outcome"] == "acked" and x["acked_s"] <= wib["seconds"]
        }  # fmt: skip
        assert wib["measured"] == pytest.approx(len(taken & ready) / len(ready))
    at_n, below = replays
    # one instance fewer is predicted to miss a deadline the plan's count meets, and measured
    # to take in less
    pairs = list(zip(at_n["deadlines"], below["deadlines"], strict=True))
    assert all(fewer["predicted"] <= ours["predicted"] for ours, fewer in pairs)
    assert any(fewer["predicted"] < 0.99 <= ours["predicted"] for ours, fewer in pairs)
    assert sum(f["measured"] for _, f in pairs) < sum(o["measured"] for o, _ in pairs)
    # every deadline is said to agree or not, and a disagreement says why
    for replay in replays:
        off = [d for d in replay["deadlines"] if abs(d["measured"] - d["predicted"]) > 0.05]
        assert bool(off) == bool(replay["reasons"]), replay
    slo = next(s for s in summary["slos"] if s["expression"].startswith("plan.replayed_share"))
    assert slo["value"] == pytest.approx(min(d["measured"] for d in at_n["deadlines"]))
    html = (plan_dir / "report" / "report.html").read_text()
    assert "Checked against the deployment" in html
    assert f"the replay at {recommended - 1} instances</a>" in html
    assert (plan_dir / "report" / "charts" / "plan_check.png").stat().st_size > 10_000
    md = (plan_dir / "report" / "summary.md").read_text()
    assert "| instances | deadline | predicted | measured | difference | agrees |" in md
    assert not processes_mentioning(str(plan_dir))


def test_verify_is_refused_against_a_target(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "plan", str(SCENARIO), "--verify",
         "--target", "http://127.0.0.1:9", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--verify replays the scenario against the embedded deployment" in done.stderr
    assert not list(tmp_path.iterdir())  # refused before anything was made
