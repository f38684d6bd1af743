"""The kecamatan plenary and the data quality of the uploads, from the run directory alone.

Plenary (``plenary.jsonl``, one line per TPS form a PPK operator dealt with): TPS gaveled per
working day per kecamatan, against the seed's "20 TPS a day if it runs smoothly" and the 2 of the
day Sirekap was down (NusaBali, 16 Feb 2024); time from counting to gavel; discrepancies by cause;
waits for missing uploads and refusals (the plenary gate). A working day is a local calendar day on
which the plenary made at least one request.

Quality (the ledger's ``misread`` objects, one per form whose first upload carried digit
misreads): how many were injected, caught by the server's arithmetic check (a 422, the officer
sent the truth), caught at the plenary (a discrepancy, then a corrected revision), and how many
got through: stored, never corrected, so Sirekap's latest numbers for that TPS are still wrong.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from reports.completion import MANUAL_TPS_PER_DAY_SMOOTH, MANUAL_TPS_PER_DAY_STALLED

DAY: Final = 86_400.0


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class PlenaryReport:
    kecamatan: int
    tps_forms: int  # TPS forms in the plenary's kecamatan (for its elections)
    forms: int  # TPS forms the plenary dealt with
    gaveled: int  # the operators saw "matched"
    server_closed: (
        int | None
    )  # closed per the target's export (also by a correction); None: no export
    open: int  # not gaveled when the run ended
    working_days: int
    tps_per_day: float | None  # gaveled per working day per kecamatan
    per_day: dict[str, int]  # local date -> TPS gaveled that day (all kecamatan)
    gavel_time_p50_s: float | None  # simulated: counting finished -> gaveled
    gavel_time_p90_s: float | None
    gavel_time_max_s: float | None
    discrepancies: int  # forms with at least one discrepancy
    causes: dict[str, int]  # cause -> forms
    fields: dict[str, int]  # differing field -> forms
    waited_for_upload: int  # forms found without their upload at least once
    refused: int  # plenary requests refused (503: the plenary gate, or overload)
    corrections: dict[str, int]  # KPPS corrections by outcome
    baseline_smooth: float = MANUAL_TPS_PER_DAY_SMOOTH
    baseline_stalled: float = MANUAL_TPS_PER_DAY_STALLED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    injected: int
    consistent: int  # misreads whose numbers still add up (no arithmetic check can see them)
    caught_arithmetic: int
    caught_plenary: int
    undetected: int  # stored and never corrected: Sirekap's latest numbers are wrong
    never_stored: int  # not caught, but never acknowledged either (the form did not get in)
    examples: list[str] = field(default_factory=list)  # TPS codes that got through

    @property
    def detection_ratio(self) -> float | None:
        caught = self.caught_arithmetic + self.caught_plenary
        return caught / self.injected if self.injected else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "detection_ratio": self.detection_ratio}


def plenary_report(
    lines: Sequence[dict[str, Any]],
    ledger: Sequence[dict[str, Any]],
    local_date: Callable[[float, str], str],
    *,
    tps_forms: int | None = None,
    exported: Sequence[dict[str, Any]] | None = None,
) -> PlenaryReport | None:
    """The plenary's figures; None when the run had no plenary. ``local_date`` maps a simulated
    second and a kecamatan code to the local calendar date there; ``tps_forms`` is how many TPS
    forms the plenary had to close (default: those it dealt with); ``exported`` the target's
    export lines of kind "plenary" (None: no export)."""
    if not lines:
        return None
    ready: dict[tuple[str, str], float] = {}
    for line in ledger:
        key = (line["tps_code"], line["election"])
        ready[key] = min(ready.get(key, math.inf), float(line["ready_s"]))
    per_day: Counter[str] = Counter()
    working: set[str] = set()
    times, causes, fields, corrections = [], Counter[str](), Counter[str](), Counter[str]()
    discrepancies = waited = refused = 0
    for line in lines:
        attempts = line.get("attempts") or []
        kecamatan_code = str(line["kecamatan_code"])
        working.update(local_date(float(a["at_s"]), kecamatan_code) for a in attempts)
        refused += sum(1 for a in attempts if a.get("outcome") == "refused")  # logins too
        outcomes = [a.get("outcome") for a in attempts if a.get("step", "plenary") == "plenary"]
        waited += "missing_upload" in outcomes
        if "discrepancy" in outcomes:
            discrepancies += 1
            causes.update(set(line.get("discrepancy_causes") or ["unknown"]))
            fields.update({d["field"] for a in attempts for d in (a.get("differences") or [])})
        corrections.update(c.get("outcome", "unknown") for c in line.get("corrections") or [])
        gaveled = line.get("gaveled_s")
        if gaveled is not None:
            per_day[local_date(float(gaveled), kecamatan_code)] += 1
            counted = ready.get((line["tps_code"], line["election"]))
            if counted is not None and math.isfinite(counted):
                times.append(float(gaveled) - counted)
    kecamatan = len({line["kecamatan_code"] for line in lines})
    gaveled_total = sum(per_day.values())
    days = len(working)
    total = max(tps_forms or 0, len(lines))
    closed = None
    if exported is not None:
        closed = sum(1 for row in exported if row.get("status") == "closed")
    return PlenaryReport(
        kecamatan=kecamatan,
        tps_forms=total,
        forms=len(lines),
        gaveled=gaveled_total,
        server_closed=closed,
        open=total - gaveled_total,
        working_days=days,
        tps_per_day=gaveled_total / (days * kecamatan) if days and kecamatan else None,
        per_day=dict(sorted(per_day.items())),
        gavel_time_p50_s=_quantile(times, 0.5),
        gavel_time_p90_s=_quantile(times, 0.9),
        gavel_time_max_s=max(times, default=None),
        discrepancies=discrepancies,
        causes=dict(causes.most_common()),
        fields=dict(fields.most_common(10)),
        waited_for_upload=waited,
        refused=refused,
        corrections=dict(sorted(corrections.items())),
    )


def read_exported_plenary(path: Path) -> list[dict[str, Any]]:
    """The export's lines of kind "plenary" (the target's own view of each TPS's closing)."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if '"plenary"' in line:
                row = json.loads(line)
                if row.get("kind") == "plenary":
                    rows.append(row)
    return rows


