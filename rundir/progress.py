"""``progress.json``: the master's running totals, rewritten about once a second during a run.

For live displays (the harness's progress panel); the final figures are in the run files.

    {"at": unix time, "second": s, "sim_s": simulated offset, "started": n, "acked": n,
     "abandoned": n, "rejected": n, "rate": requests in the last whole second,
     "failures": {kind: n, ...}, "endpoints": {endpoint: {"count": n, "ok": n}, ...},
     "tps_ready": TPS with a form ready by now, "tps_total": TPS in the run}
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from rundir import names
from rundir.files import read_json
from rundir.timeline import Timeline


def totals(timeline: Timeline, clock_start: float, speedup: float, now: float) -> dict[str, Any]:
    second = int(now - clock_start)
    forms: Counter[str] = Counter()
    for form_cell in timeline.forms.values():
        forms["started"] += form_cell.started
        forms.update(form_cell.outcomes)
    failures: Counter[str] = Counter()
    endpoints: dict[str, dict[str, int]] = {}
    last_second = 0
    for (at, endpoint), cell in timeline.requests.items():
        failures.update(cell.failures)
        figures = endpoints.setdefault(endpoint, {"count": 0, "ok": 0})
        figures["count"] += cell.count
        figures["ok"] += cell.ok
        if at == second - 1:
            last_second += cell.count
    return {
        "at": round(now, 3),
        "second": second,
        "sim_s": round((now - clock_start) * speedup, 1),
        "started": forms["started"],
        "acked": forms["acked"],
        "abandoned": forms["abandoned"],
        "rejected": forms["rejected"],
        "rate": last_second,
        "failures": dict(sorted(failures.items())),
        "endpoints": endpoints,
    }


def write_progress(run_dir: Path, data: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    partial = run_dir / f".{names.PROGRESS}.{os.getpid()}.part"
    partial.write_text(json.dumps(data), encoding="utf-8")  # live figures: no fsync needed
    partial.replace(run_dir / names.PROGRESS)


def read_progress(run_dir: Path) -> dict[str, Any]:
    """The latest live figures; empty before the first write and once the run files are."""
    return read_json(run_dir / names.PROGRESS) or {}
