"""The load factor: how the offered request rate compares with the real election-night rate.

``load factor = sample * speedup`` (scenarios/README.md, "Load factor"). A run simulates ``sample``
of the TPS and plays time ``speedup`` times faster, so its request rate is ``sample * speedup``
times the real rate of the population it models. At ``sample = 0.01, speedup = 100`` on the national
population the offered rate equals 2024's national rate (1.0); above 1 is a stress test.

For a population smaller than the country (some provinces, or explicit regions such as one
kecamatan) the same product is relative to that population's own real rate: Kuta Selatan at
speedup 260 receives its uploads 260 times faster than it did in 2024. :attr:`national` puts
every run on one scale: the factor times the population's share of the country's TPS.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.schema.geography import NATIONAL_TPS
from scenarios.schema.population import Scale
from scenarios.schema.scenario import Scenario


@dataclass(frozen=True)
class LoadFactor:
    sample: float
    speedup: float
    scale: Scale
    population_tps: int
    """TPS of the modelled population before sampling."""

    @property
    def factor(self) -> float:
        """``sample * speedup``, relative to the modelled population's real rate."""
        return self.sample * self.speedup

    @property
    def national(self) -> float:
        """The offered rate relative to the real national rate (823,236 TPS, KPU public results
        JSON)."""
        if self.scale == "national":
            return self.factor
        return self.factor * self.population_tps / NATIONAL_TPS

    @property
    def reference(self) -> str:
        """What ``factor`` is relative to, in words."""
        if self.scale == "national":
            return "the real national rate"
        return f"the real rate of this population ({self.population_tps:,} TPS)"


def load_factor(scenario: Scenario) -> LoadFactor:
    """The scenario's load factor (needs no population to be built)."""
    population = scenario.population
    return LoadFactor(
        sample=population.sample,
        speedup=scenario.clock.speedup,
        scale=population.scale,
        population_tps=population.real_tps,
    )
