"""The sizing model against hand-computed small cases."""

from __future__ import annotations

import pytest

from reports.sizing import (
    Demand,
    fault_factor,
    fraction_at,
    instances_for,
    manual_recap,
    simulate,
)

# 1,000 TPS finishing counting evenly over 1,000 s; 5 requests and 1 MB each.
EVEN = Demand.from_curves(
    {"WITA": [(0.0, 0.0), (1000.0, 1.0)]}, {"WITA": 1.0}, 1000, 5, 1e6, horizon=3000, step=10
)


def test_fraction_is_piecewise_linear_and_flat_outside() -> None:
    points = [(0.0, 0.0), (100.0, 0.5), (300.0, 0.788)]
    assert fraction_at(points, -5) == 0.0
    assert fraction_at(points, 50) == 0.25
    assert fraction_at(points, 200) == pytest.approx(0.644)
    assert fraction_at(points, 1e9) == 0.788


def test_demand_spreads_the_population_over_the_curve() -> None:
    assert EVEN.ready == pytest.approx(1000)
    assert EVEN.arrivals[0] == pytest.approx(10)  # 1 TPS/s in 10 s steps


def test_enough_capacity_keeps_up_with_arrivals() -> None:
    # knee 10 req/s = 2 TPS/s per instance > 1 TPS/s arriving
    sizing = simulate(EVEN, instances=1, knee_rps=10)
    assert sizing.completion["50%"] == pytest.approx(500)
    assert sizing.completion["99%"] == pytest.approx(990)
    assert sizing.peak_requests_per_s == pytest.approx(5)  # 1 TPS/s x 5 requests
    assert sizing.peak_mb_per_s == pytest.approx(1)
    assert sizing.storage_bytes == pytest.approx(1e9)
    assert sizing.max_backlog == pytest.approx(0)


def test_too_little_capacity_builds_a_backlog() -> None:
    # knee 2.5 req/s = 0.5 TPS/s: 500 TPS done at 1,000 s, all done at 2,000 s
    sizing = simulate(EVEN, instances=1, knee_rps=2.5)
    assert sizing.completion["50%"] == pytest.approx(1000)
    assert sizing.completion["99%"] == pytest.approx(1980)
    assert sizing.max_backlog == pytest.approx(500)


def test_an_outage_holds_everything_back_until_it_ends() -> None:
    outage = fault_factor([(0.0, 500.0, "network", "down", {})])
    sizing = simulate(EVEN, instances=1, knee_rps=10, factor=outage)
    # 500 TPS wait until 500 s; then 2 TPS/s served against 1 arriving: caught up at 1,000 s
    assert sizing.max_backlog == pytest.approx(500)
    assert sizing.completion["50%"] == pytest.approx(750)
    assert sizing.completion["99%"] == pytest.approx(990, abs=10)


def test_fault_kinds_leave_their_share_of_capacity() -> None:
    factor = fault_factor(
        [
            (0.0, 10.0, "server", "brownout", {"capacity_fraction": 0.25}),
            (5.0, 10.0, "server", "errors", {"rate": 0.2}),
            (20.0, 30.0, "server", "latency", {"latency_ms": 500}),
        ]
    )
    assert factor(1.0) == 0.25
    assert factor(6.0) == pytest.approx(0.2)
    assert factor(25.0) == 1.0


def test_the_fewest_instances_for_a_share_by_a_deadline() -> None:
    # All 1,000 TPS are ready by 1,000 s; 99% of them in by 1,500 s needs 990 TPS in 1,500 s:
    # 0.66 TPS/s = 3.3 req/s; knee 1 req/s -> 4 instances (3 take in 0.6 TPS/s: 900 by 1,500 s)
    assert instances_for(EVEN, knee_rps=1, share=0.99, deadlines=[1500]) == 4
    assert simulate(EVEN, 3, 1).completion["99%"] > 1500  # type: ignore[operator]
    outage = fault_factor([(0.0, 1e9, "process", "kill", {})])
    assert instances_for(EVEN, knee_rps=1, share=0.99, deadlines=[1500], factor=outage) is None


def test_a_deadline_counts_only_the_tps_ready_by_it() -> None:
    # By 500 s, 500 TPS are ready; 99% of them (495) in by 500 s needs 0.99 TPS/s = 4.95 req/s
    # (capacity keeps pace with the 1 TPS/s arrivals at 5 instances, falls behind at 4).
    assert instances_for(EVEN, knee_rps=1, share=0.99, deadlines=[500]) == 5
    sizing = simulate(EVEN, 4, 1)
    assert sizing.ready_by(500) == pytest.approx(500)
    assert sizing.taken_in_by(500) == pytest.approx(400)
    # every deadline must hold: the later one (1,500 s) alone needs 4, the earlier one 5
    assert instances_for(EVEN, knee_rps=1, share=0.99, deadlines=[500, 1500]) == 5


def test_a_server_fault_on_reads_or_the_plenary_leaves_upload_capacity_alone() -> None:
    factor = fault_factor(
        [
            (0.0, 10.0, "server", "errors", {"rate": 0.5, "endpoints": ["read"]}),
            (0.0, 10.0, "server", "plenary_gate", {"retry_after_s": 60}),
            (20.0, 30.0, "server", "errors", {"rate": 0.5, "endpoints": ["read", "page"]}),
        ]
    )
    assert factor(5.0) == 1.0
    assert factor(25.0) == 0.5


def test_two_devices_send_every_photo_twice_but_it_is_stored_once() -> None:
    demand = Demand.from_curves(
        {"WIB": [(0.0, 0.0), (100.0, 1.0)]}, {"WIB": 1.0}, 100, 5, 2e6, horizon=200, step=10,
        stored_bytes_per_tps=1e6,
    )  # fmt: skip
    sizing = simulate(demand, 10, 100)
    assert sizing.peak_mb_per_s == pytest.approx(2.0)  # 1 TPS/s x 2 MB sent
    assert sizing.storage_bytes == pytest.approx(100 * 1e6)


def test_the_manual_recap_takes_nothing_in_before_the_first_plenary() -> None:
    """The plan's manual comparison used to start at the scenario start (election day noon)."""
    demand = Demand(60.0, tuple([10.0] * 60 * 48), requests_per_tps=5.0, bytes_per_tps=1.0)
    start = 21 * 3600.0
    manual = manual_recap(demand, kecamatan=10, per_day=20.0, start_s=start)
    assert manual.taken_in_by(start - 60) == 0.0
    assert manual.taken_in_by(start + 86_400) == pytest.approx(200.0, rel=0.01)
