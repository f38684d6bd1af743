"""The plan check (``plan --verify``) in the plan's report: a table, the reasons, one chart.

The table has a row per replay and deadline (each zone's local deadline): the share of the TPS
ready by then that were taken in by then, predicted by the plan's model and measured by the
replay, their difference in percentage points, and whether it is within
``reports.plan_check.AGREEMENT_PP``. The chart is reports.plan_charts.check_curves.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from reports.markup import html_table
from reports.plan_check import AGREEMENT_PP, AtDeadline, PlanCheck, Replay
from reports.plan_text import percent

HEAD = ("instances", "deadline", "predicted", "measured", "difference", "agrees")


def _row(replay: Replay, d: AtDeadline) -> list[str]:
    gap = d.gap_pp
    agrees = {True: "yes", False: "no", None: "not measured"}[d.agrees]
    return [
        str(replay.instances), f"{d.share:.0%} by {d.deadline} {d.zone}", percent(d.predicted, 1),
        percent(d.measured, 1), "-" if gap is None else f"{gap:+.1f} points", agrees,
    ]  # fmt: skip


def _intro(check: PlanCheck) -> str:
    return (
        f"Replays of the {check.replay_tps:,} TPS ready in the night, at load factor "
        f"{check.load_factor:.3g}, each instance the sweep's knee ({check.knee_rps:.1f} req/s): "
        f"the plan's model predicts, the replay measures (agreement: within {AGREEMENT_PP:g} "
        "points)."
    )


def _state(replay: Replay) -> str:
    off = [d for d in replay.deadlines if d.agrees is False]
    if not replay.trusted:
        state = f"not measured: {replay.why_untrusted}"
    elif off:
        state = f"{len(off)} of {len(replay.deadlines)} deadlines off by more than "
        state += f"{AGREEMENT_PP:g} points"
    else:
        state = "model and replay agree at every deadline"
    return f"At {replay.instances} instances (exit code {replay.exit_code}): {state}."


def summary_lines(check: PlanCheck) -> list[str]:
    """What the check found, in sentences (the plan's output and summary.md)."""
    lines = [_intro(check)]
    for replay in check.replays:
        lines += [_state(replay), *[f"  - {reason}." for reason in replay.reasons]]
    return lines + check.notes


def check_html(check: PlanCheck | None, folder: Path) -> str | None:
    """The section of report.html; links to each replay's report relative to ``folder``."""
    if check is None:
        return None
    rows, classes = [], []
    for replay in check.replays:
        for d in replay.deadlines:
            rows.append(_row(replay, d))
            classes.append([""] * 5 + ["" if d.agrees is None else "yes" if d.agrees else "no"])
    links = []
    for replay in check.replays:
        report = Path(replay.run_dir) / "report" / "report.html"
        href = os.path.relpath(report, folder)
        links.append(
            f'<li><a href="{escape(href)}">the replay at {replay.instances} instances</a></li>'
        )
    parts = ["<h2>Checked against the deployment</h2>", f"<p>{escape(_intro(check))}</p>"]
    for replay in check.replays:
        parts.append(f"<p>{escape(_state(replay))}</p>")
        if replay.reasons:
            parts += ["<ul>", *[f"<li>{escape(r)}.</li>" for r in replay.reasons], "</ul>"]
    parts += [f"<p>{escape(note)}</p>" for note in check.notes]
    if rows:
        parts.append(html_table(list(HEAD), rows, classes))
    if links:
        parts += ["<ul>", *links, "</ul>"]
    return "\n".join(parts)


def check_md(check: PlanCheck | None) -> list[str]:
    if check is None:
        return []
    lines = ["", "### Checked against the deployment", "", _intro(check)]
    for replay in check.replays:
        lines += ["", _state(replay), *[f"- {reason}." for reason in replay.reasons]]
    lines += [line for note in check.notes for line in ("", note)]
    rows = [_row(r, d) for r in check.replays for d in r.deadlines]
    if rows:
        lines += ["", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
