"""The Grafana dashboard and the example scrape config (observability/): every metric the
dashboard queries is one the harness's live /metrics or the mock's /metrics serves, the fault
windows are its annotations, and Prometheus accepts the config."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from faults.timeline import FaultWindow
from scenarios import build_population, load_scenario, write_registry
from tests.conftest import needs_program
from tests.harness.conftest import SMOKE, mock_with_registry
from tests.harness.test_live_metrics import (
    CLOCK_START,
    collector_of,
    exposition,
    live_timeline,
    write_live,
)

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "observability" / "grafana" / "sirekap-loadtest.json"
SCRAPE_CONFIG = REPO / "observability" / "prometheus.yml"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
FAULT_GAUGE = "sirekap_loadtest_fault_active"

# PromQL words that are not metric names: aggregations, functions are followed by "(", these
# are not always; label names inside by (...) / without (...) are removed with their list
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}  # fmt: skip
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in data["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def expressions(data: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' targets, then the annotations'."""
    found = [target["expr"] for panel in panels(data) for target in panel.get("targets", [])]
    return found + [a["expr"] for a in data["annotations"]["list"] if "expr" in a]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (as written: with _bucket and the like)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, regexes
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges: [5m], [$__rate_interval]
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables outside ranges
    found = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in KEYWORDS:
            found.add(name)
    return found


def served_names(exposition_text: str) -> set[str]:
    """Every name a series of the exposition can have: the families' and their samples'."""
    found = set()
    for family in text_string_to_metric_families(exposition_text):
        found.add(family.name)
        found.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        found.update(sample.name for sample in family.samples)
    return found


def served_by_the_harness(folder: Path) -> set[str]:
    """What the collector serves for a fabricated run with a clock, TPS figures and a fault."""
    write_live(folder, live_timeline())
    outage = FaultWindow(start_s=0, end_s=60, layer="network", kind="down", label="outage")
    return served_names(exposition(collector_of(folder, (outage,), clock=CLOCK_START)))


@pytest.fixture(scope="module")
def served_by_the_mock(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What a real mock serves at /metrics (the families of unlabelled series too)."""
    folder = tmp_path_factory.mktemp("mock")
    write_registry(build_population(load_scenario(SMOKE)), folder / "registry.csv")
    with mock_with_registry(folder) as mock:
        response = httpx.get(f"{mock.url}/metrics", timeout=10)
    response.raise_for_status()
    return served_names(response.text)


def test_metric_names_are_read_from_promql_without_functions_labels_or_variables() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, endpoint) (rate(a_bucket{result="ok",x=~"y|z"}'
        "[$__rate_interval]))) / on (endpoint) group_left b_total offset 5m > bool 0 or c"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}
    assert metric_names("sirekap_loadtest_fault_active == 1") == {FAULT_GAUGE}


def test_the_dashboard_is_a_grafana_dashboard_on_a_prometheus_datasource_variable() -> None:
    data = dashboard()
    assert 36 <= data["schemaVersion"] <= 41 and data["uid"] and data["title"]
    (variable,) = [v for v in data["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    ids = [panel["id"] for panel in panels(data)]
    assert len(ids) == len(set(ids))
    for panel in panels(data):
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE and target["expr"], panel["title"]


def test_the_fault_windows_are_annotations_from_the_fault_gauge() -> None:
    annotations = [a for a in dashboard()["annotations"]["list"] if "expr" in a]
    (fault,) = annotations
    assert fault["datasource"] == DATASOURCE and fault["enable"]
    assert fault["expr"].replace(" ", "") == f"{FAULT_GAUGE}==1"
    assert "{{window}}" in fault["titleFormat"] and fault["tagKeys"] == "layer,kind"


def test_the_dashboard_puts_the_runs_figures_beside_the_targets() -> None:
    queried = set().union(*(metric_names(expr) for expr in expressions(dashboard())))
    for name in (
        "sirekap_loadtest_requests_total",
        "sirekap_loadtest_request_duration_seconds_bucket",
        "sirekap_request_duration_seconds_bucket",
        "sirekap_loadtest_tps",
        "sirekap_loadtest_backlog_forms",
        "sirekap_loadtest_forms_finished_total",
        "sirekap_loadtest_start_slip_seconds_bucket",
        "sirekap_loadtest_simulated_time_seconds",
        "sirekap_requests_total",
        "sirekap_queue_depth",
    ):
        assert name in queried


@pytest.mark.slow
def test_every_metric_the_dashboard_queries_is_served_by_the_harness_or_the_mock(
    tmp_path: Path, served_by_the_mock: set[str]
) -> None:
    harness = served_by_the_harness(tmp_path)
    assert all(name.startswith("sirekap_loadtest_") for name in harness if "sirekap" in name)
    assert "sirekap_requests_total" in served_by_the_mock  # a real scrape, not an empty one
    unknown = {
        name: expr
        for expr in expressions(dashboard())
        for name in metric_names(expr)
        if name not in harness | served_by_the_mock
    }
    assert unknown == {}


def test_the_example_scrape_config_passes_promtool_and_scrapes_both_sides() -> None:
    promtool = needs_program("promtool")
    checked = subprocess.run(
        [promtool, "check", "config", str(SCRAPE_CONFIG)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    text = SCRAPE_CONFIG.read_text()
    assert "job_name: sirekap-loadtest" in text and "job_name: sirekap-target" in text
    assert "--metrics-port 9464" in text and '"127.0.0.1:9464"' in text


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    """Each expression as a recording rule (Grafana's interval variables given a value), which
    promtool parses."""
    promtool = needs_program("promtool")
    rules = [
        {"record": f"dashboard:expression_{n}", "expr": expr.replace("$__rate_interval", "1m")}
        for n, expr in enumerate(expressions(dashboard()))
    ]
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout
