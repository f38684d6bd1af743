"""The ``[plenary]`` section: PPK operators reconciling manual totals with Sirekap, TPS by TPS.

After election day each kecamatan's PPK holds a plenary: an operator goes through the TPS of the
kecamatan, enters the manual (hand-counted) totals, and Sirekap compares them with the uploaded
result; a TPS whose numbers match is closed ("gaveled"), a difference holds it up until the KPPS
sends a corrected upload (in 2024 the PPK plenary had to go through Sirekap; in Kuta Selatan
differences between the manual totals and Sirekap held the plenary up: NusaBali, 16 Feb 2024).

All durations here are on the simulated clock. ``start``, ``working_hours`` and ``breaks`` are read
in each kecamatan's own zone. Without a ``[plenary]`` section there are no operators; a written
section is enabled unless it says ``enabled = false``.
"""

from __future__ import annotations

import math
from typing import Annotated, Final

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator, model_validator

from scenarios.schema.clock import Clock
from scenarios.schema.errors import FieldError, raise_if_any
from scenarios.schema.fields import DurationRange, PositiveDuration, Section, When, to_time_of_day
from scenarios.schema.population import Election
from scenarios.schema.quality import unique_elections
from scenarios.schema.units import TimeSpec, Zone, parse_time_spec

_RANGE_HELP = 'a pair of times of day on one day like ["08:00", "16:00"] (24:00 is midnight)'
DAY = 86400


def _time_of_day_seconds(value: object, path: tuple[str | int, ...]) -> int:
    try:
        spec = to_time_of_day(value)
    except FieldError as error:
        raise FieldError(error.valid, given=value, path=path) from None
    if spec.day != 0:
        raise FieldError(f"must be {_RANGE_HELP}, without +Nd", given=value, path=path)
    return spec.second_of_day


def _day_range(value: object) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise FieldError(f"must be {_RANGE_HELP}")
    start = _time_of_day_seconds(value[0], (0,))
    end = _time_of_day_seconds(value[1], (1,))
    if end <= start:
        raise FieldError(f"must end after it starts: {_RANGE_HELP}", given=value[1], path=(1,))
    return (start, end)


def _clock_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


DayRange = Annotated[
    tuple[int, int],
    BeforeValidator(_day_range),
    PlainSerializer(lambda pair: [_clock_text(pair[0]), _clock_text(pair[1])], list[str]),
]
"""Seconds after midnight [start, end), written ``["08:00", "16:00"]``."""

# est.: an office day of the PPK secretariat.
WORKING_HOURS: Final = (8 * 3600, 16 * 3600)
# est.: one lunch break.
BREAKS: Final = ((12 * 3600, 13 * 3600),)
# "If it runs smoothly we could take 20 TPS in a day" (PPK Kuta Selatan; NusaBali, 16 Feb 2024):
# 7 working hours (08:00-16:00 less the break) over 20 TPS is 21 minutes per TPS.
MINUTES_PER_TPS: Final = 21.0


class PlenarySpec(Section):
    """PPK operators and their pace; see the module doc."""

    enabled: bool = True
    elections: Annotated[tuple[Election, ...], Field(strict=False, min_length=1)] = ("ppwp",)
    operators_per_kecamatan: int = Field(default=1, ge=1, le=50)
    # est.: the morning after election day, once the counting at the TPS is over.
    start: When = Field(
        default=parse_time_spec("+1d 09:00"),
        description="simulated clock: time of day in each kecamatan's zone, or +offset",
    )
    minutes_per_tps: float = Field(
        default=MINUTES_PER_TPS, gt=0, le=1440, description="simulated minutes of work per TPS"
    )
    working_hours: DayRange = Field(default=WORKING_HOURS, description="local time of day")
    breaks: Annotated[tuple[DayRange, ...], Field(strict=False)] = BREAKS
    # est.: the operator looks again an hour later.
    missing_recheck: PositiveDuration = Field(
        default=3600.0, description="simulated clock: wait before re-checking a missing upload"
    )
    # est.: the KPPS is reached, re-reads its C.Hasil and uploads a correction within hours.
    correction_delay: DurationRange = Field(
        default=(3600.0, 14400.0),
        description="simulated clock: from a discrepancy to the KPPS's corrected upload",
    )

    @field_validator("elections")
    @classmethod
    def _unique(cls, value: tuple[Election, ...]) -> tuple[Election, ...]:
        return unique_elections(value)

    @model_validator(mode="after")
    def _breaks_inside_hours(self) -> PlenarySpec:
        low, high = self.working_hours
        shown = f"{_clock_text(low)}-{_clock_text(high)}"
        errors = []
        for index, (start, end) in enumerate(self.breaks):
            given = [_clock_text(start), _clock_text(end)]
            if start < low or end > high:
                errors.append(
                    FieldError(f"must lie inside working_hours ({shown})", given=given,
                               path=("breaks", index))
                )  # fmt: skip
            elif any(a < end and start < b for a, b in self.breaks[:index]):
                errors.append(
                    FieldError("must not overlap an earlier break", given=given,
                               path=("breaks", index))
                )  # fmt: skip
        if sum(end - start for start, end in self.breaks) >= high - low and not errors:
            errors.append(
                FieldError(
                    f"must leave working time inside working_hours ({shown}); shorten the breaks",
                    given=[[_clock_text(a), _clock_text(b)] for a, b in self.breaks],
                    path=("breaks",),
                )
            )
        raise_if_any(errors)
        return self

    @property
    def working_seconds_per_day(self) -> float:
        low, high = self.working_hours
        return (high - low) - sum(end - start for start, end in self.breaks)

    @property
    def tps_per_day(self) -> float:
        """TPS one operator closes in a smooth working day."""
        return self.working_seconds_per_day / (self.minutes_per_tps * 60)

    def segments(self) -> tuple[tuple[int, int], ...]:
        """Working time of one day, seconds after midnight, breaks taken out."""
        result = []
        cursor, high = self.working_hours
        for start, end in sorted(self.breaks):
            if start > cursor:
                result.append((cursor, start))
            cursor = max(cursor, end)
        if high > cursor:
            result.append((cursor, high))
        return tuple(result)

    def periods(self, clock: Clock, zone: Zone) -> tuple[tuple[float, float], ...]:
        """Working periods from ``start`` to the run's end, simulated seconds from the start."""
        begin = max(0.0, clock.offset(self.start, zone))
        first = clock.offset(TimeSpec("00:00", day=0, second_of_day=0), zone)
        days = math.ceil((clock.duration - first) / DAY) + 1
        result = []
        for day in range(-1, days + 1):
            midnight = first + day * DAY
            for low, high in self.segments():
                start, end = max(begin, midnight + low), min(clock.duration, midnight + high)
                if end > start:
                    result.append((start, end))
        return tuple(result)


NO_PLENARY = PlenarySpec(enabled=False)
"""The scenario's default when it has no ``[plenary]`` section."""
