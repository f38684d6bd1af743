"""SLOs evaluated against a run, the verdict, and its exit code (README, "Running a scenario").

Every SLO ends in one of four states, and a verdict never claims more than was measured:

- **met** and **breached**: the run measured the SLO's metric;
- **not applicable**: the user removed what the SLO is about on purpose (a fault window dropped by
  ``--no-faults``): it counts neither way;
- **not measured**: the run could not measure it (no export to audit, no ledger, no requests of
  that endpoint, a window the run never reached). It is never a breach: a run with any such SLO and
  no breach is inconclusive (exit code 4) and says why.

The order of precedence: an infrastructure error (3), an ``abort_on_fail`` breach (1), figures
that cannot be trusted (4: the generator was saturated, the run ended early), breached SLOs (1),
SLOs not measured (4), every SLO met or not applicable (0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rundir import exits
from scenarios import Slo, format_duration

MET, BREACHED, NOT_MEASURED, NOT_APPLICABLE = "met", "breached", "not measured", "not applicable"
MARKS = {MET: "pass", BREACHED: "FAIL", NOT_MEASURED: "not measured", NOT_APPLICABLE: "n/a"}


@dataclass(frozen=True, slots=True)
class Unmeasured:
    """Why an SLO has no value; ``applicable`` False when it was removed on purpose."""

    reason: str
    applicable: bool = True


@dataclass(frozen=True, slots=True)
class SloResult:
    slo: Slo
    value: float | None  # None: not measured or not applicable (see status)
    status: str  # met | breached | not measured | not applicable
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == MET

    @property
    def breached(self) -> bool:
        return self.status == BREACHED

    @property
    def judged(self) -> bool:
        """Measured: met or breached."""
        return self.status in {MET, BREACHED}

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    @property
    def shown_value(self) -> str:
        if self.value is None:
            return self.status
        return show(self.slo, self.value)

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
            "status": self.status,
            "passed": self.passed if self.judged else None,
            "shown": self.shown_value,
            "note": self.note,
        }


def show(slo: Slo, value: float) -> str:
    return show_kind(slo.kind, value)


def show_kind(kind: str, value: float) -> str:
    """A value of a metric of ``kind`` (scenarios/schema/slo.py) as a person reads it."""
    if math.isinf(value):
        return "never" if kind == "duration" else "unbounded"
    if kind == "duration":
        return format_duration(value)
    if kind == "ratio":
        return f"{100 * value:.3g}%"
    if kind == "count":
        return f"{value:.0f}"
    return f"{value:.4g}"


Resolver = Callable[[Slo], "float | Unmeasured | None"]
NOTHING_TO_MEASURE = "the run gave nothing to measure this by"


def evaluate(slos: Sequence[Slo], resolve: Resolver) -> list[SloResult]:
    """Each SLO with its measured value, or why it has none (None: no reason known)."""
    results = []
    for slo in slos:
        value = resolve(slo)
        if value is None:
            value = Unmeasured(NOTHING_TO_MEASURE)
        if isinstance(value, Unmeasured):
            status = NOT_MEASURED if value.applicable else NOT_APPLICABLE
            results.append(SloResult(slo, None, status, value.reason))
        else:
            results.append(SloResult(slo, value, MET if slo.holds(value) else BREACHED))
    return results


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str  # passed | breached | inconclusive | error
    exit_code: int
    reason: str
    untrusted: bool = False  # the run itself failed or its figures cannot be trusted


def _listed(results: Sequence[SloResult], why: Callable[[SloResult], str]) -> str:
    return "; ".join(f"{r.slo.expression} ({why(r)})" for r in results)


def verdict(
    results: Sequence[SloResult],
    inconclusive: str | None,
    error: str | None = None,
    aborted: str | None = None,
) -> Verdict:
    """The run's verdict, in the order of precedence of the module's docstring."""
    if error:
        return Verdict("error", exits.INFRASTRUCTURE, error, untrusted=True)
    if aborted:
        return Verdict("breached", exits.BREACHED, aborted)
    if inconclusive:
        return Verdict("inconclusive", exits.INCONCLUSIVE, inconclusive, untrusted=True)
    breached = [r for r in results if r.status == BREACHED]
    unmeasured = [r for r in results if r.status == NOT_MEASURED]
    skipped = [r for r in results if r.status == NOT_APPLICABLE]
    judged = len(results) - len(skipped)
    if breached:
        reason = f"{len(breached)} of {judged} SLOs breached: " + _listed(
            breached, lambda r: f"was {r.shown_value}"
        )
        if unmeasured:
            reason += f"; {len(unmeasured)} not measured: " + _listed(unmeasured, _why)
        return Verdict("breached", exits.BREACHED, reason)
    if unmeasured:
        return Verdict(
            "inconclusive",
            exits.INCONCLUSIVE,
            f"{len(unmeasured)} of {judged} SLOs could not be measured: "
            + _listed(unmeasured, _why),
        )
    if not results:  # nothing was asked: an exploratory run, it claims nothing
        return Verdict("passed", exits.OK, "the scenario has no SLOs: nothing was judged")
    if not judged:  # SLOs were asked, none could be judged: a pass would claim what it never saw
        return Verdict(
            "inconclusive",
            exits.INCONCLUSIVE,
            "nothing to judge the run by: every SLO is not applicable",
        )
    reason = f"all {judged} SLOs met"
    if skipped:
        reason += f"; {len(skipped)} not applicable: " + _listed(skipped, _why)
    return Verdict("passed", exits.OK, reason)


def _why(result: SloResult) -> str:
    return result.note or NOTHING_TO_MEASURE
