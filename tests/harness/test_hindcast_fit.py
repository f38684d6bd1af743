"""The fit `run` and `validate` make before a hindcast: what it writes, and what it refuses."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.hindcast_fit import with_fit
from rundir.exits import UsageError

SHORT = Path(__file__).resolve().parent / "fixtures" / "hindcast_short.toml"


def short_data() -> dict[str, Any]:
    return tomllib.loads(SHORT.read_text(encoding="utf-8"))


def test_the_fit_fills_in_hindcast_fitted_and_says_what_it_fitted() -> None:
    data = short_data()
    fitted, line = with_fit(copy.deepcopy(data), "short.toml")
    value = fitted["hindcast"]["fitted"]["arrival.time_scale"]
    assert 0.5 <= value <= 3.0
    assert line is not None and line.startswith(f"hindcast: fitted arrival.time_scale = {value:g}")
    assert "on 17:44, 19:00, 20:03 WIB" in line
    assert "fitted" not in data["hindcast"]  # the caller's data is left as it was


def test_a_scenario_with_its_fitted_values_is_run_as_it_is() -> None:
    data = short_data()
    data["hindcast"]["fitted"] = {"arrival.time_scale": 2.0}
    assert with_fit(data, "short.toml") == (data, None)


def test_a_fit_range_the_fault_layer_refuses_is_a_usage_error_before_the_search() -> None:
    data = short_data()
    data["hindcast"]["fit"].append(
        {"field": "faults.attack.capacity_fraction", "low": 0.05, "high": 5.0, "reason": "a test"}
    )
    with pytest.raises(UsageError) as caught:
        with_fit(data, "short.toml")
    text = str(caught.value)
    assert text.startswith(
        "short.toml: [hindcast]: [[hindcast.fit]] faults.attack.capacity_fraction"
    )
    assert "the range [0.05, 5] goes beyond what the field allows" in text
