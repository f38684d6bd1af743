"""Populations: region codes, voters, devices and page sizes, deterministic from the seed."""

from __future__ import annotations

import statistics
from collections import Counter
from functools import cache

import pytest

from scenarios import Population, build_population
from scenarios.schema.geography import (
    DOMESTIC_TPS,
    MAX_DPT_PER_TPS,
    PROVINCE_BY_CODE,
    PROVINCES,
    TPS_PER_DESA,
)
from scenarios.schema.population import ELECTIONS, PopulationSpec
from tests.scenarios.helpers import scenario


def spec(**fields: object) -> PopulationSpec:
    return PopulationSpec.model_validate({"seed": 11, **fields})


@cache
def national(seed: int = 11, sample: float = 0.005) -> Population:
    return build_population(spec(scale="national", sample=sample, seed=seed))


def test_explicit_regions_give_one_tps_per_number_with_13_digit_codes() -> None:
    population = build_population(scenario())
    assert [tps.code for tps in population][:3] == [
        "5103051004001",
        "5103051004002",
        "5103051004003",
    ]
    assert len(population) == 20
    tps = population.tps[0]
    assert (tps.provinsi, tps.kabkota, tps.kecamatan, tps.desa, tps.number) == (
        "51",
        "5103",
        "510305",
        "5103051004",
        1,
    )
    assert tps.zone == "WITA"  # Bali, from the province code
    assert population.name_of("5103051004") == "Benoa"
    assert population.name_of("51") == "Bali"


def test_every_tps_has_two_devices_with_distinct_secrets() -> None:
    population = build_population(scenario())
    devices = [device for tps in population for device in tps.devices]
    assert all(len(tps.devices) == 2 for tps in population)
    assert devices[0].device_id == "5103051004001-1"
    assert len({device.secret for device in devices}) == len(devices)
    assert all(len(device.secret) == 32 for device in devices)


def test_a_given_desa_dpt_is_split_evenly_over_its_tps() -> None:
    regions = spec(scale="regions", regions=[{"code": "5103051004", "tps": 3, "dpt": 800}])
    assert [tps.dpt for tps in build_population(regions)] == [267, 267, 266]


def test_drawn_dpt_stays_within_the_limit_of_300() -> None:
    population = national()
    dpts = [tps.dpt for tps in population]
    assert max(dpts) <= MAX_DPT_PER_TPS
    assert min(dpts) >= 50
    # okezone, 2 Jul 2023: 204,807,222 voters over 823,220 TPS, about 249 per TPS.
    assert 235 <= statistics.mean(dpts) <= 255


def test_forms_have_the_configured_pages_and_log_normal_photo_sizes() -> None:
    population = build_population(scenario())
    sizes = [size for tps in population for size in tps.pages["pdpr"]]
    assert all(len(tps.pages["ppwp"]) == 3 for tps in population)
    assert all(len(tps.pages[election]) == 15 for tps in population for election in ELECTIONS[1:])
    assert 1_100_000 <= statistics.median(sizes) <= 1_300_000  # est. median 1.2 MB
    clamped = scenario('\n[population.photo_size]\nmedian = "20kB"\np95 = "40kB"\nmax = "30kB"\n')
    small = [size for tps in build_population(clamped) for size in tps.pages["ppwp"]]
    assert max(small) == 30_000


def test_the_same_seed_gives_the_same_population_and_another_seed_another() -> None:
    first = build_population(scenario())
    again = build_population(scenario())
    other = build_population(scenario().model_copy(update={"population": spec_with_seed(12)}))
    assert first.tps == again.tps
    assert [tps.code for tps in other] == [tps.code for tps in first]  # same regions
    assert [tps.devices for tps in other] != [tps.devices for tps in first]
    assert [tps.pages for tps in other] != [tps.pages for tps in first]


def spec_with_seed(seed: int) -> PopulationSpec:
    return scenario().population.model_copy(update={"seed": seed})


def test_national_generation_matches_the_province_table_and_zone_shares() -> None:
    assert sum(province.tps for province in PROVINCES) == DOMESTIC_TPS
    assert len(PROVINCES) == 38
    total = dict.fromkeys(("WIB", "WITA", "WIT"), 0)
    for province in PROVINCES:
        total[province.zone] += province.tps
    # KawalPemilu's public region/TPS list: WIB 80.2%, WITA 16.2%, WIT 3.5%.
    assert total["WIB"] / DOMESTIC_TPS == pytest.approx(0.802, abs=0.001)
    assert total["WITA"] / DOMESTIC_TPS == pytest.approx(0.162, abs=0.001)
    assert total["WIT"] / DOMESTIC_TPS == pytest.approx(0.035, abs=0.001)
    assert PROVINCE_BY_CODE["32"].tps == 140_327  # Jawa Barat, KawalPemilu's list


def test_a_whole_generated_province_has_exactly_its_tps_in_valid_codes() -> None:
    population = build_population(spec(scale="provinces", provinces=["51"]))
    assert len(population) == PROVINCE_BY_CODE["51"].tps
    assert all(tps.code.startswith("51") and len(tps.code) == 13 for tps in population)
    assert len({tps.code for tps in population}) == len(population)
    per_desa = Counter(tps.desa for tps in population)
    # KawalPemilu's public region/TPS list: TPS per desa median 6, max 451.
    assert 3 <= statistics.median(per_desa.values()) <= 9
    assert max(per_desa.values()) <= TPS_PER_DESA.max


def test_a_national_sample_keeps_about_that_fraction_of_every_zone() -> None:
    population = national()
    assert population.real_tps == DOMESTIC_TPS
    assert len(population) == pytest.approx(0.005 * DOMESTIC_TPS, rel=0.05)
    shares = {zone: count / len(population) for zone, count in population.zones.items()}
    assert shares["WIB"] == pytest.approx(0.802, abs=0.02)
    assert shares["WITA"] == pytest.approx(0.162, abs=0.02)
    assert shares["WIT"] == pytest.approx(0.035, abs=0.01)


def test_a_larger_sample_keeps_every_tps_of_a_smaller_one() -> None:
    """Sampling draws are per TPS in a fixed order, so samples nest and values do not move."""
    small = {tps.code: tps for tps in national(sample=0.002)}
    large = {tps.code: tps for tps in national(sample=0.005)}
    assert set(small) <= set(large)
    assert all(large[code] == tps for code, tps in small.items())


def test_different_seeds_sample_different_tps() -> None:
    assert {tps.code for tps in national(seed=11)} != {tps.code for tps in national(seed=12)}


def test_tps_records_are_hashable_and_immutable() -> None:
    tps = build_population(scenario()).tps[0]
    assert hash(tps) == hash(build_population(scenario()).tps[0])
    with pytest.raises(TypeError):
        tps.pages["ppwp"] = ()  # type: ignore[index]


def test_looking_up_a_tps_not_in_the_run_names_it() -> None:
    with pytest.raises(KeyError, match="TPS 5103051004999 is not in this population"):
        build_population(scenario()).get("5103051004999")
