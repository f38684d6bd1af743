"""On a FAIL, the top of a profile of the part that missed its target, so the cause is visible.

A benchmark re-runs the failing part once more with the measured process under cProfile (the
standard library's deterministic profiler: slower, so its figures are not the benchmark's, but
where the time goes is) and prints the functions that took the most time of their own.
``BENCH_PROFILE=off`` skips it (``bench/repeat.py`` sets it for every run of a script but the
last).
"""

from __future__ import annotations

import io
import os
import pstats
import sys
from pathlib import Path

ENV = "BENCH_PROFILE"
TOP = 15
# the program and the event loop themselves: their own time is the C code they run (the selector,
# the loop's callbacks), not a function of ours
WRAPPERS = ("runners.py", "builtins.exec", "base_events.py")


def wanted() -> bool:
    return os.environ.get(ENV, "on") != "off"


def under_profiler(command: list[str], out: Path) -> list[str]:
    """``command`` (``python -m module ...``, ``python script ...`` or a console script) run
    under cProfile, which writes its stats to ``out`` when the process exits normally."""
    if command[0] == sys.executable:
        return [sys.executable, "-m", "cProfile", "-o", str(out), *command[1:]]
    return [sys.executable, "-m", "cProfile", "-o", str(out), *command]


def top(stats_file: Path, title: str, count: int = TOP) -> str:
    """The ``count`` functions with the most time of their own, as pstats prints them."""
    if not stats_file.exists():
        return f"profile of {title}: no stats written (the process did not exit normally)"
    stream = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=stream)
    stats.strip_dirs().sort_stats("tottime").print_stats(count + len(WRAPPERS))
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    body = [line for line in lines[start + 1 :] if not any(w in line for w in WRAPPERS)]
    return "\n".join([f"profile of {title} (cProfile, by own time):", lines[start], *body[:count]])
