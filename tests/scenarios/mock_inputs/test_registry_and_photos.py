"""The registry CSV the mock loads, and the page photos devices upload."""

from __future__ import annotations

import hashlib
from pathlib import Path

from scenarios import (
    REGISTRY_COLUMNS,
    build_population,
    page_digest,
    read_registry,
    write_registry,
)
from tests.scenarios.helpers import scenario


def test_the_registry_has_the_contract_header_and_two_rows_per_tps(tmp_path: Path) -> None:
    population = build_population(scenario())
    path = tmp_path / "registry.csv"
    rows = write_registry(population, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "tps_code,dpt,device_id,secret,tz"
    assert REGISTRY_COLUMNS[:4] == ("tps_code", "dpt", "device_id", "secret")
    assert rows == len(lines) - 1 == 2 * len(population)
    code, dpt, device, secret, zone = lines[1].split(",")
    first = population.tps[0]
    assert (code, int(dpt), device, secret, zone) == (
        first.code,
        first.dpt,
        first.devices[0].device_id,
        first.devices[0].secret,
        "WITA",
    )
    parsed = read_registry(path)
    assert all(len(row.tps_code) == 13 and row.tps_code.isdigit() for row in parsed)
    assert all(1 <= row.dpt <= 300 for row in parsed)


def test_the_same_scenario_writes_the_same_registry_bytes(tmp_path: Path) -> None:
    write_registry(build_population(scenario()), tmp_path / "a.csv")
    write_registry(build_population(scenario()), tmp_path / "b.csv")
    reseeded = scenario().model_copy(
        update={"population": scenario().population.model_copy(update={"seed": 8})}
    )
    write_registry(build_population(reseeded), tmp_path / "c.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_a_page_photo_is_a_jpeg_of_its_size_with_a_stable_digest() -> None:
    population = build_population(
        scenario('\n[population.photo_size]\nmedian = "30kB"\np95 = "60kB"\n')
    )
    tps = population.tps[0]
    photo = population.photo(tps, "ppwp", 1)
    assert len(photo) == tps.pages["ppwp"][1]
    assert photo.startswith(b"\xff\xd8\xff\xe0") and photo.endswith(b"\xff\xd9")
    assert hashlib.sha256(photo).hexdigest() == page_digest(population.seed, tps, "ppwp", 1)
    assert population.photo(tps.code, "ppwp", 0) != photo


def test_asking_for_a_page_beyond_the_form_names_the_valid_pages() -> None:
    population = build_population(scenario())
    tps = population.tps[0]
    try:
        population.photo(tps, "ppwp", 3)
    except IndexError as error:
        assert str(error) == f"ppwp form of TPS {tps.code} has pages 0-2"
    else:
        raise AssertionError("page 3 of a 3-page form was accepted")
