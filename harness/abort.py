"""Abort-on-fail: SLOs marked ``abort_on_fail`` are watched during the run, on live figures.

Only what the live figures (the generator's ``progress.json``) can decide is watched, and only
once it is decided beyond doubt: a count that can only grow (failures, abandoned forms) as soon
as it passes an upper bound; a ratio once a fifth of the run has passed and at least
``MIN_REQUESTS`` requests were made. Other SLOs marked ``abort_on_fail`` are checked at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.analyse import SCOPES
from scenarios.slo import Slo

MIN_REQUESTS = 100
MIN_ELAPSED_FRACTION = 0.2
GROWING = {"failures", "requests", "abandoned"}
RATIOS = {"success_ratio", "error_ratio"}


@dataclass(frozen=True)
class Breach:
    slo: Slo
    value: float

    def __str__(self) -> str:
        return f"aborted: {self.slo.expression} was breached during the run (value {self.value:g})"


def watchable(slo: Slo) -> bool:
    if slo.scope in SCOPES:
        return slo.metric in GROWING | RATIOS
    return slo.scope == "load" and slo.metric == "abandoned"


def live_value(slo: Slo, progress: Mapping[str, Any]) -> tuple[float, int] | None:
    """(value, requests behind it) from live figures, or None when they do not tell."""
    if slo.scope == "load":
        return float(progress.get("abandoned", 0)), 0
    endpoints = progress.get("endpoints") or {}
    count = sum(int(endpoints.get(name, {}).get("count", 0)) for name in SCOPES[slo.scope])
    ok = sum(int(endpoints.get(name, {}).get("ok", 0)) for name in SCOPES[slo.scope])
    if slo.metric == "requests":
        return float(count), count
    if slo.metric == "failures":
        return float(count - ok), count
    if not count:
        return None
    ratio = ok / count
    return (ratio if slo.metric == "success_ratio" else 1 - ratio), count


class AbortWatch:
    def __init__(self, slos: Sequence[Slo]) -> None:
        marked = [slo for slo in slos if slo.abort_on_fail]
        self.watched = [slo for slo in marked if watchable(slo)]
        self.at_end_only = [slo for slo in marked if not watchable(slo)]

    def check(self, progress: Mapping[str, Any], elapsed_fraction: float) -> Breach | None:
        for slo in self.watched:
            found = live_value(slo, progress)
            if found is None:
                continue
            value, requests = found
            if slo.holds(value):
                continue
            if slo.metric in GROWING:
                # Only an upper bound is decided early: the count can only grow.
                if slo.op in {"<", "<=", "=="}:
                    return Breach(slo, value)
            elif elapsed_fraction >= MIN_ELAPSED_FRACTION and requests >= MIN_REQUESTS:
                return Breach(slo, value)
        return None
