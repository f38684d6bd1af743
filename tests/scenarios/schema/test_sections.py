"""Fault timeline, target capacity document, client retry policy, load factor and round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from scenarios import (
    FAULT_KINDS,
    Scenario,
    capacity_json,
    load_factor,
    scenario_from_dict,
    write_capacity,
)
from scenarios.schema.faults import FaultWindowSpec
from scenarios.schema.fields import type_help
from scenarios.workload.loadfactor import LoadFactor
from tests.scenarios.helpers import MINIMAL, scenario


def test_fault_windows_resolve_to_simulated_seconds_from_the_start() -> None:
    loaded = scenario(
        '\n[[faults]]\nlayer = "network"\nkind = "down"\nstart = "14:30"\nend = "16:30"\n'
        '\n[[faults]]\nname = "crash"\nlayer = "process"\nkind = "kill"\nstart = "+3h"\n'
        'duration = "10m"\n'
        '\n[[faults]]\nlayer = "server"\nkind = "errors"\nstart = "+1d 00:00"\n'
        'end = "+1d 02:00"\nparams = { rate = 0.5, status = 503, paths = ["/page"] }\n'
    )
    down, crash, errors = loaded.timeline
    assert (down.name, down.start, down.end, down.duration) == ("network/down", 5400, 12600, 7200)
    assert (crash.name, crash.layer, crash.kind, crash.start, crash.end) == (
        "crash",
        "process",
        "kill",
        10800,
        11400,
    )
    assert (errors.start, errors.end) == (11 * 3600, 13 * 3600)
    assert errors.params == {"rate": 0.5, "status": 503, "paths": ["/page"]}
    assert loaded.clock.to_real(down.start) == pytest.approx(5400 / 260)


def test_every_layer_has_its_documented_kinds() -> None:
    assert FAULT_KINDS["network"] == (
        "down",
        "latency",
        "bandwidth",
        "timeout",
        "reset",
        "slicer",
        "limit_data",
        "slow_close",
        "flaky",
    )
    assert FAULT_KINDS["server"] == ("errors", "latency", "brownout", "plenary_gate")
    assert FAULT_KINDS["process"] == ("kill", "freeze")


def test_the_mock_capacity_document_has_the_contract_shape(tmp_path: Path) -> None:
    loaded = scenario(
        '\n[target.mock]\nworkers = 3\nqueue = 9\nqueue_timeout = "1.5s"\nretry_after = "1m"\n'
        '[target.mock.service_time.page]\nmedian = "80ms"\np95 = "300ms"\nper_mib = "20ms"\n'
    )
    document = capacity_json(loaded.target)
    assert document["mode"] == "model"
    assert (document["workers"], document["queue"]) == (3, 9)
    assert document["queue_timeout"] == 1.5
    assert document["retry_after"] == 60 and isinstance(document["retry_after"], int)
    assert set(document["service_time"]) == {
        "session", "page", "result", "read", "recap", "plenary"
    }  # fmt: skip
    assert document["service_time"]["page"] == {"median": 0.08, "p95": 0.3, "per_mib": 0.02}
    write_capacity(loaded.target, tmp_path / "capacity.json")
    assert json.loads((tmp_path / "capacity.json").read_text()) == document


def test_a_real_service_target_has_no_capacity_document() -> None:
    loaded = scenario('\n[target]\nurl = "http://127.0.0.1:8000/"\n')
    assert loaded.target.url == "http://127.0.0.1:8000"
    assert loaded.target.mock is None
    with pytest.raises(ValueError, match=r"the target is a real service \(http://127.0.0.1:8000\)"):
        capacity_json(loaded.target)


def test_exponential_backoff_uses_full_jitter_under_a_cap() -> None:
    retry = scenario('\n[client.retry]\ndelay = "10s"\ncap = "1m"\n').client.retry
    assert retry.backoff(1, 0.5) == 5.0
    assert retry.backoff(3, 0.999) == pytest.approx(39.96)
    assert retry.backoff(10, 1.0) == 60.0
    fixed = scenario('\n[client.retry]\npolicy = "fixed"\ndelay = "10s"\n').client.retry
    assert fixed.backoff(5, 0.1) == 10.0
    none = scenario('\n[client.retry]\npolicy = "none"\n').client.retry
    assert none.attempts == 1


def test_the_load_factor_is_sample_times_speedup() -> None:
    """Sample 0.01 at speedup 100 offers the real national rate (1.0)."""
    national = LoadFactor(sample=0.01, speedup=100, scale="national", population_tps=820_161)
    assert national.factor == pytest.approx(1.0)
    assert national.national == pytest.approx(1.0)
    assert national.reference == "the real national rate"


def test_a_regional_load_factor_is_relative_to_that_population() -> None:
    """20 TPS at speedup 260: 260x their own rate, 260 * 20 / 823,236 of the national rate."""
    factor = load_factor(scenario())
    assert factor.factor == 260
    assert factor.national == pytest.approx(260 * 20 / 823_236)
    assert factor.reference == "the real rate of this population (20 TPS)"


def test_a_dumped_scenario_loads_back_to_the_same_scenario() -> None:
    loaded = scenario(
        '\n[[faults]]\nlayer = "network"\nkind = "latency"\nstart = "14:30"\nduration = "90m"\n'
        'params = { latency = "500ms" }\n'
        "\n[arrival]\noffline_fraction = 0.1\n"
    )
    dumped = json.loads(json.dumps(loaded.model_dump(mode="json")))
    again = scenario_from_dict(dumped, loaded.source)
    assert again == loaded
    assert again.timeline == loaded.timeline


def test_toml_date_and_time_literals_are_accepted_for_the_start_and_fault_times() -> None:
    text = MINIMAL.replace('start = "2024-02-14 13:00"', "start = 2024-02-14T13:00:00")
    loaded = scenario(
        '\n[[faults]]\nlayer = "server"\nkind = "brownout"\nstart = 14:30:00\nend = "15:00"\n',
        base=text,
    )
    assert loaded.clock.local(0) == "2024-02-14 13:00 WITA"
    assert loaded.timeline[0].start == 5400


def test_a_scenario_is_frozen() -> None:
    loaded = scenario()
    with pytest.raises(ValueError, match="frozen"):
        loaded.clock.speedup = 2  # type: ignore[misc]
    assert MINIMAL  # the base text is shared, never changed


def _sections(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for field in model.model_fields.values():
        for candidate in (field.annotation, *get_args(field.annotation)):
            for inner in (candidate, *get_args(candidate)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from _sections(inner)


def test_every_duration_field_says_which_clock_it_is_on() -> None:
    """Each duration field in the schema says whether it is simulated or real."""
    checked = 0
    for model in set(_sections(Scenario)):
        for name, field in model.model_fields.items():
            if "duration like" in type_help(field.metadata):
                checked += 1
                description = field.description or ""
                assert "simulated clock" in description or "real clock" in description, (
                    f"{model.__name__}.{name}"
                )
    assert checked >= 18
    # Optional durations and time specs of the fault timeline are simulated too.
    windows = FaultWindowSpec.model_fields
    assert all(
        "simulated clock" in (windows[name].description or "")
        for name in ("start", "end", "duration")
    )
