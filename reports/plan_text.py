"""The capacity plan's findings in words, shared by its report.html and summary.md: the knee,
the answers to the scenario's deadlines, the recommended count and the comparison with 2024."""

from __future__ import annotations

from dataclasses import dataclass

from reports.plan import OBSERVED_2024, Plan


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _count(value: int | None) -> str:
    return "none can" if value is None else str(value)


def recommended_text(plan: Plan) -> str:
    count = plan.recommended
    return "none (see the notes)" if count is None else f"{count} instance(s)"


def knee_text(plan: Plan) -> str:
    knee = plan.knee
    if knee.median_rps is None:
        return f"no knee: no stage passed below the first failing one ({len(knee.sweeps)} sweeps)"
    spread = "-" if knee.spread is None else f"{100 * knee.spread:.0f}%"
    bound = "; a lower bound: a sweep never failed" if knee.lower_bound else ""
    return (
        f"{knee.median_rps:.4g} req/s per instance, median of {len(knee.sweeps)} sweep(s) "
        f"(low {knee.low_rps:.4g}, high {knee.high_rps:.4g}, spread {spread}){bound}"
    )


def answer_texts(plan: Plan) -> list[str]:
    return [
        f"instances needed for {a.deadline.share:.0%} of the TPS ready by {a.deadline.text} "
        f"local: {_count(a.instances)}; with the fault timeline: {_count(a.instances_with_faults)}"
        for a in plan.answers
    ]


@dataclass(frozen=True)
class Compared:
    """A WIB moment: 2024's observed share of all TPS (None: not observed) and the plan's."""

    moment: str
    seconds: float  # simulated, from the scenario start
    observed: float | None
    plan: float


def comparison_2024(plan: Plan) -> list[Compared]:
    """2024's observed national shares, and D0 24:00 WIB, against the plan's share of all TPS
    in at the recommended count (fault timeline included)."""
    sizing, total = plan.recommended_sizing, plan.workload.total_tps
    if sizing is None or total <= 0 or len(plan.observed_2024) != len(OBSERVED_2024):
        return []
    moments: list[tuple[str, float, float | None]] = [
        (_d_day(text) + " WIB", t, share)
        for (text, _), (t, share) in zip(OBSERVED_2024, plan.observed_2024, strict=True)
    ]
    moments.append(("D0 24:00 WIB", plan.wib_midnight_s, None))
    return [
        Compared(moment, t, share, sizing.taken_in_by(t) / total)
        for moment, t, share in sorted(moments, key=lambda m: m[1])
    ]


def _d_day(text: str) -> str:
    """``+1d 12:00`` as ``D1 12:00``, ``20:03`` as ``D0 20:03``."""
    if text.startswith("+") and "d " in text:
        days, clock = text[1:].split("d ", 1)
        return f"D{days} {clock}"
    return f"D0 {text}"
