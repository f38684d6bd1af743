"""Text forms: durations, sizes and time specs, and reading times of day across zones."""

from __future__ import annotations

import datetime as dt

import pytest

from scenarios.schema.units import (
    format_duration,
    format_size,
    parse_duration,
    parse_size,
    parse_time_spec,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        ("2.8m", 168),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("0s", 0),
    ],
)
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "90", "5x", "1h 30m", "-3s", "m", "1.s", "s90"])
def test_malformed_durations_name_the_valid_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"must be a duration like 90s, 15m, 2h, 1d"):
        parse_duration(text)


def test_durations_format_shortly() -> None:
    assert format_duration(0) == "0s"
    assert format_duration(0.25) == "250ms"
    assert format_duration(42) == "42s"
    assert format_duration(200) == "3m 20s"
    assert format_duration(13 * 3600) == "13h"
    assert format_duration(26 * 3600 + 60) == "1d 2h"


def test_sizes_parse_decimal_and_binary_units() -> None:
    assert parse_size("1.2MB") == 1_200_000
    assert parse_size("300kB") == 300_000
    assert parse_size("2MiB") == 2 * 1024 * 1024
    assert format_size(1_200_000) == "1.2 MB"
    with pytest.raises(ValueError, match=r"must be a size like 1\.2MB"):
        parse_size("12 parsecs")


def test_time_of_day_on_later_days_and_offsets() -> None:
    start = dt.datetime(2024, 2, 14, 13, 0)
    assert parse_time_spec("14:30").seconds_from(start, "WITA") == 5400
    assert parse_time_spec("+1d 02:00").seconds_from(start, "WITA") == 13 * 3600
    assert parse_time_spec("24:00").seconds_from(start, "WITA") == 11 * 3600
    assert parse_time_spec("+2h").seconds_from(start, "WITA") == 7200
    assert parse_time_spec("12:00").seconds_from(start, "WITA") == -3600


def test_a_time_of_day_in_another_zone_is_shifted_by_the_zone_offset() -> None:
    """13:00 WIT is 11:00 WIB: zero seconds after an 11:00 WIB start."""
    start = dt.datetime(2024, 2, 14, 11, 0)
    assert parse_time_spec("13:00").seconds_from(start, "WIB", "WIT") == 0
    assert parse_time_spec("13:00").seconds_from(start, "WIB", "WITA") == 3600


@pytest.mark.parametrize("text", ["25:00", "14:60", "24:30", "noon", "+1d14:30", "+2x"])
def test_malformed_time_specs_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="must be a time of day like 14:30"):
        parse_time_spec(text)


def test_offsets_are_refused_where_only_a_time_of_day_makes_sense() -> None:
    with pytest.raises(ValueError, match=r"must be a time of day like 14:30 or \+1d 06:00$"):
        parse_time_spec("+2h", allow_offset=False)
