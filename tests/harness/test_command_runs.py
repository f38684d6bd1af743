"""Whole runs with command faults: real commands against the run's real processes. A command fault
freezes one instance of the embedded deployment and thaws it; a failed apply leaves its window's
recovery SLO not measured (never met); a hung apply is killed at its timeout and named; a revert
that keeps failing fails the run (exit 3) saying the fault may still be in place; a harness killed
mid-window has its reaper run the revert."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.target import MockTarget
from scenarios import build_population, load_scenario, write_registry
from tests.conftest import needs_program, processes_mentioning
from tests.harness.conftest import REPO, SMOKE, mock_with_registry

pytestmark = pytest.mark.slow
HELPER = str(REPO / "tests" / "faults" / "signal_process.py")
PY = sys.executable


def toml_list(*items: str) -> str:
    return json.dumps(list(items))  # a JSON list of strings is a TOML array


def fault(name: str, start: str, end: str, **params: Any) -> str:
    lines = [f"{key} = {value if isinstance(value, str) else json.dumps(value)}"
             for key, value in params.items()]  # fmt: skip
    return "\n".join(
        ["[[faults]]", f'name = "{name}"', 'layer = "command"', 'kind = "run"',
         f'start = "{start}"', f'end = "{end}"', "[faults.params]", *lines, ""]
    )  # fmt: skip


def scenario(
    tmp_path: Path, faults: list[str], slos: list[str], instances: int | None = None
) -> Path:
    """smoke with these command faults instead of its outage, these SLOs, short timeouts (2 s
    real: a request stuck on a frozen instance comes back within the run)."""
    text = SMOKE.read_text()
    text = text[: text.index("[[faults]]")] + "\n".join(faults) + "\n[slo]\n"
    text += f"checks = {json.dumps(slos)}\n"
    text = text.replace('page = "10s", result = "5s"', 'page = "2s", result = "2s"')
    if instances is not None:
        text = text.replace(
            'retry_after = "1s"     # real', f'retry_after = "1s"\ninstances = {instances}'
        )
    path = tmp_path / "commands.toml"
    path.write_text(text)
    return path


def run(tmp_path: Path, path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-m", "harness.cli", "run", str(path), "--plain", "--out", str(tmp_path / "runs"),
         *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def only_run(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "runs").iterdir()
    return found


def events(record: dict[str, Any], window: int) -> dict[str, dict[str, Any]]:
    return {e["action"]: e for e in record["faults"] if e["window"] == window}


def say(text: str, code: int) -> str:
    """A command (TOML array) that writes ``text`` on stderr and exits ``code``."""
    return toml_list(PY, "-c", f"import sys; sys.stderr.write({text!r} + '\\n'); sys.exit({code})")


def test_a_command_fault_freezes_one_instance_of_the_deployment_and_thaws_it(
    tmp_path: Path,
) -> None:
    needs_program("haproxy")
    frozen = fault(
        "mock-2 frozen", "18:30", "19:10",
        apply=toml_list(PY, HELPER, "stop", "SIREKAP_PID_MOCK_2"),
        probe=toml_list(PY, HELPER, "stopped", "SIREKAP_PID_MOCK_2"),
        revert=toml_list(PY, HELPER, "cont", "SIREKAP_PID_MOCK_2"),
    )  # fmt: skip
    path = scenario(tmp_path, [frozen], ["integrity.lost == 0", "completion.final >= 0.9"], 3)
    process = run(tmp_path, path)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, out + err
    assert f"    apply  at 2024-02-14 18:30 WITA (+7.5 s real): {PY} {HELPER} stop " in out
    run_dir = only_run(tmp_path)
    record = json.loads((run_dir / "run.json").read_text())
    pid = {i["name"]: i["pid"] for i in record["target"]["instances"]}["mock-2"]
    done = events(record, 0)
    assert done["apply"]["ok"] and done["remove"]["ok"]
    assert [(c["phase"], c["exit_code"]) for c in done["apply"]["commands"]] == [
        ("apply", 0),
        ("probe", 0),
    ]
    assert [(c["phase"], c["exit_code"]) for c in done["remove"]["commands"]] == [("revert", 0)]
    trace = (run_dir / "signal_trace.log").read_text().splitlines()
    assert trace[:2] == [f"stop {pid} T apply", f"stopped {pid} T probe"]  # stopped in the window
    assert trace[2].startswith(f"cont {pid} ") and trace[2].split()[2] in {"S", "R"}
    assert trace[2].endswith(" revert") and len(trace) == 3
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    instances = {i["name"]: i for i in summary["instances"]}
    assert instances["mock-2"]["down_sim_s"] > 0 and instances["mock-1"]["down_sim_s"] == 0
    assert instances["mock-2"]["restarts"] == 0
    assert (run_dir / "logs" / "commands" / "w0-probe.log").exists()
    assert json.loads((run_dir / "pending_reverts.json").read_text())["reverts"] == []
    assert not processes_mentioning(str(run_dir))


def test_a_revert_that_keeps_failing_fails_the_run_saying_the_fault_may_still_be_in_place(
    tmp_path: Path,
) -> None:
    """And a failed apply (exit 1) before it: its window counts as not applied, its stderr
    line in the record, its recovery SLO not measured, never met."""
    bad_apply = fault(
        "bad apply", "17:30", "17:50",
        apply=say('error: deployments.apps "web" not found', 1), revert=toml_list("true"),
    )  # fmt: skip
    stuck = fault(
        "stuck", "18:00", "18:20", apply=toml_list("true"),
        revert=say("Error response from daemon: container web-1 is not paused", 3),
    )  # fmt: skip
    slos = ["completion.final >= 0.5", "recovery.time_to_recover('bad apply') < 30m"]
    process = run(tmp_path, scenario(tmp_path, [bad_apply, stuck], slos))
    out, err = process.communicate(timeout=180)
    assert process.returncode == 3, out + err
    (verdict,) = [line for line in out.splitlines() if line.startswith("ERROR (exit code 3): ")]
    assert verdict.startswith(
        "ERROR (exit code 3): command fault 'stuck': its revert at the window's end, `"
    )
    assert "the fault outlasted its window, so the run stops here" in verdict
    assert "command fault 'stuck' may still be in place: revert `" in verdict
    assert verdict.count("exited 3 after") == 2  # at the window's end, and once more at the end
    assert verdict.count(": Error response from daemon: container web-1 is not paused") == 2
    record = json.loads((only_run(tmp_path) / "run.json").read_text())
    assert record["status"] == "failed"
    first = events(record, 0)
    assert first["apply"]["ok"] is False and first["remove"]["ok"] is True
    assert "exited 1 after" in first["apply"]["error"]
    assert (
        'error: deployments.apps "web" not found; the window counts as not applied'
        in (first["apply"]["error"])
    )
    assert first["apply"]["commands"][0]["exit_code"] == 1
    assert events(record, 1)["remove"]["ok"] is False
    clear = [e for e in record["faults"] if e["action"] == "clear"]
    assert clear[0]["ok"] is False and clear[0]["commands"][0]["exit_code"] == 3
    summary = json.loads((only_run(tmp_path) / "report" / "summary.json").read_text())
    slo = {s["expression"]: s for s in summary["slos"]}[slos[1]]
    assert slo["status"] == "not measured" and slo["passed"] is None
    assert "fault window 'bad apply' failed to apply" in json.dumps(slo)


@pytest.fixture
def smoke_mock(tmp_path: Path) -> Iterator[MockTarget]:
    write_registry(build_population(load_scenario(SMOKE)), tmp_path / "registry.csv")
    with mock_with_registry(tmp_path) as mock:
        yield mock


def test_against_a_target_a_hung_apply_is_killed_at_its_timeout_and_named(
    tmp_path: Path, smoke_mock: MockTarget
) -> None:
    mark = f"hung-apply-{tmp_path.name}"
    dump = (
        "import json, os; json.dump(dict(os.environ), "
        "open(os.environ['SIREKAP_RUN_DIR'] + '/revert-env.json', 'w'))"
    )
    hung = fault(
        "hung", "18:00", "18:20", timeout_s=1,
        apply=toml_list(PY, "-c", "import time; time.sleep(120)", mark),
        revert=toml_list(PY, "-c", dump),
    )  # fmt: skip
    slos = ["completion.final >= 0.5", "recovery.time_to_recover('hung') < 30m"]
    process = run(tmp_path, scenario(tmp_path, [hung], slos), "--target", smoke_mock.url)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 4, out + err
    assert "INCONCLUSIVE (exit code 4): " in out
    run_dir = only_run(tmp_path)
    record = json.loads((run_dir / "run.json").read_text())
    apply = events(record, 0)["apply"]
    assert apply["ok"] is False
    assert (
        "did not finish within its timeout_s of 1 s, so its process group was killed"
        in (apply["error"])
    )
    assert apply["commands"][0]["timed_out"] is True
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    slo = {s["expression"]: s for s in summary["slos"]}[slos[1]]
    assert slo["status"] == "not measured"
    assert "did not finish within its timeout_s of 1 s" in json.dumps(slo)
    env = json.loads((run_dir / "revert-env.json").read_text())
    assert env["SIREKAP_TARGET_URL"] == smoke_mock.url.rstrip("/")
    assert env["SIREKAP_FAULT_WINDOW"] == "hung" and env["SIREKAP_FAULT_PHASE"] == "revert"
    assert env["SIREKAP_RUN_ID"] == run_dir.name
    assert processes_mentioning(mark) == []


def test_a_harness_killed_mid_window_has_its_reaper_run_the_revert(tmp_path: Path) -> None:
    marker = tmp_path / "fault-in-place"
    held = fault(
        "marker", "17:30", "20:30", apply=toml_list("touch", str(marker)),
        revert=toml_list("rm", str(marker)),
    )  # fmt: skip
    process = run(tmp_path, scenario(tmp_path, [held], ["completion.final >= 0.5"]))
    deadline = time.monotonic() + 90
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the apply never ran"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    run_dir = only_run(tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            not marker.exists()
            and json.loads((run_dir / "run.json").read_text())["status"] == "killed"
        ):
            break
        time.sleep(0.2)
    assert not marker.exists()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "killed"
    assert f"ran the pending revert of command fault 'marker' (rm {marker})" in record["error"]
    assert not processes_mentioning(str(run_dir))
