"""The plenary and data-quality section of a run's report: HTML, Markdown and its chart."""

from __future__ import annotations

from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt

from reports.markup import html_table
from reports.plenary_figures import PlenaryReport, QualityReport
from scenarios import format_duration


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{format_duration(round(seconds))} sim"


def _per_day(report: PlenaryReport) -> str:
    return "-" if report.tps_per_day is None else f"{report.tps_per_day:.1f}"


def plenary_lines(report: PlenaryReport) -> list[str]:
    """The plenary in sentences (Markdown and HTML share them)."""
    days = ", ".join(f"{day} {count}" for day, count in report.per_day.items()) or "none"
    causes = ", ".join(f"{cause} {n}" for cause, n in report.causes.items()) or "none"
    fields = ", ".join(f"{name} {n}" for name, n in report.fields.items()) or "none"
    corrections = ", ".join(f"{k} {v}" for k, v in report.corrections.items()) or "none"
    server = (
        ""
        if report.server_closed is None or report.server_closed == report.gaveled
        else f" (the server closed {report.server_closed}: corrections also close a TPS)"
    )
    return [
        f"{report.gaveled} of {report.tps_forms} TPS forms gaveled{server} in {report.kecamatan} "
        f"kecamatan over {report.working_days} working day(s), {report.forms} taken up: "
        f"{_per_day(report)} TPS per day per "
        f"kecamatan (the seed: {report.baseline_smooth:g} a day when it runs smoothly, "
        f"{report.baseline_stalled:g} on the day Sirekap was down); {report.open} still open.",
        f"Gaveled per day (all kecamatan): {days}.",
        f"From counting to gavel: median {_duration(report.gavel_time_p50_s)}, p90 "
        f"{_duration(report.gavel_time_p90_s)}, longest {_duration(report.gavel_time_max_s)}.",
        f"Discrepancies: {report.discrepancies} TPS forms (by cause: {causes}; fields: {fields}); "
        f"KPPS corrections: {corrections}.",
        f"Waited for a missing upload: {report.waited_for_upload} TPS forms; plenary requests "
        f"refused (503: the plenary gate or overload): {report.refused}.",
    ]


def quality_lines(report: QualityReport) -> list[str]:
    ratio = report.detection_ratio
    shown = "-" if ratio is None else f"{100 * ratio:.1f}%"
    lines = [
        f"Injected digit misreads: {report.injected} TPS forms ({report.consistent} still add "
        f"up, so no arithmetic check can see them). Caught by the server's arithmetic check: "
        f"{report.caught_arithmetic}; at the plenary: {report.caught_plenary}; got through "
        f"(Sirekap's latest numbers are wrong): {report.undetected}; never stored: "
        f"{report.never_stored}. Detected: {shown}.",
    ]
    if report.examples:
        lines.append(f"Got through, e.g.: {', '.join(report.examples)}.")
    return lines


HEAD = [
    "TPS gaveled", "open", "per day per kecamatan", "seed (smooth)",
    "counting to gavel (median)", "discrepancies", "refused",
]  # fmt: skip


def plenary_html(plenary: PlenaryReport | None, quality: QualityReport | None) -> str:
    parts = []
    if plenary is not None:
        row = [
            str(plenary.gaveled), str(plenary.open), _per_day(plenary),
            f"{plenary.baseline_smooth:g}", _duration(plenary.gavel_time_p50_s),
            str(plenary.discrepancies), str(plenary.refused),
        ]  # fmt: skip
        parts += [
            "<h2>Plenary</h2>",
            html_table(HEAD, [row]),
            *(f"<p>{escape(line)}</p>" for line in plenary_lines(plenary)[1:]),
        ]
    if quality is not None and quality.injected:
        parts += ["<h2>Data quality</h2>", *(f"<p>{escape(x)}</p>" for x in quality_lines(quality))]
    return "".join(parts)


def plenary_md(plenary: PlenaryReport | None, quality: QualityReport | None) -> list[str]:
    lines: list[str] = []
    if plenary is not None:
        lines += ["", "Plenary:", *(f"- {line}" for line in plenary_lines(plenary))]
    if quality is not None and quality.injected:
        lines += ["", "Data quality:", *(f"- {line}" for line in quality_lines(quality))]
    return lines


def plenary_chart(report: PlenaryReport, path: Path) -> Path | None:
    """TPS gaveled per day per kecamatan, against the seed's 20 and 2 a day."""
    if not report.per_day or not report.kecamatan:
        return None
    days = list(report.per_day)
    values = [report.per_day[day] / report.kecamatan for day in days]
    figure, axes = plt.subplots(figsize=(9, 3.6), layout="constrained")
    axes.bar(days, values, color="#1f77b4", label="TPS gaveled per kecamatan")
    axes.axhline(report.baseline_smooth, color="green", linestyle="--", label="seed: smooth")
    axes.axhline(report.baseline_stalled, color="red", linestyle=":", label="seed: Sirekap down")
    axes.set_title("Plenary: TPS gaveled per day per kecamatan", loc="left", fontweight="bold")
    axes.set_ylabel("TPS per day")
    axes.set_xlabel("local date (simulated)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
