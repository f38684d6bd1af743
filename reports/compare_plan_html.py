"""``compare.html`` of two plans: the verdict, both sweeps' load curves on shared axes, the table.

Two charts over the offered load, the base's stages in grey and the new plan's in blue (filled
when a stage passed, hollow when it failed or the generator could not offer it), each
plan's knee as a vertical line with its sweeps' range shaded: goodput, and the uploads' p95.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt

from reports import charts
from reports.compare import Comparison
from reports.compare_html import COLOURS, page, png
from reports.compare_plan import PlanSide
from reports.knee import Stage


def _chart(
    comparison: Comparison[PlanSide], title: str, ylabel: str,
    value: Callable[[Stage], float | None],
) -> str:  # fmt: skip
    figure, axes = plt.subplots(figsize=charts.SIZE, layout="constrained")
    for side, chosen in (("base", comparison.base), ("new", comparison.new)):
        colour = COLOURS[side]
        for index, plan in enumerate(chosen.plans):
            stages = sorted(plan.stages, key=lambda s: s.offered_rps)
            points = [(s, v) for s in stages if (v := value(s)) is not None]
            label = f"{side}: {plan.path.name}" if index == 0 else None
            axes.scatter(
                [s.offered_rps for s, _ in points], [v for _, v in points], s=30,
                marker="s" if side == "base" else "o",
                facecolors=[colour if s.passed else "none" for s, _ in points],
                edgecolors=colour, label=label, zorder=3,
            )  # fmt: skip
            knee = plan.knee
            if knee.low_rps is not None and knee.high_rps is not None:
                axes.axvspan(
                    knee.low_rps, knee.high_rps, color=colour, alpha=0.12,
                    label=f"{side}: its sweeps' knees" if index == 0 else None,
                )  # fmt: skip
            if knee.median_rps is not None:
                bound = " (lower bound)" if knee.lower_bound else ""
                axes.axvline(
                    knee.median_rps, color=colour, linewidth=1.5,
                    linestyle="--" if side == "base" else "-",
                    label=f"{side} knee {knee.median_rps:.4g} req/s{bound}" if index == 0 else None,
                )  # fmt: skip
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.set_xlabel("offered load (req/s, open arrivals)")
    axes.set_ylabel(ylabel)
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8, framealpha=0.85)
    return png(figure)


def render_plans(comparison: Comparison[PlanSide]) -> str:
    """The whole page of two plans (or folders of plans)."""
    images = []
    if not comparison.unfair:
        images = [
            ("Goodput against offered load", _chart(
                comparison, "Goodput against offered load (hollow: a failing stage)",
                "goodput (req/s)", lambda s: s.goodput_rps,
            )),
            ("Uploads' p95 per stage", _chart(
                comparison, "Uploads' p95 latency per stage", "seconds", lambda s: s.p95_s,
            )),
        ]  # fmt: skip
    return page(comparison, "Both plans' sweeps on shared axes", images)
