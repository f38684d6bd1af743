"""summary.json, summary.md and report.html from one analysis: verdict first, all sections."""

from __future__ import annotations

import json
from pathlib import Path

from reports.completion import Completion, FormTimes
from reports.html import render_html
from reports.integrity import IntegrityReport
from reports.model import Analysis, EndpointStats, RunFacts
from reports.recovery import Recovery
from reports.summary_files import summary_json, summary_md
from reports.verdict import evaluate, verdict
from scenarios.schema.slo import parse_slo


def _analysis(chart: Path | None = None) -> Analysis:
    slos = evaluate(
        [parse_slo("page.p95 < 2s"), parse_slo("integrity.lost == 0")],
        lambda slo: {"page.p95": 2.5, "integrity.lost": 0.0}.get(slo.key),
    )
    return Analysis(
        run=RunFacts(
            scenario="smoke",
            description="two desa",
            run_id="20240214T063000Z-smoke",
            status="completed",
            started="2024-02-14T06:30:00Z",
            ended="2024-02-14T06:30:20Z",
            clock_start_local="2024-02-14 17:00 WITA",
            speedup=720.0,
            duration_sim_s=14_400.0,
            duration_real_s=20.0,
            load_factor=720.0,
            load_factor_note="of this population's rate",
            target="embedded mock",
            toxiproxy="builtin 2.12.0",
            versions={"locust": "2.47.0"},
        ),
        verdict=verdict(slos, None),
        slos=slos,
        endpoints=[EndpointStats("page", 100, 90, 10, 0.05, 2.5, 3.0, 4.0)],
        failures={"refused": 10},
        integrity=IntegrityReport(31, 0, 0, 0, 1, {"ambiguous": ("5103051005001",)}),
        recovery=[Recovery("short outage", True, 5.0, 6.7, 0.3, 1.0, 12, 2.0, 1.8)],
        completion=Completion.of([FormTimes(0.0, 60.0), FormTimes(10.0, None)], 14_400.0, 1),
        slip_p99_s=0.02,
        notes=["no scraped metrics: the target has no /metrics"],
        charts={} if chart is None else {"Throughput": chart},
    )


def test_summary_json_has_the_documented_keys() -> None:
    data = summary_json(_analysis())
    json.dumps(data)  # serialisable
    assert data["verdict"] == "breached" and data["exit_code"] == 1
    assert data["load_factor"] == 720.0
    assert data["slos"][0]["expression"] == "page.p95 < 2s" and data["slos"][0]["passed"] is False
    assert data["integrity"]["ambiguous"] == 1
    recovery = data["recovery"][0]
    assert recovery["time_to_recover_s"] == 1.0 and recovery["time_to_recover_sim_s"] == 720.0
    assert recovery["start_sim_s"] == 3600.0
    assert data["completion"]["final"] == 0.5


def test_summary_md_opens_with_the_verdict_and_lists_every_slo() -> None:
    text = summary_md(_analysis())
    assert text.startswith("## FAIL: smoke (exit code 1)")
    assert "| `page.p95 < 2s` | 2.5s | **no** |" in text
    assert "| short outage | yes | 3m 36s sim (300ms real) | 12m sim (1s real) | 12 |" in text


def test_report_html_is_self_contained_with_the_verdict_first(tmp_path: Path) -> None:
    chart = tmp_path / "c.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = render_html(_analysis(chart))
    assert page.index('class="verdict breached"') < page.index("<h2>SLOs</h2>")
    assert "<h2>Integrity</h2>" in page and "<h2>Recovery</h2>" in page
    assert "data:image/png;base64," in page and 'src="http' not in page
    assert "no scraped metrics: the target has no /metrics" in page
