"""Completion: TPS fully uploaded over simulated time, against their arrival and the manual recap.

The seed incident gives the manual baseline: "if it runs smoothly we could take 20 TPS in a day"
per kecamatan; only 2 TPS were done the day Sirekap was down (domain.md, NusaBali 16 Feb 2024).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DAY_S = 86_400.0
# domain.md, the seed: 20 TPS per day per kecamatan when the manual recap runs smoothly, 2 when not.
MANUAL_TPS_PER_DAY_SMOOTH = 20.0
MANUAL_TPS_PER_DAY_STALLED = 2.0
MANUAL_BASELINES = {
    "20 TPS/day per kecamatan (smooth)": MANUAL_TPS_PER_DAY_SMOOTH,
    "2 TPS/day (the day Sirekap was down)": MANUAL_TPS_PER_DAY_STALLED,
}


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

    @classmethod
    def of(cls, forms: Sequence[FormTimes], duration: float, kecamatan: int) -> Completion:
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
        return cls(duration, tuple(ready), tuple(acked), max(1, kecamatan), tuple(gave_up))

    def ready_by(self, t: float) -> int:
        return bisect.bisect_right(self.ready, t)

    def acked_by(self, t: float) -> int:
        return bisect.bisect_right(self.acked, t)

    def backlog(self, t: float) -> int:
        """Forms ready by ``t`` that are neither acknowledged nor given up by then."""
        given_up = bisect.bisect_right(self.gave_up, t)
        return self.ready_by(t) - self.acked_by(t) - given_up

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
        """TPS a manual recap at ``per_day`` per kecamatan would have done by ``t``."""
        return min(float(len(self.ready)), per_day * self.kecamatan * t / DAY_S)

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
            "kecamatan": self.kecamatan,
            "manual_tps_per_day_smooth": MANUAL_TPS_PER_DAY_SMOOTH * self.kecamatan,
            "manual_tps_per_day_stalled": MANUAL_TPS_PER_DAY_STALLED * self.kecamatan,
            "median_ready_to_ack_s": self._median_delay(),
        }

    def _median_delay(self) -> float | None:
        # Pairs by rank: the k-th acknowledgement against the k-th arrival (a queue's view).
        delays = sorted(a - r for r, a in zip(self.ready, self.acked, strict=False))
        return round(delays[len(delays) // 2], 1) if delays else None
