"""Fit a hindcast scenario's ``[[hindcast.fit]]`` fields before its run (reports.hindcast_model).

The values go into ``[hindcast.fitted]`` of the scenario as run, so the run directory says what
was fitted and to what; a scenario that has them already (a run directory's copy) keeps them.
The fit is on the scenario as written: a ``--speedup`` or ``--instances`` override changes the
run, not what 2024's night is fitted as.
"""

from __future__ import annotations

from typing import Any

from harness.faultplan import FaultPlanError, fault_timeline
from reports.hindcast_model import fit
from rundir.exits import UsageError
from scenarios import ScenarioError, scenario_from_dict
from scenarios.schema.hindcast import split_field

FIT_OVERRIDE = "[hindcast.fitted]"  # named in the first line of the scenario as run


def with_fit(data: dict[str, Any], source: str) -> tuple[dict[str, Any], str | None]:
    """``data`` with its fitted values, and a line saying what was fitted (None: no fit)."""
    hindcast = data.get("hindcast")
    if not isinstance(hindcast, dict) or not hindcast.get("fit") or hindcast.get("fitted"):
        return data, None
    try:
        _check_ends(data, source)
        found = fit(data, source)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        raise UsageError(f"{source}: [hindcast]: {error}") from None
    if found is None:
        return data, None
    fitted = {**data, "hindcast": {**hindcast, "fitted": found.values}}
    values = ", ".join(f"{name} = {value:g}" for name, value in found.values.items())
    residuals = ", ".join(f"{m} {r:+.1f}" for m, r in found.residuals.items())
    line = (
        f"hindcast: fitted {values} on {', '.join(found.on)} WIB "
        f"(model minus published, pp: {residuals})"
    )
    return fitted, line


def _check_ends(data: dict[str, Any], source: str) -> None:
    """Both ends of every fit range make a scenario whose faults can be applied (a fault
    window's params are checked by the fault layer, not the scenario schema)."""
    hindcast = data["hindcast"]
    knobs = [k for k in hindcast.get("fit") or [] if isinstance(k, dict)]
    written = {k["field"]: min(k["high"], max(k["low"], _written(data, k["field"]))) for k in knobs}
    for knob in knobs:
        for end in (knob["low"], knob["high"]):
            values = {**written, knob["field"]: end}  # the others as the file has them
            trial = scenario_from_dict({**data, "hindcast": {**hindcast, "fitted": values}}, source)
            try:
                fault_timeline(trial)
            except FaultPlanError as error:
                raise ValueError(
                    f"[[hindcast.fit]] {knob['field']}: the range [{knob['low']:g}, "
                    f"{knob['high']:g}] goes beyond what the field allows: {error.lines[0]}"
                ) from None


def _written(data: dict[str, Any], name: str) -> float:
    """The value the file gives the fitted field ``name`` (the schema checked it exists)."""
    named = split_field(name)
    if named is None:
        return float((data.get("arrival") or {}).get("time_scale", 1.0))
    window = next(w for w in data.get("faults") or [] if w.get("name") == named[0])
    return float(window["params"][named[1]])
