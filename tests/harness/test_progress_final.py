"""The run's last progress line: the generator's final figures, never more acknowledged than
ready."""

from __future__ import annotations

from harness.progress import Snapshot, final_snapshot
from scenarios import load_scenario
from tests.harness.conftest import SMOKE


def _last(ready: int) -> Snapshot:
    """The last live frame, a second before the end: one TPS not yet counted as ready."""
    return Snapshot("20:59", 59.0, 60.0, ready, 31, 30, 12.0, {}, [])


def test_a_run_that_reached_its_end_shows_every_tps_ready() -> None:
    scenario = load_scenario(SMOKE)
    summary = {
        "forms": {"final": {"acked": 31}},
        "requests": {"total": {"failures": {"timeout": 2}}},
        "run": {"sim_s": scenario.clock.duration},
    }
    final = final_snapshot(scenario, _last(30), summary)
    assert final.line().endswith(
        "final: TPS ready 31/31, acknowledged 31; errors (total): timeout 2"
    )


def test_a_run_that_ended_early_keeps_the_last_count_of_ready_tps() -> None:
    scenario = load_scenario(SMOKE)
    summary = {"forms": {"final": {"acked": 20}}, "run": {"sim_s": scenario.clock.duration / 2}}
    final = final_snapshot(scenario, _last(25), summary)
    assert "TPS ready 25/31, acknowledged 20" in final.line()
