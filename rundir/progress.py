"""``progress.json``: the master's running totals, rewritten about once a second during a run.

For live displays (the harness's progress panel); the final figures are in the run files.

    {"at": unix time, "second": s, "sim_s": simulated offset, "started": n, "acked": n,
     "abandoned": n, "rejected": n, "rate": requests in the last whole second,
     "failures": {kind: n, ...}, "endpoints": {endpoint: {"count": n, "ok": n,
     "failures": {kind: n}, "latency_ok": <histogram>, "latency_failed": <histogram>}, ...},
     "slip": <histogram of start slip>, "tps_ready": TPS with a form ready by now,
     "tps_total": TPS in the run}

Each ``endpoints`` entry is a :class:`rundir.timeline.RequestCell` of every second so far (its
JSON), ``slip`` the start slip of every form started so far: the timeline's running totals, so
a live reader (the harness's own /metrics) gets the histograms without the timeline.
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
    forms = timeline.form_totals
    failures: Counter[str] = Counter()
    endpoints = timeline.endpoint_totals()
    for cell in endpoints.values():
        failures.update(cell.failures)
    previous = (timeline.requests.get((second - 1, endpoint)) for endpoint in endpoints)
    last_second = sum(found.count for found in previous if found is not None)
    return {
        "at": round(now, 3),
        "second": second,
        "sim_s": round((now - clock_start) * speedup, 1),
        "started": forms.started,
        "acked": forms.outcomes["acked"],
        "abandoned": forms.outcomes["abandoned"],
        "rejected": forms.outcomes["rejected"],
        "rate": last_second,
        "failures": dict(sorted(failures.items())),
        "endpoints": {endpoint: cell.to_json() for endpoint, cell in endpoints.items()},
        "slip": forms.slip.to_json(),
    }


def write_progress(run_dir: Path, data: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    partial = run_dir / f".{names.PROGRESS}.{os.getpid()}.part"
    partial.write_text(json.dumps(data), encoding="utf-8")  # live figures: no fsync needed
    partial.replace(run_dir / names.PROGRESS)


def read_progress(run_dir: Path) -> dict[str, Any]:
    """The latest live figures; empty before the first write and once the run files are."""
    return read_json(run_dir / names.PROGRESS) or {}
