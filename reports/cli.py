"""``sirekap-loadtest report RUN_DIR``: (re)build a run's report from its directory alone.

Exit codes as ``run`` (reports/verdict.py): 0 every SLO met, 1 an SLO breached, 2 not a usable
run directory, 3 the run itself failed (infrastructure), 4 inconclusive.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from reports.build import build_report
from reports.model import Analysis
from reports.verdict import SloResult


def print_slo_table(results: Sequence[SloResult]) -> None:
    """One line per SLO: measured value, threshold, pass | FAIL | not measured | n/a."""
    width = max((len(r.slo.expression) for r in results), default=10)
    print()
    print(f"{'SLO':<{width}}  {'measured':>14}  {'needs':>12}  result")
    for r in results:
        shown = r.shown_value
        print(f"{r.slo.expression:<{width}}  {shown:>14}  {r.shown_threshold:>12}  {r.mark}")
        if not r.judged and r.note:
            print(f"{'':<{width}}  ({r.note})")


def print_verdict(analysis: Analysis, report_dir: Path, baseline_follows: bool = False) -> None:
    """The SLO table and where the report is: the last thing a run prints (with a baseline to
    compare, the exit code comes after the comparison)."""
    results = analysis.slos
    verdict = analysis.verdict
    # a run that failed before measuring anything: the error is the news, not a table of blanks
    if results and not (verdict.name == "error" and not any(r.judged for r in results)):
        print_slo_table(results)
    if baseline_follows:
        print(f"\nSLOs {verdict.name.upper()} (exit code {verdict.exit_code} before the baseline): "
              f"{verdict.reason}")  # fmt: skip
    else:
        print(f"\n{verdict.name.upper()} (exit code {verdict.exit_code}): {verdict.reason}")
    print(f"report: {report_dir / 'report.html'}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest report", description="Build the report of a saved run directory."
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="e.g. runs/<id>")
    args = parser.parse_args(argv)
    analysis = build_report(args.run_dir)  # RunDirError: harness.cli says it and exits 2
    print_verdict(analysis, args.run_dir / "report")
    return analysis.verdict.exit_code
