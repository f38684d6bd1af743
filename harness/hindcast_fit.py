"""Fit a hindcast scenario's ``[[hindcast.fit]]`` fields before its run (reports.hindcast_model).

The values go into ``[hindcast.fitted]`` of the scenario as run, so the run directory says what
was fitted and to what; a scenario that has them already (a run directory's copy) keeps them.
The fit is on the scenario as written: a ``--speedup`` or ``--instances`` override changes the
run, not what 2024's night is fitted as.
"""

from __future__ import annotations

from typing import Any

from reports.hindcast_model import fit
from rundir.exits import UsageError
from scenarios import ScenarioError


def with_fit(data: dict[str, Any], source: str) -> tuple[dict[str, Any], str | None]:
    """``data`` with its fitted values, and a line saying what was fitted (None: no fit)."""
    hindcast = data.get("hindcast")
    if not isinstance(hindcast, dict) or not hindcast.get("fit") or hindcast.get("fitted"):
        return data, None
    try:
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
    flat = f"; the moments cannot tell {', '.join(found.flat)} apart" if found.flat else ""
    line = (
        f"hindcast: fitted {values} on {', '.join(found.on)} WIB "
        f"(model minus published, pp: {residuals}){flat}"
    )
    return fitted, line
