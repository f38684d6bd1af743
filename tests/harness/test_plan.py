"""``sirekap-loadtest plan``: the knee against a known truth (the real mock and real Locust on
free ports), usage errors, and planning from a saved sweep."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.stage import stage_text
from reports.plan import modelled_rps
from scenarios import load_scenario, loads_scenario, requests_per_tps
from tests.conftest import processes_mentioning
from tests.generator_measurement import write_measurement
from tests.mock_sirekap.conftest import launch_mock

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "reports" / "fixtures" / "plan-sweep"

# The mock's capacity model: W = 2 workers, S = 50 ms per request (p95 51 ms: nearly constant;
# tiny photos, no per-MiB time), so it serves W / S = 40 requests/s at most.
KNEE_SCENARIO = """
name = "knee_check"
[clock]
start = "2024-02-14 13:00"
zone = "WIB"
duration = "1h"
speedup = 60
[population]
scale = "regions"
seed = 7
[[population.regions]]
code = "3171011001"
tps = 10
[population.photo_size]
median = "10KB"
p95 = "11KB"
[client]
elections = ["ppwp"]
[target.mock]
workers = 2
queue = 8
queue_timeout = "1s"
retry_after = "1s"
[target.mock.service_time]
session = { median = "50ms", p95 = "51ms" }
page = { median = "50ms", p95 = "51ms", per_mib = "0s" }
result = { median = "50ms", p95 = "51ms" }
[slo]
checks = [
    "upload.error_ratio < 1%",
    "upload.p95 < 500ms",
    "plan.knee_rps >= 30",
    "plan.instances_for('99%', 'D0 24:00') <= 1000000",
]
"""


def _plan(tmp_path: Path, scenario: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "plan", str(scenario),
         "--out", str(tmp_path / "runs"), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _plan_dir(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "runs").iterdir()
    return found


@pytest.mark.slow
def test_the_knee_comes_out_within_ten_percent_of_workers_over_service_time(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "knee.toml"
    scenario.write_text(KNEE_SCENARIO)
    done = _plan(
        tmp_path, scenario, "--repeat", "1", "--stage", "8", "--warmup", "2",
        "--start-rps", "30", "--max-rps", "120", "--refine", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    folder = _plan_dir(tmp_path)
    sweep = json.loads((folder / "sweep.json").read_text())
    assert sweep["status"] == "completed"
    knee = json.loads((folder / "report" / "summary.json").read_text())["knee"]
    assert knee["median_rps"] == pytest.approx(40, rel=0.10), sweep["stages"]
    stages = sweep["stages"]
    # stopped climbing at the first failure: nothing offered beyond it
    first_fail = next(s["offered_rps"] for s in stages if not s["passed"])
    assert max(s["offered_rps"] for s in stages) == first_fail
    # below the knee the stage was offered what it claims: attempts within 10% of the offer
    for stage in stages:
        if stage["passed"]:
            assert stage["attempted_rps"] == pytest.approx(stage["offered_rps"], rel=0.10)
    assert "knee: " in done.stdout and "req/s per instance" in done.stdout
    assert (folder / "report" / "report.html").exists()


@pytest.mark.slow
def test_sigterm_mid_sweep_stops_every_process_and_keeps_what_was_measured(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "knee.toml"
    scenario.write_text(KNEE_SCENARIO)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "plan", str(scenario), "--out",
         str(tmp_path / "runs"), "--repeat", "1", "--stage", "5", "--warmup", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "runs").glob("*/stages/r0-s01")):
        time.sleep(0.2)  # the second stage has started: the first one is measured
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 4, out + err  # interrupted: inconclusive
    folder = _plan_dir(tmp_path)
    sweep = json.loads((folder / "sweep.json").read_text())
    assert sweep["status"] == "interrupted"
    assert len(sweep["stages"]) >= 1
    assert "sweep interrupted" in out
    assert (folder / "report" / "summary.json").exists()
    assert not processes_mentioning(str(folder))


@pytest.mark.slow
def test_a_target_loaded_with_the_sweeps_registry_takes_its_devices_and_others_refuse(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "knee.toml"
    scenario.write_text(KNEE_SCENARIO)
    options = ["--repeat", "1", "--stage", "4", "--warmup", "1", "--start-rps", "10",
               "--max-rps", "12", "--max-stages", "2", "--refine", "0"]  # fmt: skip
    pool = tmp_path / "pool.csv"
    done = _plan(tmp_path, scenario, *options, "--registry-out", str(pool))
    assert done.returncode == 0, done.stderr
    assert "wrote 1,000 TPS" in done.stdout  # two stages of <= 10 TPS: two desa of 500
    loaded = launch_mock(tmp_path, "loaded", "--registry", str(pool))
    stranger = launch_mock(tmp_path, "stranger", "--tps", "5")
    try:
        done = _plan(tmp_path / "a", scenario, *options, "--target", loaded.url)
        sweep = json.loads((_plan_dir(tmp_path / "a") / "sweep.json").read_text())
        assert sweep["status"] == "completed", done.stdout + done.stderr
        assert sweep["stages"] and all(s["goodput_rps"] > 0 for s in sweep["stages"])
        done = _plan(tmp_path / "b", scenario, *options, "--target", stranger.url)
        assert done.returncode == 3
        assert "the target refused every device of the stage (4xx:401)" in done.stdout
        assert "sirekap-loadtest plan SCENARIO --registry-out pool.csv" in done.stdout
    finally:
        loaded.stop()
        stranger.stop()


def test_the_modelled_rate_is_workers_over_the_mean_service_time() -> None:
    scenario = loads_scenario(KNEE_SCENARIO, "knee.toml")
    assert modelled_rps(scenario) == pytest.approx(40, rel=0.01)
    assert requests_per_tps(scenario) == 5  # a login, 3 pages, a result


def test_a_stage_offers_its_tps_evenly_with_no_retries_and_fresh_tps() -> None:
    scenario = loads_scenario(KNEE_SCENARIO, "knee.toml")
    text = stage_text(scenario, tps=1200, stage_s=20, first_desa=1001, seed=9)
    stage = loads_scenario(text, "stage.toml")
    assert stage.client.retry.attempts == 1
    assert stage.clock.real_duration == 20
    assert [r.code for r in stage.population.regions] == [
        "3171011001", "3171011002", "3171011003",
    ]  # fmt: skip
    assert sum(r.tps for r in stage.population.regions) == 1200
    assert stage.target.model_dump() == scenario.target.model_dump()
    assert stage.population.photo_size == scenario.population.photo_size
    later = loads_scenario(stage_text(scenario, tps=10, stage_s=20, first_desa=1004, seed=9), "s")
    assert later.population.regions[0].code == "3171011004"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--factor", "1"], "--factor must be > 1, like 1.5; got 1"),
        (["--stage", "5", "--warmup", "5"], "--warmup must be at least 1 s and shorter than"),
        (["--stage", "900"], "--stage must be at most 600 seconds; got 900"),
        (["--target", "http://10.1.2.3:8000"], "10.1.2.3"),
        (["--sweep", "/nonexistent/sweep.json"], "--sweep /nonexistent/sweep.json: cannot read"),
    ],
)
def test_usage_errors_exit_2_with_one_line_naming_the_option(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    scenario = tmp_path / "knee.toml"
    scenario.write_text(KNEE_SCENARIO)
    done = _plan(tmp_path, scenario, *extra)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_plan_slo_with_a_bad_deadline_is_a_scenario_error(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(KNEE_SCENARIO.replace("'D0 24:00'", "'midnight'"))
    done = _plan(tmp_path, scenario)
    assert done.returncode == 2
    assert "deadline 'midnight' is not a time of day" in done.stderr


def test_a_plan_from_a_saved_sweep_reproduces_its_recommendation(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "scenario.toml", tmp_path / "scenario.toml")
    expected = json.loads((FIXTURE / "summary.json").read_text())
    generator = write_measurement(
        tmp_path / "generator.json", requests_per_form=5.0, forms_per_s=0.5, requests_per_s=2.5,
        bytes_per_s=1.8e6,
    )  # fmt: skip
    done = _plan(
        tmp_path, tmp_path / "scenario.toml", "--sweep", str(FIXTURE / "sweep.json"),
        "--generator", str(generator),
    )  # fmt: skip
    assert done.returncode == expected["verdict"]["exit_code"], done.stdout + done.stderr
    # election night's generator processes, by the measurement given
    (night,) = [line for line in done.stdout.splitlines() if line.startswith("generator: ")]
    assert night.startswith("generator: election night needs ") and " at its peak of " in night
    assert f"  by {generator}: one generator process keeps 0.5 forms/s on time" in done.stdout
    sweep = json.loads((_plan_dir(tmp_path) / "sweep.json").read_text())
    assert sweep["generator"]["needed"] == int(night.split()[4]) > 1
    assert "shortfall" not in sweep["generator"] and "processes" not in sweep["generator"]
    summary = json.loads((_plan_dir(tmp_path) / "report" / "summary.json").read_text())
    assert summary["recommended"] == expected["recommended"]
    assert summary["knee"] == expected["knee"]
    assert summary["answers"] == expected["answers"]
    assert load_scenario(tmp_path / "scenario.toml").name == summary["scenario"]
