"""The process layer: kill the target (and bring it back) or freeze it, through a process handle.

The harness implements :class:`ProcessHandle` for whatever runs the target (a subprocess it
started, a container, ...). ``kill`` sends SIGKILL at the start of its window and restarts the
target at the end; ``freeze`` sends SIGSTOP at the start and SIGCONT at the end. Clearing thaws a
frozen target and restarts a killed one that is not running.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from faults.kinds import FreezeParams, KillParams
from faults.timeline import FaultWindow


@runtime_checkable
class ProcessHandle(Protocol):
    """The target process as the harness runs it."""

    @property
    def pid(self) -> int | None:
        """The current process id, or None when it is not running."""

    @property
    def alive(self) -> bool:
        """True while the process runs (a frozen process is alive)."""

    def kill(self, sig: int) -> None:
        """Send signal ``sig`` to the process."""

    def restart(self) -> None:
        """Start the process again (after it died) and return once it is ready."""


class ProcessFaults:
    """Applies process fault windows to ``handle``."""

    layer = "process"

    def __init__(self, handle: ProcessHandle) -> None:
        self.handle = handle
        self._killed: set[str] = set()
        self._frozen: set[str] = set()

    def apply(self, key: str, window: FaultWindow) -> None:
        params = window.params
        if not self.handle.alive:
            raise RuntimeError(f"the target process is not running; cannot {window.kind} it")
        if isinstance(params, KillParams):
            self._killed.add(key)
            self.handle.kill(signal.SIGKILL)
        elif isinstance(params, FreezeParams):
            self._frozen.add(key)
            self.handle.kill(signal.SIGSTOP)
        else:
            raise TypeError(f"not a process fault: {window.describe()}")

    def remove(self, key: str, window: FaultWindow) -> None:
        if key in self._frozen:
            self._frozen.discard(key)
            self.handle.kill(signal.SIGCONT)
        if key in self._killed:
            self._killed.discard(key)
            if not self.handle.alive:
                self.handle.restart()

    def clear(self) -> None:
        killed = self._killed
        self._frozen, self._killed = set(), set()
        if self.handle.alive:  # harmless for a running process, vital for a frozen one
            self.handle.kill(signal.SIGCONT)
        if killed and not self.handle.alive:
            self.handle.restart()


class ProcessRouter:
    """Process faults on a deployment: each window goes to the processes its ``victim`` names
    (an instance, ``all`` of them, ``db``); no victim means every instance. Unknown names are
    refused before the run by :meth:`check`, naming the valid ones."""

    layer = "process"

    def __init__(self, handles: Mapping[str, ProcessHandle], instances: Sequence[str]) -> None:
        self.layers = {name: ProcessFaults(handle) for name, handle in handles.items()}
        self.instances = tuple(instances)

    def victims(self, window: FaultWindow) -> tuple[str, ...]:
        victim = getattr(window.params, "victim", None)
        if victim is None or victim == "all":
            return self.instances
        if victim not in self.layers:
            valid = ", ".join(["all", *sorted(self.layers)])
            raise ValueError(f"{window.describe()}: no process {victim!r}; valid victims: {valid}")
        return (victim,)

    def check(self, windows: Iterable[FaultWindow]) -> None:
        for window in windows:
            if window.layer == self.layer:
                self.victims(window)

    def apply(self, key: str, window: FaultWindow) -> None:
        for name in self.victims(window):
            self.layers[name].apply(key, window)

    def remove(self, key: str, window: FaultWindow) -> None:
        for name in self.victims(window):
            self.layers[name].remove(key, window)

    def clear(self) -> None:
        for layer in self.layers.values():
            layer.clear()
