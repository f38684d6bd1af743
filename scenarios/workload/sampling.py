"""Deterministic random streams and the few distributions the population and arrivals need.

Every random choice draws from a stream named by the scenario seed and labels (a TPS code, an
election, a purpose), so one TPS's values do not depend on which other TPS are in the run, and
the same seed gives the same values on every machine and Python run (no ``hash()``).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

from scenarios.schema.geography import Quantiles

# The 95th percentile of the standard normal distribution.
_Z95 = 1.6448536269514722


def derive_seed(seed: int, *labels: str | int) -> int:
    """A 64-bit seed for the stream named ``labels`` under the scenario ``seed``."""
    text = "\x1f".join(str(part) for part in (seed, *labels))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def stream(seed: int, *labels: str | int) -> random.Random:
    """An independent, reproducible random stream."""
    return random.Random(derive_seed(seed, *labels))


def lognormal_sigma(median: float, p95: float) -> float:
    """The log-space standard deviation of a log-normal with this median and p95."""
    return math.log(p95 / median) / _Z95 if p95 > median else 0.0


def lognormal(rng: random.Random, median: float, p95: float) -> float:
    """A log-normal draw with the given median and 95th percentile (p95 >= median)."""
    return median * math.exp(lognormal_sigma(median, p95) * rng.gauss(0.0, 1.0))


def lognormals(rng: random.Random, count: int, median: float, sigma: float) -> list[float]:
    """``count`` log-normal draws (``sigma`` from :func:`lognormal_sigma`)."""
    exp, gauss = math.exp, rng.gauss
    return [median * exp(sigma * gauss(0.0, 1.0)) for _ in range(count)]


_QUANTILE_POINTS = (0.0, 0.1, 0.5, 0.9, 0.99, 1.0)


def from_quantiles(rng: random.Random, quantiles: Quantiles) -> int:
    """A draw from an empirical distribution, log-linear between its known quantiles."""
    values = (
        quantiles.min,
        quantiles.p10,
        quantiles.median,
        quantiles.p90,
        quantiles.p99,
        quantiles.max,
    )
    u = rng.random()
    for index in range(len(_QUANTILE_POINTS) - 1):
        low, high = _QUANTILE_POINTS[index], _QUANTILE_POINTS[index + 1]
        if u <= high:
            fraction = (u - low) / (high - low)
            log_low, log_high = math.log(values[index]), math.log(values[index + 1])
            return max(1, round(math.exp(log_low + fraction * (log_high - log_low))))
    return round(quantiles.max)


def apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    Each part gets at least ``minimum`` (when ``total`` allows); the parts sum to ``total``.
    """
    count = len(weights)
    if count == 0:
        return []
    floor = minimum if minimum * count <= total else 0
    spare = total - floor * count
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * count, float(count)
    exact = [spare * weight / weight_sum for weight in weights]
    parts = [math.floor(value) for value in exact]
    by_remainder = sorted(range(count), key=lambda i: (parts[i] - exact[i], i))
    for index in by_remainder[: spare - sum(parts)]:
        parts[index] += 1
    return [floor + part for part in parts]
