"""The applier: windows applied and removed on the shared clock, every action recorded, and
everything cleared on exit, on an exception and on Ctrl-C."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from faults.applier import FaultApplier, FaultCleanupError
from faults.timeline import FaultTimeline, FaultWindow, SimClock

SPEEDUP = 100.0  # 1 simulated second = 10 real milliseconds


@dataclass
class RecordingLayer:
    """A fault layer that records calls with their real times; can be told to fail."""

    calls: list[tuple[str, str, float]] = field(default_factory=list)
    fail_apply: bool = False
    fail_clear: bool = False
    block: threading.Event | None = None

    def apply(self, key: str, window: FaultWindow) -> None:
        self.calls.append(("apply", key, time.monotonic()))
        if self.fail_apply:
            raise RuntimeError("proxy not found")
        if self.block is not None:
            self.block.wait(5)

    def remove(self, key: str, window: FaultWindow) -> None:
        self.calls.append(("remove", key, time.monotonic()))

    def clear(self) -> None:
        self.calls.append(("clear", "", time.monotonic()))
        if self.fail_clear:
            raise RuntimeError("Toxiproxy is gone")

    def actions(self) -> list[tuple[str, str]]:
        return [(action, key) for action, key, _ in self.calls]


def timeline(*spans: tuple[float, float], layer: str = "network") -> FaultTimeline:
    kind = {"network": "down", "process": "freeze"}[layer]
    return FaultTimeline(
        windows=tuple(
            FaultWindow.model_validate(
                {"start_s": start, "end_s": end, "layer": layer, "kind": kind}
            )
            for start, end in spans
        )
    )


def clock(speedup: float = SPEEDUP) -> SimClock:
    return SimClock(speedup=speedup, start=time.monotonic())


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Until ``condition()`` holds (the applier's thread got its turn), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the applier's thread did not get to it in time"
        time.sleep(0.005)


def test_windows_are_applied_at_their_start_and_removed_at_their_end() -> None:
    layer = RecordingLayer()
    start_clock = clock(20.0)  # windows 0.5 s real apart: a busy machine's stall skips none
    FaultApplier(timeline((10, 30), (20, 40)), {"network": layer}, start_clock).run()
    assert layer.actions() == [
        ("apply", "w0"),
        ("apply", "w1"),
        ("remove", "w0"),
        ("remove", "w1"),
        ("clear", ""),
    ]
    due = [0.5, 1.0, 1.5, 2.0]
    for (_, _, at), expected in zip(layer.calls, due, strict=False):
        assert expected <= at - start_clock.start < expected + 0.5  # never early; late by little


def test_back_to_back_windows_remove_before_apply() -> None:
    layer = RecordingLayer()
    FaultApplier(timeline((0, 10), (10, 20)), {"network": layer}, clock()).run()
    assert layer.actions()[:3] == [("apply", "w0"), ("remove", "w0"), ("apply", "w1")]


def test_every_action_is_recorded_with_times_params_and_outcome() -> None:
    applier = FaultApplier(timeline((5, 10)), {"network": RecordingLayer()}, clock(10.0))
    applier.run()
    events = applier.events
    assert [(e.action, e.layer, e.kind, e.window, e.ok) for e in events] == [
        ("apply", "network", "down", 0, True),
        ("remove", "network", "down", 0, True),
        ("clear", "network", None, None, True),
    ]
    apply = events[0].to_dict()
    assert apply["scheduled_s"] == 5
    assert 5 <= apply["simulated_s"] < 10  # applied on time, within the window
    assert apply["real_utc"].endswith("Z") and "T" in apply["real_utc"]
    assert apply["params"] == {}
    json.dumps([event.to_dict() for event in events])  # ready for run.json


def test_a_failing_action_is_recorded_with_its_error_and_the_run_goes_on() -> None:
    layer = RecordingLayer(fail_apply=True)
    applier = FaultApplier(timeline((0, 5), (6, 8)), {"network": layer}, clock())
    applier.run()
    failed = [event for event in applier.events if not event.ok]
    assert [(e.action, e.window, e.error) for e in failed] == [
        ("apply", 0, "RuntimeError: proxy not found"),
        ("apply", 1, "RuntimeError: proxy not found"),
    ]
    assert ("remove", "w1") in layer.actions(), "a failed apply is still undone"


def test_windows_already_over_when_their_turn_comes_are_skipped() -> None:
    layer = RecordingLayer()
    late = SimClock(speedup=SPEEDUP, start=time.monotonic() - 0.5)  # 50 simulated s ago
    applier = FaultApplier(timeline((10, 20), (40, 80)), {"network": layer}, late)
    applier.run()
    assert layer.actions() == [("apply", "w1"), ("remove", "w1"), ("clear", "")]
    skipped = applier.events[0]
    assert (skipped.action, skipped.window, skipped.ok) == ("skip", 0, False)
    assert skipped.error == "the window had ended before its turn"


def test_leaving_the_block_early_clears_every_layer() -> None:
    network, process = RecordingLayer(), RecordingLayer()
    both = FaultTimeline(
        windows=timeline((0, 1000)).windows + timeline((0, 1000), layer="process").windows
    )
    with FaultApplier(both, {"network": network, "process": process}, clock()) as applier:
        applier.start()
        wait_for(lambda: {w.layer for w in applier.active} == {"network", "process"})
    assert network.actions()[-1] == ("clear", "")
    assert process.actions()[-1] == ("clear", "")
    assert process.calls[-1][2] <= network.calls[-1][2], "the process layer is cleared first"
    assert applier.active == []


def test_an_exception_in_the_block_still_clears_and_propagates() -> None:
    layer = RecordingLayer()
    applier = FaultApplier(timeline((0, 1000)), {"network": layer}, clock())
    with pytest.raises(ZeroDivisionError), applier:
        applier.start()
        wait_for(lambda: layer.actions() == [("apply", "w0")])
        _ = 1 / 0
    assert layer.actions() == [("apply", "w0"), ("clear", "")]


def test_ctrl_c_in_the_block_clears_and_propagates() -> None:
    layer = RecordingLayer()
    applier = FaultApplier(timeline((0, 1000)), {"network": layer}, clock())
    with pytest.raises(KeyboardInterrupt), applier:
        applier.start()
        wait_for(lambda: layer.actions() == [("apply", "w0")])
        raise KeyboardInterrupt
    assert layer.actions() == [("apply", "w0"), ("clear", "")]


def test_ctrl_c_during_a_foreground_run_clears() -> None:
    # Python leaves SIGINT ignored when it started ignored (a background job): Ctrl-C as usual
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        layer = RecordingLayer()
        # a window that cannot end by itself within the test (10,000 s real), however busy the
        # machine: only the Ctrl-C ends the run
        applier = FaultApplier(timeline((0, 1_000_000)), {"network": layer}, clock())
        main = threading.main_thread().ident
        assert main is not None and threading.current_thread().ident == main
        with pytest.raises(KeyboardInterrupt):
            threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGINT)).start()  # Ctrl-C
            applier.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert layer.actions() == [("apply", "w0"), ("clear", "")]


def test_close_waits_for_an_action_in_progress_before_clearing() -> None:
    gate = threading.Event()
    layer = RecordingLayer(block=gate)
    with FaultApplier(timeline((0, 1000)), {"network": layer}, clock()) as applier:
        applier.start()
        wait_for(lambda: layer.actions() == [("apply", "w0")])  # the apply is blocked in progress
        threading.Timer(0.1, gate.set).start()
    assert layer.actions() == [("apply", "w0"), ("clear", "")]


def test_a_failed_clear_raises_naming_the_layer_and_is_recorded() -> None:
    layer = RecordingLayer(fail_clear=True)
    applier = FaultApplier(timeline((0, 1)), {"network": layer}, clock())
    with pytest.raises(FaultCleanupError, match="could not clear faults: network: RuntimeError"):
        applier.run()
    clear = applier.events[-1]
    assert (clear.action, clear.ok, clear.error) == (
        "clear",
        False,
        "RuntimeError: Toxiproxy is gone",
    )


def test_a_failed_clear_does_not_mask_the_blocks_own_exception() -> None:
    applier = FaultApplier(timeline((0, 1)), {"network": RecordingLayer(fail_clear=True)}, clock())
    with pytest.raises(ValueError, match="the load failed"), applier:
        raise ValueError("the load failed")


def test_a_timeline_layer_without_an_implementation_is_an_error() -> None:
    with pytest.raises(ValueError, match="the timeline has process faults but no layer was given"):
        FaultApplier(timeline((0, 1), layer="process"), {"network": RecordingLayer()}, clock())


def test_an_applier_runs_once() -> None:
    applier = FaultApplier(timeline((0, 1)), {"network": RecordingLayer()}, clock())
    applier.run()
    with pytest.raises(RuntimeError, match="runs once"):
        applier.start()


def test_server_faults_still_active_are_put_back_after_a_process_restart() -> None:
    server, process = RecordingLayer(), RecordingLayer()
    windows = FaultTimeline(
        windows=(
            FaultWindow.model_validate(
                {"start_s": 5, "end_s": 40, "layer": "server", "kind": "latency",
                 "params": {"latency_ms": 100}}
            ),
            FaultWindow.model_validate(
                {"start_s": 10, "end_s": 20, "layer": "process", "kind": "kill"}
            ),
        )
    )  # fmt: skip
    applier = FaultApplier(windows, {"server": server, "process": process}, clock())
    applier.run()
    # the kill's end restarts the target, which starts without faults: w0 goes back on
    assert server.actions()[:3] == [("apply", "w0"), ("apply", "w0"), ("remove", "w0")]
    assert [e.action for e in applier.events if e.layer == "server"][:3] == [
        "apply", "reapply", "remove",
    ]  # fmt: skip


def test_active_and_events_answer_at_once_while_a_layer_call_is_slow() -> None:
    gate = threading.Event()
    layer = RecordingLayer(block=gate)
    with FaultApplier(timeline((0, 1000), (0, 1000)), {"network": layer}, clock()) as applier:
        applier.start()
        wait_for(lambda: bool(layer.calls))  # the first apply is blocked in the layer, holding
        # the applier's lock
        began = time.monotonic()
        assert applier.active == [] and applier.events == []
        assert time.monotonic() - began < 2.5  # not the 5 s the blocked layer holds it
        gate.set()
        deadline = time.monotonic() + 5
        while len(applier.active) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(applier.active) == 2
