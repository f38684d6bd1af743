"""The Locust command line both ``run`` and a sweep stage start: the locustfile, the shared clock,
the worker processes on a free master port, and the remote-target permission."""

from __future__ import annotations

import sys
from pathlib import Path

from faults.toxiproxy.launcher import free_loopback_port

LOCUSTFILE = Path(__file__).resolve().parent.parent / "locustfiles" / "sirekap.py"


def locust_args(
    scenario: Path,
    run_dir: Path,
    *,
    clock_start: float | None,
    drain: float,
    host: str,
    workers: int,
    allow_remote: str | None,
) -> list[str]:
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--scenario", str(scenario), "--run-dir", str(run_dir),
        "--drain", str(drain), "--host", host,
        "--loglevel", "WARNING", "--only-summary",
    ]  # fmt: skip
    if clock_start is not None:  # else the master fixes it when its workers are ready
        args += ["--clock-start", f"{clock_start:.3f}"]
    if workers > 1:
        port = str(free_loopback_port())  # a free one: stray workers must not join this run
        args += ["--processes", str(workers), "--master-bind-port", port, "--master-port", port]
    if allow_remote:
        args += ["--allow-remote", allow_remote]
    return args
