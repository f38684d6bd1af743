"""The built-in server's toxic clock: its timers never fire before their deadline.

uvloop (the built-in server's loop when installed) rounds a timer's delay to the nearest
millisecond, so a plain ``call_later`` can fire up to half a millisecond early, and more when the
delay is computed from its cached loop time; Toxiproxy's Go timers never fire early.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from faults.toxiproxy.builtin.clock import Deadline, now, sleep_past


def _loops() -> list[str]:
    try:
        import uvloop  # noqa: F401, PLC0415 - optional, as in the server
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


def _run(loop_kind: str, main: Callable[[], Coroutine[Any, Any, list[float]]]) -> list[float]:
    if loop_kind == "uvloop":
        import uvloop  # noqa: PLC0415

        return uvloop.run(main())
    return asyncio.run(main())


async def _busy(seconds: float) -> None:
    """Hold the loop for ``seconds`` (so its cached time goes stale), after yielding once."""
    await asyncio.sleep(0)
    until = now() + seconds
    while now() < until:
        pass


def _stamp(fired: asyncio.Future[float]) -> None:
    fired.set_result(now())


@pytest.mark.parametrize("loop_kind", _loops())
def test_a_deadline_never_fires_before_its_instant(loop_kind: str) -> None:
    rng = random.Random(7)

    async def main() -> list[float]:
        lateness = []
        for _ in range(60):
            await _busy(rng.random() * 0.002)
            fired: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            when = now() + 0.005 + rng.random() * 0.001  # a fraction of a millisecond
            Deadline(when, functools.partial(_stamp, fired))
            lateness.append(await fired - when)
        return lateness

    lateness = _run(loop_kind, main)
    assert min(lateness) >= 0, f"fired {-min(lateness) * 1000:.3f} ms early"


@pytest.mark.parametrize("loop_kind", _loops())
def test_sleep_past_returns_only_after_its_instant(loop_kind: str) -> None:
    rng = random.Random(11)

    async def main() -> list[float]:
        lateness = []
        for _ in range(60):
            await _busy(rng.random() * 0.002)
            when = now() + 0.003 + rng.random() * 0.001
            await sleep_past(when)
            lateness.append(now() - when)
        return lateness

    lateness = _run(loop_kind, main)
    assert min(lateness) >= 0, f"returned {-min(lateness) * 1000:.3f} ms early"


def test_a_cancelled_deadline_never_fires() -> None:
    async def main() -> list[float]:
        calls: list[float] = []
        deadline = Deadline(now() + 0.01, lambda: calls.append(now()))
        assert deadline.pending
        deadline.cancel()
        await asyncio.sleep(0.03)
        assert not deadline.pending
        return calls

    assert _run("asyncio", main) == []
