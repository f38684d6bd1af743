"""The read-back audit's place in a run: after the load, after every fault is cleared.

Without the target's export (no admin token: the user's own service), every form a device started
is read back through the public read API; with an export, ``--audit-sample`` acknowledged forms
are, as a cross-check of the read path. The reads run in ``python -m locustfiles.readback`` (the
API class lives there, outside the harness), at ``--audit-rate`` reads a second, its progress
bar shown live; reports/integrity.py compares. The run record's ``parts.read_back`` says what ran:
the forms asked, the rate, how it ended; ``parts.read_back_error`` why it did not.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness.children import Child, Watcher, follow
from rundir import exits, names

# reads/s (est.): KawalPemilu pulled Sirekap's public JSON at 5 requests/s (scenarios/FACTS.md);
# a staging service takes a few times that without noticing.
DEFAULT_RATE = 20.0
DEFAULT_SAMPLE = 50  # forms read back beside an export (a cross-check, not the audit)


def read_back(
    run_dir: Path, url: str, *, rate: float, sample: int | None, api_class: str | None,
    watcher: Watcher | None,
) -> dict[str, Any]:  # fmt: skip
    """Read back the run's forms from ``url``; what the record keeps of it."""
    args = [
        sys.executable, "-m", "locustfiles.readback", "--run-dir", str(run_dir), "--host", url,
        "--rate", f"{rate:g}",
    ]  # fmt: skip
    if sample is not None:
        args += ["--sample", str(sample)]
    if api_class:
        args += ["--api-class", api_class]
    child = Child("read-back", args, run_dir / names.LOGS / "readback.log")
    child.watcher = watcher
    child.start()
    follow(child, "")
    child.stop()
    done = {
        "mode": "sample" if sample is not None else "every form", "rate": rate,
        "exit_code": child.returncode,
    }  # fmt: skip
    if child.returncode != exits.OK or not (run_dir / names.READBACK).exists():
        done["error"] = f"the read-back exited with code {child.returncode}: {child.tail(300)}"
    return done
