"""``load_summary.json``: the run's totals, start slip and whether its figures can be trusted.

The run is inconclusive (the harness exits 4) when the generator could not keep the arrival
schedule: the p99 start slip exceeds ``--max-slip`` (1 s real by default). Forms that were due but
never started count with the time from their due moment to the end of the run (a lower bound of
their slip), so an overloaded generator cannot hide late work by not starting it. A generator
process that failed, or sent no final report (its ledger lines are then filled in as lost), also
makes the run inconclusive.

``refused`` counts the devices the target refused at login (401/403; :mod:`locustfiles.refusals`)
with one line saying what to do; when it refused every device and accepted nothing
(``every_device``), that line is also a reason (Locust then exits 3: the target refuses).

With ``[quality]`` the summary has a ``quality`` block (misreads injected per form and what
caught them), with ``[plenary]`` a ``plenary`` block (operators, TPS forms gaveled and held up,
attempts by outcome, KPPS corrections); see :mod:`locustfiles.reconcile`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from locustfiles.jobs import Plan, text_digest
from locustfiles.reconcile import plenary_block, quality_block
from locustfiles.refusals import refusal_block, session_counts
from rundir.histogram import Histogram, nearest_rank
from rundir.ledger import FINAL_OUTCOMES, LOST_PREFIX
from rundir.timeline import Timeline
from scenarios import load_factor

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def slip_values(ledger: Sequence[Mapping[str, Any]], ended_at: float) -> list[float]:
    """Start slip of every started form, and the lower bound for forms due but not started."""
    values = []
    for line in ledger:
        slip = line.get("start_slip_s")
        if slip is not None:
            values.append(max(0.0, float(slip)))
        elif str(line.get("reason") or "").startswith(LOST_PREFIX):
            continue  # its process was lost: said as such, not as the schedule slipping
        elif line["final_outcome"] == "not_started" and line["due_at"] < ended_at:
            values.append(ended_at - float(line["due_at"]))
    values.sort()
    return values


def _latency(histogram: Histogram) -> dict[str, float | None]:
    figures: dict[str, float | None] = {
        name: _round(histogram.quantile(q)) for name, q in QUANTILES
    }
    figures["max"] = _round(histogram.max) if histogram.count else None
    figures["mean"] = _round(histogram.mean)
    return figures


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _utc(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")


STOPPED_EARLY = "stopped before the scenario's end"  # neither its end nor its last form


def stopped_early(real_s: float, planned_s: float) -> str:
    """The inconclusive reason of a run Locust ended early (STOP in the web UI, Ctrl-C)."""
    return (
        f"Locust stopped after {max(0.0, real_s):.1f} s of the scenario's {planned_s:g} s (STOP "
        "in the web UI, Ctrl-C, or Locust quit): the figures are partial"
    )


@dataclass(frozen=True)
class RunEnd:
    """How the run went on the clock: its start, its end and why it ended."""

    clock_start: float  # real UNIX time of simulated offset 0
    ended_at: float  # real UNIX time the generator stopped
    end_reason: str
    max_slip: float  # p99 start slip (real seconds) above which the run is inconclusive


@dataclass(frozen=True)
class GeneratorFacts:
    """What the generator processes were and what went wrong with them."""

    processes: int
    users_peak: int
    in_progress_peak: int
    cpu_warnings: Sequence[Mapping[str, Any]] = ()
    missing_processes: Sequence[int] = ()  # sent no final report: their ledgers are lost
    problems: Sequence[str] = ()
    # each process: index, client_id, host, pid, offset_s and rtt_s of its clock, lost (or None),
    # cpu_s and wall_s from go to its final report, cpu_by_second: [real s since the clock start,
    # CPU s since go] at each whole second
    workers: Sequence[Mapping[str, Any]] = ()


def lost_reason(index: int, lost: Mapping[str, Any]) -> str:
    """Why a run that lost a generator process cannot be trusted, naming the process."""
    return (
        f"generator process {index} ({lost.get('host')}, pid {lost.get('pid')}) was lost "
        f"{float(lost.get('at_s') or 0.0):.1f} s into the run (no heartbeat): the forms it had "
        "not reported are the generator's loss, not the target's"
    )


def build_summary(
    plan: Plan,
    timeline: Timeline,
    ledger: Sequence[Mapping[str, Any]],
    end: RunEnd,
    generator: GeneratorFacts,
    plenary: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The summary document (see the module doc)."""
    scenario = plan.scenario
    slips = slip_values(ledger, end.ended_at)
    refused = refusal_block(plan, ledger, session_counts(timeline)[0])
    early = None
    if end.end_reason == STOPPED_EARLY:
        early = stopped_early(end.ended_at - end.clock_start, scenario.clock.real_duration)
    extra: dict[str, Any] = {}
    if scenario.quality.active:
        extra["quality"] = quality_block(plan, ledger)
    if plan.operators:
        extra["plenary"] = plenary_block(plan, plenary)
    reasons = _reasons(slips, end.max_slip, early, generator, refused)
    return {
        "scenario": {
            "name": scenario.name,
            "source": scenario.source,
            "sha256_16": text_digest(plan.scenario_text),
        },
        "clock": _clock(plan, end.clock_start),
        "run": _run(plan, end, early),
        "generator": {
            "processes": generator.processes,
            "users_peak": generator.users_peak,
            "in_progress_peak": generator.in_progress_peak,
            "cpu_warnings": list(generator.cpu_warnings),
            "complete": not generator.missing_processes,
            "workers": [dict(worker) for worker in generator.workers],
        },
        "forms": _forms(plan, ledger),
        "requests": _requests(timeline),
        "refused": refused,
        **extra,
        "start_slip_s": _slip(slips, end.max_slip),
        "max_slip_s": end.max_slip,
        "inconclusive": bool(reasons),
        "reasons": reasons,
    }


