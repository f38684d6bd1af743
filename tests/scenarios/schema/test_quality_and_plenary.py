"""The [quality] and [plenary] sections: defaults, errors, working periods, the summary lines."""

from __future__ import annotations

import pytest

from scenarios import ScenarioError, arrival_schedule, build_population, summarize
from scenarios.schema.plenary import PlenarySpec
from tests.scenarios.helpers import MINIMAL, scenario

# Four simulated days from election day: room for a plenary the next mornings.
DAYS = MINIMAL.replace('duration = "13h"', 'duration = "4d"')


def errors_of(extra: str, base: str = DAYS) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        scenario(extra, base=base)
    return [str(issue) for issue in caught.value.issues]


def test_without_the_sections_nothing_is_misread_and_there_is_no_plenary() -> None:
    loaded = scenario()
    assert loaded.quality.misread_fraction == 0 and not loaded.quality.active
    assert loaded.plenary.enabled is False


def test_written_sections_take_2024s_figures_and_estimates() -> None:
    loaded = scenario("\n[quality]\n\n[plenary]\n", base=DAYS)
    quality, plenary = loaded.quality, loaded.plenary
    assert quality.misread_fraction == 0.242  # 154,541 of 638,497 TPS corrected by 27 Feb
    assert quality.consistent_fraction == 0.67  # est.: 1 - 8% / 24.2%
    assert quality.elections == ("ppwp",)
    assert quality.officer_fix == (300.0, 1800.0)
    assert plenary.enabled and plenary.elections == ("ppwp",)
    assert plenary.operators_per_kecamatan == 1
    assert plenary.start.text == "+1d 09:00"
    assert plenary.working_hours == (8 * 3600, 16 * 3600)
    assert plenary.breaks == ((12 * 3600, 13 * 3600),)
    assert plenary.minutes_per_tps == 21
    assert plenary.tps_per_day == pytest.approx(20.0)  # "20 TPS in a day" if smooth
    assert (plenary.missing_recheck, plenary.correction_delay) == (3600.0, (3600.0, 14400.0))


def test_a_written_plenary_can_be_switched_off_and_then_is_not_checked() -> None:
    loaded = scenario('\n[plenary]\nenabled = false\nstart = "+9d 09:00"\n')
    assert loaded.plenary.enabled is False


def test_working_periods_are_working_hours_less_breaks_from_the_start_to_the_end() -> None:
    loaded = scenario('\n[plenary]\nstart = "+1d 10:30"\n', base=DAYS)
    periods = loaded.plenary.periods(loaded.clock, "WITA")
    day = 86400.0
    first = day - 13 * 3600  # 15 Feb 00:00 is 11 h after the 14 Feb 13:00 start
    assert periods[:3] == (
        (first + 10.5 * 3600, first + 12 * 3600),
        (first + 13 * 3600, first + 16 * 3600),
        (first + day + 8 * 3600, first + day + 12 * 3600),
    )
    assert all(end <= loaded.clock.duration for _, end in periods)
    # Read in a kecamatan's own zone: WIT is an hour ahead of WITA.
    assert loaded.plenary.periods(loaded.clock, "WIT")[0][0] == periods[0][0] - 3600


