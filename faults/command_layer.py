"""The command layer: infrastructure faults by the user's own commands (apply, probe, revert).

A window runs its ``apply`` argv at its start and its ``revert`` argv at its end; an optional
``probe`` runs right after a successful apply and says, by exiting 0, that the fault is in effect;
one that exits non-zero is tried again every ``PROBE_INTERVAL_S`` until ``timeout_s`` has passed.
Each runs directly (no shell) with the harness's environment (but its own ``SIREKAP_*`` names) plus
``SIREKAP_*`` variables naming the run, the window, the phase and the target
(:meth:`CommandFaults.environment`), for at most the window's ``timeout_s`` real seconds; past it
its process group is killed and it counts as failed.

- A failed apply or probe makes the window *not applied* (the applier records the apply as failed,
  so its recovery SLOs are not measured); the run goes on. Its revert still runs at the window's
  end: a failed or killed apply may have done part of its work, so reverts must be safe to run
  when the fault is not (or only partly) in place.
- A revert is pending from the moment its apply starts until it succeeds. ``remove`` runs it at
  the window's end; ``clear`` (the applier's close: any end of the run) runs every one still
  pending, latest first, the ones that failed at their window's end once more. A revert that
  fails at its window's end is listed in :attr:`CommandFaults.revert_failures` (the run stops);
  one that still fails in ``clear`` raises :class:`CommandFaultError` saying the fault may still
  be in place.
- The pending reverts are also written to ``pending_file`` (JSON, atomically) before each apply
  starts and after each revert succeeds, so whoever cleans up after a killed harness can run them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faults.command_argv import shown
from faults.command_run import CommandResult, run_command
from faults.events import utc_now_iso
from faults.kinds import CommandParams
from faults.timeline import FaultWindow, SimClock

Outcomes = list[dict[str, Any]]
PROBE_INTERVAL_S = 0.25  # between tries of a probe that exited non-zero


class CommandFaultError(RuntimeError):
    """A command of a command fault failed; ``commands`` has each command's outcome."""

    def __init__(self, message: str, commands: Outcomes) -> None:
        super().__init__(message)
        self.commands = commands


@dataclass(frozen=True)
class PendingRevert:
    """A revert still owed: what the pending file keeps of it (``env``: the SIREKAP_* set)."""

    window: int
    label: str
    argv: list[str]
    env: dict[str, str]
    timeout_s: float
    log: str


def window_name(window: FaultWindow) -> str:
    return f"command fault {window.label or window.describe()!r}"


