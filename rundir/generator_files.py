"""The files the load generator writes into the run directory (README: "The run directory").

- ``timeline.jsonl``: per second and endpoint (see :mod:`rundir.timeline`);
- ``ledger.jsonl``: one line per form and device (see :mod:`rundir.ledger`);
- ``load_summary.json``: totals, start slip, inconclusive flag (:mod:`locustfiles.load_summary`);
- ``plenary.jsonl``: with a plenary, one line per TPS form it dealt with
  (see :mod:`rundir.plenary_record`).

Each file is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rundir import names
from rundir.files import jsonl_lines, write_json, write_lines
from rundir.ledger import ledger_order
from rundir.plenary_record import plenary_order
from rundir.timeline import Timeline


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
    write_lines(run_dir / names.TIMELINE, jsonl_lines(timeline.lines(clock_start, speedup)))
    write_lines(run_dir / names.LEDGER, jsonl_lines(sorted(ledger, key=ledger_order)))
    if plenary is not None:
        write_lines(run_dir / names.PLENARY, jsonl_lines(sorted(plenary, key=plenary_order)))
    write_json(run_dir / names.LOAD_SUMMARY, summary)
