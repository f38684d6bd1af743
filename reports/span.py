"""The time a run actually covered, on both clocks, against the time its scenario planned.

A run can end before its scenario's duration (every form had its outcome, Ctrl-C, a generator
failure): the report must say what was covered, not what was planned. The covered real time is
the load generator's own end (``load_summary.json`` "run"), else ``run.json``'s end against its
clock start, else the end of the timeline's last second; simulated time is real x speedup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reports.inputs import RunInputs
from scenarios import format_duration

# locustfiles.conductor's end reason when the last form's outcome ended the run
FINISHED = "every form has its outcome"
# A run that covers all but this share of its planned simulated time is not called early.
EARLY_TOLERANCE = 0.005


@dataclass(frozen=True)
class RunSpan:
    real_s: float  # real seconds covered from the clock start
    sim_s: float  # simulated seconds covered
    planned_sim_s: float
    planned_real_s: float
    end_reason: str | None = None  # the generator's words, when it said why it ended
    chart_end_s: float = 0.0  # simulated end of every time chart (covers the last timeline second)

    @property
    def short(self) -> bool:
        return self.sim_s < self.planned_sim_s * (1 - EARLY_TOLERANCE)

    @property
    def done_early(self) -> bool:
        """Shorter because every form had its outcome: the run is whole, not cut short."""
        return self.short and (self.end_reason or "").startswith(FINISHED)

    @property
    def ended_early(self) -> bool:
        return self.short and not self.done_early

    def headline(self, speedup: float) -> str:
        """``4h simulated in 20s real`` or ``ended early after 12m of 4h simulated ...``."""
        real, sim = format_duration(self.real_s), format_duration(self.sim_s)
        if self.done_early:
            return (
                f"{sim} simulated in {real} real (speedup {speedup:g}): every form had its "
                f"outcome before the scenario's {format_duration(self.planned_sim_s)}"
            )
        if not self.ended_early:
            return f"{sim} simulated in {real} real (speedup {speedup:g})"
        why = f": {self.end_reason}" if self.end_reason else ""
        return (
            f"ended early after {sim} of {format_duration(self.planned_sim_s)} simulated "
            f"({real} of {format_duration(self.planned_real_s)} real, speedup {speedup:g}){why}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "real_s": round(self.real_s, 3),
            "sim_s": round(self.sim_s, 3),
            "planned_real_s": self.planned_real_s,
            "planned_sim_s": self.planned_sim_s,
            "ended_early": self.ended_early,
            "end_reason": self.end_reason,
        }


def _utc(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _timeline_end(inputs: RunInputs) -> float | None:
    """Real seconds from the clock start to the end of the timeline's last second."""
    seconds = [float(line["second"]) for line in inputs.timeline if "second" in line]
    return max(seconds) + 1 if seconds else None


def run_span(inputs: RunInputs) -> RunSpan:
    clock = inputs.scenario.clock
    run = (inputs.load_summary or {}).get("run") or {}
    timeline = _timeline_end(inputs)
    real: float | None = None
    if run.get("real_s") is not None:
        real = float(run["real_s"])
    else:
        ended = _utc(inputs.record.get("ended_utc"))
        start = (inputs.record.get("clock") or {}).get("start")
        if ended is not None and start is not None:
            real = max(0.0, ended - float(start))
    if real is None:
        real = timeline or 0.0
    sim = float(run["sim_s"]) if run.get("sim_s") is not None else real * inputs.speedup
    reason = run.get("end_reason") or (
        "the run was interrupted" if inputs.record.get("status") == "interrupted" else None
    )
    chart_end = max(sim, (timeline or 0.0) * inputs.speedup)
    return RunSpan(
        real, sim, clock.duration, clock.real_duration, reason, chart_end or clock.duration
    )
