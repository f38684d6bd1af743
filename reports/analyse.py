"""From a run's inputs to its analysis: endpoint figures, recovery, completion, integrity, SLOs.

Latency percentiles are over successful requests (a refused connection has no service latency
worth the name), merged exactly from the per-second histograms of every generator process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from reports.completion import Completion, FormTimes
from reports.inputs import RunInputs
from reports.integrity import Ack, IntegrityReport, acked_numbers, audit, audit_reads
from reports.manual import manual_baseline
from reports.model import EndpointStats
from reports.plenary_figures import (
    PlenaryReport,
    QualityReport,
    plenary_report,
    plenary_value,
    quality_report,
    quality_value,
)
from reports.recovery import Recovery, Second, analyse, detect_outages
from reports.span import RunSpan, run_span
from reports.unacked import Unacked, unacknowledged
from rundir import endpoints
from rundir.histogram import Histogram
from scenarios import ZONE_UTC_OFFSET_HOURS, Fault, Scenario, Slo, parse_time_spec, zone_of

if TYPE_CHECKING:  # reports.hindcast uses plan's model, whose knee uses this module
    from reports.hindcast import Hindcast

ENDPOINTS = endpoints.DEVICE
SCOPES: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in ENDPOINTS},
    "upload": endpoints.UPLOAD,
    "all": ENDPOINTS,
}
# Ledger reasons of devices stopped by the run's end or lost with their process (not given up).
CUT_OFF = ("run ended", "lost:", "not started")
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}


@dataclass
class ScopeFigures:
    requests: int = 0
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=Histogram)  # successful requests, ms


@dataclass
class Facts:
    """Everything measured, keyed for the SLO resolver and the charts."""

    scopes: dict[str, ScopeFigures]
    seconds: list[Second]
    per_second: list[dict[str, Any]]  # one entry per real second: t, sim, ok, failed, ...
    recovery: list[Recovery]
    completion: Completion | None
    integrity: IntegrityReport | None
    slip_p99: float | None
    abandoned: int
    real_duration: float
    notes: list[str]
    faults: list[Fault] = field(default_factory=list)  # the windows actually applied
    plenary: PlenaryReport | None = None
    quality: QualityReport | None = None
    span: RunSpan | None = None  # the time the run covered, on both clocks
    unacked: list[Unacked] = field(default_factory=list)  # forms never acknowledged
    hindcast: Hindcast | None = None  # a [hindcast] scenario's: reports.measurable.measured


def _requests(inputs: RunInputs) -> Iterable[dict[str, Any]]:
    return (line for line in inputs.timeline if line.get("kind") == "requests")


def scope_figures(inputs: RunInputs) -> dict[str, ScopeFigures]:
    return figures_of(_requests(inputs))


def figures_of(lines: Iterable[dict[str, Any]]) -> dict[str, ScopeFigures]:
    """Figures per endpoint and per scope from timeline "requests" lines."""
    by_endpoint = {name: ScopeFigures() for name in ENDPOINTS}
    for line in lines:
        figures = by_endpoint.setdefault(line["endpoint"], ScopeFigures())
        figures.requests += line["count"]
        figures.ok += line["ok"]
        figures.failures.update(line.get("failures", {}))
        figures.latency.merge(Histogram.from_json(line["latency_ok"]))
    scopes = dict(by_endpoint)
    for scope, members in SCOPES.items():
        if len(members) > 1:
            merged = ScopeFigures()
            for member in members:
                part = by_endpoint[member]
                merged.requests += part.requests
                merged.ok += part.ok
                merged.failures.update(part.failures)
                merged.latency.merge(part.latency)
            scopes[scope] = merged
    return scopes


def endpoint_stats(scopes: dict[str, ScopeFigures]) -> list[EndpointStats]:
    def seconds(h: Histogram, q: float) -> float | None:
        value = h.quantile(q)
        return None if value is None else value / 1000

    return [
        EndpointStats(
            name,
            f.requests,
            f.ok,
            f.requests - f.ok,
            seconds(f.latency, 0.5),
            seconds(f.latency, 0.95),
            seconds(f.latency, 0.99),
            None if not f.latency.count else f.latency.max / 1000,
        )
        for name, f in scopes.items()
        if f.requests and (name in ENDPOINTS or name not in SCOPES)  # the plenary's too
    ]


def form_times(ledger: Sequence[dict[str, Any]]) -> list[FormTimes]:
    """One entry per TPS form: ready when its first device could start, done at the first ack;
    given up when its last device gave up (abandoned or rejected) without an acknowledgement.
    A device cut off by the run's end ("run ended during ...") or lost with its generator
    process did not give up: its form stays in the backlog."""
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in ledger:
        forms.setdefault((line["tps_code"], line["election"]), []).append(line)
    found = []
    for lines in forms.values():
        ready = min(float(line["ready_s"]) for line in lines)
        acks = [float(line["acked_s"]) for line in lines if line.get("acked_s") is not None]
        ends = [
            float(line["ended_s"])
            for line in lines
            if line.get("final_outcome") in {"abandoned", "rejected"}
            and line.get("ended_s")
            and not str(line.get("reason") or "").startswith(CUT_OFF)
        ]
        gave_up = max(ends) if len(ends) == len(lines) else None
        found.append(FormTimes(ready, min(acks) if acks else None, gave_up))
    return found


def _empty_row(sim: float) -> dict[str, Any]:
    return {"ok": 0, "failed": 0, "failures": Counter(), "latency": {}, "sim": sim}


def per_second(inputs: RunInputs, completion: Completion | None) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for line in _requests(inputs):
        if line["endpoint"] not in ENDPOINTS:
            continue  # the plenary's own requests (409 while an upload is missing) are not load
        row = rows.setdefault(line["second"], _empty_row(line["sim_s"]))
        row["ok"] += line["ok"]
        row["failed"] += line["count"] - line["ok"]
        row["failures"].update(line.get("failures", {}))
        row["latency"][line["endpoint"]] = Histogram.from_json(line["latency_ok"])
    last = max(rows, default=-1)
    series = []
    for second in range(last + 1):
        row = rows.get(second) or _empty_row(second * inputs.speedup)
        sim = row["sim"]
        row["t"] = float(second)
        # the peak within the second: a form ready and acknowledged inside it still counts
        end = sim + inputs.speedup
        row["backlog"] = 0 if completion is None else completion.backlog_peak(sim, end)
        series.append(row)
    return series


def _upload_p95(row: dict[str, Any]) -> float | None:
    merged = Histogram.merged(h for name, h in row["latency"].items() if name in SCOPES["upload"])
    value = merged.quantile(0.95)
    return None if value is None else value / 1000


def applied_faults(inputs: RunInputs) -> tuple[list[Fault], list[str]]:
    """The scenario's fault windows that were applied, and a note for each one that was not."""
    events = inputs.record.get("faults")
    timeline = list(inputs.scenario.timeline)
    if events is None:  # a record from before fault events were kept: trust the schedule
        return timeline, []
    applied = {e.get("window") for e in events if e.get("action") == "apply" and e.get("ok")}
    failed = {
        e.get("window"): e.get("error")
        for e in events
        if e.get("action") == "apply" and not e.get("ok")
    }
    notes = []
    for position, fault in enumerate(timeline):
        if position not in applied:
            why = failed.get(position) or "the run ended before it, or ran without faults"
            notes.append(f"fault window '{fault.name}' was not applied ({why}); not measured")
    return [f for position, f in enumerate(timeline) if position in applied], notes


