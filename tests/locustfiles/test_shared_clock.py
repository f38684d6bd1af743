"""The shared clock: a worker's offset from the master, from the exchange with the shortest trip."""

from __future__ import annotations

import pytest

from locustfiles.shared_clock import SharedClock


def test_the_offset_comes_from_the_shortest_round_trip_and_corrects_a_skewed_host() -> None:
    clock = SharedClock(skew=-2.0)
    clock.sample(sent=100.0, master=103.0, received=102.0)  # 2 s trip: offset 2 +- 1
    assert clock.offset == pytest.approx(2.0)
    clock.sample(sent=200.0, master=202.15, received=200.1)  # 0.1 s trip: kept
    assert clock.offset == pytest.approx(2.1)
    assert clock.rtt == pytest.approx(0.1)
    clock.sample(sent=300.0, master=309.0, received=301.0)  # a longer trip: ignored
    assert clock.offset == pytest.approx(2.1)
    assert clock.now() - clock.local() == pytest.approx(2.1, abs=0.05)  # two reads of the time
    assert clock.describe() == {"offset_s": pytest.approx(2.1), "rtt_s": pytest.approx(0.1)}


def test_a_clock_never_measured_reads_the_host_clock() -> None:
    clock = SharedClock()
    assert clock.rtt is None
    assert clock.now() == pytest.approx(clock.local(), abs=0.05)
