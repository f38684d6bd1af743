"""The knee of a sweep: stage figures from the timeline, pass/fail, the knee of each sweep, the
median and spread over repeats, and the sweep's search (ramp, stop past the knee, bisection)."""

from __future__ import annotations

import pytest

from harness.sweep import SweepSettings, next_start, run_sweep
from reports.knee import MAX_SLIP_S, Stage, StageCheck, knee_of, measure_stage, stage_slos
from rundir.histogram import Histogram
from scenarios.schema.slo import parse_slo


def _line(second: int, endpoint: str, ok: int, failed: dict[str, int], ms: float) -> dict:
    latency = Histogram()
    for _ in range(ok):
        latency.record(ms)
    return {
        "kind": "requests",
        "second": second,
        "endpoint": endpoint,
        "count": ok + sum(failed.values()),
        "ok": ok,
        "failures": failed,
        "latency_ok": latency.to_json(),
    }


def _stage(rate: float, passed: bool, repeat: int = 0, slip: float = 0.01) -> Stage:
    check = StageCheck("upload.error_ratio < 1%", 0.0 if passed else 0.05, passed)
    return Stage(
        repeat=repeat, index=0, offered_rps=rate, attempted_rps=rate, goodput_rps=rate,
        p50_s=0.05, p95_s=0.08, p99_s=0.1, error_ratio=0.0, shed_ratio=0.0, failures={},
        slip_p99_s=slip, window_s=10, checks=(check,),
    )  # fmt: skip


def test_a_stage_is_measured_over_its_steady_window_only() -> None:
    timeline = [
        _line(0, "page", 1, {"5xx:503": 9}, 900.0),  # warm-up: not measured
        *(_line(s, "page", 30, {}, 50.0) for s in range(2, 6)),
        _line(4, "result", 9, {"5xx:503": 1}, 70.0),
        _line(6, "page", 0, {"timeout": 50}, 0.0),  # after the stage: not measured
    ]
    slos = stage_slos([parse_slo("upload.error_ratio < 1%"), parse_slo("page.p95 < 100ms")])
    stage = measure_stage(
        timeline, slos, repeat=0, index=2, offered_rps=32.0, window=(2, 6), slip_p99_s=0.1
    )
    assert stage.attempted_rps == pytest.approx(130 / 4)
    assert stage.goodput_rps == pytest.approx(129 / 4)
    assert stage.shed_ratio == pytest.approx(1 / 130)
    assert stage.failures == {"5xx:503": 1}
    assert stage.p50_s == pytest.approx(0.050, rel=0.02)
    assert stage.p95_s == pytest.approx(0.070, rel=0.02)  # 9 of 129 successes took 70 ms
    assert [c.passed for c in stage.checks] == [True, True, True]
    assert stage.checks[0].expression == "goodput >= 95% of offered"
    assert stage.passed and not stage.generator_limited


def test_a_stage_whose_goodput_falls_behind_the_offer_fails_before_any_error() -> None:
    # past the knee the queue grows: 40 served per second of 44 offered, nothing failed yet
    timeline = [_line(s, "page", 40, {}, 200.0) for s in range(2, 6)]
    stage = measure_stage(
        timeline, stage_slos([]), repeat=0, index=0, offered_rps=44, window=(2, 6),
        slip_p99_s=0.0,
    )  # fmt: skip
    assert stage.error_ratio == 0
    assert stage.checks[0].value == pytest.approx(40 / 44)
    assert stage.failed


def test_one_failed_request_in_fifty_breaks_a_one_percent_error_slo() -> None:
    timeline = [_line(1, "page", 49, {"5xx:503": 1}, 50.0)]
    stage = measure_stage(
        timeline, stage_slos([]), repeat=0, index=0, offered_rps=50, window=(1, 2),
        slip_p99_s=None,
    )  # fmt: skip
    assert stage.checks[1].expression == "upload.error_ratio < 1%"  # the default stage SLO
    assert stage.checks[1].value == pytest.approx(0.02)
    assert stage.failed


def test_only_stage_length_independent_endpoint_slos_judge_a_stage() -> None:
    slos = [
        parse_slo("integrity.lost == 0"),
        parse_slo("page.requests > 10"),
        parse_slo("result.p99 < 1s"),
        parse_slo("plan.knee_rps > 5"),
    ]
    assert [s.expression for s in stage_slos(slos)] == [
        "upload.error_ratio < 1%",
        "result.p99 < 1s",
    ]
    own = [parse_slo("page.success_ratio >= 99.9%")]
    assert [s.expression for s in stage_slos(own)] == ["page.success_ratio >= 99.9%"]


