"""``sirekap-loadtest compare BASE NEW``: is NEW worse than BASE, figure by figure?

BASE and NEW are run directories, or folders of repeated runs of the same settings (their spread
widens the tolerance); or both are plan directories (``plan``'s, with sweep.json: the knee and
the instances per deadline, reports/compare_plan.py), or folders of them. Prints the table and
writes ``compare.md`` (for a CI job summary or a pull-request comment), ``compare.xml`` (JUnit,
one case per figure), ``compare.html`` (both on shared axes) and ``compare.json`` into ``--out``
(default: NEW's ``report/``, or NEW itself when it is a folder).

Exit codes: 0 no regression, 1 regressed, 2 usage (not a run or plan directory, a run against a
plan, a bad --tolerance), 4 not comparable (scenario, seed, load factor or run length differ, or
a run cannot be trusted).
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
from reports.compare_plan import PlanSide, compare_plans, measure_plan, plan_folders
from reports.compare_plan_html import render_plans
from reports.compare_view import markdown, text_table, write_junit
from reports.console import emit, writable
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
    if plan_folders(path):
        raise CompareError(
            f"{role} {path}: a plan directory; a run's baseline is a run directory (runs/<id>), "
            "and plans compare with plans: sirekap-loadtest compare PLAN PLAN"
        )
    if not folders:
        what = "does not exist" if not path.exists() else f"holds no {names.RECORD}"
        plans = "" if role.startswith("--") else f", or a plan directory (with {names.SWEEP})"
        raise CompareError(
            f"{role} {path}: {what}; give a run directory (runs/<id>) or a folder of repeated "
            f"runs of one scenario{plans}"
        )
    return Side(tuple(measure_run(folder) for folder in folders))


def readable(path: Path, role: str) -> None:
    """CompareError when ``path`` (a folder) exists but cannot be listed."""
    try:
        if path.is_dir():
            next(path.iterdir(), None)
    except OSError as error:
        raise CompareError(f"{role} {path}: cannot be read ({error.strerror})") from None


def plan_side(path: Path, role: str) -> PlanSide:
    """The plans of one side (``path`` is a plan directory or holds some)."""
    return PlanSide(tuple(measure_plan(folder) for folder in plan_folders(path)))


def json_safe(value: float | None) -> float | str | None:
    if value is not None and math.isinf(value):
        return "never" if value > 0 else "-never"
    return value


def comparison_json(comparison: Comparison[Any]) -> dict[str, Any]:
    return {
        "verdict": comparison.verdict,
        "exit_code": comparison.exit_code,
        "reason": comparison.reason,
        "base": [str(path) for path in comparison.base.paths],
        "new": [str(path) for path in comparison.new.paths],
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


def write_outputs(
    comparison: Comparison[Any], folder: Path, title: str, html: str
) -> dict[str, Path]:
    """compare.md, .xml, .html (the page ``html``) and .json in ``folder``: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in OUTPUTS}
    paths["compare.md"].write_text(markdown(comparison, title))
    write_junit(paths["compare.xml"], comparison, comparison.new.scenario_name)
    paths["compare.html"].write_text(html)
    document = json.dumps(comparison_json(comparison), indent=2, allow_nan=False)
    paths["compare.json"].write_text(document + "\n")
    return paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sirekap-loadtest compare",
        description="Compare two saved runs (or two plans) figure by figure: improved, "
        "unchanged, regressed, differs (a rate: neither way is better) or not measured.",
        epilog="Exit codes: 0 no regression, 1 regressed, 2 usage, 4 not comparable.",
    )
    p.add_argument(
        "base", type=Path,
        help="the baseline: a run directory, a folder of repeated runs, or a plan directory",
    )  # fmt: skip
    p.add_argument("new", type=Path, help="the run (or plan) to judge, of the same kind as BASE")
    p.add_argument(
        "--tolerance", action="append", default=[], metavar="FIGURE=TOLERANCE",
        help="how far a figure may move, e.g. page.p95=+10%%, completion.final=-1pt, "
        "'result.*=+50ms' (over the scenario's [compare] and the defaults; repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=Path,
        help="folder for compare.md/.xml/.html/.json (default: NEW's report/, or NEW itself "
        "when it is a folder of runs or plans)",
    )  # fmt: skip
    p.add_argument("--all", action="store_true", help="also list figures not measured in both")
    return p


def compared(args: argparse.Namespace, given: dict[str, str]) -> tuple[Comparison[Any], str, Path]:
    """The comparison of BASE and NEW (runs or plans), its page and its default folder."""
    plans = [bool(plan_folders(path)) for path in (args.base, args.new)]
    if plans == [True, True]:
        base_plans, new_plans = plan_side(args.base, "BASE"), plan_side(args.new, "NEW")
        scenario = new_plans.first.scenario
        found = compare_plans(base_plans, new_plans, scenario.compare, command_line=given)
        single = len(new_plans.plans) == 1
        home = new_plans.first.path / names.REPORT if single else Path(args.new)
        return found, render_plans(found), home
    if plans[0] != plans[1]:
        run, role = (args.new, "NEW") if plans[0] else (args.base, "BASE")
        side(run, role)  # not a run either: say so
        kinds = ["a plan" if plan else "a run" for plan in plans]
        raise CompareError(
            f"BASE {args.base} is {kinds[0]} and NEW {args.new} is {kinds[1]}: compare two run "
            "directories, or two plan directories"
        )
    base, new = side(args.base, "BASE"), side(args.new, "NEW")
    comparison = compare(base, new, new.first.inputs.scenario.compare, command_line=given)
    home = new.first.path / names.REPORT if len(new.runs) == 1 else Path(args.new)
    return comparison, render(comparison), home


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    given = tolerances(args.tolerance)
    if args.out is not None:
        writable(args.out)  # before anything is measured
    for role, path in (("BASE", args.base), ("NEW", args.new)):
        readable(path, role)
    comparison, html, home = compared(args, given)
    folder = args.out or home
    title = f"{comparison.new.label} against {comparison.base.label}"
    try:
        paths = write_outputs(comparison, folder, title, html)
    except OSError as error:
        raise CompareError(f"--out {folder}: cannot write there ({error.strerror})") from None
    emit(text_table(comparison, everything=args.all))
    emit(f"comparison: {paths['compare.html']} (also compare.md, compare.xml, compare.json)")
    return comparison.exit_code
