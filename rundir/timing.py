"""Timings the harness and the load generator must agree on (real seconds).

The harness starts Locust ``lead`` seconds before simulated offset 0 and gives the generator the
scenario's length plus ``DRAIN_S`` to finish; the generator waits at most ``FINAL_WAIT_S`` for its
worker processes' final reports and then writes its files. Every wait of the harness for Locust is
derived from these, never a number of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

# Real seconds between starting Locust and simulated offset 0: Locust is ready in ~2 s in one
# process, ~5 s with --processes 2 on the national sample (a 2-core machine).
LEAD_S: Final = 5.0
LEAD_PER_EXTRA_PROCESS_S: Final = 2.0
# A plan's stage: no warm-up beyond the stage's own, so a shorter lead.
STAGE_LEAD_S: Final = 4.0
DRAIN_S: Final = 5.0  # after the scenario's end, for uploads in progress to finish
STAGE_DRAIN_S: Final = 2.0  # a plan's stage sends no retries: less to drain
FINAL_WAIT_S: Final = 15.0  # the master waits this long for the workers' final reports
# Locust, asked to stop (SIGINT), writes what it has: the final wait, plus time to write.
STOP_WAIT_S: Final = FINAL_WAIT_S + 5.0
# After the scenario's end and its drain, what the generator may take before the harness gives up:
# the final wait, writing the files, Locust's own shutdown.
END_MARGIN_S: Final = FINAL_WAIT_S + 45.0


def lead(processes: int) -> float:
    """Real seconds from starting Locust to simulated offset 0."""
    return LEAD_S + LEAD_PER_EXTRA_PROCESS_S * (processes - 1)


def stage_lead(processes: int) -> float:
    return STAGE_LEAD_S + LEAD_PER_EXTRA_PROCESS_S * (processes - 1)


# A remote worker whose clock is further off the master's than this is said at start (it still
# schedules on the master's clock: locustfiles/shared_clock.py).
CLOCK_OFFSET_WARN_S: Final = 0.1


def clock_warnings(workers: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per worker whose clock is further off the master's than the bound (the harness
    says them at start, the report as notes)."""
    return [
        f"worker {w['index']} ({w['host']}, pid {w['pid']}): its clock is "
        f"{abs(float(w['offset_s'])):.3f} s {'behind' if float(w['offset_s']) > 0 else 'ahead of'} "
        f"the master's (above {CLOCK_OFFSET_WARN_S:g} s); it schedules on the master's clock"
        for w in workers
        if w.get("offset_s") is not None and abs(float(w["offset_s"])) > CLOCK_OFFSET_WARN_S
    ]
