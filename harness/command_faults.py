"""Command faults in a run: the layer wired to the run, its plan printed, its programs checked.

The fault layer (faults.command_layer) runs the commands; the harness gives it what only a run
knows: the variables naming the run and its target (with the pid of each embedded process, read
when each command starts, as a restarted instance has a new one), the log folder, the pending
reverts file (the reaper and the next run's sweep run what a killed harness still owed), and the
reaper's watch of each command's process group. ``validate`` and the start of ``run`` print every
command that will run and when (:func:`command_plan`); ``run`` refuses one whose program is not
found (:func:`check_programs`): a fault it could apply but not revert would outlive the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from faults.command_argv import shown
from faults.command_layer import CommandFaults
from faults.kinds import CommandParams
from faults.timeline import FaultTimeline, FaultWindow, SimClock
from rundir import names
from rundir.exits import StartError, UsageError

if TYPE_CHECKING:  # run_options imports this module: nothing heavy at import
    from harness.embedded import EmbeddedTarget
    from harness.reaper import Reaper
    from rundir.layout import RunDir
    from scenarios import Scenario

PHASES = ("apply", "probe", "revert")


def command_layer(
    run_dir: RunDir,
    target_url: str,
    clock: SimClock,
    reaper: Reaper,
    target: EmbeddedTarget | None,
) -> CommandFaults:
    """The run's command layer; its commands' logs in ``logs/commands/``."""

    def variables() -> dict[str, str]:
        found = {
            "SIREKAP_RUN_ID": run_dir.path.name,
            "SIREKAP_RUN_DIR": str(run_dir.path.resolve()),
            "SIREKAP_TARGET_URL": target_url,
        }
        for name, pid in embedded_pids(target):
            found[f"SIREKAP_PID_{name.upper().replace('-', '_')}"] = str(pid)
        return found

    return CommandFaults(
        clock, run_dir.file(names.COMMAND_LOGS), variables=variables,
        pending_file=run_dir.file(names.PENDING_REVERTS), on_spawn=reaper.watch,
        on_exit=reaper.forget,
    )  # fmt: skip


def embedded_pids(target: EmbeddedTarget | None) -> Iterable[tuple[str, int]]:
    """Each process of the embedded target a command may act on: ``mock`` (one mock) or
    ``mock-1``..``mock-N``, and ``db`` (its PostgreSQL server); none with ``--target``."""
    if target is None:
        return
    for mock in target.mocks:
        if mock.pid is not None:
            yield mock.name, mock.pid
    if target.database is not None and target.database.child.pid is not None:
        yield "db", target.database.child.pid


def check_reverts(layer: CommandFaults | None) -> None:
    """A revert that failed at its window's end stops the run (exit 3): the fault outlasted its
    window, so the figures from here on are not the scenario's."""
    if layer is not None and layer.revert_failures:
        raise StartError(
            f"{layer.revert_failures[0]}; the fault outlasted its window, so the run stops here "
            "(the revert is tried once more as it ends)"
        )


def _commands(window: FaultWindow) -> CommandParams | None:
    return window.params if isinstance(window.params, CommandParams) else None


def check_programs(timeline: FaultTimeline) -> None:
    """Every program a command fault runs is found (UsageError naming the window and phase)."""
    for window in timeline.windows:
        params = _commands(window)
        if params is None:
            continue
        for phase in PHASES:
            argv = getattr(params, phase)
            if argv is not None and not found(argv[0], params.env):
                raise UsageError(
                    f"{window.describe()}: {phase} runs {argv[0]!r}, which is not found (not on "
                    "PATH, or not an executable file); install it or give its full path"
                )


def found(program: str, env: Iterable[str] = ()) -> bool:
    """``program`` can be run: a path to an executable file, or a name on PATH (the window's
    own PATH if its ``env`` sets one)."""
    paths = [item.partition("=")[2] for item in env if item.startswith("PATH=")]
    if os.sep in program:
        return Path(program).is_file() and os.access(program, os.X_OK)
    return shutil.which(program, path=paths[-1] if paths else None) is not None


def command_plan(scenario: Scenario, timeline: FaultTimeline) -> list[str]:
    """Every command the run will run, and when; empty without command faults."""
    clock = scenario.clock

    def at(offset: float) -> str:
        return f"{clock.local(offset)} (+{clock.to_real(offset):.1f} s real)"

    lines = []
    for window in timeline.windows:
        params = _commands(window)
        if params is None:
            continue
        extra = f", with {' '.join(params.env)}" if params.env else ""
        lines.append(f"  {window.label!r}: each command at most {params.timeout_s:g} s real{extra}")
        steps = [("apply", f"at {at(window.start_s)}", params.apply)]
        if params.probe is not None:
            steps.append(("probe", "right after apply (exit 0: in effect)", params.probe))
        steps.append(
            ("revert", f"at {at(window.end_s)}, or when the run ends if sooner", params.revert)
        )
        lines += [
            f"    {phase:<6} {when}: {_argv(argv, params.env)}" for phase, when, argv in steps
        ]
    if not lines:
        return []
    heading = (
        "command faults (argv run as given, no shell; SIREKAP_* variables name the run, the "
        "window, the phase and the target):"
    )
    return [heading, *lines]


def _argv(argv: tuple[str, ...], env: tuple[str, ...]) -> str:
    missing = "" if found(argv[0], env) else f"  [{argv[0]!r} is not found here]"
    return f"{shown(argv)}{missing}"
