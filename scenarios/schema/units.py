"""Text forms used in scenario files: durations, sizes, time zones and times of day.

- Durations: one or more ``<number><unit>`` with unit ``ms``, ``s``, ``m``, ``h`` or ``d``:
  ``90s``, ``15m``, ``2.8m``, ``1h30m``, ``250ms``, ``1d``. Which clock a duration is on (simulated
  or real) is a property of the field, documented there.
- Sizes: ``<number><unit>`` with unit ``B``, ``kB``, ``MB``, ``GB`` (powers of 1000) or ``KiB``,
  ``MiB``, ``GiB`` (powers of 1024): ``1.2MB``, ``300KiB``.
- Time zones: Indonesia's three, without daylight saving: WIB (UTC+7), WITA (UTC+8), WIT (UTC+9).
- Time specs: a time of day ``14:30`` (on the date of the scenario's start), ``+1d 06:00`` (days
  after that date), or an offset from the scenario start ``+2h``, ``+90m``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

Zone = Literal["WIB", "WITA", "WIT"]
ZONES: Final[tuple[Zone, ...]] = get_args(Zone)
# Indonesia's three zones have fixed offsets; Kuta Selatan is WITA, UTC+8 (KPU public results JSON).
ZONE_UTC_OFFSET_HOURS: Final[dict[Zone, int]] = {"WIB": 7, "WITA": 8, "WIT": 9}

DURATION_HELP: Final = "a duration like 90s, 15m, 2h, 1d (units ms, s, m, h, d; e.g. 1h30m, 2.8m)"
SIZE_HELP: Final = "a size like 1.2MB, 300kB, 2MiB (units B, kB, MB, GB, KiB, MiB, GiB)"
TIME_HELP: Final = "a time of day like 14:30 or +1d 06:00, or an offset from the start like +2h"
TIME_OF_DAY_HELP: Final = "a time of day like 14:30 or +1d 06:00"

_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SIZE_UNITS: Final = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)")
_TIME_OF_DAY = re.compile(r"(?:\+(\d+)d\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (see the module doc); raises ValueError naming the valid forms."""
    compact = text.strip()
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"must be {DURATION_HELP}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """A short human form: ``850ms``, ``42s``, ``2.8m``, ``3m 20s``, ``13h``, ``1d 2h``."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{value}{unit}" for value, unit in units if value]
    return " ".join(shown[:2])


def parse_size(text: str) -> int:
    """Bytes in ``text`` (see the module doc); raises ValueError naming the valid forms."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or match.group(2) not in _SIZE_UNITS:
        raise ValueError(f"must be {SIZE_HELP}")
    return round(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def format_size(size: float) -> str:
    """Decimal units, three significant digits: ``1.2 MB``, ``431 GB``."""
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size:.0f} B"


@dataclass(frozen=True)
class TimeSpec:
    """A point in simulated time as written in a scenario.

    Either an offset from the scenario start (``offset`` seconds, written ``+2h``) or a local time
    of day (``day`` days after the start date, ``second_of_day`` seconds after midnight, written
    ``14:30`` or ``+1d 06:00``) in a zone chosen where the spec is used.
    """

    text: str
    offset: float | None = None
    day: int = 0
    second_of_day: int = 0

    @property
    def is_offset(self) -> bool:
        return self.offset is not None

    def seconds_from(self, start: dt.datetime, start_zone: Zone, zone: Zone | None = None) -> float:
        """Simulated seconds from ``start`` (naive, local in ``start_zone``) to this point.

        A time of day is read in ``zone`` (default: ``start_zone``) on the start's calendar date
        plus ``day`` days; so ``13:00`` in WIT is 11:00 WIB on the same date.
        """
        if self.offset is not None:
            return self.offset
        midnight = dt.datetime.combine(start.date(), dt.time())
        local = midnight + dt.timedelta(days=self.day, seconds=self.second_of_day)
        zone_shift = ZONE_UTC_OFFSET_HOURS[zone or start_zone] - ZONE_UTC_OFFSET_HOURS[start_zone]
        return (local - start).total_seconds() - zone_shift * 3600.0

    def __str__(self) -> str:
        return self.text


def parse_time_spec(text: str, *, allow_offset: bool = True) -> TimeSpec:
    """Parse ``14:30``, ``+1d 06:00``, ``24:00`` or (if ``allow_offset``) ``+2h``."""
    stripped = text.strip()
    valid = f"must be {TIME_HELP if allow_offset else TIME_OF_DAY_HELP}"
    match = _TIME_OF_DAY.fullmatch(stripped)
    if match is not None:
        days, hours, minutes, secs = (int(group) if group else 0 for group in match.groups())
        if minutes > 59 or secs > 59 or hours > 24 or (hours == 24 and (minutes or secs)):
            raise ValueError(f"{valid} (hours 00-23, minutes 00-59; 24:00 is the next midnight)")
        return TimeSpec(stripped, day=days, second_of_day=hours * 3600 + minutes * 60 + secs)
    if allow_offset and stripped.startswith("+"):
        try:
            return TimeSpec(stripped, offset=parse_duration(stripped[1:]))
        except ValueError:
            pass
    raise ValueError(valid)


def time_of_day(value: dt.time) -> TimeSpec:
    """A TOML local time literal (``start = 14:30:00``) as a time of day on the start date."""
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return TimeSpec(value.strftime("%H:%M:%S" if value.second else "%H:%M"), second_of_day=seconds)


def format_local(start: dt.datetime, zone: Zone, seconds: float) -> str:
    """The local date and time ``seconds`` after ``start``: ``2024-02-14 14:30 WITA``."""
    moment = start + dt.timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%d %H:%M} {zone}"
