"""Abort-on-fail: SLOs marked ``abort_on_fail`` are watched during the run, on live figures.

Only what the live figures (the generator's ``progress.json``) decide beyond doubt is watched:
a count that can only grow (requests, failures, abandoned forms) once it passes an upper bound.
A ratio is not settled before the end (a run that is bad during an outage may recover to meet it),
so ratios and every other SLO marked ``abort_on_fail`` are checked at the end, like the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.analyse import SCOPES
from rundir import exits
from rundir.exits import Inconclusive, LoadtestError
from scenarios import Slo

GROWING = {"failures", "requests", "abandoned"}


@dataclass(frozen=True)
class Breach:
    slo: Slo
    value: float

    def __str__(self) -> str:
        return f"aborted: {self.slo.expression} was breached during the run (value {self.value:g})"


def watchable(slo: Slo) -> bool:
    """A growing count with an upper bound: once passed, it stays passed."""
    if slo.op not in {"<", "<=", "=="}:
        return False
    if slo.scope in SCOPES:
        return slo.metric in GROWING
    return slo.scope == "load" and slo.metric == "abandoned"


def live_value(slo: Slo, progress: Mapping[str, Any]) -> float:
    """The count from live figures (0 before any)."""
    if slo.scope == "load":
        return float(progress.get("abandoned", 0))
    endpoints = progress.get("endpoints") or {}
    count = sum(int(endpoints.get(name, {}).get("count", 0)) for name in SCOPES[slo.scope])
    ok = sum(int(endpoints.get(name, {}).get("ok", 0)) for name in SCOPES[slo.scope])
    return float(count if slo.metric == "requests" else count - ok)


class AbortWatch:
    def __init__(self, slos: Sequence[Slo]) -> None:
        marked = [slo for slo in slos if slo.abort_on_fail]
        self.watched = [slo for slo in marked if watchable(slo)]
        self.at_end_only = [slo for slo in marked if not watchable(slo)]

    def check(self, progress: Mapping[str, Any]) -> Breach | None:
        for slo in self.watched:
            value = live_value(slo, progress)
            if not slo.holds(value):
                return Breach(slo, value)
        return None


class AbortRun(LoadtestError):
    """An SLO marked abort_on_fail was breached beyond doubt during the run."""

    exit_code = exits.BREACHED


class EndedEarly(Inconclusive):
    """Locust ended before the scenario's end without being asked to: the run is inconclusive."""