def _reasons(
    slips: Sequence[float],
    max_slip: float,
    early: str | None,
    generator: GeneratorFacts,
    refused: Mapping[str, Any],
) -> list[str]:
    """Why the figures cannot be trusted (empty: they can)."""
    reasons = []
    p99 = nearest_rank(slips, 0.99)
    if p99 is not None and p99 > max_slip:
        reasons.append(
            f"start slip p99 {p99:.3f} s exceeds {max_slip:g} s: the generator could not keep "
            "the arrival schedule"
        )
    if early:
        reasons.append(early)
    lost = {int(w["index"]): w["lost"] for w in generator.workers if w.get("lost")}
    for index in generator.missing_processes:
        if index in lost:
            reasons.append(lost_reason(index, lost[index]))
        else:
            reasons.append(f"generator process {index} sent no final report; its ledger is missing")
    reasons.extend(generator.problems)
    if refused["every_device"]:
        reasons.append(refused["message"])
    return reasons


def _clock(plan: Plan, clock_start: float) -> dict[str, Any]:
    clock, factor = plan.scenario.clock, load_factor(plan.scenario)
    return {
        "start": clock_start,
        "start_utc": _utc(clock_start),
        "speedup": clock.speedup,
        "sim_duration_s": clock.duration,
        "real_duration_s": clock.real_duration,
        "load_factor": factor.factor,
        "load_factor_national": factor.national,
    }


def _run(plan: Plan, end: RunEnd, early: str | None) -> dict[str, Any]:
    real = end.ended_at - end.clock_start
    return {
        "ended_at": end.ended_at,
        "ended_utc": _utc(end.ended_at),
        "real_s": round(real, 3),
        "sim_s": round(real * plan.speedup, 3),
        "end_reason": end.end_reason,
        "ended_early": early,  # why the run ended before the scenario's end, else null
    }


def _forms(plan: Plan, ledger: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    final = Counter(line["final_outcome"] for line in ledger)
    first = Counter(line["first_outcome"] for line in ledger)
    read_back = Counter(line["read_back"] for line in ledger if line["read_back"])
    return {
        "jobs": len(plan.jobs),
        "tps": plan.tps_in_run,
        "ledger_lines": len(ledger),
        "started": sum(1 for line in ledger if line["started_at"] is not None),
        "final": {outcome: final.get(outcome, 0) for outcome in FINAL_OUTCOMES},
        "first": {outcome: first.get(outcome, 0) for outcome in FINAL_OUTCOMES},
        "read_back": dict(sorted(read_back.items())),
    }


def _requests(timeline: Timeline) -> dict[str, Any]:
    by_endpoint: dict[str, Any] = {}
    total_count, total_ok, total_failures = 0, 0, Counter[str]()
    for endpoint, cell in timeline.endpoint_totals().items():
        by_endpoint[endpoint] = {
            "count": cell.count,
            "ok": cell.ok,
            "failures": dict(sorted(cell.failures.items())),
            "latency_ok_ms": _latency(cell.ok_latency),
        }
        total_count += cell.count
        total_ok += cell.ok
        total_failures.update(cell.failures)
    total = {"count": total_count, "ok": total_ok, "failures": dict(sorted(total_failures.items()))}
    return {"total": total, "by_endpoint": by_endpoint}


def _slip(slips: Sequence[float], max_slip: float) -> dict[str, Any]:
    slip: dict[str, Any] = {name: _round(nearest_rank(slips, q)) for name, q in QUANTILES}
    slip["max"] = _round(slips[-1]) if slips else None
    slip["count"] = len(slips)
    slip["over_limit"] = sum(1 for value in slips if value > max_slip)
    return slip
