"""The integrity audit's input, gathered after the load and after every fault is cleared: the
target's export (with its admin token), then the read-back.

Without the target's export (no admin token: the user's own service), every form a device started
is read back through the public read API; with an export, ``--audit-sample`` acknowledged forms
are, as a cross-check of the read path. The reads run in ``python -m locustfiles.readback`` (the
API class lives there, outside the harness), at ``--audit-rate`` reads a second, its progress
bar shown live; reports/integrity.py compares. The run record's ``parts.read_back`` says what ran:
the forms asked, the rate, how it ended; ``parts.read_back_error`` why it did not.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from harness.children import Child, Watcher, follow
from harness.target import export_target
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
    try:
        follow(child, "")
    finally:  # a Ctrl-C or SIGTERM stops the reads too
        child.stop()
    done = {
        "mode": "sample" if sample is not None else "every form", "rate": rate,
        "exit_code": child.returncode,
    }  # fmt: skip
    if child.returncode != exits.OK or not (run_dir / names.READBACK).exists():
        done["error"] = f"the read-back exited with code {child.returncode}: {child.tail(300)}"
    return done


def audit_input(
    run_dir: Path, url: str, parts: dict[str, Any], *, admin_token: str | None, rate: float,
    sample: int, api_class: str | None, watcher: Watcher | None,
) -> bool:  # fmt: skip
    """Export (when the token allows), then read back every form (no export) or ``sample`` of
    them (beside one; 0: none; ``rate`` 0: no read-back); what happened goes into ``parts``
    (``export_error``, ``read_back``, ``read_back_error``). Never raises: the run's end goes on.
    The read-back may take minutes, so a Ctrl-C or SIGTERM (even while the caller ignores them)
    ends it: True when that happened."""
    export = run_dir / names.EXPORT
    if admin_token:
        try:
            export_target(url, admin_token, export)
        except Exception as error:  # the report says it is missing
            parts["export_error"] = str(error)
    exported = export.exists() and "export_error" not in parts
    if rate == 0 or (exported and sample == 0) or not (run_dir / names.LEDGER).exists():
        return False
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupted = False
    try:
        done = read_back(
            run_dir, url, rate=rate, sample=sample if exported else None, api_class=api_class,
            watcher=watcher,
        )  # fmt: skip
    except KeyboardInterrupt:
        done, interrupted = {"error": "the read-back was interrupted"}, True
    except Exception as error:  # the report says the audit did not run
        done = {"error": f"the read-back could not run: {error}"}
    finally:
        signal.signal(signal.SIGINT, previous)
    parts["read_back"] = done
    if "error" in done:
        parts["read_back_error"] = done["error"]
    return interrupted
