"""A run directory on disk: its folder and the path of each of its files (rundir.names).

``runs/<UTC time>-<scenario>/`` holds the resolved scenario, ``run.json`` (the run record), the
load generator's per-second timeline and ledger, the scraped server metrics, the target's export,
Locust's own csv/html, the children's logs, and ``report/``: everything a report needs, so
``report`` works with nothing running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rundir import names
from rundir.exits import UsageError
from rundir.files import read_json, write_json


def folder_name(scenario_name: str, now: datetime | None = None) -> str:
    """``<UTC time>-<scenario>``, the scenario's name kept to letters, digits, - and _."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in scenario_name) or "run"
    return f"{stamp}-{safe}"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, base: Path, scenario_name: str, now: datetime | None = None) -> RunDir:
        name = folder_name(scenario_name, now)
        try:
            base.mkdir(parents=True, exist_ok=True)
            path = base / name
            for suffix in range(2, 1000):  # mkdir, not a look first: two runs never share one
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    path = base / f"{name}-{suffix}"
            for sub in (names.LOGS, names.LOCUST, names.REPORT):
                (path / sub).mkdir()
        except OSError as error:
            raise UsageError(
                f"--out {base}: cannot make a run directory there ({error.strerror}); give a "
                "folder you can write to"
            ) from None
        return cls(path)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def record(self) -> Path:
        return self.path / names.RECORD

    @property
    def scenario(self) -> Path:
        return self.path / names.SCENARIO

    @property
    def registry(self) -> Path:
        return self.path / names.REGISTRY

    @property
    def operators(self) -> Path:
        return self.path / names.OPERATORS

    @property
    def capacity(self) -> Path:
        return self.path / names.CAPACITY

    @property
    def mock_db(self) -> Path:
        return self.path / names.MOCK_DB

    @property
    def server_metrics(self) -> Path:
        return self.path / names.SERVER_METRICS

    @property
    def recap(self) -> Path:
        return self.path / names.RECAP

    @property
    def export(self) -> Path:
        return self.path / names.EXPORT

    @property
    def load_summary(self) -> Path:
        return self.path / names.LOAD_SUMMARY

    @property
    def logs(self) -> Path:
        return self.path / names.LOGS

    @property
    def locust(self) -> Path:
        return self.path / names.LOCUST

    @property
    def report(self) -> Path:
        return self.path / names.REPORT

    def write_json(self, target: Path, data: Any) -> None:
        """Write atomically (a reader never sees half a file, even after a crash)."""
        write_json(target, data, sort_keys=True)

    def read_record(self) -> dict[str, Any]:
        return read_json(self.record) or {}
