"""The files the load generator writes into the run directory (README: "The run directory").

- ``timeline.jsonl``: per second and endpoint (see :mod:`locustfiles.timeline`);
- ``ledger.jsonl``: one line per form and device (see :mod:`locustfiles.ledger`);
- ``load_summary.json``: totals, start slip, inconclusive flag (see :mod:`locustfiles.summary`);
- ``plenary.jsonl``: with a plenary, one line per TPS form it dealt with
  (see :mod:`locustfiles.plenary_record`).

Each file is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from locustfiles.plenary_record import plenary_order
from locustfiles.timeline import Timeline

TIMELINE = "timeline.jsonl"
LEDGER = "ledger.jsonl"
SUMMARY = "load_summary.json"
PLENARY = "plenary.jsonl"


def _write_atomically(path: Path, lines: Iterable[str]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with partial.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _jsonl(records: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for record in records:
        yield json.dumps(record, separators=(",", ":")) + "\n"


def ledger_order(line: Mapping[str, Any]) -> tuple[str, str, str]:
    return (line["tps_code"], line["election"], line["device_id"])


def write_run_files(
    run_dir: Path,
    timeline: Timeline,
    ledger: Iterable[Mapping[str, Any]],
    summary: Mapping[str, Any],
    *,
    clock_start: float,
    speedup: float,
    plenary: Iterable[Mapping[str, Any]] | None = None,
) -> None:
    """Write the files into ``run_dir`` (created if missing); ``plenary.jsonl`` if given."""
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(run_dir / TIMELINE, _jsonl(timeline.lines(clock_start, speedup)))
    _write_atomically(run_dir / LEDGER, _jsonl(sorted(ledger, key=ledger_order)))
    if plenary is not None:
        _write_atomically(run_dir / PLENARY, _jsonl(sorted(plenary, key=plenary_order)))
    _write_atomically(run_dir / SUMMARY, [json.dumps(summary, indent=2) + "\n"])
