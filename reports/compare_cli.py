"""``sirekap-loadtest compare BASE NEW``: is NEW worse than BASE, figure by figure?

BASE and NEW are run directories, or folders of repeated runs of the same settings (their spread
widens the tolerance). Prints the table and writes ``compare.md`` (for a CI job summary or a
pull-request comment), ``compare.xml`` (JUnit, one case per figure), ``compare.html`` (both runs
on shared axes) and ``compare.json`` into ``--out`` (default: NEW's ``report/``, or NEW itself
when it is a folder of runs).

Exit codes: 0 no regression, 1 regressed, 2 usage (not a run directory, a bad --tolerance),
4 not comparable (scenario, seed, load factor or run length differ, or a run cannot be trusted).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.compare import Comparison, Side, compare, run_folders
from reports.compare_html import render
from reports.compare_view import markdown, text_table, write_junit
from reports.figures import measure_run
from rundir import names
from rundir.exits import UsageError
from scenarios.schema.compare import check_tolerance

OUTPUTS = ("compare.md", "compare.xml", "compare.html", "compare.json")


class CompareError(UsageError):
    """A bad argument of ``compare`` or ``--baseline`` (exit code 2)."""


def tolerances(given: Sequence[str], flag: str = "--tolerance") -> dict[str, str]:
    """``FIGURE=VALUE`` items as a table; CompareError naming the bad one and what is valid."""
    table: dict[str, str] = {}
    for item in given:
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise CompareError(
                f"{flag} {item!r}: write FIGURE=TOLERANCE, like page.p95=+10% or "
                "completion.final=-1pt"
            )
        try:
            check_tolerance(key.strip(), value.strip())
        except ValueError as error:
            raise CompareError(f"{flag} {item!r}: {error}") from None
        table[key.strip()] = value.strip()
    return table


def side(path: Path, role: str) -> Side:
    """The runs of one side; CompareError when ``path`` holds none."""
    folders = run_folders(path)
    if not folders:
        what = "does not exist" if not path.exists() else f"holds no {names.RECORD}"
        raise CompareError(
            f"{role} {path}: {what}; give a run directory (runs/<id>) or a folder of repeated "
            "runs of one scenario"
        )
    if (path / names.SWEEP).exists():
        raise CompareError(
            f"{role} {path}: a plan directory; compare its stages' runs (stages/<id>) or its "
            "replays (replays/<id>), or two plans' report/summary.json by hand"
        )
    return Side(tuple(measure_run(folder) for folder in folders))


def json_safe(value: float | None) -> float | str | None:
    if value is not None and math.isinf(value):
        return "never" if value > 0 else "-never"
    return value


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "verdict": comparison.verdict,
        "exit_code": comparison.exit_code,
        "reason": comparison.reason,
        "base": [str(r.path) for r in comparison.base.runs],
        "new": [str(r.path) for r in comparison.new.runs],
        "unfair": comparison.unfair,
        "differences": comparison.differences,
        "notes": comparison.notes,
        "figures": [
            {
                "key": c.key,
                "kind": c.figure.kind,
                "better": c.figure.better,
                "base": json_safe(c.base),
                "new": json_safe(c.new),
                "delta": json_safe(c.delta),
                "allowed": c.allowed,
                "tolerance": c.tolerance,
                "verdict": c.verdict,
                "why": c.why or None,
                "slo": c.slo,
            }
            for c in comparison.figures
        ],
    }


def write_outputs(comparison: Comparison, folder: Path, title: str) -> dict[str, Path]:
    """compare.md, .xml, .html and .json in ``folder``: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in OUTPUTS}
    paths["compare.md"].write_text(markdown(comparison, title))
    write_junit(paths["compare.xml"], comparison, comparison.new.first.inputs.scenario.name)
    paths["compare.html"].write_text(render(comparison))
    document = json.dumps(comparison_json(comparison), indent=2, allow_nan=False)
    paths["compare.json"].write_text(document + "\n")
    return paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sirekap-loadtest compare",
        description="Compare two saved runs figure by figure: improved, unchanged or regressed.",
        epilog="Exit codes: 0 no regression, 1 regressed, 2 usage, 4 not comparable.",
    )
    p.add_argument("base", type=Path, help="the baseline: a run directory or a folder of runs")
    p.add_argument("new", type=Path, help="the run to judge: a run directory or a folder of runs")
    p.add_argument(
        "--tolerance", action="append", default=[], metavar="FIGURE=TOLERANCE",
        help="how far a figure may move, e.g. page.p95=+10%%, completion.final=-1pt, "
        "'result.*=+50ms' (over the scenario's [compare] and the defaults; repeatable)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, help="folder for compare.md/.xml/.html/.json")
    p.add_argument("--all", action="store_true", help="also list figures not measured in both")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    given = tolerances(args.tolerance)
    base, new = side(args.base, "BASE"), side(args.new, "NEW")
    comparison = compare(base, new, new.first.inputs.scenario.compare, command_line=given)
    print(text_table(comparison, everything=args.all))
    folder = args.out or (new.first.path / names.REPORT if len(new.runs) == 1 else Path(args.new))
    try:
        paths = write_outputs(comparison, folder, f"{new.label} against {base.label}")
    except OSError as error:
        raise CompareError(f"--out {folder}: cannot write there ({error.strerror})") from None
    print(f"comparison: {paths['compare.html']} (also compare.md, compare.xml, compare.json)")
    return comparison.exit_code
