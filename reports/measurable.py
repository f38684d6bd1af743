"""Each SLO's value, or why the run could not measure it (reports.verdict's four states).

``reports.analyse.resolve`` measures; this module says, where it found nothing, what was missing
and whether the SLO was removed on purpose: a fault window dropped by ``--no-faults`` makes its
recovery SLOs not applicable; anything else not measured leaves the run inconclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.analyse import SCOPES, Facts, measure
from reports.analyse import resolve as measured_value
from reports.hindcast import hindcast_reason, hindcast_value, measure_hindcast
from reports.inputs import RunInputs
from reports.verdict import Unmeasured
from scenarios import Slo


def measured(inputs: RunInputs, slos: Sequence[Slo]) -> Facts:
    """Everything measured in the run (reports.analyse.measure), with its hindcast."""
    facts = measure(inputs, slos)
    facts.hindcast = measure_hindcast(
        inputs.scenario, inputs.recap, facts.completion, facts.notes, inputs.record.get("options")
    )
    return facts


def resolve(facts: Facts, inputs: RunInputs, slo: Slo) -> float | Unmeasured:
    if slo.scope == "hindcast":
        found = hindcast_value(facts.hindcast, slo)
        return found if found is not None else Unmeasured(hindcast_reason(facts.hindcast, slo))
    if slo.scope == "recovery" and not slo.args:
        missing = _windows_not_measured(inputs)
        if missing is not None:
            return missing
    value = measured_value(facts, inputs, slo)
    return value if value is not None else why_not_measured(facts, inputs, slo)


def _windows_not_measured(inputs: RunInputs) -> Unmeasured | None:
    """An SLO over every fault window cannot hold when a scheduled window was not applied:
    removed by --no-faults (not applicable), else failed or never reached (not measured)."""
    scheduled = list(inputs.scenario.timeline)
    if not scheduled:
        return None  # no window: "no outage, nothing to recover from" is measured
    if (inputs.record.get("options") or {}).get("no_faults"):
        return Unmeasured("the fault windows were removed by --no-faults", applicable=False)
    applied = {
        e.get("window")
        for e in inputs.record.get("faults") or []
        if isinstance(e, dict) and e.get("action") == "apply" and e.get("ok")
    }
    missing = [f.name for position, f in enumerate(scheduled) if position not in applied]
    if inputs.record.get("faults") is not None and missing:
        return Unmeasured(f"fault windows never applied: {', '.join(map(repr, missing))}")
    return None


def no_audit_reason(record: dict[str, Any]) -> str:
    """Why a run has no export to audit (the integrity SLOs' reason)."""
    parts = record.get("parts") or {}
    target = record.get("target") or {}
    options = record.get("options") or {}
    if parts.get("read_back_error"):
        export = f"the target's export failed ({parts['export_error']}); " if parts.get(
            "export_error"
        ) else ""  # fmt: skip
        return f"{export}the read-back audit did not run: {parts['read_back_error']}"
    if parts.get("export_error"):
        return f"the target's export failed: {parts['export_error']}"
    if options.get("audit_rate") == 0 and not options.get("admin_token_given"):
        return "no integrity audit: --audit-rate 0 turned the read-back off and no export ran"
    if target.get("kind") == "remote" and not options.get("admin_token_given"):
        return "no integrity audit: no export (the target's admin token) and no read-back"
    if record.get("status") in {"failed", "killed"}:
        return "the run failed before the target's data could be exported"
    return "export.ndjson is missing from the run directory: nothing to audit"


def why_not_measured(facts: Facts, inputs: RunInputs, slo: Slo) -> Unmeasured:
    record = inputs.record
    if slo.scope == "integrity":
        why = None if facts.integrity is None else facts.integrity.unmeasured(slo.metric)
        return Unmeasured(why or no_audit_reason(record))
    if slo.scope == "recovery" and slo.args:
        return _window_reason(inputs, slo.args[0])
    if slo.scope in {"completion", "throughput"}:
        return Unmeasured("the load generator wrote no ledger (ledger.jsonl missing or empty)")
    if slo.scope in SCOPES:
        figures = facts.scopes.get(slo.scope)
        if figures is None or not figures.requests:
            return Unmeasured(f"no {slo.scope} requests were made")
        return Unmeasured(f"no successful {slo.scope} request to measure its latency by")
    if slo.scope == "load":
        return Unmeasured("load_summary.json has no start-slip figures")
    if slo.scope == "plenary":
        return Unmeasured("the run has no plenary figures (plenary.jsonl missing or empty)")
    if slo.scope == "quality":
        return Unmeasured("the ledger has no data-quality figures")
    if slo.scope == "hindcast":
        return Unmeasured(hindcast_reason(facts.hindcast, slo))
    return Unmeasured("the run gave nothing to measure this by")


def _window_reason(inputs: RunInputs, name: str) -> Unmeasured:
    scheduled = [fault for fault in inputs.scenario.timeline if fault.name == name]
    if not scheduled:
        return Unmeasured(f"the scenario has no fault window named '{name}'")
    if (inputs.record.get("options") or {}).get("no_faults"):
        return Unmeasured(f"fault window '{name}' was removed by --no-faults", applicable=False)
    position = list(inputs.scenario.timeline).index(scheduled[0])
    for event in inputs.record.get("faults") or []:
        if event.get("window") == position and event.get("action") == "apply":
            if not event.get("ok"):
                return Unmeasured(f"fault window '{name}' failed to apply: {event.get('error')}")
            break
    else:
        return Unmeasured(f"fault window '{name}' was never applied: the run ended before it")
    return Unmeasured(f"fault window '{name}' is a plenary gate: see the plenary, not recovery")
