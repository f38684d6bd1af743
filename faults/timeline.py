"""Fault windows on the simulated clock, and the mapping of simulated to real time.

A :class:`FaultWindow` is one fault (layer, kind, parameters) between two offsets of the simulated
clock, in seconds from the scenario start. A :class:`FaultTimeline` is the scenario's list of them,
checked for windows that cannot be applied together. :class:`SimClock` turns simulated offsets into
real instants: ``real = start + simulated / speedup``.

Both models are frozen pydantic models, so a scenario model can embed them and report errors with
their field paths, or build them with ``FaultWindow.model_validate({...})``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from faults.kinds import (
    BandwidthParams,
    BrownoutParams,
    CommandParams,
    DownParams,
    FlakyParams,
    FreezeParams,
    KillParams,
    LatencyParams,
    Layer,
    LimitDataParams,
    PlenaryGateParams,
    ResetParams,
    ServerErrorsParams,
    ServerLatencyParams,
    ServerParams,
    SlicerParams,
    SlowCloseParams,
    TimeoutParams,
    params_class,
)

FaultParams = (
    DownParams
    | LatencyParams
    | BandwidthParams
    | TimeoutParams
    | ResetParams
    | SlicerParams
    | LimitDataParams
    | SlowCloseParams
    | FlakyParams
    | ServerErrorsParams
    | ServerLatencyParams
    | BrownoutParams
    | PlenaryGateParams
    | KillParams
    | FreezeParams
    | CommandParams
)


class FaultWindow(BaseModel):
    """One fault, applied at ``start_s`` and removed at ``end_s`` (simulated seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_s: float = Field(ge=0.0, description="simulated seconds from the scenario start")
    end_s: float = Field(gt=0.0, description="simulated seconds from the scenario start")
    layer: Layer
    kind: str
    params: FaultParams = Field(
        None,  # validated into the kind's defaults
        validate_default=True,
        description="the kind's parameters; see faults.kinds",
    )
    label: str | None = Field(None, description="a name for reports")

    @model_validator(mode="before")
    @classmethod
    def _known_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "layer" in data and "kind" in data:
            params_class(str(data["layer"]), str(data["kind"]))
        return data

    @field_validator("params", mode="before")
    @classmethod
    def _params_of_kind(cls, value: Any, info: ValidationInfo) -> Any:
        layer, kind = info.data.get("layer"), info.data.get("kind")
        if layer is None or kind is None:
            return value
        expected = params_class(layer, kind)
        if isinstance(value, expected):
            return value
        return expected.model_validate({} if value is None else value)

    @model_validator(mode="after")
    def _ends_after_start(self) -> FaultWindow:
        if self.end_s <= self.start_s:
            raise ValueError(
                f"end_s ({self.end_s:g}) must be after start_s ({self.start_s:g}) "
                f"in the {self.layer} {self.kind} window"
            )
        return self

    def describe(self) -> str:
        name = f" {self.label!r}" if self.label else ""
        return f"{self.layer} {self.kind}{name} at {self.start_s:g}-{self.end_s:g}s (simulated)"

    def overlaps(self, other: FaultWindow) -> bool:
        return self.start_s < other.end_s and other.start_s < self.end_s


class FaultTimeline(BaseModel):
    """The fault windows of a scenario, in any order; overlaps are allowed where they can stack.

    Rejected: overlapping process windows (one process cannot be frozen and killed at once);
    overlapping server windows of the same kind, or with different endpoints (the server's fault
    state is one set of values for one set of endpoints).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows: tuple[FaultWindow, ...] = ()

    @model_validator(mode="after")
    def _no_conflicts(self) -> FaultTimeline:
        problems = []
        for i, first in enumerate(self.windows):
            for j in range(i + 1, len(self.windows)):
                second = self.windows[j]
                if first.layer != second.layer or not first.overlaps(second):
                    continue
                reason = _conflict(first, second)
                if reason:
                    problems.append(
                        f"windows {i} ({first.describe()}) and {j} ({second.describe()}) "
                        f"overlap: {reason}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def layers(self) -> set[Layer]:
        return {window.layer for window in self.windows}

    @property
    def end_s(self) -> float:
        return max((window.end_s for window in self.windows), default=0.0)


def _conflict(first: FaultWindow, second: FaultWindow) -> str | None:
    if first.layer == "process":
        return "a process can only be killed or frozen by one window at a time"
    if first.layer == "server":
        if first.kind == second.kind:
            return f"only one server {first.kind} fault can be active at a time"
        one, other = first.params, second.params  # the plenary gate names no endpoints
        if (
            isinstance(one, ServerParams)
            and isinstance(other, ServerParams)
            and one.endpoints != other.endpoints
        ):
            return "overlapping server faults must name the same endpoints"
    return None


@dataclass(frozen=True)
class SimClock:
    """Simulated offsets to real instants: ``timer()`` read ``start`` at simulated offset 0.

    ``timer`` is ``time.monotonic`` by default; pass ``time.time`` with a wall-clock ``start`` to
    share a clock recorded as wall time.
    """

    speedup: float
    start: float
    timer: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if not self.speedup > 0:
            raise ValueError(f"speedup must be a positive number, got {self.speedup}")

    @classmethod
    def starting_now(cls, speedup: float) -> SimClock:
        return cls(speedup, time.monotonic())

    def real_at(self, simulated_s: float) -> float:
        """The ``timer()`` value at which simulated offset ``simulated_s`` happens."""
        return self.start + simulated_s / self.speedup

    def simulated_at(self, real: float) -> float:
        return (real - self.start) * self.speedup

    def simulated_now(self) -> float:
        return self.simulated_at(self.timer())

    def real_seconds(self, simulated_s: float) -> float:
        """A simulated duration in real seconds."""
        return simulated_s / self.speedup
