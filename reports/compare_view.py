"""A comparison as a person or a CI reads it: a terminal table, Markdown, JUnit.

The Markdown suits a CI job summary or a pull-request comment; JUnit has one test case per
compared figure (a regression is a failure, a figure not measured in both runs is skipped, and a
comparison that is not fair is one error case, "runs are comparable").
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from reports.compare import IMPROVED, NOT_MEASURED, REGRESSED, UNCHANGED, Compared, Comparison
from reports.figures import show_value
from reports.verdict import show_kind

MARKS = {REGRESSED: "REGRESSED", IMPROVED: "improved", NOT_MEASURED: "not measured"}


def shown(c: Compared, value: float | None) -> str:
    return show_value(c.figure, value)


def _amount(c: Compared, value: float) -> str:
    """A move of ``c``'s figure, without its sign, in the figure's unit."""
    kind, metric = c.figure.kind, c.figure.metric
    if kind == "ratio":
        return f"{100 * value:.2g}pt"
    if metric == "rate":
        return f"{value:.2g}/s"
    if metric == "knee_rps":
        return f"{value:.4g} req/s"
    if kind == "duration" and 0 < value < 0.001:
        return f"{value * 1000:.2g}ms"
    if kind in {"count", "number"}:
        return f"{value:.3g}"
    text = show_kind(kind, value)
    return f"{text} sim" if c.figure.simulated else text


def shown_delta(c: Compared) -> str:
    delta = c.delta
    if delta is None:
        return "-"
    if math.isinf(delta):
        return "now never" if delta > 0 else "now recovers"
    if delta == 0:
        return "0"
    text = ("+" if delta > 0 else "-") + _amount(c, abs(delta))
    relative = c.relative
    if relative is not None and c.figure.kind != "ratio" and round(100 * relative) != 0:
        text += f" ({100 * relative:+.0f}%)"
    return text


def allowance(c: Compared) -> str:
    """The move the figure was allowed, in its unit, with the tolerance it came from: "within"
    it for an unchanged figure, "beyond" it for one that moved."""
    if c.verdict == NOT_MEASURED:
        return c.why
    word = "within" if c.verdict == UNCHANGED else "beyond"
    if c.allowed == 0 or not math.isfinite(c.allowed):
        return f"no move allowed: {c.tolerance}"
    return f"{word} ±{_amount(c, c.allowed)}: {c.tolerance}"


def ordered(comparison: Comparison[Any]) -> list[Compared]:
    """SLO figures first, then the rest in the order the analysis gives them."""
    return [c for c in comparison.figures if c.slo] + [c for c in comparison.figures if not c.slo]


def headline(comparison: Comparison[Any]) -> str:
    word = {"regressed": "REGRESSED", "no regression": "NO REGRESSION"}.get(
        comparison.verdict, "NOT COMPARABLE"
    )
    return f"{word} (exit code {comparison.exit_code}): {comparison.reason}"


def table_rows(comparison: Comparison[Any]) -> list[tuple[str, ...]]:
    return [
        (
            ("SLO " if c.slo else "") + c.key,
            shown(c, c.base),
            shown(c, c.new),
            shown_delta(c),
            "-" if comparison.unfair else MARKS.get(c.verdict, c.verdict),
            allowance(c),
        )
        for c in ordered(comparison)
    ]


HEADER = ("figure", "base", "new", "delta", "verdict", "allowed move / why")


def text_table(comparison: Comparison[Any], everything: bool = False) -> str:
    """The terminal table: every figure measured in both runs (and, with ``everything``, the
    ones that were not), then the verdict."""
    lines = [f"base: {comparison.base.label}", f"new:  {comparison.new.label}"]
    lines += [f"note: {d}" for d in (*comparison.differences, *comparison.notes)]
    rows = [
        row for row, c in zip(table_rows(comparison), ordered(comparison), strict=True)
        if everything or c.verdict != NOT_MEASURED
    ]  # fmt: skip
    if rows:
        widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(5)]
        lines.append("")
        for row in [HEADER, *rows]:
            cells = [
                row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in (0, 1, 2, 3)
            ]
            lines.append("  ".join([*cells, row[4].ljust(widths[4]), row[5]]).rstrip())
    skipped = sum(c.verdict == NOT_MEASURED for c in comparison.figures)
    if skipped and not everything:
        lines.append(f"({skipped} figures not measured in both runs: --all shows them)")
    lines += ["", headline(comparison)]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(comparison: Comparison[Any], title: str = "Comparison with the baseline") -> str:
    icon = {"regressed": "FAIL", "no regression": "PASS"}.get(comparison.verdict, "INCONCLUSIVE")
    lines = [
        f"## {icon}: {title}",
        "",
        headline(comparison),
        "",
        f"Base `{comparison.base.label}`, new `{comparison.new.label}`.",
    ]
    lines += ["", *[f"- {d}" for d in (*comparison.differences, *comparison.notes)]]
    rows = [
        row for row, c in zip(table_rows(comparison), ordered(comparison), strict=True)
        if c.verdict != NOT_MEASURED
    ]  # fmt: skip
    if rows:
        lines += ["", "| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|---|---|"]
        for r in rows:
            bold = r[4] == "REGRESSED"
            cells = [
                f"**{r[0]}**" if bold else r[0],
                *r[1:4],
                f"**{r[4]}**" if bold else r[4],
                r[5],
            ]
            lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
    missing = [c for c in comparison.figures if c.verdict == NOT_MEASURED]
    if missing:
        lines += [
            "",
            f"<details><summary>{len(missing)} figures not measured in both runs</summary>",
            "",
        ]
        lines += [f"- `{c.key}`: {_md_cell(c.why)}" for c in missing]
        lines += ["", "</details>"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def write_junit(path: Path, comparison: Comparison[Any], suite: str) -> None:
    root = ET.Element("testsuites", name="sirekap-loadtest compare")
    element = ET.SubElement(root, "testsuite", name=f"compare.{suite}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(name: str) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(element, "testcase", classname=f"compare.{suite}", name=name)

    if comparison.unfair or not comparison.measured:
        counts["errors"] += 1
        ET.SubElement(
            case("runs are comparable"), "error", message=comparison.reason, type="NotComparable"
        ).text = comparison.reason
    for c in ordered(comparison):
        test = case(c.key)
        detail = f"base {shown(c, c.base)}, new {shown(c, c.new)}, delta {shown_delta(c)}"
        if comparison.unfair:
            counts["skipped"] += 1
            ET.SubElement(test, "skipped", message=f"not comparable: {detail}")
        elif c.verdict == REGRESSED:
            counts["failures"] += 1
            message = f"regressed: {detail}; {allowance(c)}"
            ET.SubElement(test, "failure", message=message, type="Regressed").text = message
        elif c.verdict == NOT_MEASURED:
            counts["skipped"] += 1
            ET.SubElement(test, "skipped", message=f"not measured: {c.why}")
        else:
            ET.SubElement(test, "system-out").text = f"{c.verdict}: {detail}; {allowance(c)}"
    for key, value in counts.items():
        element.set(key, str(value))
        root.set(key, str(value))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