def recoveries(
    inputs: RunInputs,
    faults: Sequence[Fault],
    seconds: Sequence[Second],
    latency_bound: float | None,
) -> list[Recovery]:
    speedup = inputs.speedup
    windows = [(f.name, f.start / speedup, f.end / speedup) for f in faults]
    detected = detect_outages(seconds)
    found = []
    for name, start, end in windows:
        overlapping = [d for d in detected if d[0] < end + 2 and d[1] > start - 2]
        recovery = analyse(name, (start, end), seconds, injected=True, latency_bound=latency_bound)
        if overlapping:
            recovery = recovery.with_detected(overlapping[0])
        found.append(recovery)
    for index, (start, end) in enumerate(detected):
        if any(start < w_end + 2 and end > w_start - 2 for _, w_start, w_end in windows):
            continue
        name = f"outage {index + 1} (not injected)"
        found.append(
            analyse(name, (start, end), seconds, injected=False, latency_bound=latency_bound)
            .with_detected((start, end))
        )  # fmt: skip
    return found


def acks(ledger: Sequence[dict[str, Any]], plenary: Sequence[dict[str, Any]] = ()) -> list[Ack]:
    """Every acknowledged result: the devices' (ledger) and the KPPS corrections the plenary
    asked for (plenary.jsonl), which are revisions of results already acknowledged."""
    found = [
        Ack(line["tps_code"], line["election"], line["receipt_id"], line["content_sha256"])
        for line in ledger
        if line.get("final_outcome") == "acked" and line.get("receipt_id")
    ]
    found += [
        Ack(line["tps_code"], line["election"], fix["receipt_id"], fix["content_sha256"])
        for line in plenary
        for fix in line.get("corrections") or ()
        if fix.get("outcome") == "acked" and fix.get("receipt_id")
    ]
    return found


