"""``junit.xml``: one test case per SLO, so any CI shows the SLOs as tests.

A breached SLO is a failure; an SLO the run could not measure is an error (the run is
inconclusive: nothing was proven either way); one removed on purpose (``--no-faults``) is
skipped. A run that failed, or whose figures cannot be trusted (a saturated generator, an early
end), adds one error case, "run is trustworthy". The counts of
``<testsuites>`` and ``<testsuite>`` are those of the cases written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from reports.verdict import BREACHED, NOT_APPLICABLE, NOT_MEASURED, SloResult, Verdict


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name)


def write_junit(path: Path, suite: str, results: Sequence[SloResult], verdict: Verdict) -> None:
    root = ET.Element("testsuites", name="sirekap-loadtest")
    element = ET.SubElement(root, "testsuite", name=suite)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        case = _case(element, f"slo.{suite}", result.slo.expression)
        counts["tests"] += 1
        if result.judged:
            detail = f"measured {result.shown_value}; needs {result.shown_threshold}"
            detail += f" ({result.note})" if result.note else ""
        else:
            detail = f"{result.status}: {result.note}; needs {result.shown_threshold}"
        if result.status == BREACHED:
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=detail, type="SLOBreached").text = detail
        elif result.status == NOT_MEASURED:
            counts["errors"] += 1
            ET.SubElement(case, "error", message=detail, type="NotMeasured").text = detail
        elif result.status == NOT_APPLICABLE:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=detail)
        else:
            ET.SubElement(case, "system-out").text = detail
    if verdict.untrusted:  # an SLO not measured is its own error case, not the run's
        case = _case(element, f"run.{suite}", "run is trustworthy")
        counts["tests"] += 1
        counts["errors"] += 1
        ET.SubElement(
            case, "error", message=verdict.reason, type=verdict.name
        ).text = verdict.reason
    for key, value in counts.items():
        element.set(key, str(value))
        root.set(key, str(value))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
