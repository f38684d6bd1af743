"""Completion: TPS fully uploaded over simulated time, against their arrival and the manual recap.

The backlog at a moment counts the TPS forms ready (counting finished) that are neither
acknowledged nor given up by their devices; a form given up is never acknowledged and is counted
apart (``given_up_by``), so "backlog 0" never hides a TPS that is still missing. The manual
baseline (:mod:`reports.manual`) is the PPK plenaries' pace for the population the run stands for.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reports.manual import (
    MANUAL_RATES,
    MANUAL_TPS_PER_DAY_SMOOTH,
    MANUAL_TPS_PER_DAY_STALLED,
    ManualBaseline,
)

__all__ = ["MANUAL_TPS_PER_DAY_SMOOTH", "MANUAL_TPS_PER_DAY_STALLED", "Completion", "FormTimes"]
DAY_S = 86_400.0
MANUAL_BASELINES = MANUAL_RATES


@dataclass(frozen=True, slots=True)
class FormTimes:
    ready: float  # simulated seconds since the start at which the TPS could upload
    acked: float | None  # simulated seconds at which its result was acknowledged; None: never
    gave_up: float | None = None  # simulated seconds at which its devices gave up (abandoned)


@dataclass(frozen=True)
class Completion:
    duration: float  # simulated seconds of the run
    ready: tuple[float, ...]  # sorted ready times of the TPS ready within the run
    acked: tuple[float, ...]  # sorted acknowledgement times within the run
    kecamatan: int
    gave_up: tuple[float, ...] = ()  # sorted times at which unacknowledged forms were given up
    manual: ManualBaseline | None = None  # None: 20/day per kecamatan from the start (tests)

    @classmethod
    def of(
        cls,
        forms: Sequence[FormTimes],
        duration: float,
        kecamatan: int,
        manual: ManualBaseline | None = None,
    ) -> Completion:
        ready = sorted(f.ready for f in forms if f.ready <= duration)
        acked = sorted(
            f.acked
            for f in forms
            if f.ready <= duration and f.acked is not None and f.acked <= duration
        )
        gave_up = sorted(
            f.gave_up
            for f in forms
            if f.ready <= duration and f.acked is None and f.gave_up is not None
        )
        return cls(duration, tuple(ready), tuple(acked), max(1, kecamatan), tuple(gave_up), manual)

    def ready_by(self, t: float) -> int:
        return bisect.bisect_right(self.ready, t)

    def acked_by(self, t: float) -> int:
        return bisect.bisect_right(self.acked, t)

    def given_up_by(self, t: float) -> int:
        """Forms given up by ``t``: never acknowledged, their devices stopped trying."""
        return bisect.bisect_right(self.gave_up, t)

    def backlog(self, t: float) -> int:
        """Forms ready by ``t`` that are neither acknowledged nor given up by then."""
        return self.ready_by(t) - self.acked_by(t) - self.given_up_by(t)

    @cached_property
    def events(self) -> tuple[float, ...]:
        """Every moment a count changes (ready, acknowledged, given up), sorted, from 0."""
        return tuple(sorted({0.0, *self.ready, *self.acked, *self.gave_up}))

    def backlog_peak(self, start: float, end: float) -> int:
        """The largest backlog at any moment in [start, end): a peak inside a second counts."""
        low, high = bisect.bisect_right(self.events, start), bisect.bisect_left(self.events, end)
        return max(self.backlog(t) for t in (start, *self.events[low:high]))

    @property
    def unacknowledged(self) -> int:
        """Forms ready in the run and not acknowledged by its end (given up or still waiting)."""
        return len(self.ready) - len(self.acked)

    def by(self, t: float) -> float | None:
        """Share of the TPS ready in the run that were acknowledged by simulated time ``t``."""
        return self.acked_by(t) / len(self.ready) if self.ready else None

    @property
    def final(self) -> float | None:
        return self.by(self.duration)

    @property
    def tps_per_day(self) -> float:
        return len(self.acked) / (self.duration / DAY_S) if self.duration else 0.0

    def manual_by(self, t: float, per_day: float = MANUAL_TPS_PER_DAY_SMOOTH) -> float:
        """TPS a manual recap at ``per_day`` per kecamatan would have done by ``t``: never more
        than have finished counting by then."""
        if self.manual is None:
            done = per_day * self.kecamatan * t / DAY_S
        else:
            done = self.manual.by(t, per_day)
        return min(float(self.ready_by(t)), done)

    def manual_per_day(self, per_day: float) -> float:
        """The run's TPS a manual recap takes in per simulated day."""
        return per_day * self.kecamatan if self.manual is None else self.manual.rate(per_day)

    def steps(self, end: float) -> tuple[list[float], list[int], list[int]]:
        """Exact step functions: event times up to ``end`` with ready and acknowledged counts
        from each time on."""
        times = [t for t in self.events if t <= end]
        return times, [self.ready_by(t) for t in times], [self.acked_by(t) for t in times]

    def curve(self, points: int = 200) -> list[tuple[float, int, int]]:
        """(simulated time, ready by then, acknowledged by then) at evenly spaced times."""
        steps = max(2, points)
        return [
            (t, self.ready_by(t), self.acked_by(t))
            for t in (self.duration * i / (steps - 1) for i in range(steps))
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready_in_run": len(self.ready),
            "acknowledged": len(self.acked),
            "final": self.final,
            "tps_per_day": round(self.tps_per_day, 2),
            "unacknowledged": self.unacknowledged,
            "given_up": len(self.gave_up),
            "kecamatan": self.kecamatan,
            "manual_tps_per_day_smooth": round(self.manual_per_day(MANUAL_TPS_PER_DAY_SMOOTH), 2),
            "manual_tps_per_day_stalled": round(self.manual_per_day(MANUAL_TPS_PER_DAY_STALLED), 2),
            "manual_start_s": None if self.manual is None else self.manual.start_s,
            "manual_note": None if self.manual is None else self.manual.describe(),
            "median_ready_to_ack_s": self._median_delay(),
        }

    def _median_delay(self) -> float | None:
        # Pairs by rank: the k-th acknowledgement against the k-th arrival (a queue's view).
        delays = sorted(a - r for r, a in zip(self.ready, self.acked, strict=False))
        return round(delays[len(delays) // 2], 1) if delays else None
