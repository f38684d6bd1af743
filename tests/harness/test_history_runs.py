"""``history`` on real runs of the smoke scenario (real mock, Toxiproxy, Locust): three runs in
the order they ran, the one with a latency fault slower and flagged by its exit code, a chart per
key figure; a run without a report measured as its report did; damaged runs and other scenarios
said, not a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rundir import exits
from tests.harness.conftest import cli

pytestmark = pytest.mark.slow
ORDER = ("base", "same", "slow")


def _copies(smoke_runs: dict[str, Path], folder: Path) -> dict[str, Path]:
    """The three runs side by side in ``folder`` (their own folder names): role -> copy."""
    folder.mkdir()
    return {
        role: Path(shutil.copytree(smoke_runs[role], folder / smoke_runs[role].name))
        for role in ORDER
    }


def _document(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "history-smoke" / "history.json").read_text())


def _figures(document: dict[str, Any], key: str) -> list[float]:
    return [run["figures"][key] for run in document["runs"]]


def test_three_runs_in_order_with_their_trend(smoke_runs: dict[str, Path], tmp_path: Path) -> None:
    runs = _copies(smoke_runs, tmp_path / "runs")
    done = cli("history", str(tmp_path / "runs"))
    assert done.returncode == exits.OK, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "smoke: 3 runs, all in the trend"
    rows = [line for line in lines if line[:1].isdigit()]
    assert [row.split()[3] for row in rows] == [runs[role].name for role in ORDER]
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    # the slow run met its SLOs but regressed against its --baseline: exit code 1, said so
    assert rows[2].split()[4:8] == ["1", "passed,", "regressed", "against"]
    document = _document(tmp_path / "runs")
    assert [r["run_id"] for r in document["runs"]] == [runs[role].name for role in ORDER]
    assert [r["exit_code"] for r in document["runs"]] == [0, 0, 1]
    assert [r["source"] for r in document["runs"]] == ["report/summary.json"] * 3
    base, same, slow = _figures(document, "upload.p50")
    assert slow > max(base, same), (base, same, slow)  # 80 ms more on each chunk for 70 minutes
    assert _figures(document, "completion.final") == [1.0, 1.0, 1.0]
    assert "recovery.time_to_recover('short outage')" in document["keys"]
    # one chart per key figure, in the page and as files; the slow run marked as not exit 0
    charted = [t for t in document["trends"] if t["chart"]]
    assert len(charted) == len(document["keys"]) >= 5
    out = tmp_path / "runs" / "history-smoke"
    assert sorted(p.name for p in (out / "charts").iterdir()) == sorted(
        Path(t["chart"]).name for t in charted
    )
    html = (out / "history.html").read_text()
    assert html.count("data:image/png;base64,") == len(document["keys"])
    assert "<h1>History: smoke</h1>" in html and "smoke: 3 runs, all in the trend" in html
    assert [p["failed_slos"] for p in charted[0]["points"]] == [False, False, False]
    markdown = (out / "history.md").read_text()
    assert markdown.startswith("## History: smoke\n") and markdown.count("](charts/") == len(
        charted
    )


def test_figure_chooses_the_key_figures_and_an_unknown_one_lists_the_valid(
    smoke_runs: dict[str, Path], tmp_path: Path
) -> None:
    _copies(smoke_runs, tmp_path / "runs")
    out = tmp_path / "chosen"
    done = cli("history", str(tmp_path / "runs"), "--figure", "*.p50", "--out", str(out))
    assert done.returncode == exits.OK, done.stdout + done.stderr
    document = json.loads((out / "history.json").read_text())
    assert "upload.p50" in document["keys"] and all(k.endswith(".p50") for k in document["keys"])
    assert len(list((out / "charts").iterdir())) == len(document["keys"])
    done = cli("history", str(tmp_path / "runs"), "--figure", "upload.p42")
    assert done.returncode == exits.USAGE
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        "sirekap-loadtest history: --figure 'upload.p42': no run of smoke has such a figure; "
        "valid (globs allowed): session.p50, "
    )
    assert "upload.p95" in line and "completion.final" in line
    done = cli("history", str(tmp_path / "runs"), "--scenario", "election")
    assert done.returncode == exits.USAGE
    assert done.stderr.strip() == (
        f"sirekap-loadtest history: --scenario 'election': no run of it in {tmp_path / 'runs'}; "
        "scenarios found: smoke (3 runs)"
    )
    (tmp_path / "empty").mkdir()
    done = cli("history", str(tmp_path / "empty"))
    assert done.returncode == exits.USAGE and "holds no run directory (run.json)" in done.stderr


def _copy(source: Path, folder: Path, name: str, **record: Any) -> Path:
    """A copy of a run under another name (its run_id too), its run.json amended."""
    copy = Path(shutil.copytree(source, folder / name))
    data = json.loads((copy / "run.json").read_text())
    data.update(run_id=name, **record)
    (copy / "run.json").write_text(json.dumps(data))
    return copy


def test_damaged_runs_other_scenarios_and_runs_without_a_report(
    smoke_runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    runs = _copies(smoke_runs, folder)
    base = runs["base"]
    unreported = _copy(base, folder, "20300101T000000Z-smoke", started_utc="2030-01-01T00:00:00Z")
    shutil.rmtree(unreported / "report")
    broken = _copy(base, folder, "20300102T000000Z-smoke", started_utc="2030-01-02T00:00:00Z")
    (broken / "report" / "summary.json").write_text('{"verdict": "pass')
    _copy(base, folder, "20300103T000000Z-smoke", started_utc="2030-01-03T00:00:00Z",
          status="interrupted")  # fmt: skip
    _copy(base, folder, "20300104T000000Z-other", scenario={"name": "other"})
    done = cli("history", str(folder))
    assert done.returncode == exits.USAGE and not done.stdout
    assert done.stderr.strip() == (
        f"sirekap-loadtest history: {folder} holds runs of 2 scenarios: other (1 run), "
        "smoke (6 runs); choose one with --scenario NAME"
    )
    done = cli("history", str(folder), "--scenario", "smoke")
    assert done.returncode == exits.OK, done.stdout + done.stderr
    assert done.stdout.startswith("smoke: 6 runs, 2 left out of the trend\n")
    assert "left out: 20300102T000000Z-smoke: report/summary.json is not readable JSON" in (
        done.stdout
    )
    assert "left out: 20300103T000000Z-smoke: status interrupted" in done.stdout
    document = _document(folder)
    assert [r["in_trend"] for r in document["runs"]] == [True, True, True, True, False, False]
    fourth = document["runs"][3]
    assert fourth["run_id"] == unreported.name and fourth["source"].startswith("the run directory")
    assert fourth["verdict"] == "passed" and fourth["breached"] == []
    # analysed again from its directory, it has exactly the figures its report had
    for key in document["keys"]:
        assert fourth["figures"][key] == pytest.approx(document["runs"][0]["figures"][key]), key
    (recover,) = [t for t in document["trends"] if t["key"] == "upload.p50"]
    assert [p["index"] for p in recover["points"]] == [1, 2, 3, 4]
