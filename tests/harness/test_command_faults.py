"""Command faults before and after a run: ``validate`` prints every command and when, ``run``
refuses a program it cannot find, and the reverts a killed run still owed are run by its reaper
or by the next run's sweep, each said (a failing one as maybe still in place)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import validate
from harness.leftovers import sweep_dead_runs
from harness.reaper import Reaper
from harness.run_options import parser, prepare
from rundir.exits import UsageError
from tests.harness.conftest import SMOKE

FAULT = """
[[faults]]
name = "web paused"
layer = "command"
kind = "run"
start = "18:00"
end = "18:20"
[faults.params]
apply = ["docker", "pause", "web-1"]
revert = REVERT
probe = ["true"]
timeout_s = 10
env = ["KUBECONFIG=/etc/k"]
"""


def scenario(tmp_path: Path, revert: str = '["docker", "unpause", "web-1"]') -> Path:
    """smoke with its network outage swapped for a command fault."""
    text = SMOKE.read_text()
    start = text.index("[[faults]]")
    text = text[:start] + FAULT.replace("REVERT", revert).lstrip() + text[text.index("\n[slo]") :]
    text = text.replace(
        "recovery.time_to_recover('short outage')", "recovery.time_to_recover('web paused')"
    )
    path = tmp_path / "commands.toml"
    path.write_text(text)
    return path


def test_validate_prints_every_command_with_when_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate.main([str(scenario(tmp_path))]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index(
        "command faults (argv run as given, no shell; SIREKAP_* variables name the run, the "
        "window, the phase and the target):"
    )
    assert out[at + 1 : at + 5] == [
        "  'web paused': each command at most 10 s real, with KUBECONFIG=/etc/k",
        "    apply  at 2024-02-14 18:00 WITA (+5.0 s real): docker pause web-1"
        + ("" if _have("docker") else "  ['docker' is not found here]"),
        "    probe  right after apply (exit 0: in effect): true",
        "    revert at 2024-02-14 18:20 WITA (+6.7 s real), or when the run ends if sooner: "
        "docker unpause web-1" + ("" if _have("docker") else "  ['docker' is not found here]"),
    ]
    assert out[-1] == "valid"


def _have(program: str) -> bool:
    return shutil.which(program) is not None


def test_a_string_command_is_a_scenario_error_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path, revert='"docker unpause web-1"')
    assert validate.main([str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f'{path}: faults[0].params.revert: revert must be an argv list like ["docker", "pause", '
        "\"web-1\"], not a string ('docker unpause web-1'): no shell runs it; for shell syntax "
        'give ["sh", "-c", "..."]'
    ]


def test_run_refuses_a_command_fault_whose_revert_program_is_not_found(tmp_path: Path) -> None:
    path = scenario(tmp_path, revert='["no-such-unpauser", "web-1"]')
    path.write_text(path.read_text().replace('["docker", "pause", "web-1"]', '["true"]'))
    args = parser().parse_args([str(path), "--out", str(tmp_path / "runs")])
    with pytest.raises(UsageError) as raised:
        prepare(args)
    assert str(raised.value) == (
        "command run 'web paused' at 3600-4800s (simulated): revert runs 'no-such-unpauser', "
        "which is not found (not on PATH, or not an executable file); install it or give its "
        "full path"
    )


def _dead_run(folder: Path, reverts: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    record = folder / "run.json"
    record.write_text(json.dumps({"status": "running", "parts": {"harness": {"pid": gone.pid}}}))
    (folder / "pending_reverts.json").write_text(json.dumps({"reverts": reverts}))
    return record


def _revert(label: str, argv: list[str], log: Path) -> dict[str, object]:
    return {"window": 0, "label": label, "argv": argv, "env": {"SIREKAP_FAULT_WINDOW": label},
            "timeout_s": 5, "log": str(log)}  # fmt: skip


def test_the_next_run_runs_the_reverts_a_dead_run_still_owed_and_says_which_failed(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "fault-in-place"
    marker.touch()
    run_dir = tmp_path / "runs" / "20240214T100000Z-smoke"
    record = _dead_run(
        run_dir,
        [
            _revert("paused", ["rm", str(marker)], run_dir / "logs" / "w0-revert.log"),
            _revert("scaled", ["false"], run_dir / "logs" / "w1-revert.log"),
        ],
    )
    (line,) = sweep_dead_runs(tmp_path / "runs")
    assert not marker.exists()
    assert line == (
        "run 20240214T100000Z-smoke had died without ending: marked killed; command fault "
        "'scaled' may still be in place: its revert false exited 1 (see "
        f"{run_dir / 'logs' / 'w1-revert.log'}); ran the pending revert of command fault "
        f"'paused' (rm {marker})"
    )
    data = json.loads(record.read_text())
    assert data["status"] == "killed" and "'scaled' may still be in place" in data["error"]
    left = json.loads((run_dir / "pending_reverts.json").read_text())["reverts"]
    assert [entry["label"] for entry in left] == ["scaled"]


def test_a_reaper_whose_harness_vanishes_runs_the_pending_reverts(tmp_path: Path) -> None:
    marker = tmp_path / "fault-in-place"
    marker.touch()
    record = _dead_run(
        tmp_path / "run", [_revert("paused", ["rm", str(marker)], tmp_path / "revert.log")]
    )
    reaper = Reaper(tmp_path / "reaper.log")
    reaper.record(record)
    assert reaper.process.stdin is not None
    reaper.process.stdin.close()  # what the kernel does when the harness dies
    reaper.process.wait(timeout=30)
    assert not marker.exists()
    data = json.loads(record.read_text())
    assert data["status"] == "killed"
    assert data["error"].endswith(
        f"; ran the pending revert of command fault 'paused' (rm {marker})"
    )
    assert "--- revert by the reaper: rm " in (tmp_path / "revert.log").read_text()
