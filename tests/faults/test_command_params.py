"""A command fault's parameters: argv lists (never a string for a shell), a real timeout above 0,
NAME=value variables that are not the harness's own; each error names the field and what is
valid."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from faults.kinds import LAYERS, CommandParams, params_class
from faults.timeline import FaultWindow


def errors(**params: Any) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        FaultWindow.model_validate(
            {"start_s": 0, "end_s": 10, "layer": "command", "kind": "run", "params": params}
        )
    return [
        (tuple(d["loc"]), str(d["msg"]).removeprefix("Value error, "))
        for d in raised.value.errors(include_url=False)
    ]


def test_a_command_fault_is_layer_command_kind_run_with_defaults() -> None:
    assert "command" in LAYERS and params_class("command", "run") is CommandParams
    params = CommandParams.model_validate({"apply": ["docker", "pause", "web"], "revert": ["x"]})
    assert params.apply == ("docker", "pause", "web") and params.probe is None
    assert (params.timeout_s, params.env) == (30.0, ())


def test_a_string_instead_of_an_argv_list_is_refused_saying_no_shell_runs_it() -> None:
    assert errors(apply="docker pause web-1", revert=["true"]) == [
        (
            ("params", "apply"),
            'apply must be an argv list like ["docker", "pause", "web-1"], not a string '
            "('docker pause web-1'): no shell runs it; for shell syntax give "
            '["sh", "-c", "..."]',
        )
    ]
    assert errors(apply=["true"], revert=["true"], probe="curl x")[0][0] == ("params", "probe")


def test_apply_and_revert_are_required_and_name_a_program() -> None:
    assert errors() == [
        (("params", "apply"), "Field required"),
        (("params", "revert"), "Field required"),
    ]
    assert errors(apply=[], revert=["true"]) == [
        (("params", "apply"), "apply must name a program: an argv list of at least one string")
    ]
    assert errors(apply=["true"], revert=[""]) == [
        (("params", "revert"), "revert[0] must be the program to run; got an empty string")
    ]
    assert errors(apply=["sleep", 5], revert=["true"]) == [
        (("params", "apply"), "apply[1] must be a string (argv items are text); got 5")
    ]


@pytest.mark.parametrize("timeout", [0, -1, 3601])
def test_timeout_s_must_be_above_0_and_at_most_an_hour(timeout: float) -> None:
    assert errors(apply=["true"], revert=["true"], timeout_s=timeout) == [
        (
            ("params", "timeout_s"),
            "timeout_s must be real seconds above 0 and at most 3600 (each command's limit; "
            f"default 30); got {timeout:g}",
        )
    ]


def test_env_is_a_list_of_name_value_strings_and_the_harness_names_are_reserved() -> None:
    assert errors(apply=["true"], revert=["true"], env="A=1") == [
        (("params", "env"), "env must be a list of \"NAME=value\" strings; got 'A=1'")
    ]
    assert errors(apply=["true"], revert=["true"], env=["A=1", "no equals"]) == [
        (
            ("params", "env"),
            "env[1] must be \"NAME=value\" (NAME: letters, digits, _); got 'no equals'",
        )
    ]
    assert errors(apply=["true"], revert=["true"], env=["SIREKAP_RUN_ID=mine"]) == [
        (
            ("params", "env"),
            "env[0]: SIREKAP_RUN_ID is set by the harness for each command (SIREKAP_* names are "
            "reserved); choose another name",
        )
    ]


def test_an_unknown_parameter_lists_the_valid_ones() -> None:
    assert errors(apply=["true"], revert=["true"], shell=True) == [
        (
            ("params",),
            "unknown parameter 'shell' for a command run fault; valid parameters: apply, revert, "
            "probe, timeout_s, env",
        )
    ]
