"""``sirekap-loadtest worker --master HOST[:PORT]``: a Locust worker of a run on another host.

It needs only the installed package: the scenario, the options and the clock come from the
master (``run --expect-workers``, :mod:`harness.distributed`). It ends when the master ends the
run, or when Locust gives up on a master that does not answer (about 5 minutes; a master that
does not answer at the start is said at once). Ctrl-C or SIGTERM stops every worker process it
started (their own process group). Exit code: Locust's own (0 once the master ended the run), 2
for a bad option, 130 when stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys

from harness.distributed import split_address
from harness.locust import LOCUSTFILE
from rundir.exits import UsageError

PROCESSES_PER_CORE = 4
STOP_WAIT_S = 10.0  # for the worker processes to end on SIGTERM, then SIGKILL


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest worker",
        description="Generate load as a Locust worker of 'sirekap-loadtest run --expect-workers'.",
    )
    add = parser.add_argument
    add("--master", required=True, metavar="HOST[:PORT]", help="the master's --master-bind")
    add("--processes", type=int, default=1, metavar="N", help="worker processes on this host (1)")
    add("--clock-skew", type=float, default=0.0, help=argparse.SUPPRESS)  # tests only
    return parser


def worker_args(master: str, processes: int, clock_skew: float) -> list[str]:
    host, port = split_address(master, "--master")
    most = PROCESSES_PER_CORE * (os.cpu_count() or 1)
    if not 1 <= processes <= most:
        raise UsageError(
            f"--processes must be 1 to {most} ({PROCESSES_PER_CORE} per core of this host: a "
            f"process uses one core at most); got {processes}"
        )
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
        "--master-host", host, "--master-port", str(port), "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes > 1:
        args += ["--processes", str(processes)]
    if clock_skew:
        args += ["--clock-skew", f"{clock_skew:g}"]
    return args


def master_answers(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None when something listens at the master's address now, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the workers' process group, then SIGKILL to what is left of it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_WAIT_S)
            os.killpg(process.pid, signal.SIGKILL)  # any forked worker still there
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
        return


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    command = worker_args(args.master, args.processes, args.clock_skew)
    host, port = split_address(args.master, "--master")
    print(f"worker of {args.master}: {args.processes} process(es)", flush=True)
    why = master_answers(host, port)
    if why is not None:
        print(
            f"worker: nothing answers at {args.master} yet ({why}); waiting for the master "
            "(Locust gives up after about 5 minutes)",
            flush=True,
        )
    process = subprocess.Popen(command, start_new_session=True)  # its own group: stopped whole
    try:
        return process.wait()
    except KeyboardInterrupt:
        _stop(process)
        return 130
