"""The [hindcast] section: published moments, fitting on election day only, fitted values set."""

from __future__ import annotations

import pytest

from scenarios import PUBLISHED_2024, ScenarioError, load_scenario
from tests.scenarios.helpers import SHIPPED, scenario

ATTACK = """
[[faults]]
name = "attack"
layer = "server"
kind = "brownout"
start = "13:00"
end = "18:30"
params = { capacity_fraction = 0.25 }
"""
FIT = """
[hindcast]
fit_on = ["17:44", "19:00"]

[[hindcast.fit]]
field = "arrival.time_scale"
low = 0.5
high = 3.0
reason = "not published"
"""


def error_of(extra: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        scenario(extra)
    return str(caught.value)


def test_the_default_published_moments_are_2024s_and_the_fit_defaults_to_election_day() -> None:
    loaded = scenario("\n[hindcast]\n")
    assert loaded.hindcast is not None
    assert loaded.hindcast.published == PUBLISHED_2024
    assert loaded.hindcast.fit_on == ("17:44", "19:00", "20:03")
    # with nothing to fit, no moment counts as a fitted one: each is a prediction
    assert [used for _, _, used in loaded.hindcast.moments()] == [False] * len(PUBLISHED_2024)


def test_a_held_out_moment_cannot_be_fitted_on() -> None:
    text = error_of('\n[hindcast]\nfit_on = ["19:00", "+1d 12:00"]\n')
    assert "hindcast.fit_on[1]" in text
    assert "must be an election-day moment" in text and "held out of the fit" in text


def test_a_fit_moment_must_be_published() -> None:
    text = error_of('\n[hindcast]\nfit_on = ["18:00"]\n')
    assert "hindcast.fit_on[0]" in text and "must be a moment of hindcast.published" in text
    assert "17:44" in text  # the valid moments are listed


def test_published_moments_must_rise_in_time_and_be_shares() -> None:
    later = error_of('\n[hindcast]\npublished = [["19:00", 0.1], ["18:00", 0.2]]\nfit_on = []\n')
    assert "must be later than the previous moment '19:00'" in later
    share = error_of('\n[hindcast]\npublished = [["19:00", 7.3]]\nfit_on = []\n')
    assert "must be a share in [0, 1]" in share


def capacity_knob(window: str) -> str:
    """A [[hindcast.fit]] of ``window``'s capacity_fraction over [0.1, 0.5]."""
    return (
        f'\n[[hindcast.fit]]\nfield = "faults.{window}.capacity_fraction"\nlow = 0.1\n'
        'high = 0.5\nreason = "a range"\n'
    )


def test_fitted_values_replace_the_fields_they_name() -> None:
    extra = (
        ATTACK
        + FIT
        + capacity_knob("attack")
        + """
[hindcast.fitted]
"arrival.time_scale" = 1.5
"faults.attack.capacity_fraction" = 0.3
"""
    )
    loaded = scenario(extra)
    assert loaded.arrival.time_scale == 1.5
    assert loaded.timeline[0].params["capacity_fraction"] == 0.3


def test_a_fitted_value_outside_its_range_or_not_fitted_is_refused() -> None:
    outside = error_of(FIT + '\n[hindcast.fitted]\n"arrival.time_scale" = 4.0\n')
    assert "must be within the fit's range [0.5, 3]" in outside
    unknown = error_of(
        ATTACK + FIT + '\n[hindcast.fitted]\n"faults.attack.capacity_fraction" = 0.3\n'
    )
    assert "is not a field of [[hindcast.fit]]: arrival.time_scale" in unknown


def test_a_fit_field_must_name_a_window_and_a_numeric_param() -> None:
    extra = (
        ATTACK
        + """
[hindcast]
[[hindcast.fit]]
field = "faults.outage.capacity_fraction"
low = 0.1
high = 0.5
reason = "a range"
"""
    )
    text = error_of(extra)
    assert "hindcast.fit[0].field" in text and "windows: attack" in text
    bad = error_of(
        ATTACK
        + '\n[hindcast]\n[[hindcast.fit]]\nfield = "clock.speedup"\nlow = 1\nhigh = 2\n'
        + 'reason = "x"\n'
    )
    assert 'must be "arrival.time_scale" or "faults.<window name>.<param>"' in bad


def test_a_hindcast_slo_must_name_a_published_moment() -> None:
    text = error_of("\n[hindcast]\n\n[slo]\nchecks = [\"hindcast.residual('21:00') < 5\"]\n")
    assert "names no published moment of [hindcast]" in text and "+1d 12:00" in text


def test_the_shipped_hindcast_fits_on_election_day_and_says_where_each_parameter_comes_from() -> (
    None
):
    loaded = load_scenario(SHIPPED / "hindcast_2024.toml")
    spec = loaded.hindcast
    assert spec is not None and spec.fit_on == ("17:44", "19:00", "20:03")
    assert {p.basis for p in spec.parameters} == {"published", "estimate", "fitted"}
    assert all(p.source for p in spec.parameters)
    assert [knob.field for knob in spec.fit] == ["arrival.time_scale"]
    # the run reaches past noon on 17 Feb, the last held-out moment it must compare
    assert loaded.clock.local(loaded.clock.duration) >= "2024-02-17 12:00"


KNOB = '[[hindcast.fit]]\nfield = "arrival.time_scale"\nlow = {low}\nhigh = {high}\nreason = "x"\n'


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('\n[hindcast]\ncounterfactual_deadline = "banana"\n',
         "hindcast.counterfactual_deadline: got 'banana'; must be a time of day"),
        ('\n[hindcast]\ncounterfactual_deadline = "+1d 12:00"\n',
         "must be a time of day on election day in WIB"),
        ('\n[hindcast]\ncounterfactual_share = "banana"\n',
         "hindcast.counterfactual_share: got 'banana'; share 'banana' is not a number"),
        ('\n[hindcast]\nelection = "pdpr"\n',
         "hindcast.election: got 'pdpr'; must be a form the devices upload (client.elections"),
        ('\n[hindcast]\npublished = [["17:44", 0.5], ["19:00", 0.06]]\nfit_on = []\n',
         "hindcast.published[1][1]: got 0.06; must be >= the previous share 0.5"),
        ('\n[hindcast]\nfit_on = ["17:44", "17:44"]\n' + KNOB.format(low=0.5, high=2),
         "hindcast.fit_on: got ['17:44', '17:44']; must name each moment once"),
        ("\n[hindcast]\n" + KNOB.format(low=0.5, high="inf"),
         "hindcast.fit[0]: got [0.5, inf]; low and high must be finite numbers"),
        ("\n[hindcast]\n" + KNOB.format(low=0.5, high=20),
         "must lie within arrival.time_scale's own range (0, 10]"),
        ("\n[hindcast]\n" + KNOB.format(low=2, high=1), "low must be below high"),
        ('\n[hindcast]\npublished = [["10:00", 0.01], ["19:00", 0.07]]\nfit_on = ["10:00"]\n'
         + KNOB.format(low=0.5, high=2),
         "hindcast.fit_on[0]: got '10:00'; lies outside the run"),
        ('\n[hindcast]\n\n[slo]\nchecks = ["hindcast.share(\'+13d 12:00\') > 0.5"]\n',
         "names a moment outside the run"),
        ('\n[slo]\nchecks = ["hindcast.max_residual_held_out <= 5"]\n',
         "slo.checks[0]: got 'hindcast.max_residual_held_out <= 5'; needs a [hindcast] section"),
    ],
)  # fmt: skip
def test_a_bad_hindcast_is_one_line_naming_the_field_and_what_is_valid(
    extra: str, expected: str
) -> None:
    assert expected in error_of(extra)


def test_a_window_whose_name_holds_dots_can_be_fitted() -> None:
    extra = (
        ATTACK.replace('name = "attack"', 'name = "attack.1"')
        + "\n[hindcast]\n"
        + capacity_knob("attack.1")
        + """
[hindcast.fitted]
"faults.attack.1.capacity_fraction" = 0.2
"""
    )
    assert scenario(extra).timeline[0].params["capacity_fraction"] == 0.2
