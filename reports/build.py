"""Build ``report/`` of a run directory: report.html, summary.md, summary.json, junit.xml, charts.

Works from the run directory alone (``sirekap-loadtest report RUN_DIR``), so a saved run can be
reported again, anywhere, with nothing running.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from reports.analyse import Facts, endpoint_stats
from reports.charts import Window
from reports.figures import figures_json, run_figures
from reports.hindcast_view import hindcast_chart
from reports.html import render_html
from reports.inputs import RunInputs, read_run
from reports.instances import deployment_instances
from reports.junit import write_junit
from reports.measurable import measured, resolve
from reports.model import Analysis, RunFacts
from reports.run_charts import chart_clock, run_charts
from reports.summary_files import summary_json, summary_md
from reports.unacked import unacknowledged_json
from reports.verdict import evaluate, verdict
from rundir.record import GENERATOR_SHORTFALL
from rundir.timing import clock_warnings
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
        duration_sim_s=scenario.clock.duration if facts.span is None else facts.span.sim_s,
        duration_real_s=facts.real_duration,
        load_factor=round(factor.factor, 4),
        load_factor_note=f"{factor.national:.3g} of the national rate",
        target=str(target.get("url", "unknown"))
        + (" (embedded mock)" if target.get("kind") == "mock" else ""),
        toxiproxy=f"{toxiproxy.get('kind', 'none')} {toxiproxy.get('version', '')}".strip(),
        versions={str(k): str(v) for k, v in (record.get("versions") or {}).items()},
        planned_sim_s=scenario.clock.duration,
        covered="" if facts.span is None else facts.span.headline(inputs.speedup),
    )


def untrusted_reasons(inputs: RunInputs) -> str | None:
    reasons = []
    status = inputs.record.get("status")
    if status == "interrupted":
        reasons.append("the run was interrupted before its end; the figures are partial")
    elif status == "ended_early":
        reasons.append(str(inputs.record.get("ended_early") or "the run ended before its end"))
    elif status in {"starting", "running"}:
        reasons.append(f"the run record still says '{status}': the run never ended properly")
    summary = inputs.load_summary or {}
    said = [str(reason) for reason in summary.get("reasons", [])]
    if status == "interrupted":  # the generator's "stopped early" says the same again
        said = [reason for reason in said if not reason.startswith("Locust stopped after")]
    reasons += said
    warnings = (summary.get("generator") or {}).get("cpu_warnings") or []
    if warnings:
        shown = ", ".join(
            f"{w.get('process', '?')} at {float(w.get('max_cpu_percent', 0)):.0f}% CPU"
            for w in warnings
            if isinstance(w, dict)
        )
        reasons.append(f"the load generator was saturated (Locust CPU warning: {shown})")
    return "; ".join(dict.fromkeys(reasons)) or None  # the record and the summary may agree


def _measured_against(shortfall: str, load: dict[str, Any]) -> str:
    """The start's warning of too few generator processes, with the start slip the run measured
    (which says whether the schedule was kept, whatever the warning foresaw)."""
    p99, bound = (load.get("start_slip_s") or {}).get("p99"), load.get("max_slip_s")
    if p99 is None or bound is None:
        return f"{shortfall}; the run measured no start slip"
    kept = "within" if p99 <= bound else "above"
    return f"{shortfall}; measured: start slip p99 {p99:.3f} s, {kept} the {bound:g} s bound"


def build_report(run_dir: Path) -> Analysis:
    """Analyse ``run_dir`` and write its ``report/``; the analysis holds the verdict."""
    inputs = read_run(run_dir)
    parsed = inputs.scenario.slo.parsed
    slos = [slo for slo in parsed if slo.scope != "plan"]
    facts = measured(inputs, slos)
    if len(slos) < len(parsed):
        facts.notes.append("plan.* SLOs are judged by `sirekap-loadtest plan`, not by a run")
    generator = (inputs.load_summary or {}).get("generator") or {}
    facts.notes.extend(clock_warnings(generator.get("workers") or ()))
    shortfall = (inputs.record.get("generator") or {}).get(GENERATOR_SHORTFALL)
    if shortfall:
        facts.notes.append(_measured_against(shortfall, inputs.load_summary or {}))
    results = evaluate(slos, lambda slo: resolve(facts, inputs, slo))
    error = inputs.record.get("error")
    aborted = inputs.record.get("aborted")
    outcome = verdict(
        results,
        untrusted_reasons(inputs),
        str(error) if error else None,
        str(aborted) if aborted else None,
    )
    folder = run_dir / "report"
    charts_folder = folder / "charts"
    windows = [Window(f.name, f.start, f.end) for f in facts.faults]
    hindcast_png = None
    if facts.hindcast is not None:
        whole = inputs.scenario.clock.duration  # the published moments up to the scenario's end
        clock = replace(chart_clock(inputs, facts), span=(0.0, whole))
        hindcast_png = hindcast_chart(
            facts.hindcast, clock, windows, charts_folder / "hindcast.png"
        )
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
        charts=run_charts(inputs, facts, charts_folder),
        plenary=facts.plenary,
        quality=facts.quality,
        unacked=facts.unacked,
        instances=deployment_instances(inputs),
        hindcast=facts.hindcast,
        hindcast_chart=hindcast_png,
    )
    data = summary_json(analysis)
    data["unacknowledged"] = unacknowledged_json(facts.unacked)  # forms never acknowledged
    data["span"] = None if facts.span is None else facts.span.as_dict()  # the time covered
    data["instances"] = [i.as_dict() for i in analysis.instances]  # a deployment's, else []
    data["figures"] = figures_json(run_figures(facts, inputs, slos))  # compare's and history's
    document = json.dumps(data, indent=2, allow_nan=False)  # strict JSON
    (folder / "summary.json").write_text(document + "\n")
    (folder / "summary.md").write_text(summary_md(analysis))
    (folder / "report.html").write_text(render_html(analysis))
    write_junit(folder / "junit.xml", inputs.scenario.name, results, outcome)
    return analysis
