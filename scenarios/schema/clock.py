"""The ``[clock]`` section: when the simulated run starts, how long it lasts, how fast it runs.

``speedup`` maps the simulated clock to the real one: ``real seconds = simulated seconds /
speedup``. Schedule-level durations (arrivals, the fault timeline, think time, retry back-off) are
simulated; request-level durations (timeouts, service times) are real (scenarios/README.md,
"Text forms").
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from scenarios.schema.fields import LocalDateTime, PositiveDuration, Section
from scenarios.schema.units import TimeSpec, Zone, format_local


class Clock(Section):
    """``start`` (local, in ``zone``), ``duration`` (simulated) and ``speedup``."""

    start: LocalDateTime = Field(
        description='simulated start, local time in `zone`, e.g. "2024-02-14 13:00"'
    )
    zone: Zone = Field(description="the scenario's local time zone: WIB, WITA or WIT")
    duration: PositiveDuration = Field(description="length of the run (simulated clock)")
    speedup: float = Field(
        gt=0, allow_inf_nan=False, description="simulated seconds per real second"
    )

    @property
    def real_duration(self) -> float:
        """Length of the run in real seconds."""
        return self.duration / self.speedup

    def to_real(self, simulated_seconds: float) -> float:
        """Real seconds for a simulated span (or a simulated offset from the start)."""
        return simulated_seconds / self.speedup

    def to_simulated(self, real_seconds: float) -> float:
        """Simulated seconds for a real span."""
        return real_seconds * self.speedup

    def offset(self, spec: TimeSpec, zone: Zone | None = None) -> float:
        """Simulated seconds from the start to ``spec`` (a time of day read in ``zone``)."""
        return spec.seconds_from(self.start, self.zone, zone)

    def local(self, simulated_seconds: float) -> str:
        """The local date and time at a simulated offset: ``2024-02-14 14:30 WITA``."""
        return format_local(self.start, self.zone, simulated_seconds)

    @property
    def end(self) -> dt.datetime:
        """The simulated end, naive local time in ``zone``."""
        return self.start + dt.timedelta(seconds=self.duration)
