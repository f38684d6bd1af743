"""``junit.xml``: one test case per SLO, so any CI shows the SLOs as tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from reports.verdict import SloResult, Verdict


def write_junit(path: Path, suite: str, results: Sequence[SloResult], verdict: Verdict) -> None:
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuites", name="sirekap-loadtest", tests=str(len(results)))
    element = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0"
    )
    for result in results:
        case = ET.SubElement(
            element, "testcase", classname=f"slo.{suite}", name=result.slo.expression
        )
        detail = f"measured {result.shown_value}; needs {result.shown_threshold}"
        if result.note:
            detail += f" ({result.note})"
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=detail, type="SLOBreached")
            failure.text = detail
        else:
            ET.SubElement(case, "system-out").text = detail
    if verdict.name in {"inconclusive", "error"}:
        case = ET.SubElement(
            element, "testcase", classname=f"run.{suite}", name="run is trustworthy"
        )
        ET.SubElement(
            case, "error", message=verdict.reason, type=verdict.name
        ).text = verdict.reason
        element.set("errors", "1")
        element.set("tests", str(len(results) + 1))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
