"""``plan --verify``: replay the scenario against the deployment the plan sizes, and one smaller.

After the sweep and the sizing, each replay is a whole ``sirekap-loadtest run`` of the scenario
as the plan directory keeps it, with ``--instances N`` (N instances behind HAProxy, each with the
scenario's capacity model) and ``--read-back 0`` (the request mix the sweep measured: no
read-backs), into ``<plan dir>/replays/``. Its output is shown live, prefixed. The replay is a
child in its own process group, known to a reaper, so a killed plan leaves no replay behind (and
the replay's own reaper stops its deployment). reports/plan_check.py holds the model and the
measurement; this module only runs the replays and reads what they wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.children import Child, follow
from harness.reaper import Reaper
from reports.plan import Plan
from reports.plan_check import PlanCheck, ReplayModel, judge_replay, new_check, replay_counts
from rundir import exits, names
from rundir.exits import StartError
from rundir.files import read_json, read_jsonl, write_json
from scenarios import MAX_INSTANCES

RUN_DIR_LINE = "run directory: "


class Replayer:
    """Runs the check's replays one after the other; stops the one running on Ctrl-C."""

    def __init__(self, plan_dir: Path, scenario_file: Path) -> None:
        self.plan_dir = plan_dir
        self.scenario_file = scenario_file
        self.out = plan_dir / names.REPLAYS

    def replay(self, instances: int, reaper: Reaper) -> tuple[int | None, Path | None]:
        """Run one replay; its exit code and run directory (None when it never made one)."""
        args = [
            sys.executable, "-m", "harness.cli", "run", str(self.scenario_file),
            "--instances", str(instances), "--read-back", "0", "--plain",
            "--out", str(self.out),
        ]  # fmt: skip
        log = self.plan_dir / names.LOGS / f"replay-{instances}.log"
        child = Child(f"replay at {instances} instances", args, log)
        child.watcher = reaper
        child.start()
        try:
            follow(child, f"  [replay {instances}] ")
        except KeyboardInterrupt:
            child.stop(grace=120.0)  # the run winds down as on Ctrl-C, then goes
            raise
        child.stop()
        return child.returncode, _run_dir(log)


def _run_dir(log: Path) -> Path | None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = [line[len(RUN_DIR_LINE) :] for line in lines if line.startswith(RUN_DIR_LINE)]
    return Path(found[0]) if found else None


def _trust(exit_code: int | None, run_dir: Path | None) -> str:
    """Why the replay's figures cannot be used ('' when they can)."""
    if run_dir is None or not (run_dir / names.LEDGER).exists():
        return f"the replay wrote no ledger (exit code {exit_code})"
    summary = read_json(run_dir / names.REPORT / "summary.json")
    if summary is None:
        return f"the replay wrote no report (exit code {exit_code})"
    if not summary.get("trusted", False):
        return f"the replay's figures cannot be trusted: {summary.get('reason', '')}"
    return ""


def verify(plan: Plan, model: ReplayModel, plan_dir: Path, scenario_file: Path) -> PlanCheck:
    """Replay at the plan's count (as the replay's load factor has it) and one fewer.

    StartError (exit 3) when a replay could not run at all (a part would not start)."""
    check = new_check(plan, model)
    counts = replay_counts(model)
    if not counts:
        check.notes.append("no instance count meets the deadlines: nothing to replay")
        return check
    if counts[0] > MAX_INSTANCES:
        check.notes.append(
            f"the replay needs {counts[0]} instances, more than the embedded deployment's "
            f"{MAX_INSTANCES}: lower the scenario's load factor (sample or speedup) to check"
        )
        return check
    replayer = Replayer(plan_dir, scenario_file)
    reaper = Reaper(plan_dir / names.LOGS / "replays-reaper.log")
    try:
        for count in counts:
            print(f"\nreplay at {count} instances (predicted by the plan's model)", flush=True)
            code, run_dir = replayer.replay(count, reaper)
            if code in {exits.USAGE, exits.INFRASTRUCTURE} or run_dir is None:
                raise StartError(
                    f"the replay at {count} instances failed (exit code {code}); its log: "
                    f"{plan_dir / names.LOGS / f'replay-{count}.log'}"
                )
            ledger_path = run_dir / names.LEDGER
            ledger = read_jsonl(ledger_path) if ledger_path.exists() else []
            why = _trust(code, run_dir)
            check.replays.append(judge_replay(model, count, str(run_dir), ledger, code, why))
            write_json(plan_dir / names.PLAN_CHECK, check.to_json(), indent=1)
    finally:
        reaper.done()
    return check
