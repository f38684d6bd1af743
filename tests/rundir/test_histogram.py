"""The latency histogram: at most 1% relative error, exact merging, a JSON form that round-trips."""

from __future__ import annotations

import math
import random

import pytest

from rundir.histogram import MAX_RELATIVE_ERROR, Histogram, bucket_of, representative


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def histogram_of(values: list[float]) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram


QUANTILES = (0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_are_within_one_percent_of_the_exact_nearest_rank_value(seed: int) -> None:
    rng = random.Random(seed)
    # latencies from 2 microseconds to minutes: log-normal around 50 ms, plus extremes
    values = [rng.lognormvariate(math.log(50.0), 2.0) for _ in range(20_000)]
    values += [0.002, 0.0105, 123_456.0, 1.0, 1.02, 1.0404]
    histogram = histogram_of(values)
    assert MAX_RELATIVE_ERROR < 0.01
    for q in QUANTILES:
        estimate = histogram.quantile(q)
        exact = exact_quantile(values, q)
        assert estimate is not None
        assert abs(estimate - exact) / exact <= MAX_RELATIVE_ERROR + 1e-12, (q, estimate, exact)


def test_every_value_lies_within_one_percent_of_its_buckets_representative() -> None:
    rng = random.Random(7)
    for _ in range(50_000):
        value = math.exp(rng.uniform(math.log(0.0011), math.log(3.6e6)))
        representative_value = representative(bucket_of(value))
        assert abs(representative_value - value) / value <= MAX_RELATIVE_ERROR + 1e-12


def test_merging_equals_recording_everything_in_one_histogram() -> None:
    rng = random.Random(3)
    parts = [[rng.expovariate(1 / 80.0) for _ in range(n)] for n in (0, 1, 500, 3000)]
    merged = Histogram.merged(histogram_of(part) for part in parts)
    together = histogram_of([value for part in parts for value in part])
    assert merged == together
    assert merged.count == 3501
    for q in QUANTILES:
        assert merged.quantile(q) == together.quantile(q)


def test_the_json_form_round_trips_and_merges_by_adding_counts() -> None:
    first = histogram_of([1.0, 2.0, 2.0, 500.0])
    second = histogram_of([2.0, 0.0005])
    restored = Histogram.from_json(first.to_json())
    assert restored == first
    assert restored.merge(Histogram.from_json(second.to_json())) == histogram_of(
        [1.0, 2.0, 2.0, 500.0, 2.0, 0.0005]
    )
    empty = Histogram.from_json(Histogram().to_json())
    assert empty.count == 0
    assert empty.quantile(0.99) is None


def test_values_at_or_below_one_microsecond_share_the_first_bucket() -> None:
    """Below the resolution the error is absolute (at most 1 microsecond), never above it."""
    histogram = histogram_of([0.0, 0.0001, 0.001])
    assert set(histogram.counts) == {0}
    assert histogram.quantile(1.0) == 0.001
    assert histogram.quantile(0.0) == 0.001
    assert histogram.min == 0.0


def test_a_json_form_whose_count_does_not_add_up_is_refused_with_the_numbers() -> None:
    data = histogram_of([1.0, 2.0]).to_json()
    data["count"] = 3
    with pytest.raises(ValueError, match=r"count 3 differs from the sum of its buckets \(2\)"):
        Histogram.from_json(data)


def test_a_quantile_outside_zero_to_one_is_an_error_naming_the_range() -> None:
    with pytest.raises(ValueError, match=r"quantile must be between 0 and 1, got 1\.5"):
        histogram_of([1.0]).quantile(1.5)


def test_mean_and_count_at_most_follow_the_recorded_values() -> None:
    histogram = histogram_of([10.0, 20.0, 30.0, 1000.0])
    assert histogram.mean == pytest.approx(265.0)
    assert histogram.count_at_most(30.0) == 3
    assert histogram.count_at_most(5.0) == 0
