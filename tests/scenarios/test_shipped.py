"""The scenarios shipped in scenarios/*.toml load, validate and say what they claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import ELECTIONS, arrival_schedule, build_population, load_factor, load_scenario
from tests.scenarios.helpers import REPO, SHIPPED

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
    assert "scenarios/FACTS.md" in header  # every fact has its public source there


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


def test_kuta_selatan_misreads_a_quarter_of_its_forms_and_leaves_the_plenary_to_its_sequel() -> (
    None
):
    loaded = load_scenario(SHIPPED / "kuta_selatan_2024.toml")
    assert loaded.quality.misread_fraction == 0.242 and loaded.quality.elections == ("ppwp",)
    assert loaded.plenary.enabled is False


def test_kuta_selatan_plenary_replays_14_to_18_feb_with_the_stalled_plenary() -> None:
    """NusaBali, 16 Feb 2024: plenary stalled 16 Feb (server down), suspended 18 Feb at noon."""
    night = load_scenario(SHIPPED / "kuta_selatan_2024.toml")
    loaded = load_scenario(SHIPPED / "kuta_selatan_plenary_2024.toml")
    clock = loaded.clock
    assert clock.local(0) == "2024-02-14 13:00 WITA"
    assert clock.local(clock.duration).startswith("2024-02-18")
    assert clock.real_duration <= 210  # fits in about 3.5 minutes with the harness around it
    assert len(build_population(loaded)) == 314
    assert loaded.population == night.population and loaded.quality == night.quality
    plenary = loaded.plenary
    assert plenary.enabled and plenary.tps_per_day == 20
    assert clock.local(clock.offset(plenary.start)) == "2024-02-16 08:00 WITA"
    # The modelled server scales with the speed-up, so it behaves as on election night.
    ratio = clock.speedup / night.clock.speedup
    assert night.target.mock is not None and loaded.target.mock is not None
    assert loaded.target.mock.workers == pytest.approx(night.target.mock.workers * ratio, rel=0.05)
    faults = {fault.name: fault for fault in loaded.timeline}
    assert clock.local(faults["recap stalled"].start) == "2024-02-16 08:00 WITA"
    gate = faults["plenary suspended"]
    assert (gate.layer, gate.kind) == ("server", "plenary_gate")
    assert clock.local(gate.start) == "2024-02-18 12:00 WITA" and gate.end == clock.duration


def test_the_national_sample_spans_three_zones_at_load_factor_one() -> None:
    loaded = load_scenario(SHIPPED / "national_sample_2024.toml")
    assert load_factor(loaded).factor == pytest.approx(1.0)
    throttle = loaded.timeline[0]
    assert loaded.clock.local(throttle.end) == "2024-02-14 18:30 WIB"
    assert len(loaded.timeline) >= 3  # unstable through the night
    population = build_population(loaded)
    assert set(population.zones) == {"WIB", "WITA", "WIT"}


def test_the_national_five_forms_night_is_the_national_sample_with_every_form() -> None:
    five = load_scenario(SHIPPED / "national_five_forms_2024.toml")
    sample = load_scenario(SHIPPED / "national_sample_2024.toml")
    assert five.client.elections == ELECTIONS  # presidential and the four legislative forms
    assert load_factor(five).factor == pytest.approx(1.0)
    assert five.timeline == sample.timeline and five.slo == sample.slo
    assert five.population == sample.population and five.clock == sample.clock
    pages = sum(five.population.forms.pages(election) for election in ELECTIONS)
    assert pages == 63  # about 63 page photos per TPS


def test_the_package_imports_none_of_the_parts_that_depend_on_it() -> None:
    """Import direction: harness, locustfiles and reports use scenarios, never the reverse."""
    code = (
        "import sys, scenarios; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'harness', 'locustfiles', 'reports', 'faults', 'mock_sirekap', 'locust'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
