"""Fault windows and timelines: typed, frozen, and errors that say what is valid."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from faults.kinds import KINDS, FlakyParams, LatencyParams, ServerErrorsParams
from faults.timeline import FaultTimeline, FaultWindow, SimClock


def window(**fields: object) -> FaultWindow:
    return FaultWindow.model_validate({"start_s": 60, "end_s": 120, **fields})


def test_params_are_validated_into_the_kinds_typed_model_with_defaults() -> None:
    fault = window(layer="network", kind="latency", params={"latency_ms": 300})
    assert fault.params == LatencyParams(latency_ms=300, jitter_ms=0, stream="downstream")
    server = window(layer="server", kind="errors", params={"rate": 0.3})
    assert server.params == ServerErrorsParams(rate=0.3, status=503, endpoints=None)


def test_kinds_without_parameters_need_none() -> None:
    assert window(layer="network", kind="down").params.model_dump() == {}
    assert window(layer="process", kind="freeze").params.model_dump() == {}


def test_an_unknown_kind_lists_the_valid_kinds_of_its_layer() -> None:
    with pytest.raises(ValidationError) as error:
        window(layer="network", kind="lag")
    valid = ", ".join(KINDS["network"])
    assert f"unknown network fault kind 'lag'; valid network kinds: {valid}" in str(error.value)


def test_an_unknown_layer_lists_the_valid_layers() -> None:
    with pytest.raises(ValidationError, match="unknown fault layer 'disk'; valid layers: network"):
        window(layer="disk", kind="full")


def test_an_unknown_parameter_lists_the_valid_parameters() -> None:
    with pytest.raises(ValidationError) as error:
        window(layer="network", kind="bandwidth", params={"rate": 10})
    assert "unknown parameter 'rate' for a network bandwidth fault" in str(error.value)
    assert "valid parameters: stream, rate_kb_per_s" in str(error.value)


def test_a_missing_parameter_is_reported_with_its_path() -> None:
    with pytest.raises(ValidationError) as error:
        window(layer="server", kind="brownout")
    assert "params.capacity_fraction" in str(error.value)
    assert "Field required" in str(error.value)


def test_out_of_range_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"params\.status"):
        window(layer="server", kind="errors", params={"rate": 0.1, "status": 200})
    with pytest.raises(ValidationError, match=r"params\.fraction"):
        window(layer="network", kind="flaky", params={"fraction": 1.5})
    with pytest.raises(ValidationError, match=r"params\.endpoints\.0"):
        window(layer="server", kind="latency", params={"latency_ms": 5, "endpoints": ["upload"]})


def test_the_end_must_come_after_the_start() -> None:
    with pytest.raises(ValidationError, match=r"end_s \(60\) must be after start_s \(90\)"):
        FaultWindow.model_validate({"start_s": 90, "end_s": 60, "layer": "process", "kind": "kill"})


def test_windows_are_frozen_and_round_trip_through_their_dump() -> None:
    fault = window(layer="network", kind="flaky", params={"fraction": 0.2, "mode": "timeout"})
    assert isinstance(fault.params, FlakyParams)
    with pytest.raises(ValidationError, match="frozen"):
        fault.start_s = 0  # type: ignore[misc]
    assert FaultWindow.model_validate(fault.model_dump()) == fault


def test_overlapping_process_windows_are_rejected() -> None:
    with pytest.raises(ValidationError, match="a process can only be killed or frozen by one"):
        FaultTimeline(
            windows=(
                window(layer="process", kind="kill"),
                window(layer="process", kind="freeze", start_s=100, end_s=200),
            )
        )


def test_overlapping_server_windows_need_different_kinds_and_the_same_endpoints() -> None:
    errors = window(layer="server", kind="errors", params={"rate": 0.5})
    with pytest.raises(ValidationError, match="only one server errors fault can be active"):
        FaultTimeline(windows=(errors, errors))
    page_latency = window(
        layer="server", kind="latency", params={"latency_ms": 50, "endpoints": ["page"]}
    )
    with pytest.raises(ValidationError, match="must name the same endpoints"):
        FaultTimeline(windows=(errors, page_latency))
    all_latency = window(layer="server", kind="latency", params={"latency_ms": 50})
    assert len(FaultTimeline(windows=(errors, all_latency)).windows) == 2


def test_network_windows_may_overlap_and_back_to_back_windows_do_not_overlap() -> None:
    timeline = FaultTimeline(
        windows=(
            window(layer="network", kind="down"),
            window(layer="network", kind="down", start_s=90, end_s=150),
            window(layer="process", kind="kill", start_s=0, end_s=60),
            window(layer="process", kind="freeze", start_s=60, end_s=70),
        )
    )
    assert timeline.layers == {"network", "process"}
    assert timeline.end_s == 150


def test_sim_clock_maps_simulated_offsets_to_real_time_by_the_speedup() -> None:
    clock = SimClock(speedup=60.0, start=1000.0)
    assert clock.real_at(3600) == 1060.0
    assert clock.simulated_at(1030.0) == 1800.0
    assert clock.real_seconds(120) == 2.0
    wall = SimClock(speedup=10.0, start=time.time() - 1.0, timer=time.time)
    assert 9.0 <= wall.simulated_now() < 60.0  # 1 s ago at 10x, read a moment later


def test_sim_clock_speedup_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speedup must be a positive number, got 0"):
        SimClock(speedup=0, start=0.0)
