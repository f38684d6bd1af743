"""Region plans: the desa/kelurahan of a population and how many TPS each has.

Explicit regions come straight from the scenario. Generated provinces are built top-down from
the distributions of KawalPemilu's public region/TPS list (scenarios/FACTS.md): kecamatan
sizes (TPS per kecamatan) until the province's TPS count is
reached, kecamatan grouped into kab/kota (kecamatan per kab/kota), each kecamatan split into
desa (TPS per desa). Codes follow the KPU layout (2, 4, 6, 10 digits); generated desa are
numbered 2001, 2002, ... as desa (not kelurahan) codes are.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from scenarios.schema.geography import (
    KECAMATAN_PER_KABKOTA,
    PROVINCE_BY_CODE,
    TPS_PER_DESA,
    TPS_PER_KECAMATAN,
    Province,
    zone_of,
)
from scenarios.schema.population import PopulationSpec
from scenarios.schema.units import Zone
from scenarios.workload.sampling import apportion, from_quantiles, stream

# KawalPemilu's public region/TPS list: 14.2 kecamatan per kab/kota on average.
MEAN_KECAMATAN_PER_KABKOTA: Final = 14.2
_MAX_TWO_DIGIT: Final = 99
_DESA_NUMBERS: Final = 999  # 2001 .. 2999
_MAX_TPS_NUMBER: Final = 999


@dataclass(frozen=True, slots=True)
class DesaPlan:
    """One desa/kelurahan: its code, zone, TPS count and (if given) total DPT."""

    code: str
    zone: Zone
    tps: int
    dpt_total: int | None = None


@dataclass(frozen=True, slots=True)
class KecamatanPlan:
    """The desa of one kecamatan (the unit generated populations are sampled by)."""

    code: str
    desa: tuple[DesaPlan, ...]


def plan_regions(spec: PopulationSpec) -> Iterator[KecamatanPlan]:
    """Every kecamatan of the population, in code order for generated ones, file order else."""
    if spec.scale == "regions":
        yield from _explicit(spec)
        return
    codes = spec.provinces if spec.scale == "provinces" else tuple(PROVINCE_BY_CODE)
    for code in codes:
        yield from generate_province(spec.seed, PROVINCE_BY_CODE[code])


def _explicit(spec: PopulationSpec) -> Iterator[KecamatanPlan]:
    """Each explicit desa as its own unit (so sampling does not depend on file order)."""
    for region in spec.regions:
        zone = region.zone or zone_of(region.code)
        if zone is None:  # the model rejects this; keep mypy and readers sure
            raise ValueError(f"no zone for region {region.code}")
        desa = DesaPlan(region.code, zone, region.tps, region.dpt)
        yield KecamatanPlan(region.code, (desa,))


def generate_province(seed: int, province: Province) -> Iterator[KecamatanPlan]:
    """The kecamatan and desa of one province, deterministic from ``seed``."""
    rng = stream(seed, "regions", province.code)
    kecamatan_sizes = _fill(province.tps, lambda: from_quantiles(rng, TPS_PER_KECAMATAN))
    kabkota_count = max(
        1, min(_MAX_TWO_DIGIT, round(len(kecamatan_sizes) / MEAN_KECAMATAN_PER_KABKOTA))
    )
    weights = [float(from_quantiles(rng, KECAMATAN_PER_KABKOTA)) for _ in range(kabkota_count)]
    per_kabkota = apportion(len(kecamatan_sizes), weights, minimum=1)
    if max(per_kabkota) > _MAX_TWO_DIGIT:
        per_kabkota = apportion(len(kecamatan_sizes), [1.0] * kabkota_count)
    sizes = iter(kecamatan_sizes)
    for kabkota_number, count in enumerate(per_kabkota, start=1):
        kabkota = f"{province.code}{kabkota_number:02d}"
        for kecamatan_number in range(1, count + 1):
            code = f"{kabkota}{kecamatan_number:02d}"
            yield KecamatanPlan(code, tuple(_desa(rng, code, next(sizes), province.zone)))


def _desa(rng: random.Random, kecamatan: str, tps: int, zone: Zone) -> Iterator[DesaPlan]:
    remaining, number = tps, 1
    while remaining > 0:
        # Never run out of 3-digit desa numbers or TPS numbers, however the draws fall.
        least = math.ceil(remaining / (_DESA_NUMBERS - number + 1))
        size = min(remaining, _MAX_TPS_NUMBER, max(least, from_quantiles(rng, TPS_PER_DESA)))
        yield DesaPlan(f"{kecamatan}{2000 + number:04d}", zone, size)
        remaining -= size
        number += 1


def _fill(total: int, draw: Callable[[], int]) -> list[int]:
    """Draw sizes until they add up to ``total`` (the last one cut to fit)."""
    sizes: list[int] = []
    remaining = total
    while remaining > 0:
        size = min(draw(), remaining)
        sizes.append(size)
        remaining -= size
    return sizes
