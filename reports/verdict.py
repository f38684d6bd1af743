"""SLOs evaluated against a run, the verdict, and its exit code (DESIGN.md "Exit codes")."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scenarios.slo import Slo
from scenarios.units import format_duration

EXIT_OK = 0
EXIT_BREACHED = 1
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3
EXIT_INCONCLUSIVE = 4


@dataclass(frozen=True, slots=True)
class SloResult:
    slo: Slo
    value: float | None  # None: the run gave nothing to measure it by
    passed: bool
    note: str = ""

    @property
    def shown_value(self) -> str:
        return "not measured" if self.value is None else show(self.slo, self.value)

    @property
    def shown_threshold(self) -> str:
        return f"{self.slo.op} {show(self.slo, self.slo.threshold)}"

    def as_dict(self) -> dict[str, Any]:
        finite = self.value is not None and math.isfinite(self.value)
        return {
            "expression": self.slo.expression,
            "metric": self.slo.key,
            "value": self.value if finite else None,  # "never": see shown
            "threshold": self.slo.threshold,
            "op": self.slo.op,
            "kind": self.slo.kind,
            "passed": self.passed,
            "shown": self.shown_value,
            "note": self.note,
        }


def show(slo: Slo, value: float) -> str:
    if math.isinf(value):
        return "never" if slo.kind == "duration" else "unbounded"
    if slo.kind == "duration":
        return format_duration(value)
    if slo.kind == "ratio":
        return f"{100 * value:.3g}%"
    if slo.kind == "count":
        return f"{value:.0f}"
    return f"{value:.4g}"


Resolver = Callable[[Slo], "float | None"]


def evaluate(slos: Sequence[Slo], resolve: Resolver) -> list[SloResult]:
    """Each SLO with its measured value; an SLO that could not be measured does not pass."""
    results = []
    for slo in slos:
        value = resolve(slo)
        if value is None:
            results.append(SloResult(slo, None, False, "the run gave nothing to measure this by"))
        else:
            results.append(SloResult(slo, value, slo.holds(value)))
    return results


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str  # passed | breached | inconclusive | error
    exit_code: int
    reason: str


def verdict(
    results: Sequence[SloResult],
    inconclusive: str | None,
    error: str | None = None,
    aborted: str | None = None,
) -> Verdict:
    """Infrastructure errors first, then an abort on a breached SLO, then inconclusive (the
    figures cannot be trusted), then the SLOs."""
    if error:
        return Verdict("error", EXIT_INFRASTRUCTURE, error)
    if aborted:
        return Verdict("breached", EXIT_BREACHED, aborted)
    if inconclusive:
        return Verdict("inconclusive", EXIT_INCONCLUSIVE, inconclusive)
    failed = [result for result in results if not result.passed]
    if failed:
        listed = "; ".join(f"{r.slo.expression} (was {r.shown_value})" for r in failed)
        return Verdict(
            "breached", EXIT_BREACHED, f"{len(failed)} of {len(results)} SLOs breached: {listed}"
        )
    return Verdict("passed", EXIT_OK, f"all {len(results)} SLOs met")
