"""How ``compare`` judges a figure: tolerances as written, defaults, sampling noise, repeated
runs' spread, "never", and the scenario's ``[compare]`` table (fabricated figures; the real runs
are in tests/harness/test_compare_runs.py)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from reports.compare import (
    DIFFERS,
    ERROR_RATIO,
    EXACT,
    IMPROVED,
    LATENCY,
    NOT_MEASURED,
    REGRESSED,
    SIM_DURATION,
    UNCHANGED,
    Side,
    default_tolerance,
    judge,
    sampling_noise,
)
from reports.figures import Figure, MeasuredRun
from scenarios import ScenarioError
from scenarios.schema.compare import check_tolerance, parse_tolerance, tolerance_for
from tests.scenarios.helpers import scenario

P95 = Figure("page.p95", "duration", "lower", 0.100, 500)
COMPLETION = Figure("completion.final", "ratio", "higher", 0.99)
RATE = Figure("page.rate", "number", "either", 10.0, 500)


def test_a_move_within_the_tolerance_is_unchanged_and_beyond_it_regressed_or_improved() -> None:
    assert judge(P95, 0.100, 0.115, allowed=0.02) == UNCHANGED
    assert judge(P95, 0.100, 0.125, allowed=0.02) == REGRESSED
    assert judge(P95, 0.100, 0.075, allowed=0.02) == IMPROVED
    assert judge(COMPLETION, 0.99, 0.97, allowed=0.01) == REGRESSED  # higher is better
    assert judge(COMPLETION, 0.97, 0.99, allowed=0.01) == IMPROVED
    assert judge(RATE, 10.0, 20.0, allowed=1.0) == DIFFERS  # neither way is better
    assert judge(P95, None, 0.1, allowed=1.0) == NOT_MEASURED


def test_never_recovering_is_a_regression_whatever_the_tolerance() -> None:
    recover = Figure("recovery.time_to_recover('outage')", "duration", "lower", math.inf)
    assert judge(recover, 60.0, math.inf, allowed=1e9) == REGRESSED
    assert judge(recover, math.inf, 60.0, allowed=0.0) == IMPROVED
    assert judge(recover, math.inf, math.inf, allowed=0.0) == UNCHANGED


def test_the_defaults_match_each_kind_of_figure() -> None:
    assert default_tolerance(P95) is LATENCY
    assert default_tolerance(Figure("upload.error_ratio", "ratio", "lower", 0.1)) is ERROR_RATIO
    assert default_tolerance(Figure("integrity.lost", "number", "lower", 0)) is EXACT
    drain = Figure("recovery.drain_time('outage')", "duration", "lower", 600.0)
    assert default_tolerance(drain) is SIM_DURATION
    # a simulated duration's floor is real seconds: 3 real s at speedup 720 is 36 simulated min
    assert SIM_DURATION.allowed(600.0, speedup=720) == pytest.approx(2160.0)
    assert LATENCY.allowed(0.010) == pytest.approx(0.020) and LATENCY.allowed(1.0) == 0.25


def test_sampling_noise_forgives_a_few_failures_of_a_few_requests_not_a_tenth_of_many() -> None:
    small = sampling_noise("error_ratio", 0.0, 5 / 30, 30, 30)
    assert small > 5 / 30  # five failures in thirty requests, none before: chance can do that
    large = sampling_noise("error_ratio", 0.0, 0.1, 1000, 1000)
    assert large < 0.1  # a hundred in a thousand: it cannot
    assert sampling_noise("rate", 10.0, 12.0, 40, 48) > 2.0
    assert sampling_noise("rate", 10.0, 12.0, 4000, 4800) < 2.0
    assert sampling_noise("p95", 0.1, 0.2, 30, 30) == 0.0  # latency: MIN_TAIL instead


def _run(name: str, figures: list[Figure]) -> MeasuredRun:
    inputs = SimpleNamespace(speedup=1.0)
    return MeasuredRun(Path(name), inputs, None, {f.key: f for f in figures})  # type: ignore[arg-type]


def test_repeated_runs_give_the_median_their_spread_and_the_first_missing_reason() -> None:
    values = [(0.1, 100), (0.3, 300), (0.2, 200)]
    side = Side(tuple(_run(f"r{i}", [Figure("page.p95", "duration", "lower", v, n)])
                      for i, (v, n) in enumerate(values)))  # fmt: skip
    assert side.value("page.p95") == pytest.approx(0.2)
    assert side.spread("page.p95") == pytest.approx(0.2)
    assert side.requests("page.p95") == 200
    assert side.label == "r0 and 2 more"
    missing = Side((_run("a", [P95]), _run("b", [Figure("page.p95", "duration", "lower", None,
                                                       why="too few requests")])))  # fmt: skip
    assert (
        missing.value("page.p95") is None and missing.why_not("page.p95") == "b: too few requests"
    )
    never = Side(tuple(_run(str(i), [Figure("x.y", "duration", "lower", v)])
                       for i, v in enumerate([math.inf, math.inf, 5.0])))  # fmt: skip
    assert never.value("x.y") == math.inf  # most of the runs never recovered


def test_tolerances_as_written_and_the_errors_that_name_what_is_valid() -> None:
    assert parse_tolerance("+10%", "duration", "p95").relative == pytest.approx(0.10)
    assert parse_tolerance("+20ms", "duration", "p95").absolute == pytest.approx(0.020)
    assert parse_tolerance("-1pt", "ratio", "final").absolute == pytest.approx(0.01)
    with pytest.raises(ValueError, match=re.escape("page.p95 is worse higher, so write '+10%'")):
        parse_tolerance("-10%", "duration", "p95", "page.p95")
    with pytest.raises(
        ValueError, match=re.escape("completion.final is worse lower, so write '-1pt'")
    ):
        parse_tolerance("+1pt", "ratio", "final", "completion.final")
    with pytest.raises(ValueError, match=re.escape("'pt' is for ratios; page.p95 is a duration")):
        parse_tolerance("+5pt", "duration", "p95", "page.p95")
    with pytest.raises(
        ValueError, match=re.escape("has no unit; page.p95 is a duration, like '+50ms'")
    ):
        parse_tolerance("+5", "duration", "p95", "page.p95")
    with pytest.raises(ValueError, match=re.escape("'nothing.*' matches no figure")):
        check_tolerance("nothing.*", "+10%")


def test_an_exact_name_wins_over_globs_and_the_last_glob_over_earlier_ones() -> None:
    given = {"*.p95": "+30%", "page.*": "+40%", "page.p95": "+10%"}
    found = tolerance_for("page.p95", "duration", "p95", given)
    assert found is not None and found[1] == "page.p95" and found[0].relative == 0.10
    found = tolerance_for("upload.p95", "duration", "p95", given)
    assert found is not None and found[1] == "*.p95"
    recover = "recovery.time_to_recover('short outage')"
    found = tolerance_for(recover, "duration", "time_to_recover", {"recovery.*": "+1m"})
    assert found is not None and found[0].absolute == 60.0
    assert tolerance_for("read.p50", "duration", "p50", given) is None


def test_a_scenarios_compare_table_is_checked_when_it_is_loaded() -> None:
    loaded = scenario('\n[compare]\n"page.p95" = "+10%"\n"completion.final" = "-1pt"\n')
    assert loaded.compare == {"page.p95": "+10%", "completion.final": "-1pt"}
    with pytest.raises(ScenarioError) as caught:
        scenario('\n[compare]\n"page.p95" = "-10%"\n"nothing.*" = "+1%"\n')
    text = str(caught.value)
    assert "mini.toml: compare.page.p95: got '-10%'" in text and "so write '+10%'" in text
    assert "compare.nothing.*: got '+1%'; 'nothing.*' matches no figure" in text


def test_a_tolerance_beyond_any_figure_is_refused_not_overflowed() -> None:
    for text in ("+" + "9" * 400 + "%", "+" + "9" * 30 + "ms", "9" * 20):
        with pytest.raises(ValueError, match="is more than any figure can move"):
            check_tolerance("page.p95" if "%" in text or "ms" in text else "integrity.lost", text)
    with pytest.raises(ValueError, match="is not a tolerance like"):
        check_tolerance("page.p95", "+\u0661\u0660%")  # Arabic-Indic digits
