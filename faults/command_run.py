"""Run one command of a command fault: argv as given (no shell), a real timeout, a log file.

The command runs in its own session (its own process group), so Ctrl-C at the terminal does not
reach it and its timeout can kill it with everything it started in that group. Its standard
output and error go to its log file (appended, one section per run, with the exit code and the
duration); the last line it wrote on standard error (else on standard output) is kept for the
message that names it when it fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from faults.command_argv import shown
from faults.events import utc_now_iso

_REAPED_WAIT_S = 5.0  # after SIGKILL of the group, how long to wait for the leader to go
_LAST_LINE_CHARS = 300


@dataclass(frozen=True)
class CommandResult:
    """How one command ran. ``exit_code`` is None when it did not start or was killed."""

    phase: str
    argv: tuple[str, ...]
    exit_code: int | None
    duration_s: float
    log: str
    timeout_s: float
    timed_out: bool = False
    error: str | None = None  # why it could not start
    last_line: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def why(self) -> str:
        """What went wrong, for a message: ``exited 1 after 0.1 s: <its last line>``."""
        if self.error is not None:
            return f"could not start: {self.error}"
        if self.timed_out:
            said = f" (its last line: {self.last_line})" if self.last_line else ""
            return (
                f"did not finish within its timeout_s of {self.timeout_s:g} s, so its process "
                f"group was killed{said}"
            )
        said = f": {self.last_line}" if self.last_line else " (it wrote nothing)"
        return f"exited {self.exit_code} after {self.duration_s:.1f} s{said}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "timed_out": self.timed_out,
            "error": self.error,
            "last_line": self.last_line,
            "log": self.log,
        }


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_command(
    phase: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout_s: float,
    log: Path,
    title: str = "",
    on_spawn: Callable[[int], None] | None = None,
    on_exit: Callable[[int], None] | None = None,
) -> CommandResult:
    """Run ``argv`` with ``env`` (the whole environment) for at most ``timeout_s`` real seconds.

    ``on_spawn``/``on_exit`` are told the process group (a reaper kills it if the caller dies).
    An interrupt while it runs kills the group too, then propagates.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as out, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as err:
        out.write(f"--- {utc_now_iso()} {phase} {title}: {shown(argv)}\n".encode())
        try:
            process = subprocess.Popen(
                list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            why = f"{argv[0]!r}: {exc.strerror or exc}"
            out.write(f"--- could not start: {why}\n".encode())
            return CommandResult(phase, tuple(argv), None, 0.0, str(log), timeout_s, error=why)
        if on_spawn is not None:
            on_spawn(process.pid)
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except BaseException as exc:  # the timeout, or an interrupt: the group goes either way
            timed_out = isinstance(exc, subprocess.TimeoutExpired)
            kill_group(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_REAPED_WAIT_S)
            if not timed_out:
                raise
        finally:
            if on_exit is not None:
                on_exit(process.pid)
        duration = time.monotonic() - started
        said = _copy(stdout, "stdout", out)
        last = _copy(err, "stderr", out) or said  # stderr says why, if anything does
        code = None if timed_out else process.returncode
        ending = f"killed at its timeout of {timeout_s:g} s" if timed_out else f"exit {code}"
        out.write(f"--- {ending} after {duration:.3f} s\n".encode())
    return CommandResult(
        phase, tuple(argv), code, duration, str(log), timeout_s, timed_out, last_line=last
    )


def _copy(source: IO[bytes], name: str, out: IO[bytes]) -> str:
    """Append ``source`` to the log under ``name``; its last non-empty line."""
    source.seek(0)
    data = source.read()
    if not data:
        return ""
    out.write(f"--- {name}:\n".encode() + data + (b"" if data.endswith(b"\n") else b"\n"))
    lines = [line.strip() for line in data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:_LAST_LINE_CHARS] if lines else ""