def inherited() -> dict[str, str]:
    """The harness's environment a command gets: all but the SIREKAP_* names, which are the
    harness's own (the layer sets those it means; the admin token never reaches a command)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SIREKAP_")}


class CommandFaults:
    """Applies command fault windows; ``variables()`` adds the run's own ``SIREKAP_*`` names."""

    layer = "command"

    def __init__(
        self,
        clock: SimClock,
        log_dir: Path,
        *,
        variables: Callable[[], Mapping[str, str]] = dict,
        pending_file: Path | None = None,
        on_spawn: Callable[[int], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.clock, self.log_dir, self.variables = clock, log_dir, variables
        self.pending_file = pending_file
        self._hooks = {"on_spawn": on_spawn, "on_exit": on_exit}
        self._pending: dict[str, PendingRevert] = {}
        self._apply_failed: set[str] = set()
        self.revert_failures: list[str] = []  # reverts that failed at their window's end

    # -- the layer ----------------------------------------------------------------------------

    def apply(self, key: str, window: FaultWindow) -> Outcomes:
        params = _params(window)
        env = self.environment(key, window)
        log = self.log_dir / f"{key}-revert.log"
        self._pending[key] = PendingRevert(
            int(key.lstrip("w") or 0), window.label or "", list(params.revert), env,
            params.timeout_s, str(log),
        )  # fmt: skip
        self._save()  # owed from now: a kill during the apply still gets it run
        name = window_name(window)
        done = self._run("apply", params.apply, key, env, params.timeout_s)
        outcomes = [done.to_dict()]
        if not done.ok:
            self._apply_failed.add(key)
            raise CommandFaultError(
                f"{name}: apply `{shown(params.apply)}` {done.why()}; the window counts as not "
                "applied (its revert still runs at its end)",
                outcomes,
            )
        if params.probe is not None:
            probe, tries = self._probe(params.probe, key, env, params.timeout_s)
            outcomes.append({**probe.to_dict(), "tries": tries})
            if not probe.ok:
                raise CommandFaultError(
                    f"{name}: probe `{shown(params.probe)}` {probe.why()}: the fault is not known "
                    f"to be in effect ({_tries(tries)} within its timeout_s of "
                    f"{params.timeout_s:g} s), so the window counts as not applied (its revert "
                    "still runs at its end)",
                    outcomes,
                )
        return outcomes

    def remove(self, key: str, window: FaultWindow) -> Outcomes | None:
        pending = self._pending.get(key)
        if pending is None:
            return None
        done = self._revert(key, pending)
        if done.ok:
            return [done.to_dict()]
        message = (
            f"{window_name(window)}: its revert at the window's end, `{shown(pending.argv)}`, "
            f"{done.why()}{self._after_failed_apply(key)}"
        )
        self.revert_failures.append(message)
        raise CommandFaultError(message, [done.to_dict()])

    def clear(self) -> Outcomes | None:
        """Run every revert still pending, latest apply first; raise if any fails."""
        outcomes: Outcomes = []
        problems = []
        for key in reversed(list(self._pending)):
            pending = self._pending[key]
            done = self._revert(key, pending)
            outcomes.append(done.to_dict())
            if not done.ok:
                label = pending.label or f"window {pending.window}"
                problems.append(
                    f"command fault {label!r} may still be in place: revert "
                    f"`{shown(pending.argv)}` {done.why()} (log: {pending.log})"
                    f"{self._after_failed_apply(key)}"
                )
        if problems:
            raise CommandFaultError("; ".join(problems), outcomes)
        return outcomes or None

    # -- the commands ---------------------------------------------------------------------------

    def environment(self, key: str, window: FaultWindow) -> dict[str, str]:
        """The ``SIREKAP_*`` variables of ``window``'s commands (the phase is added per command):
        the run's own (``variables()``), the window's name and index, its start and end on the
        simulated clock (seconds from the scenario start) and in real UTC, its real length."""
        params = _params(window)
        wall = time.time() - self.clock.timer()  # the clock's timer to wall time
        start, end = self.clock.real_at(window.start_s), self.clock.real_at(window.end_s)
        found = {
            **dict(self.variables()),
            "SIREKAP_FAULT_WINDOW": window.label or f"{window.layer}/{window.kind}",
            "SIREKAP_FAULT_INDEX": key.lstrip("w"),
            "SIREKAP_FAULT_START_S": f"{window.start_s:g}",
            "SIREKAP_FAULT_END_S": f"{window.end_s:g}",
            "SIREKAP_FAULT_START_UTC": _utc(start + wall),
            "SIREKAP_FAULT_END_UTC": _utc(end + wall),
            "SIREKAP_FAULT_REAL_S": f"{end - start:.3f}",
        }
        for item in params.env:  # the window's own, checked not to be SIREKAP_* names
            name, _, value = item.partition("=")
            found[name] = value
        return found

    def _run(
        self, phase: str, argv: tuple[str, ...] | list[str], key: str, env: dict[str, str],
        timeout_s: float,
    ) -> CommandResult:  # fmt: skip
        return run_command(
            phase, argv, env={**inherited(), **env, "SIREKAP_FAULT_PHASE": phase},
            timeout_s=timeout_s, log=self.log_dir / f"{key}-{phase}.log",
            title=env.get("SIREKAP_FAULT_WINDOW", ""), **self._hooks,
        )  # fmt: skip

    def _probe(
        self, argv: tuple[str, ...], key: str, env: dict[str, str], timeout_s: float
    ) -> tuple[CommandResult, int]:
        """Run the probe until it exits 0, every PROBE_INTERVAL_S, for at most ``timeout_s`` in
        all: a fault often takes a moment to be in effect (a signal delivered, a pod gone). A
        probe that cannot start or outlives what is left of the time is not tried again."""
        deadline = time.monotonic() + timeout_s
        tries = 0
        said: CommandResult | None = None  # the last try that exited non-zero
        while True:
            tries += 1
            left = max(deadline - time.monotonic(), 0.001)
            done = _with_timeout(self._run("probe", argv, key, env, left), timeout_s)
            if done.timed_out and said is not None:  # cut short by the time left: say the exit
                return said, tries
            if done.ok or done.error is not None or done.timed_out:
                return done, tries
            said = done
            # another try only when one as long as this one still fits
            if deadline - time.monotonic() <= PROBE_INTERVAL_S + done.duration_s:
                return done, tries
            time.sleep(PROBE_INTERVAL_S)

    def _revert(self, key: str, pending: PendingRevert) -> CommandResult:
        done = self._run("revert", pending.argv, key, pending.env, pending.timeout_s)
        if done.ok:
            del self._pending[key]
            self._save()
        return done

    def _after_failed_apply(self, key: str) -> str:
        if key not in self._apply_failed:
            return ""
        return " (its apply had failed too, so the fault may never have been in place)"

    def _save(self) -> None:
        if self.pending_file is None:
            return
        data = {
            "updated_utc": utc_now_iso(),
            "reverts": [asdict(p) for p in self._pending.values()],
        }
        partial = self.pending_file.with_name(self.pending_file.name + ".part")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        partial.replace(self.pending_file)


def _params(window: FaultWindow) -> CommandParams:
    if not isinstance(window.params, CommandParams):
        raise TypeError(f"not a command fault: {window.describe()}")
    return window.params


def _tries(count: int) -> str:
    return "tried once" if count == 1 else f"tried {count} times"


def _with_timeout(done: CommandResult, timeout_s: float) -> CommandResult:
    """A probe run with what was left of the time still reports the window's ``timeout_s``."""
    return replace(done, timeout_s=timeout_s)


def _utc(moment: float) -> str:
    at = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return at.replace("+00:00", "Z")
