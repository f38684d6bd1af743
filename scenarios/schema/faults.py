"""The ``[[faults]]`` timeline: fault windows on the simulated clock.

Each window has a ``layer`` and a ``kind`` valid for it, a ``start`` and either an ``end`` or a
``duration``, and a ``params`` table the fault layer validates in detail. ``start`` and ``end``
are times of day in the scenario's zone (``14:30``, ``+1d 06:00``) or offsets from the run start
(``+2h``); :func:`resolve_faults` turns them into simulated seconds from the start. Durations
inside ``params`` (injected latency, for instance) are real-clock, as the fault layer applies them
to real connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator, Field, model_validator

from scenarios.schema.clock import Clock
from scenarios.schema.errors import MISSING, FieldError, Shown, raise_if_any
from scenarios.schema.fields import PositiveDuration, Section, When
from scenarios.schema.units import format_duration

Layer = Literal["network", "server", "process", "command"]
FAULT_KINDS: Final[dict[Layer, tuple[str, ...]]] = {
    "network": (
        "down",
        "latency",
        "bandwidth",
        "timeout",
        "reset",
        "slicer",
        "limit_data",
        "slow_close",
        "flaky",
    ),
    # plenary_gate: the plenary endpoints answer 503 (on 18 Feb the plenaries were suspended at
    # noon for Sirekap maintenance while uploads went on: NusaBali, 16 Feb 2024).
    "server": ("errors", "latency", "brownout", "plenary_gate"),
    "process": ("kill", "freeze"),
    "command": ("run",),  # the user's apply/probe/revert argv lists (faults.command_layer)
}

Scalar = str | int | float | bool
ParamValue = Scalar | list[Scalar]


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _params(value: object) -> object:
    if not isinstance(value, dict):
        raise FieldError('must be a table of parameters, like { latency = "500ms" }')
    raise_if_any(
        [
            FieldError(
                "must be a string, number, boolean or an array of those", given=item, path=(key,)
            )
            for key, item in value.items()
            if not (_is_scalar(item) or (isinstance(item, list) and all(map(_is_scalar, item))))
        ]
    )
    return value


class FaultWindowSpec(Section):
    """One fault window as written in the scenario file."""

    name: str = Field(default="", description="a label for reports; default layer/kind")
    layer: Layer
    kind: str
    start: When = Field(description="simulated clock: time of day in clock.zone, or +offset")
    end: When | None = Field(default=None, description="simulated clock; or give duration")
    duration: PositiveDuration | None = Field(default=None, description="simulated clock")
    params: Annotated[dict[str, ParamValue], BeforeValidator(_params)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> FaultWindowSpec:
        errors = []
        kinds = FAULT_KINDS[self.layer]
        if self.kind not in kinds:
            errors.append(
                FieldError(
                    f"must be a {self.layer} fault: one of {', '.join(kinds)}",
                    given=self.kind,
                    path=("kind",),
                )
            )
        if self.end is None and self.duration is None:
            errors.append(
                FieldError(
                    "required: give end (like 16:30 or +2h) or duration (like 2h)",
                    given=MISSING,
                    path=("end",),
                )
            )
        if self.end is not None and self.duration is not None:
            errors.append(
                FieldError(
                    "give end or duration, not both",
                    given=Shown(f"end {self.end.text!r} and duration"),
                    path=("duration",),
                )
            )
        raise_if_any(errors)
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.layer}/{self.kind}"


@dataclass(frozen=True)
class Fault:
    """A fault window resolved onto the simulated clock (seconds from the run start)."""

    index: int
    name: str
    layer: Layer
    kind: str
    start: float
    end: float
    params: Mapping[str, ParamValue] = field(default_factory=dict, hash=False)

    @property
    def duration(self) -> float:
        return self.end - self.start


def resolve_faults(faults: tuple[FaultWindowSpec, ...], clock: Clock) -> tuple[Fault, ...]:
    """Resolve every window; raises FieldErrors (paths from ``faults``) for windows outside."""
    resolved: list[Fault] = []
    errors: list[FieldError] = []
    for index, spec in enumerate(faults):
        start = clock.offset(spec.start)
        if spec.end is not None:
            end, end_field, end_text = clock.offset(spec.end), "end", spec.end.text
        else:
            assert spec.duration is not None  # the model requires one of them
            end, end_field = start + spec.duration, "duration"
            end_text = Shown(format_duration(spec.duration))
        problem = _outside(start, end, clock)
        if problem is not None:
            at = "start" if problem.startswith("starts") else end_field
            given = spec.start.text if at == "start" else end_text
            errors.append(FieldError(problem, given=given, path=(index, at)))
            continue
        resolved.append(
            Fault(index, spec.label, spec.layer, spec.kind, start, end, dict(spec.params))
        )
    raise_if_any(errors)
    return tuple(resolved)


def _outside(start: float, end: float, clock: Clock) -> str | None:
    """Why a window [start, end) does not lie inside the run, or None."""
    run = f"{clock.local(0)} to {clock.local(clock.duration)}"
    if start < 0:
        return f"starts {clock.local(start)}, before the run ({run}); must lie inside the run"
    if start >= clock.duration:
        return f"starts {clock.local(start)}, after the run ({run}); must lie inside the run"
    if end <= start:
        return f"ends {clock.local(end)}, not after its start {clock.local(start)}; must be later"
    if end > clock.duration:
        return f"ends {clock.local(end)}, after the run ({run}); must lie inside the run"
    return None
