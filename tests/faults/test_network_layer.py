"""The network layer: fault windows become toxics (or a proxy taken down) on a real proxy."""

from __future__ import annotations

import time

import pytest

from faults.applier import FaultApplier
from faults.kinds import NetworkParams
from faults.network_layer import NetworkFaults, toxics_for
from faults.timeline import FaultTimeline, FaultWindow, SimClock
from faults.toxiproxy.models import (
    BandwidthToxic,
    LatencyToxic,
    LimitDataToxic,
    ResetPeerToxic,
    TimeoutToxic,
)
from tests.faults.conftest import ProxyUnderTest
from tests.faults.wire import read_response, send_get

pytestmark = pytest.mark.slow


def network(kind: str, start: float = 0, end: float = 10, **params: object) -> FaultWindow:
    return FaultWindow.model_validate(
        {"start_s": start, "end_s": end, "layer": "network", "kind": kind, "params": params}
    )


def toxics(kind: str, **params: object) -> list[object]:
    window = FaultWindow.model_validate(
        {"start_s": 0, "end_s": 1, "layer": "network", "kind": kind, "params": params}
    )
    assert isinstance(window.params, NetworkParams)
    return list(toxics_for("w3", window.params))


def test_each_kind_maps_to_toxiproxys_toxics_one_per_direction() -> None:
    assert toxics("latency", latency_ms=300, jitter_ms=50) == [
        LatencyToxic(name="w3_latency_downstream", latency=300, jitter=50)
    ]
    assert toxics("bandwidth", rate_kb_per_s=16) == [
        BandwidthToxic(name="w3_bandwidth_upstream", rate=16, stream="upstream"),
        BandwidthToxic(name="w3_bandwidth_downstream", rate=16, stream="downstream"),
    ]
    assert toxics("limit_data", max_bytes=4096) == [
        LimitDataToxic(name="w3_limit_data_upstream", bytes=4096, stream="upstream")
    ]
    assert toxics("flaky", fraction=0.25) == [
        ResetPeerToxic(name="w3_reset_peer_upstream", stream="upstream", toxicity=0.25)
    ]
    assert toxics("flaky", fraction=0.1, mode="timeout", timeout_ms=2000) == [
        TimeoutToxic(name="w3_timeout_upstream", timeout=2000, stream="upstream", toxicity=0.1)
    ]


def test_apply_adds_the_toxics_and_remove_takes_them_away(proxy: ProxyUnderTest) -> None:
    layer = NetworkFaults(proxy.client, proxy.name)
    window = network("slicer", average_size_bytes=64, stream="downstream")
    layer.apply("w0", window)
    assert [t.resolved_name for t in proxy.client.toxics(proxy.name)] == ["w0_slicer_downstream"]
    layer.remove("w0", window)
    assert proxy.client.toxics(proxy.name) == []


def test_down_disables_the_proxy_until_the_last_overlapping_down_window_ends(
    proxy: ProxyUnderTest,
) -> None:
    layer = NetworkFaults(proxy.client, proxy.name)
    first, second = network("down"), network("down", start=5, end=20)
    layer.apply("w0", first)
    layer.apply("w1", second)
    with pytest.raises(ConnectionRefusedError):
        proxy.connect(timeout=1).close()
    layer.remove("w0", first)
    assert proxy.client.get_proxy(proxy.name).enabled is False
    layer.remove("w1", second)
    assert proxy.client.get_proxy(proxy.name).enabled is True


def test_clear_removes_every_toxic_and_brings_the_proxy_up(proxy: ProxyUnderTest) -> None:
    layer = NetworkFaults(proxy.client, proxy.name)
    layer.apply("w0", network("latency", latency_ms=10))
    proxy.client.add_toxic(proxy.name, TimeoutToxic(name="left_behind"))
    layer.apply("w1", network("down"))
    layer.clear()
    info = proxy.client.get_proxy(proxy.name)
    assert info.enabled is True
    assert info.toxics == ()


def test_removing_a_toxic_someone_else_removed_is_not_an_error(proxy: ProxyUnderTest) -> None:
    layer = NetworkFaults(proxy.client, proxy.name)
    window = network("reset")
    layer.apply("w0", window)
    proxy.client.reset()
    layer.remove("w0", window)


def _request_seconds(proxy: ProxyUnderTest) -> float:
    start = time.monotonic()
    with proxy.connect() as sock:
        send_get(sock, "/")
        read_response(sock)
    return time.monotonic() - start


def test_a_latency_window_slows_requests_only_while_it_lasts(proxy: ProxyUnderTest) -> None:
    # speedup 2: the window is simulated 5-15 s, real 2.5-7.5 s after the start, probed in its
    # middle; 300 ms of latency against requests of a few ms: a busy machine cannot blur the two
    timeline = FaultTimeline(windows=(network("latency", start=5, end=15, latency_ms=300),))
    clock = SimClock(speedup=2, start=time.monotonic())
    layer = NetworkFaults(proxy.client, proxy.name)
    with FaultApplier(timeline, {"network": layer}, clock) as applier:
        applier.start()
        before = _request_seconds(proxy)
        time.sleep(max(0.0, clock.real_at(10) - time.monotonic()))
        during = _request_seconds(proxy)
        assert applier.wait(timeout=15)
        after = _request_seconds(proxy)
    assert (before < 0.3, during >= 0.3, after < 0.3) == (True, True, True), (
        before,
        during,
        after,
    )
    assert [(e.action, e.ok) for e in applier.events] == [
        ("apply", True),
        ("remove", True),
        ("clear", True),
    ]


def test_a_flaky_window_resets_about_that_fraction_of_connections(proxy: ProxyUnderTest) -> None:
    layer = NetworkFaults(proxy.client, proxy.name)
    layer.apply("w0", network("flaky", fraction=0.5))
    resets = 0
    for _ in range(30):
        try:
            _request_seconds(proxy)
        except (TimeoutError, ConnectionResetError, ConnectionError):
            resets += 1
    layer.clear()
    assert 2 <= resets <= 28  # Bin(30, 0.5) lands outside by chance 6 in 10**8 times


def test_on_a_proxy_it_does_not_own_the_layer_removes_only_its_own_toxics(
    proxy: ProxyUnderTest,
) -> None:
    """A dependency's link is shared: someone else's toxic stays, and the proxy is brought back
    up only if this layer took it down."""
    client = proxy.client
    client.add_toxic(proxy.name, LatencyToxic(name="theirs", latency=5, stream="downstream"))
    layer = NetworkFaults(client, proxy.name, owned=False, prefix="run1_")
    layer.apply("w0", network("latency", latency_ms=50))
    mine = {t.resolved_name for t in client.toxics(proxy.name)} - {"theirs"}
    assert mine and all(name.startswith("run1_w0_") for name in mine)
    layer.clear()
    assert [t.resolved_name for t in client.toxics(proxy.name)] == ["theirs"]
    client.disable(proxy.name)  # down by someone else: not ours to bring up
    layer.clear()
    assert not client.get_proxy(proxy.name).enabled
    client.enable(proxy.name)
    layer.apply("w1", network("down"))
    layer.clear()
    assert client.get_proxy(proxy.name).enabled
    with pytest.raises(ValueError, match="needs a prefix"):
        NetworkFaults(client, proxy.name, owned=False)