def test_a_generator_limited_stage_neither_passes_nor_fails() -> None:
    stage = _stage(100, passed=True, slip=MAX_SLIP_S * 2)
    assert stage.generator_limited and not stage.passed and not stage.failed


def test_a_stage_round_trips_through_json() -> None:
    stage = _stage(12.5, passed=False)
    assert Stage.from_json(stage.to_json()) == stage


def test_the_knee_is_the_highest_pass_below_the_lowest_fail_median_over_repeats() -> None:
    stages = [
        _stage(10, True, 0), _stage(15, True, 0), _stage(22, False, 0), _stage(18, True, 0),
        _stage(10, True, 1), _stage(15, True, 1), _stage(22, False, 1), _stage(18, False, 1),
        _stage(10, True, 2), _stage(20, True, 2), _stage(30, False, 2),
        # a noisy pass above a failure does not count
        _stage(40, True, 2),
    ]  # fmt: skip
    knee = knee_of(stages)
    assert [s.rps for s in knee.sweeps] == [18, 15, 20]
    assert knee.median_rps == 18
    assert (knee.low_rps, knee.high_rps) == (15, 20)
    assert knee.spread == pytest.approx(5 / 18)
    assert not knee.lower_bound


def test_a_sweep_that_never_failed_gives_a_lower_bound_and_says_so() -> None:
    knee = knee_of([_stage(10, True), _stage(15, True)])
    assert knee.median_rps == 15 and knee.lower_bound
    assert any("never failed" in note for note in knee.notes)
    assert any("one sweep only" in note for note in knee.notes)


def _service(knee: float):  # type: ignore[no-untyped-def]
    """A fake target: stages pass below ``knee`` req/s; records the rates offered."""
    offered: list[float] = []

    def run(repeat: int, index: int, rate: float) -> Stage:
        offered.append(rate)
        stage = _stage(rate, rate < knee, repeat)
        return Stage(**{**stage.__dict__, "index": index})

    return run, offered


def test_the_sweep_stops_climbing_at_the_first_failure_then_bisects() -> None:
    settings = SweepSettings(start_rps=10, max_rps=1000, factor=1.5, refine=3)
    run, offered = _service(40.0)
    stages = run_sweep(settings, 0, run, settings.start_rps)
    # ramp 10, 15, 22.5, 33.75, 50.6 (fail: clearly past the knee, stop climbing)
    assert offered[:5] == pytest.approx([10, 15, 22.5, 33.75, 50.625])
    assert max(offered) == pytest.approx(50.625)
    assert len(stages) == 5 + 3  # three bisection steps
    found = knee_of(stages).median_rps
    assert found is not None
    assert 40 / 1.5 ** (1 / 8) <= found < 40  # within the refinement's resolution


def test_a_sweep_that_fails_at_once_steps_down() -> None:
    settings = SweepSettings(start_rps=100, max_rps=1000, factor=2, refine=1)
    run, offered = _service(30.0)
    stages = run_sweep(settings, 0, run, settings.start_rps)
    assert offered[:3] == [100, 50, 25]
    assert knee_of(stages).median_rps == pytest.approx(25)  # sqrt(25 * 50) = 35.4 failed


def test_a_sweep_is_bounded_by_max_stages_and_max_rps() -> None:
    settings = SweepSettings(start_rps=10, max_rps=40, factor=2, refine=3, max_stages=4)
    run, offered = _service(1e9)
    stages = run_sweep(settings, 0, run, settings.start_rps)
    assert offered == [10, 20, 40]  # never above max_rps, never failed: no bisection
    assert knee_of(stages).lower_bound
    settings = SweepSettings(start_rps=1, max_rps=1e6, factor=2, refine=3, max_stages=4)
    run, offered = _service(1e9)
    assert len(run_sweep(settings, 0, run, 1)) == 4


def test_later_repeats_start_below_the_knee_found() -> None:
    settings = SweepSettings(start_rps=10, max_rps=1000, factor=1.5, refine=3)
    run, _ = _service(40.0)
    stages = run_sweep(settings, 0, run, settings.start_rps)
    start = next_start(settings, stages)
    assert 40 / 1.5**2 <= start < 40 / 1.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"factor": 1.0}, "--factor must be > 1"),
        ({"max_rps": 1.0}, "--max-rps must be >= --start-rps (5)"),
        ({"warmup_s": 30}, "--warmup must be at least 1 s and shorter than --stage (30 s)"),
        ({"repeat": 0}, "--repeat must be 1 to 20"),
        ({"refine": 9}, "--refine must be 0 to 6"),
    ],
)
def test_bad_sweep_settings_name_the_option_and_what_is_valid(
    changes: dict[str, float], message: str
) -> None:
    settings = SweepSettings(**{"start_rps": 5.0, "max_rps": 50.0, **changes})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        settings.check()
