"""Build ``report/`` of a run directory: report.html, summary.md, summary.json, junit.xml, charts.

Works from the run directory alone (``sirekap-loadtest report RUN_DIR``), so a saved run can be
reported again, anywhere, with nothing running.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from locustfiles.histogram import Histogram
from reports import charts
from reports.analyse import Facts, endpoint_stats, measure, resolve
from reports.completion import MANUAL_BASELINES
from reports.html import render_html
from reports.inputs import RunInputs, read_run
from reports.junit import write_junit
from reports.model import Analysis, RunFacts
from reports.plenary_view import plenary_chart
from reports.summary import summary_json, summary_md
from reports.verdict import evaluate, verdict
from scenarios import load_factor


def run_facts(inputs: RunInputs, facts: Facts) -> RunFacts:
    record, scenario = inputs.record, inputs.scenario
    factor = load_factor(scenario)
    toxiproxy = record.get("toxiproxy") or {}
    target = record.get("target") or {}
    return RunFacts(
        scenario=scenario.name,
        description=scenario.description,
        run_id=str(record.get("run_id", inputs.path.name)),
        status=str(record.get("status", "unknown")),
        started=str(record.get("started_utc", "")),
        ended=str(record.get("ended_utc", "")),
        clock_start_local=scenario.clock.local(0.0),
        speedup=inputs.speedup,
        duration_sim_s=scenario.clock.duration,
        duration_real_s=facts.real_duration,
        load_factor=round(factor.factor, 4),
        load_factor_note=f"{factor.national:.3g} of the national rate",
        target=str(target.get("url", "unknown"))
        + (" (embedded mock)" if target.get("kind") == "mock" else ""),
        toxiproxy=f"{toxiproxy.get('kind', 'none')} {toxiproxy.get('version', '')}".strip(),
        versions={str(k): str(v) for k, v in (record.get("versions") or {}).items()},
    )


def _inconclusive(inputs: RunInputs) -> str | None:
    reasons = []
    if inputs.record.get("status") == "interrupted":
        reasons.append("the run was interrupted before its end; the figures are partial")
    summary = inputs.load_summary or {}
    reasons += [str(reason) for reason in summary.get("reasons", [])]
    warnings = (summary.get("generator") or {}).get("cpu_warnings") or []
    if warnings:
        shown = ", ".join(
            f"{w.get('process', '?')} at {float(w.get('max_cpu_percent', 0)):.0f}% CPU"
            for w in warnings
            if isinstance(w, dict)
        )
        reasons.append(f"the load generator was saturated (Locust CPU warning: {shown})")
    return "; ".join(reasons) or None


def _charts(inputs: RunInputs, facts: Facts, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    scenario, rows = inputs.scenario, facts.per_second
    clock = charts.ChartClock(
        scenario.clock.start.replace(tzinfo=None),
        scenario.clock.zone,
        inputs.speedup,
    )
    windows = [charts.Window(f.name, f.start, f.end) for f in facts.faults]
    t = [row["sim"] for row in rows]
    made = {}
    if rows:
        ok, failed = [r["ok"] for r in rows], [r["failed"] for r in rows]
        made["Throughput"] = charts.throughput(
            folder / "throughput.png", clock, t, ok, failed, windows
        )
        latency = {
            endpoint: {
                name: [_seconds(r["latency"].get(endpoint), q) for r in rows]
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            }
            for endpoint in ("session", "page", "result")
        }
        made["Latency"] = charts.latency(folder / "latency.png", clock, t, latency, windows)
        kinds = sorted({kind for r in rows for kind in r["failures"]})
        by_kind = {kind: [float(r["failures"].get(kind, 0)) for r in rows] for kind in kinds}
        made["Failures"] = charts.errors(folder / "errors.png", clock, t, by_kind, windows)
        made["Backlog"] = charts.backlog(
            folder / "backlog.png", clock, t, [float(r["backlog"]) for r in rows], windows
        )
    if facts.completion is not None:
        curve = facts.completion.curve()
        times = [point[0] for point in curve]
        manual = {
            label: [facts.completion.manual_by(time, per_day) for time in times]
            for label, per_day in MANUAL_BASELINES.items()
        }
        made["Completion"] = charts.completion(
            folder / "completion.png", clock, times, [float(p[1]) for p in curve],
            [float(p[2]) for p in curve], manual, windows,
        )  # fmt: skip
    if facts.plenary is not None:
        chart = plenary_chart(facts.plenary, folder / "plenary.png")
        if chart is not None:
            made["Plenary"] = chart
    server = _server_series(inputs)
    if server:
        made["Server"] = charts.server(
            folder / "server.png", clock, server.pop("t"), server, windows
        )
    return made


def _seconds(histogram: Histogram | None, q: float) -> float | None:
    value = None if histogram is None else histogram.quantile(q)
    return None if value is None else value / 1000


def _server_series(inputs: RunInputs) -> dict[str, Any]:
    """In-flight, queue depth and 503s per second from the scraped metrics."""
    scrapes = [line for line in inputs.server_metrics if line.get("ok")]
    if not scrapes:
        return {}
    start = inputs.clock_start
    t, in_flight, queue, shed = [], [], [], []
    previous: Counter[str] = Counter()
    for line in scrapes:
        samples = line["samples"]
        t.append((line["t"] - start) * inputs.speedup)
        in_flight.append(samples.get("sirekap_in_flight_requests"))
        queue.append(samples.get("sirekap_queue_depth"))
        rejected = sum(v for k, v in samples.items() if k.startswith("sirekap_rejections_total"))
        shed.append(max(0.0, rejected - previous["rejected"]) if previous else 0.0)
        previous["rejected"] = rejected
    return {"t": t, "in flight": in_flight, "queue depth": queue, "503s per second": shed}


def build_report(run_dir: Path) -> Analysis:
    """Analyse ``run_dir`` and write its ``report/``; the analysis holds the verdict."""
    inputs = read_run(run_dir)
    parsed = inputs.scenario.slo.parsed
    slos = [slo for slo in parsed if slo.scope != "plan"]
    facts = measure(inputs, slos)
    if len(slos) < len(parsed):
        facts.notes.append("plan.* SLOs are judged by `sirekap-loadtest plan`, not by a run")
    results = evaluate(slos, lambda slo: resolve(facts, inputs, slo))
    error = inputs.record.get("error")
    aborted = inputs.record.get("aborted")
    outcome = verdict(
        results,
        _inconclusive(inputs),
        str(error) if error else None,
        str(aborted) if aborted else None,
    )
    folder = run_dir / "report"
    analysis = Analysis(
        run=run_facts(inputs, facts),
        verdict=outcome,
        slos=results,
        endpoints=endpoint_stats(facts.scopes),
        failures=dict(sum((f.failures for n, f in facts.scopes.items() if n == "all"), Counter())),
        integrity=facts.integrity,
        recovery=facts.recovery,
        completion=facts.completion,
        slip_p99_s=facts.slip_p99,
        notes=facts.notes,
        charts=_charts(inputs, facts, folder / "charts"),
        plenary=facts.plenary,
        quality=facts.quality,
    )
    document = json.dumps(summary_json(analysis), indent=2, allow_nan=False)  # strict JSON
    (folder / "summary.json").write_text(document + "\n")
    (folder / "summary.md").write_text(summary_md(analysis))
    (folder / "report.html").write_text(render_html(analysis))
    write_junit(folder / "junit.xml", inputs.scenario.name, results, outcome)
    return analysis
