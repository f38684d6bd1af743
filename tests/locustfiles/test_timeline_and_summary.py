"""Per-second cells merge exactly; the summary flags a run whose starts slipped."""

from __future__ import annotations

import json
from typing import Any

from locustfiles.form_record import FormRecord
from locustfiles.load_summary import GeneratorFacts, RunEnd, build_summary, slip_values
from locustfiles.recorder import Recorder
from rundir.generator_files import write_run_files
from rundir.histogram import Histogram
from rundir.names import LEDGER, TIMELINE
from rundir.names import LOAD_SUMMARY as SUMMARY
from rundir.timeline import Timeline
from tests.locustfiles.helpers import tiny_plan


def timeline_with(requests: list[tuple[int, str, float, str | None]]) -> Timeline:
    timeline = Timeline()
    for second, endpoint, latency, failure in requests:
        timeline.record_request(second, endpoint, latency, failure)
    return timeline


def test_timeline_payloads_merge_to_the_same_cells_as_one_timeline() -> None:
    events = [
        (0, "page", 12.0, None), (0, "page", 30.0, "5xx:503"), (1, "session", 3.0, None),
        (1, "page", 14.0, None), (1, "page", 9.0, "timeout"), (4, "result", 8.0, None),
    ]  # fmt: skip
    whole = timeline_with(events)
    merged = Timeline()
    merged.merge_json(timeline_with(events[:3]).to_json())
    merged.merge_json(json.loads(json.dumps(timeline_with(events[3:]).to_json())))
    assert list(merged.lines(100.0, 60.0)) == list(whole.lines(100.0, 60.0))
    page = merged.endpoint_totals()["page"]
    assert (page.count, page.ok, page.failures) == (4, 2, {"5xx:503": 1, "timeout": 1})


def test_timeline_lines_are_sorted_and_map_each_second_to_both_clocks() -> None:
    timeline = timeline_with(
        [(2, "read", 1.0, None), (1, "result", 1.0, None), (1, "session", 1.0, None)]
    )
    timeline.record_start(1, 250.0)
    timeline.record_outcome(1, "acked")
    lines = list(timeline.lines(1000.0, 60.0))
    assert [(line["second"], line["kind"], line.get("endpoint")) for line in lines] == [
        (1, "requests", "session"), (1, "requests", "result"), (1, "forms", None),
        (2, "requests", "read"),
    ]  # fmt: skip
    assert (lines[0]["t"], lines[0]["sim_s"]) == (1001.0, 60.0)
    assert lines[2]["started"] == 1 and lines[2]["acked"] == 1
    assert Histogram.from_json(lines[2]["slip"]).count == 1


def ledger_line(plan_index: int, slip: float | None, outcome: str, due_at: float) -> dict[str, Any]:
    plan = tiny_plan()
    record = FormRecord(plan.jobs[plan_index], 0, due_at)
    if slip is not None:
        record.started_at = due_at + slip
    record.final_outcome = outcome
    return record.to_json(100.0, plan.speedup)


def test_forms_due_but_never_started_count_with_their_delay_to_the_end() -> None:
    ledger = [ledger_line(0, 0.01, "acked", 101.0), ledger_line(1, None, "not_started", 102.0),
              ledger_line(2, None, "not_started", 200.0)]  # fmt: skip
    assert slip_values(ledger, ended_at=105.0) == [0.01, 3.0]


def summary_for(ledger: list[dict[str, Any]], ended_at: float = 110.0) -> dict[str, Any]:
    plan = tiny_plan()
    return build_summary(
        plan, timeline_with([(0, "page", 5.0, None)]), ledger,
        RunEnd(clock_start=100.0, ended_at=ended_at, end_reason="test", max_slip=1.0),
        GeneratorFacts(processes=2, users_peak=10, in_progress_peak=4),
    )  # fmt: skip


def test_a_run_whose_p99_start_slip_exceeds_the_limit_is_inconclusive_with_the_figure() -> None:
    on_time = [ledger_line(i, 0.01, "acked", 101.0) for i in range(10)]
    summary = summary_for(on_time)
    assert (summary["inconclusive"], summary["reasons"]) == (False, [])
    late = [*on_time[:9], ledger_line(9, 1.5, "acked", 101.0)]
    summary = summary_for(late)
    assert summary["inconclusive"] is True
    assert summary["reasons"] == [
        "start slip p99 1.500 s exceeds 1 s: the generator could not keep the arrival schedule"
    ]
    assert summary["start_slip_s"]["over_limit"] == 1
    assert summary["forms"]["final"] == {
        "acked": 10,
        "abandoned": 0,
        "rejected": 0,
        "not_started": 0,
    }


def test_the_recorder_drops_what_comes_after_the_run_is_closed() -> None:
    recorder = Recorder(worker=1)
    recorder.start(clock_start=100.0, speedup=60.0)
    recorder.request("page", 101.5, 10.0, None)
    recorder.close()
    recorder.request("page", 102.5, 10.0, None)
    payload = recorder.drain()
    assert [cell[:2] for cell in payload["timeline"]["requests"]] == [[1, "page"]]
    assert recorder.drain()["timeline"] == {"requests": [], "forms": []}


def test_the_run_files_are_written_whole_with_the_ledger_sorted(tmp_path: Any) -> None:
    ledger = [ledger_line(i, 0.0, "acked", 101.0) for i in (3, 0, 2)]
    summary = summary_for(ledger)
    write_run_files(tmp_path / "run", timeline_with([(0, "page", 5.0, None)]), ledger, summary,
                    clock_start=100.0, speedup=60.0)  # fmt: skip
    lines = (tmp_path / "run" / LEDGER).read_text().splitlines()
    keys = [(json.loads(x)["tps_code"], json.loads(x)["device_id"]) for x in lines]
    assert keys == sorted(keys)
    assert json.loads((tmp_path / "run" / SUMMARY).read_text())["forms"]["ledger_lines"] == 3
    assert len((tmp_path / "run" / TIMELINE).read_text().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [LEDGER, SUMMARY, TIMELINE]
