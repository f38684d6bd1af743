"""Completion over simulated time, throughput per day, and the manual-recap baseline."""

from __future__ import annotations

from reports.completion import Completion, FormTimes

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


def test_the_manual_baseline_is_twenty_tps_a_day_per_kecamatan() -> None:
    forms = [FormTimes(0, 60.0 * i) for i in range(100)]
    done = Completion.of(forms, duration=24 * HOUR, kecamatan=2)
    assert done.manual_by(12 * HOUR) == 20.0  # 20 x 2 kecamatan x half a day
    assert done.manual_by(12 * HOUR, per_day=2) == 2.0
    assert done.manual_by(10 * 24 * HOUR) == 100.0  # never more than there is to do
    assert done.as_dict()["manual_tps_per_day_smooth"] == 40.0


def test_no_tps_ready_means_completion_is_not_measured() -> None:
    assert Completion.of([], duration=HOUR, kecamatan=1).final is None


def test_forms_given_up_leave_the_backlog_when_their_devices_stop() -> None:
    forms = [FormTimes(0, HOUR), FormTimes(0, None, gave_up=2 * HOUR), FormTimes(0, None)]
    done = Completion.of(forms, duration=4 * HOUR, kecamatan=1)
    assert [done.backlog(t * HOUR) for t in (0.5, 1, 2, 3)] == [3, 2, 1, 1]
