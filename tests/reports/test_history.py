"""``history`` on fabricated run directories: which runs it finds, their order and grouping, the
runs it leaves out of the trend and why, the key figures, the usage errors' text, the outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from reports import history_cli
from reports.history import (
    HistoryError,
    choose,
    figure_keys,
    find_runs,
    history,
    read_history_run,
    read_runs,
)

FIXTURE = Path(__file__).parent / "fixtures" / "smoke-run"
RECOVER = "recovery.time_to_recover('short outage')"


def _figure(value: float | None, kind: str = "duration", **extra: Any) -> dict[str, Any]:
    better = "higher" if kind == "ratio" else "lower"
    return {"value": value, "never": False, "kind": kind, "better": better, **extra}


def make_run(
    folder: Path, name: str, *, started: str, scenario: str = "smoke", status: str = "completed",
    p50: float | None = 0.05, exit_code: int = 0, breached: bool = False, report: bool = True,
) -> Path:  # fmt: skip
    """A run directory with run.json and report/summary.json holding figures, nothing else."""
    run = folder / name
    (run / "report").mkdir(parents=True)
    record = {"run_id": name, "scenario": {"name": scenario}, "status": status,
              "started_utc": started, "exit_code": exit_code}  # fmt: skip
    (run / "run.json").write_text(json.dumps(record))
    figures = {
        "upload.p50": _figure(p50, why=None if p50 is not None else "too few requests: 3"),
        "upload.p95": _figure(None, why="too few requests: 155 succeeded"),
        "all.error_ratio": _figure(0.1, "ratio"),
        "completion.final": _figure(1.0, "ratio"),
        RECOVER: _figure(240.0, clock="simulated"),
        "page.p95": _figure(0.2),
    }
    slos = [{"expression": "page.p95 < 2s", "status": "breached" if breached else "met"}]
    summary = {"verdict": "breached" if breached else "passed", "exit_code": exit_code,
               "slos": slos, "figures": figures}  # fmt: skip
    if report:
        (run / "report" / "summary.json").write_text(json.dumps(summary))
    return run


def test_runs_are_ordered_by_their_start_time_not_their_folder_name(tmp_path: Path) -> None:
    make_run(tmp_path, "b-late", started="2026-12-03T09:00:00.000Z", p50=0.09)
    make_run(tmp_path, "a-early", started="2026-12-03T07:00:00.000Z", p50=0.05)
    make_run(tmp_path, "c-middle", started="2026-12-03T08:00:00.000+00:00", p50=0.07)
    found = history(tmp_path)
    assert [r.run_id for r in found.runs] == ["a-early", "c-middle", "b-late"]
    (trend,) = [t for t in found.trends() if t.key == "upload.p50"]
    assert [p.value for p in trend.points] == [0.05, 0.07, 0.09]
    assert [p.index for p in trend.points] == [1, 2, 3]


def test_runs_are_found_at_any_depth_but_not_inside_runs_plans_or_hidden_folders(
    tmp_path: Path,
) -> None:
    outer = make_run(tmp_path, "20261203T070000Z-smoke", started="2026-12-03T07:00:00Z")
    make_run(outer / "stages", "inner", started="2026-12-03T07:01:00Z")  # inside a run
    make_run(tmp_path / "ci" / "nightly", "deep", started="2026-12-03T08:00:00Z")
    plan = tmp_path / "a-plan"
    make_run(plan / "stages", "stage-1", started="2026-12-03T09:00:00Z")
    (plan / "sweep.json").write_text("{}")
    make_run(tmp_path / ".trash", "hidden", started="2026-12-03T10:00:00Z")
    assert [p.name for p in find_runs(tmp_path)] == ["20261203T070000Z-smoke", "deep"]
    assert find_runs(outer) == [outer]  # a run directory itself


def test_several_scenarios_need_scenario_and_the_error_lists_them_with_counts(
    tmp_path: Path,
) -> None:
    for hour in (7, 8):
        make_run(tmp_path, f"s{hour}", started=f"2026-12-03T0{hour}:00:00Z")
    make_run(tmp_path, "o", started="2026-12-03T07:30:00Z", scenario="election-night")
    runs = read_runs(tmp_path)
    with pytest.raises(HistoryError) as error:
        choose(runs, None, tmp_path)
    assert str(error.value) == (
        f"{tmp_path} holds runs of 2 scenarios: election-night (1 run), smoke (2 runs); "
        "choose one with --scenario NAME"
    )
    with pytest.raises(HistoryError) as error:
        choose(runs, "smok", tmp_path)
    assert str(error.value) == (
        f"--scenario 'smok': no run of it in {tmp_path}; scenarios found: election-night (1 run), "
        "smoke (2 runs)"
    )
    assert [r.run_id for r in choose(runs, "smoke", tmp_path)] == ["s7", "s8"]
    assert [r.run_id for r in history(tmp_path, "election-night").runs] == ["o"]


def test_a_folder_without_runs_is_a_usage_error_saying_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(HistoryError, match=r"empty: holds no run directory \(run.json\); give"):
        history(tmp_path / "empty")
    with pytest.raises(HistoryError, match=r"missing: does not exist; give the folder runs are"):
        history(tmp_path / "missing")


def test_damaged_and_unfinished_runs_are_listed_with_why_and_left_out_of_the_trend(
    tmp_path: Path,
) -> None:
    make_run(tmp_path, "20261203T070000Z-smoke", started="2026-12-03T07:00:00Z")
    make_run(tmp_path, "20261203T071000Z-smoke", started="2026-12-03T07:10:00Z",
             status="interrupted", exit_code=3)  # fmt: skip
    broken = make_run(tmp_path, "20261203T072000Z-smoke", started="2026-12-03T07:20:00Z")
    (broken / "report" / "summary.json").write_text('{"figures": ')
    odd = make_run(tmp_path, "20261203T073000Z-smoke", started="2026-12-03T07:30:00Z")
    (odd / "report" / "summary.json").write_text('{"figures": {"upload.p50": {"value": 1}}}')
    unreadable = tmp_path / "20261203T074000Z-smoke"
    unreadable.mkdir()
    (unreadable / "run.json").write_text("{")  # its name still gives scenario and time
    found = history(tmp_path)
    assert len(found.runs) == 5 and [r.run_id for r in found.in_trend] == [found.runs[0].run_id]
    problems = {r.run_id: (r.status, r.problem) for r in found.left_out}
    assert problems == {
        "20261203T071000Z-smoke": ("interrupted", "status interrupted"),
        "20261203T072000Z-smoke": ("completed", "report/summary.json is not readable JSON"),
        "20261203T073000Z-smoke": (
            "completed", "report/summary.json: a figure is damaged (KeyError: 'kind')"
        ),
        "20261203T074000Z-smoke": ("damaged", "run.json is not readable JSON"),
    }  # fmt: skip
    assert found.runs[-1].started is not None and found.runs[-1].started.hour == 7
    table = history_cli.text_table(found)
    assert "left out: interrupted" in table and "left out: damaged" in table
    assert "left out: 20261203T072000Z-smoke: report/summary.json is not readable JSON" in table
    assert all(len(t.points) == 1 for t in found.trends())


def test_the_default_key_figures_are_those_a_run_measured(tmp_path: Path) -> None:
    make_run(tmp_path, "a", started="2026-12-03T07:00:00Z")
    found = history(tmp_path)
    assert found.keys == ("upload.p50", "all.error_ratio", "completion.final", RECOVER)
    assert found.dropped == (("upload.p95", "too few requests: 155 succeeded"),)
    assert "not measured in any run, not shown: upload.p95: too few requests" in (
        history_cli.text_table(found)
    )


def test_figure_chooses_keys_and_globs_and_an_unknown_one_lists_the_valid(
    tmp_path: Path,
) -> None:
    make_run(tmp_path, "a", started="2026-12-03T07:00:00Z")
    runs = read_runs(tmp_path)
    assert figure_keys(runs, ["page.p95", "recovery.*", "upload.p9?"]) == [
        "page.p95", RECOVER, "upload.p95",
    ]  # fmt: skip
    assert history(tmp_path, wanted=["upload.p95"]).keys == ("upload.p95",)  # shown, unmeasured
    with pytest.raises(HistoryError) as error:
        figure_keys(runs, ["page.p95", "upload.p96"])
    assert str(error.value) == (
        "--figure 'upload.p96': no run of smoke has such a figure; valid (globs allowed): "
        f"upload.p50, upload.p95, all.error_ratio, completion.final, {RECOVER}, page.p95"
    )


def test_a_run_without_a_report_is_analysed_again(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "run")
    run = read_history_run(tmp_path / "run")
    assert run.in_trend and run.verdict == "passed" and not run.breached
    assert run.source == "the run directory, analysed again (no report)"
    assert run.figures["completion.final"].value == 1.0


def test_the_outputs_mark_failed_runs_and_chart_each_key_figure(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "r1", started="2026-12-03T07:00:00Z", p50=0.05)
    make_run(runs, "r2", started="2026-12-03T08:00:00Z", p50=0.30, breached=True, exit_code=1)
    make_run(runs, "r3", started="2026-12-03T09:00:00Z", status="failed", exit_code=3)
    never = make_run(runs, "r4", started="2026-12-03T10:00:00Z")
    summary = json.loads((never / "report" / "summary.json").read_text())
    summary["figures"][RECOVER] = _figure(None, never=True)
    (never / "report" / "summary.json").write_text(json.dumps(summary))
    assert history_cli.main([str(runs)]) == 0
    out = runs / "history-smoke"
    document = json.loads((out / "history.json").read_text())
    assert [r["run_id"] for r in document["runs"]] == ["r1", "r2", "r3", "r4"]
    assert [r["in_trend"] for r in document["runs"]] == [True, True, False, True]
    assert document["runs"][2]["problem"] == "status failed"
    (recover,) = [t for t in document["trends"] if t["key"] == RECOVER]
    assert [p["value"] for p in recover["points"]] == [240.0, 240.0, "never"]
    assert [p["failed_slos"] for p in recover["points"]] == [False, True, False]
    charts = sorted(p.name for p in (out / "charts").iterdir())
    assert len(charts) == len(document["keys"]) == 4 and charts[0] == "01-upload.p50.png"
    html = (out / "history.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<h1>History: smoke</h1>" in html
    markdown = (out / "history.md").read_text()
    assert "| 2 | 2026-12-03 08:00:00 | r2 | 1 | breached | 300ms |" in markdown
    assert "| 3 | 2026-12-03 09:00:00 | r3 | 3 | left out: failed | - |" in markdown


def test_the_command_line_says_what_is_wrong_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run(tmp_path, "a", started="2026-12-03T07:00:00Z")
    assert cli.main(["history", str(tmp_path), "--figure", "nope"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sirekap-loadtest history: --figure 'nope': no run of smoke has such")
    assert cli.main(["history", str(tmp_path / "none")]) == 2
    assert "none: does not exist;" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert cli.main(["history", str(tmp_path), "--out", str(blocked / "x")]) == 2
    assert f"--out {blocked / 'x'}: cannot write there" in capsys.readouterr().err


def test_a_run_of_other_settings_is_left_out_of_the_trend_with_the_difference(
    tmp_path: Path,
) -> None:
    smoke = (FIXTURE / "scenario.toml").read_text()
    assert "seed = 1\n" in smoke
    for name, hour, text in (
        ("one", 7, smoke), ("other-seed", 8, smoke.replace("seed = 1\n", "seed = 2\n")),
        ("three", 9, smoke),
    ):  # fmt: skip
        run = make_run(tmp_path, name, started=f"2026-12-03T0{hour}:00:00Z")
        (run / "scenario.toml").write_text(text)
    found = history(tmp_path)
    assert [r.run_id for r in found.in_trend] == ["one", "three"]
    (odd,) = found.left_out
    assert odd.problem == "settings differ from the latest run's: seed 2 (latest 1)"


def test_runs_damaged_in_any_way_are_listed_with_why_and_the_history_still_written(
    tmp_path: Path,
) -> None:
    make_run(tmp_path, "good", started="2026-12-03T07:00:00Z")
    nan = make_run(tmp_path, "nan-figure", started="2026-12-03T08:00:00Z")
    summary = json.loads((nan / "report" / "summary.json").read_text())
    summary["figures"]["upload.p50"]["value"] = float("nan")
    (nan / "report" / "summary.json").write_text(json.dumps(summary))  # NaN: Python writes it
    deep = make_run(tmp_path, "20261203T090000Z-smoke", started="2026-12-03T09:00:00Z")
    (deep / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    late = make_run(tmp_path, "far-future", started="9999-12-31T23:59:59-05:00")
    assert late.exists()
    found = history(tmp_path)
    problems = {run.run_id: run.problem for run in found.left_out}
    assert "figure 'upload.p50' is NaN" in problems["nan-figure"]
    assert problems["20261203T090000Z-smoke"]  # the folder's name says its scenario
    assert {run.run_id for run in found.in_trend} == {"good", "far-future"}  # its time unknown
