"""The report's completion section: the figures, what the manual baseline assumes, and every
TPS form that was never acknowledged with its last failure (bounded list, full count)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from reports.completion import Completion
from reports.markup import html_table
from reports.unacked import SHOWN, Unacked
from scenarios import format_duration


def completion_html(completion: Completion | None, unacked: Sequence[Unacked]) -> str:
    if completion is None:
        return ""
    c = completion.as_dict()
    parts = [
        "<h2>Completion</h2>",
        html_table(
            [
                "ready in the run",
                "acknowledged",
                "never acknowledged",
                "share",
                "TPS per simulated day",
                "manual recap (20/day per kecamatan, scaled)",
            ],
            [
                [
                    str(c["ready_in_run"]),
                    str(c["acknowledged"]),
                    f"{c['unacknowledged']} ({c['given_up']} given up)",
                    "-" if c["final"] is None else f"{100 * c['final']:.1f}%",
                    f"{c['tps_per_day']:.1f}",
                    f"{c['manual_tps_per_day_smooth']:,.1f} per day",
                ]
            ],
        ),
        "<p class=muted>Backlog (chart): TPS forms ready (counting finished) and not yet "
        "acknowledged while their devices still try; forms whose devices gave up are never "
        "acknowledged and are counted apart, so the backlog reaching 0 does not hide them.</p>",
    ]
    if c["manual_note"]:
        parts.append(f"<p class=muted>{escape(c['manual_note'])}</p>")
    parts.append(unacked_html(unacked))
    return "\n".join(parts)


def unacked_html(forms: Sequence[Unacked]) -> str:
    if not forms:
        return "<p>Every TPS form of the ledger was acknowledged.</p>"
    more = f" (the first {SHOWN} shown)" if len(forms) > SHOWN else ""
    rows = [
        [f.tps_code, f.election, f"{format_duration(f.ready_s)} sim", f.outcome, f.endpoint,
         str(f.attempts), f.kind, f.last_status]
        for f in forms[:SHOWN]
    ]  # fmt: skip
    return (
        f"<h3>Never acknowledged: {len(forms)} TPS form{'s' if len(forms) != 1 else ''}{more}</h3>"
        + html_table(
            [
                "TPS",
                "form",
                "ready after",
                "outcome",
                "stopped at",
                "attempts there",
                "failure kind (most)",
                "last answer (ledger)",
            ],
            rows,
        )
    )
