"""The run record (``run.json``): what ran, where, when, with which parts, and how it ended."""

from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

PACKAGES = ("sirekap-loadtest", "locust", "fastapi", "uvicorn", "pydantic", "toxiproxy-python")


def utc_iso(moment: float | None = None) -> str:
    at = dt.datetime.fromtimestamp(time.time() if moment is None else moment, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@dataclass
class RunRecord:
    run_id: str
    scenario: dict[str, Any]
    clock: dict[str, Any]
    target: dict[str, Any] = field(default_factory=dict)
    toxiproxy: dict[str, Any] | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    # starting | running | completed | ended_early | interrupted | aborted | failed | killed
    status: str = "starting"
    error: str | None = None
    aborted: str | None = None  # the abort_on_fail SLO breached during the run
    ended_early: str | None = None  # why Locust ended before the scenario's end
    reporting: bool = False  # the report is being written (a kill now leaves it partial)
    exit_code: int | None = None
    started_utc: str = field(default_factory=utc_iso)
    ended_utc: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)  # children: command, pid, exit code
    # the load generator: remote workers' master bind, every process's host, pid, clock offset;
    # from a calibrate measurement, the processes needed and, for a run with too few, the warning
    # it started with (GENERATOR_SHORTFALL)
    generator: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=versions)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


GENERATOR_SHORTFALL: Final = "shortfall"  # run.json generator: a run with too few processes
