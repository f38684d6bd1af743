"""The run directory: everything a report needs, so ``report`` works with nothing running.

``runs/<UTC time>-<scenario>/`` holds the resolved scenario, ``run.json`` (the run record), the
load generator's per-second timeline and ledger, the scraped server metrics, the target's export,
Locust's own csv/html, the children's logs, and ``report/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, base: Path, scenario_name: str, now: datetime | None = None) -> RunDir:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in scenario_name) or "run"
        path = base / f"{stamp}-{safe}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = base / f"{stamp}-{safe}-{suffix}"
        path.mkdir(parents=True)
        for sub in ("logs", "locust", "report"):
            (path / sub).mkdir()
        return cls(path)

    # the files, by name (see README, "The run directory and the report")
    @property
    def record(self) -> Path:
        return self.path / "run.json"

    @property
    def scenario(self) -> Path:
        return self.path / "scenario.toml"

    @property
    def registry(self) -> Path:
        return self.path / "registry.csv"

    @property
    def capacity(self) -> Path:
        return self.path / "capacity.json"

    @property
    def server_metrics(self) -> Path:
        return self.path / "server_metrics.jsonl"

    @property
    def export(self) -> Path:
        return self.path / "export.ndjson"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def locust(self) -> Path:
        return self.path / "locust"

    @property
    def report(self) -> Path:
        return self.path / "report"

    def write_json(self, target: Path, data: Any) -> None:
        """Write atomically (a reader never sees half a file, even after a crash)."""
        partial = target.with_name(target.name + ".part")
        with partial.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)

    def read_record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.record.read_text(encoding="utf-8"))
        return data
