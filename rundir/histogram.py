"""A mergeable latency histogram with at most 1% relative error.

Values (milliseconds) fall into log-spaced buckets: bucket 0 holds values up to ``LOWEST_MS``
(1 microsecond); bucket ``i >= 1`` holds ``[LOWEST_MS * RATIO**(i-1), LOWEST_MS * RATIO**i)``
with ``RATIO = 1.02``. A bucket ``[a, a*RATIO]`` is represented by ``2*a*RATIO / (1 + RATIO)``,
whose relative distance to any value in the bucket is at most ``(RATIO - 1) / (RATIO + 1)``
(0.99%). Quantiles use the nearest-rank definition (the ``ceil(q * n)``-th smallest value), so
the estimate is within 0.99% of that exact value, and merging histograms (adding counts) gives
exactly the histogram of the combined values: workers merge without any loss.

JSON form (used in the timeline and in worker reports)::

    {"counts": {"<bucket index>": count, ...}, "count": n, "sum": total_ms,
     "min": smallest_ms, "max": largest_ms}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

RATIO: Final = 1.02
LOWEST_MS: Final = 0.001
MAX_RELATIVE_ERROR: Final = (RATIO - 1.0) / (RATIO + 1.0)
_LOG_RATIO: Final = math.log(RATIO)
_LOG_LOWEST: Final = math.log(LOWEST_MS)


def bucket_of(value_ms: float) -> int:
    """The bucket index of a value in milliseconds (bucket 0 for values <= 1 microsecond)."""
    if value_ms <= LOWEST_MS:
        return 0
    return int((math.log(value_ms) - _LOG_LOWEST) / _LOG_RATIO) + 1


def representative(index: int) -> float:
    """The value (ms) that stands for every value of bucket ``index``."""
    if index <= 0:
        return LOWEST_MS
    low = LOWEST_MS * RATIO ** (index - 1)
    return 2.0 * low * RATIO / (1.0 + RATIO)


class Histogram:
    """Counts of latencies by bucket, plus exact count, sum, min and max."""

    __slots__ = ("count", "counts", "max", "min", "sum")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def record(self, value_ms: float) -> None:
        """Add one value (milliseconds, >= 0)."""
        index = bucket_of(value_ms)
        counts = self.counts
        counts[index] = counts.get(index, 0) + 1
        self.count += 1
        self.sum += value_ms
        self.min = min(self.min, value_ms)
        self.max = max(self.max, value_ms)

    def merge(self, other: Histogram) -> Histogram:
        """Add ``other``'s values to this histogram (in place); returns self."""
        counts = self.counts
        for index, count in other.counts.items():
            counts[index] = counts.get(index, 0) + count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        return self

    @classmethod
    def merged(cls, histograms: Iterable[Histogram]) -> Histogram:
        """A new histogram holding the values of all ``histograms``."""
        total = cls()
        for histogram in histograms:
            total.merge(histogram)
        return total

    def quantile(self, q: float) -> float | None:
        """The nearest-rank ``q``-quantile (0 <= q <= 1) in ms; None when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be between 0 and 1, got {q}")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(self.max, max(self.min, representative(index)))
        return self.max  # unreachable while counts add up to count

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def count_at_most(self, value_ms: float) -> int:
        """Values at or below ``value_ms``, to bucket resolution (whole buckets below it)."""
        limit = bucket_of(value_ms)
        return sum(count for index, count in self.counts.items() if index <= limit)

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": {str(index): self.counts[index] for index in sorted(self.counts)},
            "count": self.count,
            "sum": round(self.sum, 6),
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Histogram:
        """Read :meth:`to_json` output; ValueError naming the problem if it does not add up."""
        histogram = cls()
        counts = {int(index): int(count) for index, count in data["counts"].items()}
        if any(count < 0 for count in counts.values()):
            raise ValueError("histogram counts must be >= 0")
        histogram.counts = {index: count for index, count in counts.items() if count}
        histogram.count = int(data["count"])
        if histogram.count != sum(counts.values()):
            raise ValueError(
                f"histogram count {histogram.count} differs from the sum of its buckets "
                f"({sum(counts.values())})"
            )
        histogram.sum = float(data["sum"])
        if histogram.count:
            histogram.min = float(data["min"])
            histogram.max = float(data["max"])
        return histogram

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self.counts, self.count, self.min, self.max) == (
            other.counts,
            other.count,
            other.min,
            other.max,
        ) and math.isclose(self.sum, other.sum, rel_tol=1e-9, abs_tol=1e-9)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, p50={self.quantile(0.5)}, max={self.max})"


def nearest_rank(sorted_values: Sequence[float], q: float) -> float | None:
    """The ceil(q * n)-th smallest of ``sorted_values`` (exact; None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]
