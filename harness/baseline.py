"""``run --baseline DIR``: the run's verdict includes "no regression against the baseline".

Before the run: DIR must be a run directory (or a folder of repeated runs) and every
``--tolerance`` well formed (exit code 2 otherwise); a baseline of other settings is said at the
start (its comparison will be "not comparable"). After the report: the run is compared with
DIR as ``compare`` does (reports/compare.py), the table printed, ``report/compare.md`` (also
appended to summary.md), ``compare.xml`` (JUnit), ``compare.html`` and ``compare.json`` written,
and summary.json gains ``baseline``. The exit code: a run that met its SLOs (0) becomes 1 when it
regressed and 4 when the baseline is not comparable; a run inconclusive only because an SLO was
not measured (4) becomes 1 when it regressed; a breach (1) or a failure (3) stays as it is.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reports.compare import Side, compare, settings
from reports.compare_cli import comparison_json, side, tolerances, write_outputs
from reports.compare_html import render
from reports.compare_view import markdown, text_table
from reports.figures import measure_run
from reports.inputs import SHAPE_ERRORS
from rundir import exits, names
from rundir.exits import LoadtestError
from rundir.files import read_json, write_json
from scenarios import Scenario


def add_options(add: Callable[..., Any]) -> None:
    add(
        "--baseline", type=Path, metavar="DIR",
        help="compare with this saved run (or folder of runs); a regression fails the run",
    )  # fmt: skip
    add(
        "--tolerance", action="append", default=[], metavar="FIGURE=TOLERANCE",
        help="with --baseline: how far a figure may move, e.g. page.p95=+10%% (repeatable)",
    )  # fmt: skip


def check_baseline(args: argparse.Namespace) -> None:
    """The options are usable before anything starts; UsageError (exit 2) naming what is not."""
    if args.tolerance and args.baseline is None:
        raise exits.UsageError("--tolerance needs --baseline DIR (or use `compare`)")
    tolerances(args.tolerance)
    if args.baseline is not None:
        side(args.baseline, "--baseline")


def baseline_lines(args: argparse.Namespace, scenario: Scenario) -> list[str]:
    """What the run says at its start about its baseline: settings that will not compare."""
    if args.baseline is None:
        return []
    base = side(args.baseline, "--baseline").first
    mine, theirs = settings(scenario), settings(base.inputs.scenario)
    wrong = [f"{k} {theirs[k]!r} (this run {mine[k]!r})" for k in mine if mine[k] != theirs[k]]
    lines = [f"baseline: {base.path}"]
    if wrong:
        lines.append(
            "sirekap-loadtest run: the baseline will not compare, its "
            + "; ".join(wrong)
            + ": the run ends not comparable (exit code 4) unless it fails otherwise"
        )
    return lines


def against_baseline(args: argparse.Namespace, run_dir: Path, code: int) -> int:
    """Compare the reported run with ``--baseline``; the exit code with the comparison's part."""
    if args.baseline is None:
        return code
    report = run_dir / names.REPORT
    try:
        base = side(args.baseline, "--baseline")
        new = Side((measure_run(run_dir),))
        comparison = compare(
            base, new, new.first.inputs.scenario.compare, command_line=tolerances(args.tolerance)
        )
        table = text_table(comparison)
        write_outputs(comparison, report, f"against the baseline {base.label}", render(comparison))
        data = comparison_json(comparison)
    except (LoadtestError, *SHAPE_ERRORS, OSError) as error:
        # the run and its report stand; the comparison did not happen, and every file says so
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        final = exits.INCONCLUSIVE if code == exits.OK else code
        print(f"sirekap-loadtest run: --baseline: {why}; not compared", flush=True)
        failed = {"verdict": "not compared", "exit_code": exits.INCONCLUSIVE, "reason": why}
        _amend_summaries(
            report, failed, f"## Comparison with the baseline\n\nNot compared: {why}\n", code, final
        )
        return final
    print()
    print(table)
    final = code
    if comparison.verdict == "regressed" and code in {exits.OK, exits.INCONCLUSIVE}:
        final = exits.BREACHED
    elif comparison.verdict == "not comparable" and code == exits.OK:
        final = exits.INCONCLUSIVE
    _amend_summaries(report, data, markdown(comparison), code, final)
    word = {exits.OK: "PASSED", exits.BREACHED: "FAILED"}.get(final, "INCONCLUSIVE")
    print(
        f"\n{word} (exit code {final}): {comparison.verdict} against the baseline "
        f"({comparison.reason}); exit code {code} on the SLOs alone"
    )
    print(f"comparison: {report / 'compare.html'}", flush=True)
    return final


def _amend_summaries(
    report: Path, data: dict[str, Any], section: str, code: int, final: int
) -> None:
    """summary.json gains ``baseline`` (and the final exit code); summary.md the section."""
    summary = report / "summary.json"
    document = read_json(summary) or {}
    document["baseline"] = data
    document["exit_code"] = final
    write_json(summary, document)
    markdown_file = report / "summary.md"
    text = markdown_file.read_text()
    if final != code:
        first, _, rest = text.partition("\n")
        word = {"regressed": "regressed", "not compared": "not compared"}.get(
            data["verdict"], "not comparable"
        )
        icon = {exits.BREACHED: "FAIL", exits.INCONCLUSIVE: "INCONCLUSIVE"}.get(final, "ERROR")
        first = re.sub(r"^## [A-Z]+:", f"## {icon}:", first)
        first = first.replace(
            f"(exit code {code})",
            f"(exit code {final}: {word} against the baseline; {code} on the SLOs alone)",
        )
        text = f"{first}\n{rest}"
    markdown_file.write_text(text.rstrip("\n") + "\n\n" + section)