def local_date(scenario: Scenario, simulated: float, region_code: str) -> str:
    """The calendar date at a simulated second in the region's own zone (the clock's if unknown)."""
    zone = zone_of(region_code) or scenario.clock.zone
    shift = ZONE_UTC_OFFSET_HOURS[zone] - ZONE_UTC_OFFSET_HOURS[scenario.clock.zone]
    return (scenario.clock.start + timedelta(seconds=simulated, hours=shift)).date().isoformat()


def measure(inputs: RunInputs, slos: Sequence[Slo]) -> Facts:
    notes = [f"{name} is missing from the run directory" for name in inputs.missing]
    faults, not_applied = applied_faults(inputs)
    notes += not_applied
    gates = [f for f in faults if (f.layer, f.kind) == ("server", "plenary_gate")]
    notes += [
        f"fault window '{f.name}' suspends only the plenary (uploads go on): see the plenary, "
        "not recovery" for f in gates
    ]  # fmt: skip
    faults = [f for f in faults if f not in gates]
    scopes = scope_figures(inputs)
    scenario = inputs.scenario
    completion = None
    if inputs.ledger:
        kecamatan = len({line["tps_code"][:6] for line in inputs.ledger})
        manual = manual_baseline(scenario, len({line["tps_code"] for line in inputs.ledger}))
        completion = Completion.of(
            form_times(inputs.ledger), scenario.clock.duration, kecamatan, manual
        )
    rows = per_second(inputs, completion)
    seconds = [
        Second(row["t"], row["ok"], row["failed"], _upload_p95(row), row["backlog"]) for row in rows
    ]
    bound = next((s.threshold for s in slos if s.key in {"page.p95", "upload.p95"}), None)
    integrity = None
    numbers = acked_numbers(inputs.ledger, inputs.plenary)
    if inputs.export is not None:
        integrity = audit(acks(inputs.ledger, inputs.plenary), inputs.export)
        if inputs.readback:
            check = audit_reads(numbers, inputs.readback)
            integrity = replace(integrity, cross_check=check)
            if not check.clean:
                notes.append(f"integrity: {integrity.described()}")
    elif inputs.readback is not None:
        integrity = audit_reads(numbers, inputs.readback)
    summary = inputs.load_summary or {}
    slip = (summary.get("start_slip_s") or {}).get("p99")
    span = run_span(inputs)
    real = span.real_s or scenario.clock.real_duration
    return Facts(
        scopes=scopes,
        seconds=seconds,
        per_second=rows,
        recovery=recoveries(inputs, faults, seconds, bound),
        faults=faults,
        completion=completion,
        integrity=integrity,
        slip_p99=slip,
        abandoned=sum(1 for line in inputs.ledger if line.get("final_outcome") == "abandoned"),
        real_duration=real,
        notes=notes,
        plenary=plenary_report(
            inputs.plenary,
            inputs.ledger,
            lambda s, code: local_date(scenario, s, code),
            tps_forms=(summary.get("plenary") or {}).get("tps_forms"),
            exported=inputs.exported_plenary,
        ),
        quality=quality_report(inputs.ledger),
        span=span,
        unacked=unacknowledged(inputs.ledger),
    )


