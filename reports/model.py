"""Everything the analysis found in one run, ready to render (summary, HTML, JUnit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.completion import Completion
from reports.instances import InstanceFigures
from reports.integrity import IntegrityReport
from reports.plenary_figures import PlenaryReport, QualityReport
from reports.recovery import Recovery
from reports.unacked import Unacked
from reports.verdict import SloResult, Verdict

if TYPE_CHECKING:  # reports.hindcast uses plan's model, which imports the analysis
    from reports.hindcast import Hindcast


@dataclass(frozen=True)
class EndpointStats:
    endpoint: str
    requests: int
    ok: int
    failed: int
    p50: float | None  # real seconds
    p95: float | None
    p99: float | None
    max: float | None

    @property
    def success_ratio(self) -> float | None:
        return self.ok / self.requests if self.requests else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.failed,
            "success_ratio": self.success_ratio,
            "p50_s": self.p50,
            "p95_s": self.p95,
            "p99_s": self.p99,
            "max_s": self.max,
        }


@dataclass(frozen=True)
class RunFacts:
    """Who, what and when: for the report header."""

    scenario: str
    description: str
    run_id: str
    status: str  # completed | interrupted | failed
    started: str  # UTC ISO
    ended: str
    clock_start_local: str  # "2024-02-14 13:00 WITA"
    speedup: float
    duration_sim_s: float
    duration_real_s: float
    load_factor: float
    load_factor_note: str
    target: str
    toxiproxy: str
    versions: dict[str, str] = field(default_factory=dict)
    planned_sim_s: float | None = None  # the scenario's duration (duration_sim_s: covered)
    covered: str = ""  # the time covered in words: "4h simulated in 20s real" or "ended early ..."


@dataclass(frozen=True)
class Analysis:
    run: RunFacts
    verdict: Verdict
    slos: list[SloResult]
    endpoints: list[EndpointStats]
    failures: dict[str, int]  # by kind over the whole run
    integrity: IntegrityReport | None
    recovery: list[Recovery]
    completion: Completion | None
    slip_p99_s: float | None
    notes: list[str] = field(default_factory=list)  # what could not be analysed, and why
    charts: dict[str, Path] = field(default_factory=dict)  # title -> PNG
    plenary: PlenaryReport | None = None
    quality: QualityReport | None = None
    unacked: list[Unacked] = field(default_factory=list)  # forms never acknowledged
    instances: list[InstanceFigures] = field(default_factory=list)  # a deployment's instances
    hindcast: Hindcast | None = None  # a [hindcast] scenario's replay against the record
    hindcast_chart: Path | None = None
