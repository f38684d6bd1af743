"""The scenarios shipped in scenarios/*.toml load, validate and say what they claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import arrival_schedule, build_population, load_factor, load_scenario

from .helpers import REPO, SHIPPED

SHIPPED_FILES = sorted(SHIPPED.glob("*.toml"))


def test_the_three_documented_scenarios_are_shipped() -> None:
    names = {path.stem for path in SHIPPED_FILES}
    assert {"smoke", "kuta_selatan_2024", "national_sample_2024"} <= names


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=[path.stem for path in SHIPPED_FILES])
def test_every_shipped_scenario_loads_and_starts_with_a_comment_citing_its_facts(
    path: Path,
) -> None:
    loaded = load_scenario(path)
    assert loaded.name == path.stem
    header = path.read_text(encoding="utf-8").split("\nname = ")[0]
    assert header.startswith(f"# {path.stem}:")
    assert "domain.md" in header


def test_smoke_is_a_few_dozen_tps_in_under_30_real_seconds_with_one_outage() -> None:
    loaded = load_scenario(SHIPPED / "smoke.toml")
    population = build_population(loaded)
    schedule = arrival_schedule(loaded, population)
    assert loaded.clock.real_duration < 30
    assert 20 <= len(population) <= 60
    assert len(schedule.in_run()) == len(population)  # everyone uploads inside the run
    assert [(fault.layer, fault.kind) for fault in loaded.timeline] == [("network", "down")]


def test_kuta_selatan_is_314_tps_in_six_desa_with_the_server_down_at_1430_wita() -> None:
    loaded = load_scenario(SHIPPED / "kuta_selatan_2024.toml")
    population = build_population(loaded)
    assert len(population) == 314
    assert {tps.desa for tps in population} == {
        "5103051004",
        "5103051005",
        "5103051006",
        "5103052001",
        "5103052002",
        "5103052003",
    }
    assert set(population.zones) == {"WITA"}
    assert population.name_of("510305") == "Kuta Selatan"
    assert 150 <= loaded.clock.real_duration <= 240  # a few minutes of real time
    down = loaded.timeline[0]
    assert (down.layer, down.kind) == ("network", "down")
    assert loaded.clock.local(down.start) == "2024-02-14 14:30 WITA"
    assert down.duration >= 2 * 3600


def test_the_national_sample_spans_three_zones_at_load_factor_one() -> None:
    loaded = load_scenario(SHIPPED / "national_sample_2024.toml")
    assert load_factor(loaded).factor == pytest.approx(1.0)
    throttle = loaded.timeline[0]
    assert loaded.clock.local(throttle.end) == "2024-02-14 18:30 WIB"
    assert len(loaded.timeline) >= 3  # unstable through the night
    population = build_population(loaded)
    assert set(population.zones) == {"WIB", "WITA", "WIT"}


def test_the_package_imports_none_of_the_parts_that_depend_on_it() -> None:
    """Import direction: harness, locustfiles and reports use scenarios, never the reverse."""
    code = (
        "import sys, scenarios, scenarios.validate; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'harness', 'locustfiles', 'reports', 'faults', 'mock_sirekap', 'locust'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
