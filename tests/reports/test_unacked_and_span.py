"""Every never-acknowledged TPS form is listed with its last failure; the headline shows the
time the run really covered ("ended early after X of Y" when it stopped short)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from reports.analyse import measure
from reports.build import build_report
from reports.inputs import read_run
from reports.run_charts import chart_clock, figures
from reports.span import RunSpan, run_span
from reports.unacked import SHOWN, unacknowledged, unacknowledged_json

FIXTURE = Path(__file__).parent / "fixtures" / "smoke-run"
REFUSED = "page 1 failed 8 times, last: ConnectionRefusedError: [Errno 111] Connection refused"


def _copy(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    return run_dir


def _abandon_one(run_dir: Path) -> str:
    """Make one form's device give up on page 1 after 8 refused attempts (as in a real run)."""
    path = run_dir / "ledger.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    line = lines[3]
    line.update(
        final_outcome="abandoned", reason=REFUSED, receipt_id=None, content_sha256=None,
        acked_at=None, acked_s=None, ended_s=line["ready_s"] + 1200, failures={"refused": 8},
        attempts={"session": 1, "pages": [8, 0, 0], "result": 0, "read": 0},
    )  # fmt: skip
    path.write_text("".join(json.dumps(item) + "\n" for item in lines))
    return str(line["tps_code"])


def test_a_never_acknowledged_form_is_listed_with_its_last_failure(tmp_path: Path) -> None:
    run_dir = _copy(tmp_path)
    code = _abandon_one(run_dir)
    build_report(run_dir)
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["unacknowledged"] == {
        "count": 1,
        "shown": 1,
        "forms": [
            {
                "tps_code": code, "election": "ppwp", "outcome": "abandoned",
                "endpoint": "page 1", "attempts": 8, "kind": "refused",
                "last_status": "ConnectionRefusedError: [Errno 111] Connection refused",
                "ready_s": pytest.approx(summary["unacknowledged"]["forms"][0]["ready_s"]),
            }
        ],
    }  # fmt: skip
    assert summary["completion"]["unacknowledged"] == 1
    page = (run_dir / "report" / "report.html").read_text()
    assert "Never acknowledged: 1 TPS form" in page and code in page
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in page


def test_the_list_is_bounded_but_the_count_is_not() -> None:
    ledger = [
        {"tps_code": f"5103051005{i:03d}", "election": "ppwp", "ready_s": float(i),
         "final_outcome": "not_started", "reason": "not started: the run ended before it was due",
         "attempts": {"session": 0, "pages": [0, 0, 0], "result": 0, "read": 0}}
        for i in range(SHOWN + 10)
    ]  # fmt: skip
    found = unacknowledged_json(unacknowledged(ledger))
    assert (found["count"], found["shown"], len(found["forms"])) == (SHOWN + 10, SHOWN, SHOWN)
    assert found["forms"][0]["endpoint"] == "session"
    assert found["forms"][0]["last_status"].startswith("not started")


def test_the_backlog_chart_never_shows_zero_unacknowledged_while_a_form_is_missing(
    tmp_path: Path,
) -> None:
    run_dir = _copy(tmp_path)
    _abandon_one(run_dir)
    inputs = read_run(run_dir)
    facts = measure(inputs, [])
    assert facts.completion is not None and facts.completion.unacknowledged == 1
    clock = chart_clock(inputs, facts)
    axes = figures(inputs, facts, clock)["Backlog"][1].axes[0]
    (top,) = [line for line in axes.lines if line.get_label() == "all unacknowledged"]
    xs, ys = list(top.get_xdata()), list(top.get_ydata())  # type: ignore[arg-type]
    (missing,) = facts.unacked
    (ready,) = clock.at([missing.ready_s])
    assert min(y for x, y in zip(xs, ys, strict=True) if x > ready) >= 1
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert "given up: devices stopped, never acknowledged" in labels


def _end_early(run_dir: Path, real_s: float) -> None:
    """A run stopped after ``real_s`` real seconds: no load summary, a short timeline."""
    (run_dir / "load_summary.json").unlink()
    record = json.loads((run_dir / "run.json").read_text())
    start = float(record["clock"]["start"])
    ended = dt.datetime.fromtimestamp(start + real_s, dt.UTC).isoformat().replace("+00:00", "Z")
    record.update(status="interrupted", ended_utc=ended)
    (run_dir / "run.json").write_text(json.dumps(record))
    timeline = run_dir / "timeline.jsonl"
    kept = [line for line in timeline.read_text().splitlines() if json.loads(line)["second"] == 0]
    timeline.write_text("\n".join(kept) + "\n")


def test_a_run_that_ended_early_says_so_with_the_time_it_covered(tmp_path: Path) -> None:
    """It used to read "4h simulated in 862ms real" for a run stopped after under a second."""
    run_dir = _copy(tmp_path)
    _end_early(run_dir, 0.862)
    span = run_span(read_run(run_dir))
    assert span.real_s == pytest.approx(0.862, abs=1e-3)
    assert span.sim_s == pytest.approx(0.862 * 720, abs=1)
    assert span.ended_early and span.chart_end_s == pytest.approx(720.0)
    analysis = build_report(run_dir)
    assert analysis.run.duration_sim_s == pytest.approx(620.6, abs=1)
    expected = (
        "ended early after 10m 21s of 4h simulated (862ms of 20s real, speedup 720): "
        "the run was interrupted"
    )
    assert analysis.run.covered == expected
    assert expected in (run_dir / "report" / "report.html").read_text()
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["span"]["ended_early"] is True and summary["run"]["planned_sim_s"] == 14_400


def test_a_run_that_covered_its_duration_shows_both_clocks(tmp_path: Path) -> None:
    run_dir = _copy(tmp_path)
    record = json.loads((run_dir / "load_summary.json").read_text())
    record["run"].update(real_s=20.0, sim_s=14_400.0)
    (run_dir / "load_summary.json").write_text(json.dumps(record))
    span = run_span(read_run(run_dir))
    assert not span.ended_early and span.headline(720) == "4h simulated in 20s real (speedup 720)"


def test_a_run_whose_last_form_ended_it_is_whole_not_early() -> None:
    done = RunSpan(15.0, 10800.0, 14400.0, 20.0, "every form has its outcome")
    assert not done.ended_early and done.done_early
    assert done.headline(720) == (
        "3h simulated in 15s real (speedup 720): every form had its outcome before the "
        "scenario's 4h"
    )
    cut = RunSpan(1.0, 720.0, 14400.0, 20.0, "stopped before the scenario's end")
    assert cut.ended_early and cut.headline(720).startswith("ended early after 12m of 4h")
