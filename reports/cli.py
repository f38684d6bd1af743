"""``sirekap-loadtest report RUN_DIR``: (re)build a run's report from its directory alone.

Exit codes as ``run`` (DESIGN.md): 0 every SLO met, 1 an SLO breached, 2 not a usable run
directory, 3 the run itself failed (infrastructure), 4 inconclusive.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports.build import build_report
from reports.inputs import RunDirError
from reports.model import Analysis
from reports.verdict import EXIT_USAGE


def print_verdict(analysis: Analysis, report_dir: Path) -> None:
    """The SLO table and where the report is: the last thing a run prints."""
    results = analysis.slos
    width = max((len(r.slo.expression) for r in results), default=10)
    print()
    print(f"{'SLO':<{width}}  {'measured':>14}  {'needs':>12}  result")
    for r in results:
        mark = "pass" if r.passed else "FAIL"
        print(f"{r.slo.expression:<{width}}  {r.shown_value:>14}  {r.shown_threshold:>12}  {mark}")
    verdict = analysis.verdict
    print(f"\n{verdict.name.upper()} (exit code {verdict.exit_code}): {verdict.reason}")
    print(f"report: {report_dir / 'report.html'}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest report", description="Build the report of a saved run directory."
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="e.g. runs/<id>")
    args = parser.parse_args(argv)
    try:
        analysis = build_report(args.run_dir)
    except RunDirError as error:
        print(f"sirekap-loadtest report: {error}", file=sys.stderr)
        return EXIT_USAGE
    print_verdict(analysis, args.run_dir / "report")
    return analysis.verdict.exit_code
