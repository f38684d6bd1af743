"""Recovery analysis on synthetic per-second series with a known outage."""

from __future__ import annotations

from reports.recovery import Second, analyse, detect_outages


def _series(outage: tuple[int, int], slow_until: int = 0, length: int = 40) -> list[Second]:
    """Healthy traffic, all failing during ``outage``, slow until ``slow_until``, backlog builds."""
    seconds = []
    backlog = 2
    for t in range(length):
        if outage[0] <= t < outage[1]:
            backlog += 3
            seconds.append(Second(float(t), ok=0, failed=10, p95=None, backlog=backlog))
        else:
            backlog = max(2, backlog - 4) if t >= outage[1] else backlog
            p95 = 3.0 if t < slow_until else 0.2
            seconds.append(Second(float(t), ok=20, failed=0, p95=p95, backlog=backlog))
    return seconds


def test_an_outage_is_detected_where_it_happened() -> None:
    assert detect_outages(_series((10, 20))) == [(10.0, 20.0)]


def test_blips_are_not_outages_and_close_runs_merge() -> None:
    seconds = _series((10, 11))  # one bad second
    assert detect_outages(seconds) == []
    merged = [
        Second(float(t), 0, 5, None, 0) if t in {5, 6, 8, 9} else Second(float(t), 5, 0, 0.1, 0)
        for t in range(15)
    ]
    assert detect_outages(merged) == [(5.0, 10.0)]


def test_recovery_times_backlog_and_amplification() -> None:
    seconds = _series((10, 20), slow_until=23)
    recovery = analyse("down", (10.0, 20.0), seconds, injected=True, latency_bound=2.0)
    assert recovery.time_to_first_success == 0.0
    assert recovery.time_to_recover == 3.0  # slow until 23: healthy from 23 for 3 s
    assert recovery.backlog_peak == 2 + 3 * 10
    assert recovery.drain_time == 7.0  # 32 -> 2 at 4 per second: back at t = 27
    # 100 failed + (3 s x 20 ok) during [10, 23): 160 requests for 60 successes
    assert recovery.retry_amplification == round(160 / 60, 3)
    shown = recovery.as_dict(speedup=60)
    assert shown["time_to_recover_s"] == 3.0 and shown["time_to_recover_sim_s"] == 180.0


def test_a_service_that_never_comes_back_has_no_recovery_time() -> None:
    seconds = _series((10, 40))
    recovery = analyse("down", (10.0, 20.0), seconds, injected=True)
    assert recovery.time_to_first_success is None and recovery.time_to_recover is None
    assert recovery.drain_time is None
