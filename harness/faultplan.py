"""The scenario's fault windows as the fault layer's timeline, with scenario-style errors.

``scenarios`` keeps fault parameters as an open table; the fault layer knows each kind's
parameters. The harness joins the two, so a misspelt parameter is caught by ``validate`` and
before a run starts, with the file and field path like every other scenario error.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from pydantic import ValidationError

from faults.timeline import FaultTimeline, FaultWindow
from rundir.exits import StartError, UsageError
from scenarios import Scenario


class FaultPlanError(UsageError):
    """Fault windows the fault layer cannot apply; ``lines`` has one message per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def fault_timeline(scenario: Scenario) -> FaultTimeline:
    """The scenario's fault windows, validated by the fault layer."""
    source = scenario.source or scenario.name
    windows, problems = [], []
    for fault in scenario.timeline:
        try:
            windows.append(
                FaultWindow.model_validate(
                    {
                        "start_s": fault.start,
                        "end_s": fault.end,
                        "layer": fault.layer,
                        "kind": fault.kind,
                        "params": dict(fault.params),
                        "label": fault.name,
                    }
                )
            )
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                message = str(detail["msg"]).removeprefix("Value error, ")
                at = _path(detail["loc"])  # params, or the parameter: params.timeout_s
                problems.append(f"{source}: faults[{fault.index}].{at}: {message}")
    if problems:
        raise FaultPlanError(problems)
    try:
        return FaultTimeline(windows=tuple(windows))
    except ValidationError as error:
        raise FaultPlanError(
            [
                f"{source}: faults: {str(detail['msg']).removeprefix('Value error, ')}"
                for detail in error.errors(include_url=False)
            ]
        ) from None


def _path(loc: tuple[int | str, ...]) -> str:
    """A validation error's place as the scenario writes it: ``params.apply[1]``."""
    shown = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return shown.lstrip(".") or "params"


def check_layers(needed: Set[str], layers: Mapping[str, object]) -> None:
    """StartError when the scenario has faults of a layer this run cannot apply."""
    missing = sorted(needed - set(layers))
    if missing:
        raise StartError(
            f"the scenario has {', '.join(missing)} faults, which need "
            + ("--admin-token for the target's admin API" if "server" in missing
               else "the embedded mock (a process the harness runs)")
        )  # fmt: skip
