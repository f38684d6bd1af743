"""``sirekap-loadtest worker --master HOST[:PORT]``: a Locust worker of a run on another host.

It needs only the installed package: the scenario, the options and the clock come from the
master (``run --expect-workers``, :mod:`harness.distributed`). It ends when the master ends the
run, or when Locust gives up on a master that does not answer. Exit code: Locust's own (0 once
the master ended the run), 2 for a bad option.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from harness.distributed import split_address
from harness.locust import LOCUSTFILE
from rundir.exits import UsageError


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
    if processes < 1:
        raise UsageError(f"--processes must be at least 1; got {processes}")
    args = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
        "--master-host", host, "--master-port", str(port), "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes > 1:
        args += ["--processes", str(processes)]
    if clock_skew:
        args += ["--clock-skew", f"{clock_skew:g}"]
    return args


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    command = worker_args(args.master, args.processes, args.clock_skew)
    print(f"worker of {args.master}: {args.processes} process(es)", flush=True)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130
