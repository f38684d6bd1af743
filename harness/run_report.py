"""The end of a run: its report, the comparison with a baseline, and the exit code.

A Ctrl-C or SIGTERM while the report is written still leaves a record that says so (and how to
rebuild the report), and so does a kill: the reaper sees ``reporting`` in the record.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from harness.baseline import against_baseline
from reports.build import build_report
from reports.cli import print_verdict
from rundir import exits
from rundir.layout import RunDir
from rundir.record import RunRecord


def write_report(
    args: argparse.Namespace, run_dir: RunDir, record: RunRecord, save: Callable[[], None]
) -> int:
    """Build the report of the run in ``run_dir``; the run's exit code, kept in ``record``
    (``save`` writes it)."""
    record.reporting = True
    save()
    previous = None
    try:
        analysis = build_report(run_dir.path)
        print_verdict(analysis, run_dir.report, args.baseline is not None)
        code = against_baseline(args, run_dir.path, analysis.verdict.exit_code)
    except KeyboardInterrupt:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the record is saved whole
        record.status = "interrupted"
        record.error = (
            "interrupted while the report was being written; rebuild it with: "
            f"sirekap-loadtest report {run_dir.path}"
        )
        print(f"sirekap-loadtest run: {record.error}", file=sys.stderr, flush=True)
        code = exits.INCONCLUSIVE
    except Exception as error:
        print(f"sirekap-loadtest run: the report could not be built: {error}", file=sys.stderr)
        code = exits.INFRASTRUCTURE
    record.exit_code, record.reporting = code, False
    save()
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
    return code
