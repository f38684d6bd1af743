"""Child processes of a run: each in its own process group, all stopped on the way out.

A run starts servers (the mock, a Toxiproxy) and Locust. Whatever happens (an error, Ctrl-C, a part
dying) every child must be gone when the run ends: ``Children`` keeps them and ``stop_all`` stops
them in reverse order, escalating from SIGTERM to SIGKILL of the whole process group. With a
:class:`~harness.reaper.Reaper` every group is also known to the run's reaper, which kills what
is left if the harness itself is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from rundir.exits import StartError

__all__ = ["AdoptedServer", "Child", "Children", "StartError", "Watcher", "wait_until"]


class Watcher(Protocol):
    """What a child tells about its process group (harness.reaper.Reaper)."""

    def watch(self, pgid: int) -> None: ...

    def forget(self, pgid: int) -> None: ...


class Child:
    """One child process with its log file; ``stop`` ends it and everything it started."""

    def __init__(
        self, name: str, args: Sequence[str], log: Path, env: dict[str, str] | None = None
    ):
        self.name = name
        self.args = list(args)
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.watcher: Watcher | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                self.args,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,  # its own process group: Ctrl-C reaches us, not it
            )
        if self.watcher is not None:
            self.watcher.watch(self.process.pid)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.alive else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, sig: int) -> None:
        if self.process is not None and self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group (SIGCONT first: it may be frozen), then SIGKILL after ``grace``."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                process.wait(timeout=10)
        # Whatever the leader left behind in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if self.watcher is not None:
            self.watcher.forget(process.pid)

    def command_line(self) -> list[str]:
        """Its command as the system shows it (an adopted process's too)."""
        if self.process is None:
            return list(self.args)
        try:
            raw = Path(f"/proc/{self.process.pid}/cmdline").read_bytes()
        except OSError:
            return list(self.args)
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]

    def tail(self, limit: int = 800) -> str:
        """The end of the child's log, for error messages."""
        try:
            data = self.log.read_bytes()[-limit:]
        except OSError:
            return ""
        return data.decode(errors="replace").strip()


def wait_until(check: Callable[[], bool], child: Child, timeout: float, what: str) -> None:
    """Poll ``check`` until true; StartError if ``child`` dies or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive:
            raise StartError(
                f"{child.name} exited with code {child.returncode} before {what}: {child.tail()}"
            )
        if check():
            return
        time.sleep(0.05)
    raise StartError(f"{child.name} did not become ready ({what}) within {timeout:g} s")


class Children:
    """The children of one run, stopped in reverse order of start."""

    def __init__(self, watcher: Watcher | None = None) -> None:
        self._children: list[Child] = []
        self.watcher = watcher

    def add(self, child: Child) -> Child:
        child.watcher = self.watcher
        self._children.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self._children):
            child.stop()

    def named(self, name: str) -> list[Child]:
        return [c for c in self._children if c.name == name]

    def describe(self) -> dict[str, dict[str, object]]:
        """Each running child's pid and command line, for the run record (a later run's sweep
        stops what is left only where the command still matches)."""
        found: dict[str, dict[str, object]] = {}
        for child in self._children:
            pid = child.pid
            if pid is not None:
                found[child.name] = {"pid": pid, "command": child.command_line()}
        return found

    def running(self) -> list[Child]:
        """The children alive now."""
        return [child for child in self._children if child.alive]

    def dead(self) -> list[Child]:
        """Children that were started and have exited (a part died)."""
        return [c for c in self._children if c.process is not None and not c.alive]


class AdoptedServer(Child):
    """A process started elsewhere (the Toxiproxy launcher's), stopped with the run's children by
    the ``stop`` of the object that started it."""

    def __init__(self, name: str, server: object) -> None:
        super().__init__(name, [], Path("/dev/null"))
        self.server = server
        self.process = getattr(server, "process", None)

    def stop(self, grace: float = 10.0) -> None:
        pid = self.process.pid if self.process is not None else None
        stop = getattr(self.server, "stop", None)
        if stop is not None:
            stop()
        if self.watcher is not None and pid is not None:
            self.watcher.forget(pid)


def follow(child: Child, prefix: str, poll: float = 0.5) -> None:
    """Wait for ``child`` to exit, printing each new line of its log with ``prefix`` as it comes
    (live progress of a child that writes lines)."""
    shown = 0
    try:
        while child.alive:
            shown = _show_new(child.log, shown, prefix)
            time.sleep(poll)
    finally:
        _show_new(child.log, shown, prefix)


def _show_new(log: Path, shown: int, prefix: str) -> int:
    """Print the log's whole lines after byte ``shown``; the new offset."""
    try:
        data = log.read_bytes()
    except OSError:
        return shown
    end = data.rfind(b"\n") + 1
    for line in data[shown:end].decode(errors="replace").splitlines():
        print(f"{prefix}{line}", flush=True)
    return max(shown, end)


def one_line(error: BaseException) -> str:
    """The error's first line; the type too unless it is one of ours (already worded)."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(error, StartError) else f"{type(error).__name__}: {text}".strip(": ")
