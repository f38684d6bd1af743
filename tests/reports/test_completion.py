"""Completion over simulated time, throughput per day, and the manual-recap baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.analyse import form_times
from reports.completion import Completion, FormTimes
from reports.manual import MANUAL_RECAP_START, MEAN_TPS_PER_KECAMATAN, manual_baseline
from scenarios import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

HOUR = 3600.0


def test_completion_by_time_counts_only_tps_ready_in_the_run() -> None:
    forms = [
        FormTimes(0, HOUR),
        FormTimes(HOUR, 3 * HOUR),
        FormTimes(2 * HOUR, None),  # abandoned
        FormTimes(20 * HOUR, None),  # ready after the run ended: not counted
    ]
    done = Completion.of(forms, duration=12 * HOUR, kecamatan=1)
    assert done.by(0.5 * HOUR) == 0.0
    assert done.by(HOUR) == 1 / 3
    assert done.final == 2 / 3
    assert done.tps_per_day == 2 / 0.5  # two TPS in half a day
    assert done.curve(points=3) == [(0.0, 1, 0), (6 * HOUR, 3, 2), (12 * HOUR, 3, 2)]


def test_without_a_scenario_baseline_it_is_twenty_tps_a_day_per_kecamatan() -> None:
    forms = [FormTimes(0, 60.0 * i) for i in range(100)]
    done = Completion.of(forms, duration=24 * HOUR, kecamatan=2)
    assert done.manual_by(12 * HOUR) == 20.0  # 20 x 2 kecamatan x half a day
    assert done.manual_by(12 * HOUR, per_day=2) == 2.0
    assert done.manual_by(10 * 24 * HOUR) == 100.0  # never more than there is to do
    assert done.as_dict()["manual_tps_per_day_smooth"] == 40.0


def test_the_national_sample_baseline_stands_for_the_population_and_starts_on_d1() -> None:
    """1% of the country keeps ~2 TPS per kecamatan: 20 a day for each of them took the whole
    sample in by 13:00 WIB on election day. The baseline is 20 x 7,277 kecamatan a day times
    the sampled fraction, from the first plenary (D1 08:00)."""
    scenario = load_scenario(SCENARIOS / "national_sample_2024.toml")
    baseline = manual_baseline(scenario, 5_548)
    assert baseline.rate(20) == pytest.approx(20 * 7_277 * 5_548 / 823_236)  # ~981 a day
    assert baseline.start_local == "2024-02-15 08:00 WIB"
    assert baseline.start_s == scenario.clock.offset(MANUAL_RECAP_START) == 21 * HOUR
    forms = [FormTimes(i * 5.0, i * 5.0 + 60) for i in range(5_548)]  # all ready by ~8 h
    done = Completion.of(forms, scenario.clock.duration, 2_986, baseline)
    assert done.manual_by(2 * HOUR) == 0.0  # 13:00 WIB on election day: nothing yet
    assert done.manual_by(scenario.clock.duration) < 0.1 * 5_548  # 05:00 D1: not yet started
    assert done.manual_by(21 * HOUR + 24 * HOUR) == pytest.approx(baseline.rate(20))
    assert "7,277 kecamatan" in baseline.describe() and "2024-02-15 08:00 WIB" in (
        baseline.describe()
    )


def test_a_partial_kecamatan_counts_as_its_share_of_a_kecamatan() -> None:
    scenario = load_scenario(SCENARIOS / "smoke.toml")  # 31 TPS of Kuta Selatan
    baseline = manual_baseline(scenario, 31)
    assert baseline.rate(20) == pytest.approx(20 * 31 / MEAN_TPS_PER_KECAMATAN)


def test_no_tps_ready_means_completion_is_not_measured() -> None:
    assert Completion.of([], duration=HOUR, kecamatan=1).final is None


def test_forms_given_up_leave_the_backlog_when_their_devices_stop() -> None:
    forms = [FormTimes(0, HOUR), FormTimes(0, None, gave_up=2 * HOUR), FormTimes(0, None)]
    done = Completion.of(forms, duration=4 * HOUR, kecamatan=1)
    assert [done.backlog(t * HOUR) for t in (0.5, 1, 2, 3)] == [3, 2, 1, 1]


def _line(code: str, outcome: str, reason: str | None, ended: float | None) -> dict[str, object]:
    acked = 10.0 if outcome == "acked" else None
    return {"tps_code": code, "election": "ppwp", "ready_s": 0.0, "final_outcome": outcome,
            "reason": reason, "ended_s": ended, "acked_s": acked}  # fmt: skip


def test_a_form_cut_off_by_the_run_end_stays_in_the_backlog() -> None:
    """The run's end marks unfinished devices "abandoned: run ended during ...": that is not
    giving up, so the backlog must not reach 0 while that TPS is still unacknowledged."""
    ledger = [
        _line("5103051005001", "acked", None, 10.0),
        _line("5103051005002", "abandoned", "run ended during page 2", 100.0),
        _line("5103051005003", "abandoned", "page 1 failed 8 times, last: refused", 50.0),
    ]
    done = Completion.of(form_times(ledger), 100.0, 1)
    assert [done.backlog(t) for t in (0, 10, 50, 100)] == [3, 2, 1, 1]
    assert done.given_up_by(100) == 1 and done.unacknowledged == 2


def test_the_backlog_peak_of_a_second_counts_a_form_ready_and_acked_inside_it() -> None:
    done = Completion.of([FormTimes(100.0, 300.0), FormTimes(900.0, None)], 1000.0, 1)
    assert done.backlog(0) == done.backlog(720) == 0  # sampled at the seconds' starts
    assert done.backlog_peak(0, 720) == 1 and done.backlog_peak(720, 1440) == 1
