"""Arrivals follow the counting curve, space pages like 2024 and hold offline TPS back."""

from __future__ import annotations

import itertools
import statistics

import pytest

from scenarios import arrival_schedule, build_population
from scenarios.workload.arrival import curve_seconds, invert_curve, peak_rate
from tests.scenarios.helpers import MINIMAL, scenario

BIG = MINIMAL.replace("tps = 20", "tps = 900")


def test_the_curve_is_inverted_piecewise_linearly() -> None:
    points = ((0.0, 0.0), (100.0, 0.5), (300.0, 0.5), (400.0, 0.8))
    assert invert_curve(points, 0.25) == 50.0
    assert invert_curve(points, 0.5) == 100.0
    assert invert_curve(points, 0.65) == pytest.approx(350.0)
    assert invert_curve(points, 0.81) is None  # above the plateau: never counted


def test_the_cumulative_share_of_ready_tps_matches_the_curve() -> None:
    loaded = scenario(base=BIG)
    population = build_population(loaded)
    schedule = arrival_schedule(loaded, population)
    counted = [item.counted for item in schedule.tps]
    for seconds, fraction in curve_seconds(loaded, "WITA"):
        midpoint = seconds - 1800  # between curve points too
        expected = _linear(curve_seconds(loaded, "WITA"), midpoint)
        assert fraction_ready_by(counted, seconds, len(population)) == pytest.approx(
            fraction, abs=0.01
        )
        assert fraction_ready_by(counted, midpoint, len(population)) == pytest.approx(
            expected, abs=0.01
        )


def fraction_ready_by(times: list[float | None], moment: float, total: int) -> float:
    """Share of ``total`` TPS counted by ``moment``."""
    return sum(1 for time in times if time is not None and time <= moment) / total


def _linear(points: tuple[tuple[float, float], ...], moment: float) -> float:
    if moment <= points[0][0]:
        return 0.0
    for (t0, f0), (t1, f1) in itertools.pairwise(points):
        if moment <= t1:
            return f0 + (moment - t0) / (t1 - t0) * (f1 - f0)
    return points[-1][1]


def test_the_default_curve_is_2024s_with_a_plateau_below_one() -> None:
    """9.8% by 18:00, 30.5% by 20:00, 54.4% by 24:00, 66.6% by 03:00 (1,000 Jakarta TPS,
    scenarios/FACTS.md); 78.8% at most (KPU public results JSON)."""
    loaded = scenario()
    points = {round(t / 3600, 2): f for t, f in curve_seconds(loaded, "WITA")}
    assert points[5.0] == 0.098  # 18:00 WITA is 5 h after a 13:00 start
    assert points[11.0] == 0.544
    assert max(points.values()) == 0.788


def test_curves_are_read_in_each_tps_local_time() -> None:
    """18:00 WIT comes two hours before 18:00 WIB on the same evening."""
    loaded = scenario()
    wib = curve_seconds(loaded, "WIB")
    wit = curve_seconds(loaded, "WIT")
    assert [a - b for (a, _), (b, _) in zip(wib, wit, strict=True)] == [7200.0] * len(wib)


def test_a_zone_curve_replaces_the_default_for_that_zone_only() -> None:
    loaded = scenario('\n[arrival.zone_curves]\nWITA = [["13:00", 0.0], ["15:00", 1.0]]\n')
    schedule = arrival_schedule(loaded, build_population(loaded))
    assert max(item.counted or 0 for item in schedule.tps) <= 2 * 3600
    assert curve_seconds(loaded, "WIB") != curve_seconds(loaded, "WITA")


def test_pages_of_a_presidential_form_span_a_median_of_2_8_minutes() -> None:
    loaded = scenario(base=BIG)
    schedule = arrival_schedule(loaded, build_population(loaded))
    spans = [form.pages[-1] - form.pages[0] for item in schedule.tps for form in item.forms]
    assert len(spans) > 500
    assert statistics.median(spans) / 60 == pytest.approx(2.8, rel=0.1)
    assert all(list(form.pages) == sorted(form.pages) for i in schedule.tps for form in i.forms)


def test_an_offline_tps_sends_hours_after_counting() -> None:
    loaded = scenario(
        '\n[arrival]\noffline_fraction = 0.2\noffline_delay = ["2h", "4h"]\n', base=BIG
    )
    schedule = arrival_schedule(loaded, build_population(loaded))
    offline = [item for item in schedule.tps if item.offline]
    assert len(offline) / len(schedule.tps) == pytest.approx(0.2, abs=0.04)
    for item in offline:
        if item.ready is not None and item.counted is not None:
            assert 2 * 3600 <= item.ready - item.counted <= 4 * 3600 + 900
    online = [item for item in schedule.tps if not item.offline and item.counted is not None]
    assert all(item.ready == item.counted for item in online)


def test_legislative_forms_follow_the_presidential_one_by_the_form_gap() -> None:
    loaded = scenario('\n[client]\nelections = ["pdpr", "ppwp"]\n\n[arrival]\nform_gap = "1h"\n')
    schedule = arrival_schedule(loaded, build_population(loaded))
    item = next(item for item in schedule.tps if item.counted is not None)
    assert [form.election for form in item.forms] == ["ppwp", "pdpr"]
    assert item.forms[1].ready - item.forms[0].ready == pytest.approx(3600)
    assert len(item.forms[1].pages) == 15


def test_tps_counted_before_the_start_are_ready_at_the_start() -> None:
    loaded = scenario().model_copy()
    late = scenario().clock.model_copy(update={"start": scenario().clock.start.replace(hour=20)})
    shifted = loaded.model_copy(update={"clock": late})
    schedule = arrival_schedule(shifted, build_population(shifted))
    early = [item for item in schedule.tps if item.counted is not None and item.counted < 0]
    assert early and all(item.ready == 0.0 for item in early)


def test_the_schedule_is_deterministic_and_page_events_are_in_time_order() -> None:
    loaded = scenario()
    first = arrival_schedule(loaded, build_population(loaded))
    again = arrival_schedule(loaded, build_population(loaded))
    assert first == again
    events = first.page_events()
    assert [event.at for event in events] == sorted(event.at for event in events)
    assert all(event.at < loaded.clock.duration for event in events)


def test_peak_rate_counts_the_busiest_window() -> None:
    assert peak_rate([0, 1, 2, 10, 10.5, 11, 11.5], window=2.0) == 2.0
    assert peak_rate([], window=60.0) == 0.0
