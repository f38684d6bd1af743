"""The process layer against a real process: a python http.server on a free loopback port,
run through a simple implementation of the ProcessHandle protocol."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from faults.applier import FaultApplier
from faults.process_layer import ProcessFaults, ProcessHandle, ProcessRouter
from faults.timeline import FaultTimeline, FaultWindow, SimClock
from tests.conftest import pick_free_port, wait_until_http_ok

pytestmark = pytest.mark.slow


class HttpServerProcess:
    """What the harness does for its target, in small: start, signal, restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=Path(__file__).parent,
        )
        self.starts += 1
        wait_until_http_ok(self.url, timeout=15, alive=lambda: self.alive)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.alive and self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        if sig == signal.SIGKILL:
            self.process.wait(5)

    def restart(self) -> None:
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.alive:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def target() -> Iterator[HttpServerProcess]:
    handle = HttpServerProcess(pick_free_port())
    handle.start()
    try:
        yield handle
    finally:
        if handle.alive:
            handle.kill(signal.SIGCONT)  # in case a test left it frozen
        handle.stop()


def process(kind: str, start: float = 0, end: float = 10, victim: str | None = None) -> FaultWindow:
    params = {} if victim is None else {"victim": victim}
    return FaultWindow.model_validate(
        {"start_s": start, "end_s": end, "layer": "process", "kind": kind, "params": params}
    )


def answers(url: str, timeout: float = 5.0) -> bool:
    """Whether the target answers within ``timeout`` (generous: a restarted one may be slow)."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_test_handle_satisfies_the_protocol(target: HttpServerProcess) -> None:
    assert isinstance(target, ProcessHandle)


def test_freeze_stops_answering_until_the_window_ends(target: HttpServerProcess) -> None:
    layer = ProcessFaults(target)
    window = process("freeze")
    layer.apply("w0", window)
    assert target.alive, "a frozen process is still alive"
    assert not answers(target.url, timeout=0.5), "a frozen server does not answer"
    layer.remove("w0", window)
    assert answers(target.url, timeout=5)
    assert target.starts == 1


def test_kill_takes_the_server_down_and_the_end_restarts_it(target: HttpServerProcess) -> None:
    layer = ProcessFaults(target)
    window = process("kill")
    old_pid = target.pid
    layer.apply("w0", window)
    assert not target.alive
    with pytest.raises(httpx.ConnectError):
        httpx.get(target.url, timeout=1)
    layer.remove("w0", window)
    assert target.alive and target.pid != old_pid
    assert answers(target.url)


def test_applying_to_a_dead_process_is_an_error(target: HttpServerProcess) -> None:
    target.stop()
    with pytest.raises(RuntimeError, match="the target process is not running; cannot freeze it"):
        ProcessFaults(target).apply("w0", process("freeze"))


def test_ctrl_c_during_a_freeze_window_thaws_the_target(target: HttpServerProcess) -> None:
    timeline = FaultTimeline(windows=(process("freeze", start=0, end=3600),))
    clock = SimClock(speedup=1, start=time.monotonic())
    applier = FaultApplier(timeline, {"process": ProcessFaults(target)}, clock)
    with pytest.raises(KeyboardInterrupt), applier:
        applier.start()
        deadline = time.monotonic() + 10
        while not applier.active:  # the freeze is on
            assert time.monotonic() < deadline, "the freeze was never applied"
            time.sleep(0.01)
        assert not answers(target.url, timeout=0.3)
        raise KeyboardInterrupt
    assert answers(target.url, timeout=5), "clearing sent SIGCONT"
    assert [(e.action, e.ok) for e in applier.events] == [("apply", True), ("clear", True)]


def test_a_kill_window_on_the_timeline_restarts_the_target_at_its_end(
    target: HttpServerProcess,
) -> None:
    timeline = FaultTimeline(windows=(process("kill", start=1, end=4),))
    clock = SimClock(speedup=10, start=time.monotonic())  # real 0.1 s to 0.4 s
    FaultApplier(timeline, {"process": ProcessFaults(target)}, clock).run()
    assert target.starts == 2
    assert answers(target.url)


@pytest.fixture
def three() -> Iterator[dict[str, HttpServerProcess]]:
    servers = {name: HttpServerProcess(pick_free_port()) for name in ("mock-1", "mock-2", "db")}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def test_a_victim_names_the_process_and_none_means_every_instance(
    three: dict[str, HttpServerProcess],
) -> None:
    router = ProcessRouter(three, instances=("mock-1", "mock-2"))
    one = process("kill", victim="mock-2")
    router.apply("w0", one)
    assert [three[n].alive for n in ("mock-1", "mock-2", "db")] == [True, False, True]
    router.remove("w0", one)
    assert three["mock-2"].alive and three["mock-2"].starts == 2
    every = process("freeze")
    router.apply("w1", every)
    with pytest.raises(httpx.TimeoutException):  # frozen: the connection is taken, never answered
        httpx.get(three["mock-1"].url, timeout=0.5)
    router.clear()
    assert httpx.get(three["mock-1"].url, timeout=5).status_code == 200
    assert httpx.get(three["db"].url, timeout=5).status_code == 200


def test_an_unknown_victim_is_refused_naming_the_valid_ones(
    three: dict[str, HttpServerProcess],
) -> None:
    router = ProcessRouter(three, instances=("mock-1", "mock-2"))
    with pytest.raises(
        ValueError, match=r"no process 'mock-7'; valid victims: all, db, mock-1, mock-2"
    ):
        router.check([process("kill", victim="mock-7")])
