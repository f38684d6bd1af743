"""``sirekap-loadtest calibrate``: one generator process measured in stages on the real mock and
real Locust, its file read back by ``validate``; usage errors are one line and exit 2."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.calibrate import Calibration, Measured
from rundir.generator_capacity import read_capacity
from scenarios import arrival_schedule, build_population, load_scenario
from scenarios.workload.generator_need import generator_demand, generator_need
from tests.conftest import processes_mentioning

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "scenarios" / "smoke.toml"


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_two_stages_measure_one_process_and_validate_sizes_a_scenario_from_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "generator.json"
    done = _cli(
        "calibrate", str(SMOKE), "--runs", str(tmp_path / "runs"), "--out", str(out),
        "--stage", "6", "--warmup", "1", "--start-forms", "1", "--factor", "2",
        "--max-stages", "2", "--refine", "0", "--photo-size", "20kB",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("[stage ")] == [
        "[stage 1] offering 1.00 forms/s (6 TPS of 1 form(s), 5.0 requests/s) for 6 s",
        "[stage 2] offering 2.00 forms/s (12 TPS of 1 form(s), 10.0 requests/s) for 6 s",
    ]
    verdicts = [line for line in lines if line.startswith("    ") and " forms on time " in line]
    assert len(verdicts) == 2 and all(
        line.split(" -> ")[1].startswith("kept up") for line in verdicts
    )
    capacity = read_capacity(out)
    assert capacity.limited_by == "stages" and capacity.lower_bound  # the ramp ran out first
    assert capacity.photo_bytes == 20_000 and capacity.requests_per_form == 5.0
    stages = capacity.stages
    assert [stage["offered_forms_per_s"] for stage in stages] == [1.0, 2.0]
    best = max(stages, key=lambda stage: stage["forms_per_s"])
    assert capacity.forms_per_s == round(best["forms_per_s"], 3) > 0
    assert best["forms_on_time"] == best["forms_due"] > 0
    # photo bytes acknowledged in the window: about 3 pages of 20 kB a form (a form at the window's
    # edge may have some of its pages outside it)
    assert capacity.bytes_per_s == pytest.approx(best["forms_per_s"] * 3 * 20_000, rel=0.4)
    assert capacity.cpu_s_per_request is not None and 0 < capacity.cpu_s_per_request < 1
    assert f"wrote {out}" == lines[-1]
    assert lines[-2].startswith("smoke needs at most ")
    assert "the ramp ran out of stages before the process fell behind (calibrate again" in (
        done.stdout
    )
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-calibrate-smoke")
    kept = json.loads((folder / "calibration.json").read_text())
    assert [s["folder"] for s in kept["stages"]] == [s["folder"] for s in stages]
    assert not processes_mentioning(str(folder))

    valid = _cli("validate", str(SMOKE), "--generator", str(out))
    assert valid.returncode == 0, valid.stderr
    (sized,) = [line for line in valid.stdout.splitlines() if line.startswith("generator ")]
    scenario = load_scenario(SMOKE)
    population = build_population(scenario)
    demand = generator_demand(scenario, population, arrival_schedule(scenario, population))
    expected = generator_need(demand, capacity).processes
    assert expected >= 1  # the smoke night's peak against the process just measured
    assert sized.split(None, 1)[1].startswith(f"needs at most {expected} generator process(es) at")
    assert f"by {out}: one generator process keeps at least" in valid.stdout


def test_validate_without_a_measurement_says_how_to_make_one(tmp_path: Path) -> None:
    done = _cli("validate", str(SMOKE), cwd=tmp_path)  # no runs/generator.json here
    assert done.returncode == 0, done.stderr
    assert (
        f"generator   not measured: `sirekap-loadtest calibrate {SMOKE}` measures what one "
        "generator process sustains on this host (then read from runs/generator.json)"
    ) in done.stdout


def test_validate_reads_the_default_measurement_and_refuses_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "generator.json").write_text('{"format": "other"}')
    done = _cli("validate", str(SMOKE), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "sirekap-loadtest validate: runs/generator.json: format 'other' is not a generator "
        "measurement ('sirekap-generator-capacity/1'); `sirekap-loadtest calibrate` writes one"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stage", "0"], "--stage 0 --warmup 5: a stage lasts up to 600 s and is judged"),
        (["--stage", "8", "--warmup", "4"], "judged over at least 5 s after its warm-up"),
        (["--factor", "1"], "--factor must be > 1; got 1"),
        (["--start-forms", "0"], "--start-forms must be > 0; got 0"),
        (["--refine", "-1"], "--refine must be >= 0; got -1"),
        (["--photo-size", "huge"], "--photo-size 'huge': "),
        (["--photo-size", "0B"], "--photo-size '0B': a photo has at least 1 byte"),
        (["--out", "/"], "--out / is a folder; it names the measurement file to write"),
        (["--start-forms", "1e12"], "the last stage would send"),
        (["--start-forms", "nan"], "--start-forms must be > 0; got nan"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    done = _cli("calibrate", str(SMOKE), "--runs", str(tmp_path / "runs"), *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("sirekap-loadtest calibrate: ") and message in done.stderr
    assert not (tmp_path / "runs").exists()  # nothing started, nothing written
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_scenario_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    done = _cli("calibrate", str(tmp_path / "absent.toml"))
    assert done.returncode == 2
    assert "absent.toml" in done.stderr and done.stderr.startswith("sirekap-loadtest calibrate: ")


def _stage(
    offered: float, due: int, on_time: int, cpu: float, failed: tuple[str, ...] = ()
) -> Measured:
    return Measured(
        offered_forms_per_s=offered, forms_due=due, forms_on_time=on_time,
        forms_per_s=on_time / 5, requests_per_s=on_time, bytes_per_s=on_time * 1e6,
        slip_p99_s=0.01, cpu_share=cpu, cpu_s_per_request=0.004, target_failed=failed, folder="",
    )  # fmt: skip


def test_each_verdict_and_what_the_measurement_takes_from_the_stages(tmp_path: Path) -> None:
    assert _stage(1, 5, 5, 0.2).verdict == "kept up"
    assert _stage(1, 5, 4, 0.2).verdict == "the process fell behind (forms started late)"
    assert _stage(1, 5, 5, 0.95).verdict == "the process used more than 90% of a core"
    assert _stage(1, 5, 5, 0.2, ("goodput >= 95% of offered",)).verdict == (
        "the target fell behind (goodput >= 95% of offered)"
    )
    assert _stage(1, 0, 0, 0.0).verdict.startswith("no form was due in the steady window")
    args = argparse.Namespace(runs=tmp_path)
    calibration = Calibration(args, load_scenario(SMOKE))
    calibration.stages = [_stage(1, 0, 0, 0.0), _stage(2, 10, 10, 0.3), _stage(4, 20, 19, 0.9)]
    capacity = calibration.result()
    assert capacity is not None and capacity.limited_by == "generator"
    assert capacity.forms_per_s == 2.0  # the stage kept up with, not the one after it
    calibration.stages = [_stage(2, 10, 10, 0.3), _stage(4, 20, 20, 0.5, ("x",))]
    capacity = calibration.result()
    assert capacity is not None and capacity.limited_by == "target" and capacity.lower_bound
    calibration.stages = [_stage(1, 0, 0, 0.0)]
    assert calibration.result() is None
    assert "no stage had a form due in its steady window" in calibration.nothing_line()
    calibration.stages = [_stage(2, 10, 10, 0.3)]
    calibration.interrupted = True
    assert calibration.result() is None  # interrupted: nothing written
    assert "interrupted after 1 stage(s): nothing written" in calibration.nothing_line()