def test_the_summary_says_what_is_misread_and_how_the_plenary_works() -> None:
    loaded = scenario(
        '\n[quality]\nmisread_fraction = 0.5\n\n[plenary]\nstart = "+1d 08:00"\n', base=DAYS
    )
    population = build_population(loaded)
    text = summarize(loaded, population, arrival_schedule(loaded, population))
    quality = next(line for line in text.splitlines() if line.startswith("quality"))
    plenary = next(line for line in text.splitlines() if line.startswith("plenary"))
    assert "50.0% of ppwp forms misread on the first upload, 67% of them still adding up" in quality
    assert "for the plenary to catch" in quality and "officer fix 5m..30m" in quality
    assert plenary.startswith(
        "plenary     1 PPK operator(s) per kecamatan, 1 in all, for 20 TPS x ppwp, from "
        "2024-02-15 08:00 WITA: 21 min/TPS, 08:00-16:00 less 1 break = 20 TPS/day each"
    )
    plain = summarize(scenario(), population, arrival_schedule(scenario(), population))
    assert "quality     no misreads" in plain and "plenary     none" in plain


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[quality]\nmisread_fraction = 1.5",
         "mini.toml: quality.misread_fraction: got 1.5; must be a number >= 0 and <= 1"),
        ("[quality]\nconsistent_fraction = -0.1",
         "mini.toml: quality.consistent_fraction: got -0.1; must be a number >= 0 and <= 1"),
        ('[quality]\nelections = ["pdpr"]',
         "mini.toml: quality.elections[0]: got 'pdpr'; must be a form the devices upload "
         "(client.elections: ppwp)"),
        ('[quality]\nelections = ["ppwp", "ppwp"]',
         "mini.toml: quality.elections[1]: got 'ppwp'; duplicate election"),
        ('[quality]\nofficer_fix = ["30m", "5m"]',
         "mini.toml: quality.officer_fix: got ['30m', '5m']; must be [min, max] with min <= max"),
        ("[quality]\nmisreads = 0.1",
         "mini.toml: quality.misreads: unknown key; valid keys here: misread_fraction, "
         "elections, consistent_fraction, officer_fix"),
        ('[plenary]\nworking_hours = ["16:00", "08:00"]',
         "mini.toml: plenary.working_hours[1]: got '08:00'; must end after it starts: a pair "
         'of times of day on one day like ["08:00", "16:00"] (24:00 is midnight)'),
        ('[plenary]\nworking_hours = ["08:00", "+1d 02:00"]',
         "mini.toml: plenary.working_hours[1]: got '+1d 02:00'; must be a pair of times of day "
         'on one day like ["08:00", "16:00"] (24:00 is midnight), without +Nd'),
        ('[plenary]\nbreaks = [["07:00", "09:00"]]',
         "mini.toml: plenary.breaks[0]: got ['07:00', '09:00']; must lie inside working_hours "
         "(08:00-16:00)"),
        ('[plenary]\nbreaks = [["12:00", "13:00"], ["12:30", "13:30"]]',
         "mini.toml: plenary.breaks[1]: got ['12:30', '13:30']; must not overlap an earlier "
         "break"),
        ('[plenary]\nbreaks = [["08:00", "16:00"]]',
         "mini.toml: plenary.breaks: got [['08:00', '16:00']]; must leave working time inside "
         "working_hours (08:00-16:00); shorten the breaks"),
        ('[plenary]\nstart = "+5d 09:00"',
         "mini.toml: plenary.start: got '+5d 09:00'; starts 2024-02-19 09:00 WITA, outside the "
         "run (2024-02-14 13:00 WITA to 2024-02-18 13:00 WITA); must lie inside the run"),
        ("[plenary]\nminutes_per_tps = 0",
         "mini.toml: plenary.minutes_per_tps: got 0; must be a number > 0 and <= 1440"),
        ("[plenary]\noperators_per_kecamatan = 0",
         "mini.toml: plenary.operators_per_kecamatan: got 0; must be an integer >= 1 and <= 50"),
        ('[plenary]\nmissing_recheck = "0s"',
         "mini.toml: plenary.missing_recheck: got '0s'; must be a duration like 90s, 15m, 2h, "
         "1d (units ms, s, m, h, d; e.g. 1h30m, 2.8m), greater than 0"),
        ('[plenary]\nelections = ["pdpd"]',
         "mini.toml: plenary.elections[0]: got 'pdpd'; must be a form the devices upload "
         "(client.elections: ppwp)"),
        ("[plenary]\nenabled = 1", "mini.toml: plenary.enabled: got 1; must be true or false"),
    ],
)  # fmt: skip
def test_each_mistake_in_the_sections_gets_one_precise_line(extra: str, expected: str) -> None:
    assert errors_of("\n" + extra + "\n") == [expected]


def test_a_plenary_with_no_working_time_left_in_the_run_is_an_error() -> None:
    """The 13-hour run ends at 02:00: starting at 20:00 leaves no office hours."""
    assert errors_of('\n[plenary]\nstart = "20:00"\n', base=MINIMAL) == [
        "mini.toml: plenary.working_hours: got ['08:00', '16:00']; must leave working time "
        "between plenary.start (2024-02-14 20:00 WITA) and the run's end (2024-02-15 02:00 "
        "WITA); start earlier or run longer"
    ]


def test_the_plenary_default_start_is_outside_a_single_night() -> None:
    """A [plenary] in a 13-hour election-night run must say when it starts."""
    (line,) = errors_of("\n[plenary]\n", base=MINIMAL)
    assert line.startswith("mini.toml: plenary.start: got '+1d 09:00'; starts 2024-02-15 09:00")


def test_working_hours_up_to_midnight_and_toml_times_are_accepted() -> None:
    loaded = scenario(
        '\n[plenary]\nstart = "14:00"\nworking_hours = [00:00:00, "24:00"]\nbreaks = []\n',
        base=DAYS,
    )
    assert loaded.plenary.working_hours == (0, 86400)
    assert loaded.plenary.segments() == ((0, 86400),)
    dumped = loaded.plenary.model_dump(mode="json")
    assert dumped["working_hours"] == ["00:00", "24:00"]
    assert PlenarySpec.model_validate(dumped) == loaded.plenary
