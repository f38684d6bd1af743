"""Apply a fault timeline on the shared clock, record every action, and always clear up.

Each window is applied when the simulated clock reaches its start and removed at its end (removals
due at the same instant go first, so back-to-back windows hand over cleanly). A window whose end
has already passed when its turn comes is skipped, not flashed. A target restarted at the end of
a process fault comes back without server faults, so the server windows still active are applied
again (recorded as ``reapply``). Every action becomes a
:class:`~faults.events.FaultEvent`, failed ones included, so the run record can list them.

On leaving the ``with`` block — normally, on an exception or on Ctrl-C — the applier stops and
clears every layer the timeline uses (the user's commands and the processes first, so that the
target is back before its admin API is called, then server, then network). A layer call may
return what it ran (a command fault's commands), recorded with its event. An interpreter exit
clears forgotten appliers too.

    with FaultApplier(timeline, {"network": net, "server": srv}, clock) as applier:
        applier.start()          # background thread; or applier.run() to block until the end
        ...                      # run the load
    record["faults"] = [event.to_dict() for event in applier.events]
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

from faults.events import FaultEvent, utc_now_iso
from faults.timeline import FaultTimeline, FaultWindow, SimClock

log = logging.getLogger(__name__)

CLEAR_ORDER = ("command", "process", "server", "network")
Ran = list[dict[str, Any]] | None  # what a layer call ran, if it says (commands)
_JOIN_TIMEOUT_S = 30.0


class FaultLayer(Protocol):
    """What the applier drives: one layer of faults. ``key`` identifies the window."""

    def apply(self, key: str, window: FaultWindow) -> Ran: ...

    def remove(self, key: str, window: FaultWindow) -> Ran: ...

    def clear(self) -> Ran:
        """Remove every fault this layer may have applied; safe to call at any time."""


class FaultCleanupError(RuntimeError):
    """A layer could not be cleared; faults may still be in place."""


@dataclass(frozen=True)
class _Step:
    due_s: float
    action: Literal["apply", "remove"]
    index: int
    window: FaultWindow

    def sort_key(self) -> tuple[float, int, int]:
        return (self.due_s, 0 if self.action == "remove" else 1, self.index)


_OPEN: weakref.WeakSet[FaultApplier] = weakref.WeakSet()


@atexit.register
def _close_forgotten() -> None:
    for applier in list(_OPEN):
        try:
            applier.close()
        except Exception:  # exiting: report and go on
            log.exception("clearing faults at exit failed")


class FaultApplier:
    """Applies ``timeline`` through ``layers`` (one per layer name) on ``clock``."""

    def __init__(
        self,
        timeline: FaultTimeline,
        layers: Mapping[str, FaultLayer],
        clock: SimClock,
        *,
        on_event: Callable[[FaultEvent], None] | None = None,
    ) -> None:
        missing = sorted(timeline.layers - set(layers))
        if missing:
            given = ", ".join(sorted(layers)) or "none"
            raise ValueError(
                f"the timeline has {', '.join(missing)} faults but no layer was given for them; "
                f"layers given: {given}"
            )
        self.timeline = timeline
        self.clock = clock
        self._layers = {name: layers[name] for name in CLEAR_ORDER if name in timeline.layers}
        steps = []
        for index, window in enumerate(timeline.windows):
            steps.append(_Step(window.start_s, "apply", index, window))
            steps.append(_Step(window.end_s, "remove", index, window))
        self._steps = sorted(steps, key=_Step.sort_key)
        self._on_event = on_event
        self._events: list[FaultEvent] = []
        self._attempted: set[int] = set()
        self._active: set[int] = set()
        # What ``active`` and ``events`` show: read without the lock, which a layer call may hold
        # for long (a restart takes seconds), so a progress display never waits on it.
        self._shown: tuple[int, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        _OPEN.add(self)

    def __enter__(self) -> FaultApplier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except FaultCleanupError:
            if exc is None:
                raise
            log.exception("clearing faults failed while handling %r", exc)

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the timeline in a background thread."""
        if self._thread is not None or self._closed:
            raise RuntimeError("a FaultApplier runs once; create a new one for another run")
        self._thread = threading.Thread(target=self._execute, name="fault-applier", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Run the timeline in this thread until its last window ends, then clear up."""
        try:
            self._execute()
        finally:
            self.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run to finish; True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def events(self) -> list[FaultEvent]:
        return list(self._events)  # appended to, never changed: a copy is consistent

    @property
    def active(self) -> list[FaultWindow]:
        """The windows applied and not yet removed."""
        return [self.timeline.windows[index] for index in self._shown]

    def _show_active(self) -> None:
        self._shown = tuple(sorted(self._active))

    def _execute(self) -> None:
        for step in self._steps:
            delay = self.clock.real_at(step.due_s) - self.clock.timer()
            if delay > 0 and self._stop.wait(delay):
                return
            with self._lock:
                if self._closed or self._stop.is_set():
                    return
                self._perform(step)

    def _perform(self, step: _Step) -> None:
        window = step.window
        if step.action == "apply":
            if self.clock.timer() >= self.clock.real_at(window.end_s):
                self._record("skip", window, step, False, "the window had ended before its turn")
                return
            self._attempted.add(step.index)
        elif step.index not in self._attempted:
            return
        layer = self._layers[window.layer]
        key = f"w{step.index}"
        try:
            if step.action == "apply":
                ran = layer.apply(key, window)
                self._active.add(step.index)
                self._show_active()
            else:
                self._active.discard(step.index)
                self._show_active()
                ran = layer.remove(key, window)
        except Exception as exc:  # recorded; the run goes on
            error = f"{type(exc).__name__}: {exc}"
            self._record(step.action, window, step, False, error, getattr(exc, "commands", None))
        else:
            self._record(step.action, window, step, True, None, ran)
            if window.layer == "process" and step.action == "remove":
                self._reapply_server_faults()

    def _reapply_server_faults(self) -> None:
        """A restarted target starts without server faults: put back the ones still active."""
        layer = self._layers.get("server")
        if layer is None:
            return
        for index in sorted(self._active):
            window = self.timeline.windows[index]
            if window.layer != "server":
                continue
            step = _Step(self.clock.simulated_now(), "apply", index, window)
            try:
                layer.apply(f"w{index}", window)
            except Exception as exc:  # recorded; the run goes on
                self._record("reapply", window, step, False, f"{type(exc).__name__}: {exc}")
            else:
                self._record("reapply", window, step, True, None)

    # -- clearing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop, then clear every layer; idempotent. Raises FaultCleanupError if one failed."""
        self._stop.set()
        interrupted: BaseException | None = None
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            try:
                thread.join(_JOIN_TIMEOUT_S)
            except KeyboardInterrupt as exc:
                interrupted = exc
        failures = []
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _OPEN.discard(self)
            for name, layer in self._layers.items():
                try:
                    ran = layer.clear()
                except BaseException as exc:  # clear the other layers first
                    if isinstance(exc, KeyboardInterrupt):
                        interrupted = exc
                    failures.append(f"{name}: {type(exc).__name__}: {exc}")
                    error = f"{type(exc).__name__}: {exc}"
                    self._record_clear(name, False, error, getattr(exc, "commands", None))
                else:
                    self._record_clear(name, True, None, ran)
            self._active.clear()
            self._show_active()
        if interrupted is not None:
            raise interrupted
        if failures:
            raise FaultCleanupError("could not clear faults: " + "; ".join(failures))

    # -- recording ------------------------------------------------------------------------------

    def _record(
        self,
        action: Literal["apply", "remove", "skip", "reapply"],
        window: FaultWindow,
        step: _Step,
        ok: bool,
        error: str | None,
        ran: Ran = None,
    ) -> None:
        self._emit(
            FaultEvent(
                action=action,
                layer=window.layer,
                kind=window.kind,
                window=step.index,
                params=window.params.model_dump(mode="json"),
                scheduled_s=step.due_s,
                simulated_s=self.clock.simulated_now(),
                real_utc=utc_now_iso(),
                ok=ok,
                error=error,
                label=window.label,
                commands=tuple(ran or ()),
            )
        )

    def _record_clear(self, layer: str, ok: bool, error: str | None, ran: Ran = None) -> None:
        self._emit(
            FaultEvent(
                action="clear",
                layer=layer,
                kind=None,
                window=None,
                params={},
                scheduled_s=None,
                simulated_s=self.clock.simulated_now(),
                real_utc=utc_now_iso(),
                ok=ok,
                error=error,
                commands=tuple(ran or ()),
            )
        )

    def _emit(self, event: FaultEvent) -> None:
        self._events.append(event)
        level = logging.INFO if event.ok else logging.WARNING
        log.log(
            level, "fault %s %s/%s: %s", event.action, event.layer, event.kind, event.error or "ok"
        )
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("fault event callback failed")