def quality_report(ledger: Sequence[dict[str, Any]]) -> QualityReport | None:
    """Misread scoring per TPS form (all zero when none was injected); None without a ledger."""
    forms: dict[tuple[str, str], dict[str, Any]] = {}
    for line in ledger:
        misread = line.get("misread")
        if misread:
            forms.setdefault((line["tps_code"], line["election"]), misread)
    if not ledger:
        return None
    caught = Counter(m.get("caught_by") for m in forms.values())
    through = sorted(
        f"{code} {election}"
        for (code, election), m in forms.items()
        if m.get("caught_by") is None and m.get("stored")
    )
    never = sum(1 for m in forms.values() if m.get("caught_by") is None and not m.get("stored"))
    return QualityReport(
        injected=len(forms),
        consistent=sum(1 for m in forms.values() if m.get("consistent")),
        caught_arithmetic=caught["arithmetic"],
        caught_plenary=caught["plenary"],
        undetected=len(through),
        never_stored=never,
        examples=through[:10],
    )


PLENARY_METRICS: Final = {
    "tps_per_day": "tps_per_day",
    "gaveled": "gaveled",
    "open": "open",
    "discrepancies": "discrepancies",
    "gavel_time_p50": "gavel_time_p50_s",
    "gavel_time_p90": "gavel_time_p90_s",
    "gavel_time_max": "gavel_time_max_s",
    "refused": "refused",
}
QUALITY_METRICS: Final = {
    "misreads_injected": "injected",
    "misreads_caught_arithmetic": "caught_arithmetic",
    "misreads_caught_plenary": "caught_plenary",
    "misreads_undetected": "undetected",
    "detection_ratio": "detection_ratio",
}


def plenary_value(report: PlenaryReport | None, metric: str) -> float | None:
    if report is None:
        return None
    value = getattr(report, PLENARY_METRICS[metric])
    return None if value is None else float(value)


def quality_value(report: QualityReport | None, metric: str) -> float | None:
    if report is None:
        return None
    value = getattr(report, QUALITY_METRICS[metric])
    return None if value is None else float(value)
