"""``compare`` and ``run --baseline`` on real runs of the smoke scenario (real mock, Toxiproxy,
Locust): the same seed twice is unchanged, a latency fault added is a regression of latency
figures only, other seeds or load factors are not comparable, and each says so in every output."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rundir import exits
from tests.harness.conftest import SMOKE
from tests.harness.conftest import cli as _cli

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
LATENCY_METRICS = {"p50", "p90", "p95", "p99", "p999", "max", "mean"}
# slower uploads keep TPS waiting longer: the backlog may grow with latency, by chance
LATENCY_CONSEQUENCES = {"backlog_peak", "drain_time"}


def _summary(run: Path) -> dict:
    return json.loads((run / "report" / "summary.json").read_text())


def test_the_same_scenario_and_seed_twice_is_no_regression(smoke_runs: dict[str, Path]) -> None:
    done = _cli(
        "compare",
        str(smoke_runs["base"]),
        str(smoke_runs["same"]),
        "--out",
        str(smoke_runs["root"] / "c1"),
    )
    assert done.returncode == exits.OK, done.stdout + done.stderr
    assert "NO REGRESSION (exit code 0)" in done.stdout
    document = json.loads((smoke_runs["root"] / "c1" / "compare.json").read_text())
    judged = [f for f in document["figures"] if f["verdict"] != "not measured"]
    assert len(judged) >= 20 and not [f for f in judged if f["verdict"] == "regressed"]
    # --baseline said the same inside the run: exit 0, its summaries carry the comparison
    summary = _summary(smoke_runs["same"])
    assert summary["exit_code"] == exits.OK and summary["baseline"]["verdict"] == "no regression"
    markdown = (smoke_runs["same"] / "report" / "summary.md").read_text()
    assert "## PASS: Comparison with the baseline" in markdown
    assert "| figure | base | new |" in markdown


def test_a_latency_fault_added_regresses_latency_figures_only(smoke_runs: dict[str, Path]) -> None:
    summary = _summary(smoke_runs["slow"])
    baseline = summary["baseline"]
    assert baseline["verdict"] == "regressed", baseline["reason"]
    assert summary["exit_code"] == exits.BREACHED  # its SLOs alone would pass
    regressed = [f["key"] for f in baseline["figures"] if f["verdict"] == "regressed"]
    assert any(key in regressed for key in ("upload.p50", "page.p50", "all.p50")), regressed
    allowed = LATENCY_METRICS | LATENCY_CONSEQUENCES
    others = [k for k in regressed if k.split(".", 1)[1].split("(")[0] not in allowed]
    assert not others, f"not latency figures, yet regressed: {others}"
    assert any("only the new run has 'slow link'" in d for d in baseline["differences"])
    # every output says it: the summary's first line, the JUnit failures, the page
    report = smoke_runs["slow"] / "report"
    first = (report / "summary.md").read_text().splitlines()[0]
    assert first.startswith("## FAIL: ")
    assert "(exit code 1: regressed against the baseline; 0 on the SLOs alone)" in first
    suite = ET.parse(report / "compare.xml").getroot().find("testsuite")
    assert suite is not None
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == set(regressed)
    assert int(suite.get("tests", "0")) == len(baseline["figures"])
    html = (report / "compare.html").read_text()
    assert "REGRESSED (exit code 1)" in html and html.count("data:image/png;base64,") == 3
    # and `compare` of the two saved runs agrees, with exit code 1
    done = _cli(
        "compare",
        str(smoke_runs["base"]),
        str(smoke_runs["slow"]),
        "--out",
        str(smoke_runs["root"] / "c2"),
    )
    assert done.returncode == exits.BREACHED, done.stdout + done.stderr
    assert "REGRESSED (exit code 1)" in done.stdout


def test_a_tolerance_wide_enough_turns_the_regression_into_unchanged(
    smoke_runs: dict[str, Path],
) -> None:
    wide = [arg for m in LATENCY_METRICS for arg in ("--tolerance", f"*.{m}=+1s")]
    wide += [
        "--tolerance",
        "recovery.backlog_peak*=+100",
        "--tolerance",
        "recovery.drain_time*=+1d",
    ]
    done = _cli("compare", str(smoke_runs["base"]), str(smoke_runs["slow"]), *wide, "--out",
                str(smoke_runs["root"] / "c3"))  # fmt: skip
    assert done.returncode == exits.OK, done.stdout + done.stderr
    assert "(--tolerance *.p50)" in done.stdout


def _copy_with(run: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of a saved run whose scenario as run says ``new`` where it said ``old``."""
    copy = folder / run.name
    shutil.copytree(run, copy)
    text = (copy / "scenario.toml").read_text()
    assert old in text
    (copy / "scenario.toml").write_text(text.replace(old, new, 1))
    return copy


def test_runs_of_another_seed_or_load_factor_are_not_comparable_with_the_reason(
    smoke_runs: dict[str, Path], tmp_path: Path
) -> None:
    seeded = _copy_with(smoke_runs["same"], tmp_path / "seed", "seed = 1", "seed = 2")
    done = _cli("compare", str(smoke_runs["base"]), str(seeded), "--out", str(tmp_path / "c"))
    assert done.returncode == exits.INCONCLUSIVE, done.stdout + done.stderr
    assert "NOT COMPARABLE (exit code 4): seed differs (the base 1, the new run 2)" in done.stdout
    faster = _copy_with(smoke_runs["same"], tmp_path / "speed", "speedup = 720", "speedup = 360")
    done = _cli("compare", str(smoke_runs["base"]), str(faster), "--out", str(tmp_path / "c"))
    assert done.returncode == exits.INCONCLUSIVE
    assert "load factor differs" in done.stdout and "speedup differs" in done.stdout


def test_bad_arguments_are_usage_errors_naming_what_is_valid(
    smoke_runs: dict[str, Path], tmp_path: Path
) -> None:
    done = _cli("compare", str(smoke_runs["base"]), str(tmp_path / "nothing"))
    assert done.returncode == exits.USAGE
    assert f"NEW {tmp_path / 'nothing'}: does not exist; give a run directory" in done.stderr
    done = _cli(
        "compare", str(smoke_runs["base"]), str(smoke_runs["same"]), "--tolerance", "page.p95=-5%"
    )
    assert done.returncode == exits.USAGE
    assert "page.p95 is worse higher, so write '+5%'" in done.stderr
    done = _cli(
        "compare", str(smoke_runs["base"]), str(smoke_runs["same"]), "--tolerance", "page.p95"
    )
    assert done.returncode == exits.USAGE and "write FIGURE=TOLERANCE" in done.stderr
    done = _cli("run", str(SMOKE), "--baseline", str(tmp_path), "--out", str(tmp_path / "r"))
    assert done.returncode == exits.USAGE
    assert f"--baseline {tmp_path}: holds no run.json" in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
