"""Field types shared by the scenario sections, and the section base model.

Every section is a frozen, strict pydantic model that forbids unknown keys. The custom types below
parse the text forms of :mod:`scenarios.schema.units` and raise
:class:`~scenarios.schema.errors.FieldError` with the valid forms; each serialises back to text the
loader accepts, so a dumped scenario (``model_dump(mode="json")``) can be read again.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from scenarios.schema.errors import FieldError, Shown
from scenarios.schema.units import (
    DURATION_HELP,
    SIZE_HELP,
    TIME_HELP,
    TIME_OF_DAY_HELP,
    TimeSpec,
    format_duration,
    parse_duration,
    parse_size,
    parse_time_spec,
    time_of_day,
)


class Section(BaseModel):
    """Base of every scenario section: frozen, strict types, unknown keys are errors."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def _duration(value: object) -> float:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise FieldError(str(exc)) from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise FieldError(f"must be {DURATION_HELP}; a bare number has no unit")
    raise FieldError(f"must be {DURATION_HELP}")


def _positive_duration(value: object) -> float:
    seconds = _duration(value)
    if seconds <= 0:
        raise FieldError(f"must be {DURATION_HELP}, greater than 0")
    return seconds


def _size(value: object) -> int:
    if isinstance(value, str):
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise FieldError(str(exc)) from None
        if size <= 0:
            raise FieldError(f"must be a size > 0, {SIZE_HELP}")
        return size
    raise FieldError(f"must be {SIZE_HELP}")


def _time_spec(value: object, *, allow_offset: bool) -> TimeSpec:
    if isinstance(value, TimeSpec):
        return value
    if isinstance(value, dt.time) and value.tzinfo is None:
        return time_of_day(value)
    if isinstance(value, str):
        try:
            return parse_time_spec(value, allow_offset=allow_offset)
        except ValueError as exc:
            raise FieldError(str(exc)) from None
    raise FieldError(f"must be {TIME_HELP if allow_offset else TIME_OF_DAY_HELP} (a string)")


def to_when(value: object) -> TimeSpec:
    return _time_spec(value, allow_offset=True)


def to_time_of_day(value: object) -> TimeSpec:
    return _time_spec(value, allow_offset=False)


_DATETIME_HELP = 'a local date and time like "2024-02-14 13:00" (the zone is clock.zone)'


def _local_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise FieldError(f"must be {_DATETIME_HELP}, without a UTC offset")
        return value
    if isinstance(value, str):
        for layout in (
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
        ):
            try:
                return dt.datetime.strptime(value.strip(), layout)
            except ValueError:
                continue
    raise FieldError(f"must be {_DATETIME_HELP}")


Duration = Annotated[float, BeforeValidator(_duration), PlainSerializer(_seconds_text, str)]
"""Seconds, written as a duration (>= 0). The field's description names its clock."""

PositiveDuration = Annotated[
    float, BeforeValidator(_positive_duration), PlainSerializer(_seconds_text, str)
]
"""Seconds, written as a duration (> 0). The field's description names its clock."""

Size = Annotated[int, BeforeValidator(_size), PlainSerializer(lambda size: f"{size}B", str)]
"""Bytes, written as a size (> 0)."""

When = Annotated[TimeSpec, BeforeValidator(to_when), PlainSerializer(str, str)]
"""A time of day in the scenario's zone, or an offset from the start (simulated clock)."""

"""A time of day, read in a zone chosen where it is used (simulated clock)."""

LocalDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_local_datetime),
    PlainSerializer(lambda moment: f"{moment:%Y-%m-%d %H:%M:%S}", str),
]
"""A naive local date and time; the zone is given next to it."""


def type_help(field_metadata: list[object]) -> str:
    """What a field of one of the types above accepts, from its validator (or "")."""
    helps = {
        _duration: DURATION_HELP,
        _positive_duration: f"{DURATION_HELP}, greater than 0",
        _size: SIZE_HELP,
        to_when: TIME_HELP,
        to_time_of_day: TIME_OF_DAY_HELP,
        _local_datetime: _DATETIME_HELP,
        _duration_range: f'{DURATION_HELP}, or a range ["min", "max"]',
    }
    for item in field_metadata:
        if isinstance(item, BeforeValidator) and item.func in helps:
            return helps[item.func]
    return ""


def _duration_range(value: object) -> tuple[float, float]:
    if isinstance(value, str):
        seconds = _duration(value)
        return (seconds, seconds)
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = _duration(value[0]), _duration(value[1])
        if low > high:
            raise FieldError("must be [min, max] with min <= max")
        return (low, high)
    raise FieldError(f'must be {DURATION_HELP}, or a range ["min", "max"] of two durations')


DurationRange = Annotated[
    tuple[float, float],
    BeforeValidator(_duration_range),
    PlainSerializer(lambda pair: [_seconds_text(pair[0]), _seconds_text(pair[1])], list[str]),
]
"""A uniform range [low, high] of seconds, written ``"30s"`` (fixed) or ``["1h", "6h"]``."""


def require_p95_above_median(median: float, p95: float) -> None:
    """The check every log-normal (median, p95) pair needs; FieldError on ``p95``."""
    if p95 < median:
        raise FieldError(
            f"must be >= median ({format_duration(median)})",
            given=Shown(format_duration(p95)),
            path=("p95",),
        )
