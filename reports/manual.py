"""The manual recap as a baseline: what the PPK plenaries would have taken in by hand.

NusaBali, 16 Feb 2024 (PPK Kuta Selatan): "if it runs smoothly we could take 20 TPS in a day";
only 2 TPS were done the day Sirekap was down. That is a rate per kecamatan, over all of the
kecamatan's TPS. A run simulates a sample: a TPS of the sample stands for 1/fraction real ones,
so the baseline for the sample is the population's rate times the sampled fraction:
``per_day x kecamatan of the population x TPS in the run / TPS in the population``
(national: 20 x 7,277 kecamatan, okezone 2023-07-02, x 1% at sample 0.01: about 1,455 of the
sample's TPS a day, not 20 for each of the ~2 TPS a sampled kecamatan keeps).

The plenary cannot start before counting is over: the KPU's 2024 schedule (PKPU 3/2022) puts the
kecamatan recap from 15 Feb 2024, the day after voting; at 08:00, when the office day starts
(est., as the plenary model's working hours). Until then the baseline is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scenarios import NATIONAL_TPS, Scenario, format_local, parse_time_spec

DAY_S: Final = 86_400.0
MANUAL_TPS_PER_DAY_SMOOTH: Final = 20.0  # NusaBali, 16 Feb 2024: "20 TPS in a day"
MANUAL_TPS_PER_DAY_STALLED: Final = 2.0  # NusaBali, 16 Feb 2024: "only 2" that day
MANUAL_RATES: Final = {
    "20 TPS/day per kecamatan": MANUAL_TPS_PER_DAY_SMOOTH,
    "2 TPS/day (Sirekap down)": MANUAL_TPS_PER_DAY_STALLED,
}
# The first day a PPK plenary can sit: D1 (the day after voting) 08:00 in the scenario's zone.
MANUAL_RECAP_START: Final = parse_time_spec("+1d 08:00")
NATIONAL_KECAMATAN: Final = 7_277  # okezone 2023-07-02
# KawalPemilu's public region/TPS list: 112.5 TPS per kecamatan on average (818,339 TPS).
MEAN_TPS_PER_KECAMATAN: Final = 112.5


@dataclass(frozen=True)
class ManualBaseline:
    start_s: float  # simulated seconds from the scenario start when the plenaries can start
    kecamatan: float  # kecamatan of the population the run's TPS stand for
    fraction: float  # TPS in the run / TPS in the population
    start_local: str  # "2024-02-15 08:00 WIB"

    def rate(self, per_day: float) -> float:
        """TPS of the run taken in per simulated day at ``per_day`` per kecamatan."""
        return per_day * self.kecamatan * self.fraction

    def by(self, t: float, per_day: float) -> float:
        """TPS of the run the manual recap has taken in by simulated second ``t`` (uncapped)."""
        return max(0.0, t - self.start_s) / DAY_S * self.rate(per_day)

    def describe(self) -> str:
        return (
            f"Manual recap baseline: {MANUAL_TPS_PER_DAY_SMOOTH:g} TPS a day per kecamatan when it "
            f"runs smoothly, {MANUAL_TPS_PER_DAY_STALLED:g} the day Sirekap was down (PPK Kuta "
            f"Selatan, NusaBali 16 Feb 2024), over the {self.kecamatan:,.4g} kecamatan "
            f"(equivalents) of the population the run stands for, scaled by the run's share of "
            f"its TPS ({self.fraction:.3g}): {self.rate(MANUAL_TPS_PER_DAY_SMOOTH):,.1f} of the "
            "run's TPS "
            f"a day. It starts when a plenary can, {self.start_local} (the kecamatan recap "
            "starts the day after voting, KPU schedule PKPU 3/2022), and never takes in more "
            "TPS than have finished counting."
        )


def population_kecamatan(scenario: Scenario) -> float:
    """Kecamatan of the modelled population: national 7,277; generated provinces est. from the
    mean kecamatan size; explicit regions: each listed kecamatan at least the mean size."""
    population = scenario.population
    if population.scale == "national":
        return float(NATIONAL_KECAMATAN)
    if population.scale == "provinces":
        return population.real_tps / MEAN_TPS_PER_KECAMATAN
    listed: dict[str, int] = {}
    for region in population.regions:
        listed[region.code[:6]] = listed.get(region.code[:6], 0) + region.tps
    # a listed desa is part of a kecamatan of (est.) the mean size, or of all that is listed
    return sum(tps / max(tps, MEAN_TPS_PER_KECAMATAN) for tps in listed.values())


def manual_baseline(scenario: Scenario, run_tps: int) -> ManualBaseline:
    population = scenario.population
    total = NATIONAL_TPS if population.scale == "national" else population.real_tps
    kecamatan = population_kecamatan(scenario)
    clock = scenario.clock
    start = clock.offset(MANUAL_RECAP_START)
    return ManualBaseline(
        start_s=start,
        kecamatan=kecamatan,
        fraction=run_tps / total if total else 0.0,
        start_local=format_local(clock.start, clock.zone, start),
    )