def resolve(facts: Facts, inputs: RunInputs, slo: Slo) -> float | None:
    """The measured value of ``slo``'s metric, None when the run cannot tell."""
    if slo.scope in SCOPES:
        return scope_value(facts.scopes[slo.scope], slo.metric, facts.real_duration)
    if slo.scope == "recovery":
        return _recovery_value(facts.recovery, slo, inputs.speedup)
    if slo.scope == "integrity":
        if facts.integrity is None or facts.integrity.unmeasured(slo.metric):
            return None
        return float(getattr(facts.integrity, slo.metric))
    if slo.scope == "completion":
        if facts.completion is None:
            return None
        if slo.metric == "final":
            return facts.completion.final
        deadline = inputs.scenario.clock.offset(parse_time_spec(slo.args[0]))
        return facts.completion.by(deadline)
    if slo.scope == "throughput" and facts.completion is not None:
        per_day = facts.completion.tps_per_day
        return per_day if slo.metric == "tps_per_day" else per_day / 24
    if slo.scope == "plenary":
        return plenary_value(facts.plenary, slo.metric)
    if slo.scope == "quality":
        return quality_value(facts.quality, slo.metric)
    if slo.scope == "load":
        return facts.slip_p99 if slo.metric == "slip_p99" else float(facts.abandoned)
    return None  # plan.*: measured by `plan`, not by a run


def scope_value(figures: ScopeFigures, metric: str, real_duration: float) -> float | None:
    latency = figures.latency
    if metric in PERCENTILES:
        value = latency.quantile(PERCENTILES[metric])
        return None if value is None else value / 1000
    if metric == "max":
        return latency.max / 1000 if latency.count else None
    if metric == "mean":
        mean = latency.mean
        return None if mean is None else mean / 1000
    if metric in {"success_ratio", "error_ratio"}:
        if not figures.requests:
            return None
        ratio = figures.ok / figures.requests
        return ratio if metric == "success_ratio" else 1 - ratio
    if metric == "requests":
        return float(figures.requests)
    if metric == "failures":
        return float(figures.requests - figures.ok)
    return figures.requests / real_duration if real_duration else None  # rate


def _recovery_value(found: Sequence[Recovery], slo: Slo, speedup: float) -> float | None:
    """Recovery durations compare on the simulated clock (the analysis keeps them real)."""
    if slo.metric == "outages":
        return float(len(found))
    # max_<x> is the largest <x> over the windows; a window's backlog is its backlog_peak
    attribute = {"max_backlog": "backlog_peak"}.get(slo.metric, slo.metric.removeprefix("max_"))
    chosen = [r for r in found if not slo.args or r.name == slo.args[0]]
    values = [getattr(r, attribute) for r in chosen]
    if not values:
        return 0.0 if not slo.args else None  # no outage: nothing to recover from
    if any(v is None for v in values):
        return float("inf")  # never recovered
    scale = 1.0 if attribute in {"backlog_peak", "retry_amplification"} else speedup
    return max(float(v) for v in values) * scale
