"""The command layer with real commands against a real process: apply, probe and revert on the
shared clock, what each ran recorded with its exit code and duration, a failing command's last
line in the message, a hung one killed with its process group, a failed revert said loudly."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faults.applier import FaultApplier, FaultCleanupError
from faults.command_layer import PROBE_INTERVAL_S, CommandFaults, inherited
from faults.timeline import FaultTimeline, FaultWindow, SimClock
from tests.conftest import processes_mentioning

HELPER = str(Path(__file__).with_name("signal_process.py"))
SPEEDUP = 100.0  # 1 simulated second = 10 real milliseconds
PY = sys.executable


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A real process to stop and continue."""
    process = subprocess.Popen(["sleep", "120"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def window(start: float, end: float, name: str = "frozen", **params: Any) -> FaultWindow:
    return FaultWindow.model_validate(
        {"start_s": start, "end_s": end, "layer": "command", "kind": "run", "params": params,
         "label": name}
    )  # fmt: skip


def layer(tmp_path: Path, clock: SimClock) -> CommandFaults:
    return CommandFaults(
        clock, tmp_path / "logs", pending_file=tmp_path / "pending.json",
        variables=lambda: {"SIREKAP_RUN_ID": "run-1", "SIREKAP_TARGET_URL": "http://t"},
    )  # fmt: skip


def say(text: str, code: int) -> list[str]:
    """A command that writes ``text`` on stderr and exits ``code``."""
    return [PY, "-c", f"import sys; print('working'); sys.stderr.write({text!r} + '\\n'); "
            f"sys.exit({code})"]  # fmt: skip


def run_timeline(tmp_path: Path, *windows: FaultWindow) -> tuple[FaultApplier, CommandFaults]:
    clock = SimClock.starting_now(SPEEDUP)
    commands = layer(tmp_path, clock)
    applier = FaultApplier(FaultTimeline(windows=windows), {"command": commands}, clock)
    return applier, commands


def test_a_window_stops_a_real_process_at_its_start_and_continues_it_at_its_end(
    tmp_path: Path, victim: subprocess.Popen[bytes]
) -> None:
    pid = str(victim.pid)
    frozen = window(
        20, 80, apply=["kill", "-STOP", pid], probe=[PY, HELPER, "stopped", pid],
        revert=["kill", "-CONT", pid],
    )  # fmt: skip
    applier, _ = run_timeline(tmp_path, frozen)
    seen = set()
    applier.start()
    deadline = time.monotonic() + 5
    while not applier.wait(0.01) and time.monotonic() < deadline:
        seen.add(state(victim.pid))
    applier.close()
    assert "T" in seen  # stopped inside the window
    assert state(victim.pid) in {"S", "R"}  # and running after it
    events = [e.to_dict() for e in applier.events]
    apply, remove, clear = events
    assert (apply["action"], apply["ok"], apply["label"]) == ("apply", True, "frozen")
    assert [(c["phase"], c["argv"], c["exit_code"]) for c in apply["commands"]] == [
        ("apply", ["kill", "-STOP", pid], 0),
        ("probe", [PY, HELPER, "stopped", pid], 0),
    ]
    assert (remove["action"], remove["ok"], remove["commands"][0]["exit_code"]) == (
        "remove",
        True,
        0,
    )
    assert remove["commands"][0]["phase"] == "revert" and remove["commands"][0]["duration_s"] >= 0
    assert (clear["action"], clear["ok"], "commands" in clear) == ("clear", True, False)
    probe_log = Path(apply["commands"][1]["log"]).read_text()
    assert f"stopped {pid} T probe" in probe_log and "--- exit 0 after" in probe_log
    assert json.loads((tmp_path / "pending.json").read_text())["reverts"] == []


def test_each_command_gets_variables_naming_the_run_the_window_the_phase_and_the_target(
    tmp_path: Path,
) -> None:
    dump = [PY, "-c", "import json, os, sys; json.dump({k: v for k, v in os.environ.items() if "
            "k.startswith('SIREKAP_') or k == 'EXTRA'}, open(sys.argv[1], 'w'))"]  # fmt: skip
    w = window(
        10, 30, name="env check", apply=[*dump, str(tmp_path / "apply.json")],
        revert=[*dump, str(tmp_path / "revert.json")], env=["EXTRA=yes"],
    )  # fmt: skip
    applier, _ = run_timeline(tmp_path, w)
    applier.run()
    applied = json.loads((tmp_path / "apply.json").read_text())
    reverted = json.loads((tmp_path / "revert.json").read_text())
    assert applied["SIREKAP_RUN_ID"] == "run-1" and applied["SIREKAP_TARGET_URL"] == "http://t"
    assert applied["SIREKAP_FAULT_WINDOW"] == "env check" and applied["SIREKAP_FAULT_INDEX"] == "0"
    assert (applied["SIREKAP_FAULT_START_S"], applied["SIREKAP_FAULT_END_S"]) == ("10", "30")
    assert applied["SIREKAP_FAULT_REAL_S"] == "0.200"
    assert (
        applied["SIREKAP_FAULT_START_UTC"].endswith("Z") and "T" in applied["SIREKAP_FAULT_END_UTC"]
    )
    assert (applied["SIREKAP_FAULT_PHASE"], reverted["SIREKAP_FAULT_PHASE"]) == ("apply", "revert")
    assert applied["EXTRA"] == "yes" == reverted["EXTRA"]


def test_a_failed_apply_counts_as_not_applied_with_its_stderr_line_and_still_reverts(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "reverted"
    w = window(
        0, 20, apply=say("error: deployment web-1 not found", 1), revert=["touch", str(marker)]
    )
    applier, _ = run_timeline(tmp_path, w)
    applier.run()
    apply, remove, _clear = (e.to_dict() for e in applier.events)
    assert apply["ok"] is False
    assert "apply `" in apply["error"]
    assert "exited 1 after" in apply["error"]
    assert apply["error"].endswith(
        "error: deployment web-1 not found; the window counts as not applied (its revert still "
        "runs at its end)"
    )
    assert apply["commands"][0]["exit_code"] == 1
    assert apply["commands"][0]["last_line"] == "error: deployment web-1 not found"
    assert remove["ok"] is True and marker.exists()
    log = Path(apply["commands"][0]["log"]).read_text()
    assert (
        "--- stdout:\nworking\n" in log and "--- stderr:\nerror: deployment web-1 not found" in log
    )


def test_a_failed_probe_marks_the_window_not_applied(tmp_path: Path) -> None:
    w = window(
        0, 20, apply=["true"], probe=say("replicas: 3/3 ready", 1), revert=["true"], timeout_s=1.0
    )
    applier, _ = run_timeline(tmp_path, w)
    started = time.monotonic()
    applier.run()
    apply = applier.events[0].to_dict()
    assert apply["ok"] is False
    assert "probe `" in apply["error"] and "exited 1" in apply["error"]
    assert "replicas: 3/3 ready: the fault is not known to be in effect (tried " in apply["error"]
    assert (
        "times within its timeout_s of 1 s), so the window counts as not applied" in apply["error"]
    )
    assert [c["phase"] for c in apply["commands"]] == ["apply", "probe"]
    tries = apply["commands"][1]["tries"]
    assert tries >= 2 and f"tried {tries} times" in apply["error"]
    # it kept trying while another try as long as the last one still fitted in its time
    last = apply["commands"][1]["duration_s"]
    assert time.monotonic() - started >= 1.0 - PROBE_INTERVAL_S - last - 0.01
    assert Path(apply["commands"][1]["log"]).read_text().count(" probe ") == tries


def test_a_probe_is_tried_again_until_the_fault_is_in_effect(tmp_path: Path) -> None:
    """A fault that takes a moment to be in place (here: the third look sees it) is applied."""
    count = tmp_path / "looks"
    look = [PY, "-c", f"import pathlib, sys; p = pathlib.Path({str(count)!r}); "
            "n = len(p.read_text()) + 1 if p.exists() else 1; p.write_text('x' * n); "
            "sys.exit(0 if n >= 3 else 1)"]  # fmt: skip
    w = window(0, 20, apply=["true"], probe=look, revert=["true"], timeout_s=30.0)
    applier, _ = run_timeline(tmp_path, w)
    applier.run()
    apply = applier.events[0].to_dict()
    assert apply["ok"] is True, apply
    assert apply["commands"][1]["tries"] == 3 and apply["commands"][1]["exit_code"] == 0
    assert count.read_text() == "xxx"


def test_a_probe_that_cannot_start_is_not_tried_again(tmp_path: Path) -> None:
    w = window(0, 20, apply=["true"], probe=["/no/such/probe"], revert=["true"], timeout_s=30.0)
    applier, _ = run_timeline(tmp_path, w)
    started = time.monotonic()
    applier.run()
    apply = applier.events[0].to_dict()
    assert apply["ok"] is False and apply["commands"][1]["tries"] == 1
    assert "could not start" in apply["error"] and "(tried once within" in apply["error"]
    assert time.monotonic() - started < 20  # not the whole 30 s of tries


def test_a_command_past_its_timeout_is_killed_with_its_whole_process_group(
    tmp_path: Path,
) -> None:
    mark = f"hung-{tmp_path.name}"
    sleeper = f"{PY} -c 'import time; time.sleep(300)' {mark}"
    hang = ["sh", "-c", f"{sleeper} & {sleeper}"]  # a child and a grandchild, one group
    w = window(0, 200, apply=hang, revert=["true"], timeout_s=0.5)
    applier, _ = run_timeline(tmp_path, w)
    started = time.monotonic()
    applier.start()
    deadline = time.monotonic() + 10
    while not applier.events and time.monotonic() < deadline:
        time.sleep(0.02)
    took = time.monotonic() - started
    applier.close()
    apply = applier.events[0].to_dict()
    assert apply["ok"] is False
    assert (
        "did not finish within its timeout_s of 0.5 s, so its process group was killed"
        in (apply["error"])
    )
    assert apply["commands"][0]["timed_out"] is True and apply["commands"][0]["exit_code"] is None
    assert took < 5
    assert processes_mentioning(mark) == []


def test_a_program_that_is_not_there_fails_the_apply_saying_so(tmp_path: Path) -> None:
    w = window(0, 20, apply=["no-such-program-sirekap"], revert=["true"])
    applier, _ = run_timeline(tmp_path, w)
    applier.run()
    error = applier.events[0].to_dict()["error"]
    assert "could not start: 'no-such-program-sirekap': No such file or directory" in error


def test_a_revert_that_fails_is_retried_at_close_and_then_said_to_leave_the_fault_in_place(
    tmp_path: Path,
) -> None:
    w = window(0, 20, name="web paused", apply=["true"], revert=say("Error: No such container", 3))
    applier, commands = run_timeline(tmp_path, w)
    with pytest.raises(FaultCleanupError) as raised:
        applier.run()
    message = str(raised.value)
    assert "command fault 'web paused' may still be in place: revert `" in message
    assert "exited 3 after" in message and "Error: No such container" in message
    remove = applier.events[1].to_dict()
    assert (remove["action"], remove["ok"]) == ("remove", False)
    assert commands.revert_failures[0].startswith(
        "command fault 'web paused': its revert at the window's end, `"
    )
    clear = applier.events[2].to_dict()
    assert (clear["action"], clear["ok"], clear["commands"][0]["exit_code"]) == ("clear", False, 3)
    log = (tmp_path / "logs" / "w0-revert.log").read_text()
    assert log.count("--- exit 3 after") == 2  # at the window's end, and once more at close
    pending = json.loads((tmp_path / "pending.json").read_text())["reverts"]
    assert [p["label"] for p in pending] == ["web paused"]


def test_a_run_that_ends_inside_the_window_reverts_at_close(
    tmp_path: Path, victim: subprocess.Popen[bytes]
) -> None:
    pid = str(victim.pid)
    w = window(0, 100_000, apply=["kill", "-STOP", pid], revert=["kill", "-CONT", pid])
    applier, _ = run_timeline(tmp_path, w)
    with applier:
        applier.start()
        deadline = time.monotonic() + 5
        while state(victim.pid) != "T" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert state(victim.pid) == "T"
        pending = json.loads((tmp_path / "pending.json").read_text())["reverts"]
        assert pending[0]["argv"] == ["kill", "-CONT", pid]
        assert pending[0]["env"]["SIREKAP_FAULT_WINDOW"] == "frozen"
    assert state(victim.pid) in {"S", "R"}
    clear = applier.events[-1].to_dict()
    assert clear["action"] == "clear" and clear["commands"][0]["exit_code"] == 0


def test_a_command_inherits_the_environment_but_never_the_harnesss_own_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIREKAP_ADMIN_TOKEN", "secret")
    monkeypatch.setenv("KUBECONFIG", "/tmp/kube")
    env = inherited()
    assert env["KUBECONFIG"] == "/tmp/kube" and "SIREKAP_ADMIN_TOKEN" not in env
