"""The record of every fault action, for the run record (``run.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["apply", "remove", "skip", "clear", "reapply"]


@dataclass(frozen=True)
class FaultEvent:
    """One action of the applier, whether it worked (``ok``) or not (``error`` says why).

    ``window`` is the window's index in the timeline (None for a layer-wide ``clear``);
    ``scheduled_s`` the simulated offset it was due at, ``simulated_s`` the simulated offset it
    happened at, ``real_utc`` the real wall-clock instant. ``commands``: what a command fault ran
    for it (phase, argv, exit code, duration, log; see ``faults.command_run``), kept in the
    record only when there is something.
    """

    action: Action
    layer: str
    kind: str | None
    window: int | None
    params: dict[str, Any]
    scheduled_s: float | None
    simulated_s: float
    real_utc: str
    ok: bool
    error: str | None = None
    label: str | None = field(default=None)
    commands: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        commands = {"commands": [dict(c) for c in self.commands]} if self.commands else {}
        return {
            "action": self.action,
            "layer": self.layer,
            "kind": self.kind,
            "window": self.window,
            "label": self.label,
            "params": dict(self.params),
            "scheduled_s": self.scheduled_s,
            "simulated_s": round(self.simulated_s, 3),
            "real_utc": self.real_utc,
            "ok": self.ok,
            "error": self.error,
            **commands,
        }


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
