"""The pieces every HTML report shares: the style sheet and tables (escaped cells)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.verdict{padding:1rem 1.2rem;border-radius:8px;color:#fff;margin:1rem 0}
.passed{background:#2e7d32}.breached{background:#c62828}.inconclusive{background:#ef6c00}
.error{background:#6a1b9a} table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:left;font-size:.9rem}
th{background:#f5f5f5} td.no{color:#c62828;font-weight:bold} td.yes{color:#2e7d32}
td.na{color:#666;font-style:italic}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0} .muted{color:#666;font-size:.85rem}
"""


def html_table(
    head: list[str], rows: list[list[str]], classes: list[list[str]] | None = None
) -> str:
    out = ["<table><tr>", *[f"<th>{escape(h)}</th>" for h in head], "</tr>"]
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            css = classes[r][c] if classes else ""
            cells.append(
                f'<td class="{css}">{escape(cell)}</td>' if css else f"<td>{escape(cell)}</td>"
            )
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


# the SLO table's result cell, by SloResult.status (reports.verdict)
SLO_CELL = {"met": "yes", "breached": "no", "not measured": "na", "not applicable": "na"}


def slo_html_table(results: Sequence[Any]) -> str:
    """The SLO table of a report: result pass | FAIL | not measured | n/a, with the note."""
    rows = [[r.slo.expression, r.shown_value, r.shown_threshold, r.mark, r.note] for r in results]
    classes = [["", "", "", SLO_CELL[r.status], ""] for r in results]
    return html_table(["SLO", "measured", "needs", "result", "note"], rows, classes)


def charts_section(charts: Mapping[str, Path]) -> str | None:
    """Every chart inlined as a PNG data URL: the file works offline and alone."""
    if not charts:
        return None
    images = [
        f'<img alt="{escape(title)}" '
        f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'
        for title, path in charts.items()
    ]
    return "\n".join(["<h2>Charts</h2>", *images])


def notes_section(notes: Sequence[str]) -> str | None:
    """What could not be analysed, and why: a list, or nothing."""
    if not notes:
        return None
    items = [f"<li>{escape(n)}</li>" for n in notes]
    return "\n".join(["<h2>Notes</h2><ul>", *items, "</ul>"])
