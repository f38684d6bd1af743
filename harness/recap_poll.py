"""Read a hindcast's national recap through the run into ``recap.jsonl``.

What 2024's public saw was the recap, not the devices' acknowledgements, so a hindcast is held to
the target's own national recap (``GET /api/v1/recap/0/<election>``, its ``progres``), read every
``hindcast.poll_every`` real seconds from the start of the load until the load has ended. Each
line (rundir: names.RECAP)::

    {"t0": unix time the read was sent, "t1": when its answer came, "sim": simulated seconds at
     t0, "ok": true, "total": TPS in the recap, "progres": TPS with data}

or ``{"t0", "t1", "sim", "ok": false, "error": "..."}`` (an unanswered read is data too). The
reads go to the target itself, not through the load's proxy: the public display, not a device.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from faults.timeline import SimClock
from scenarios import Scenario

TIMEOUT_S = 5.0


def recap_fields(document: object) -> tuple[int, int]:
    """(total, progres) of a recap document; ValueError when it has not that shape."""
    progress = document.get("progres") if isinstance(document, dict) else None
    total = progress.get("total") if isinstance(progress, dict) else None
    done = progress.get("progres") if isinstance(progress, dict) else None
    if type(total) is not int or type(done) is not int:
        raise ValueError('the recap has no "progres": {"total": int, "progres": int}')
    if not 0 <= done <= total:
        raise ValueError(f"the recap says {done} TPS with data of {total}")
    return total, done


def recap_poller(
    scenario: Scenario, target_url: str, out: Path, clock: SimClock
) -> RecapPoller | None:
    """The poller of a run of ``scenario`` (None without ``[hindcast]``): the national recap of
    the form the published curve counts (``hindcast.election``)."""
    if scenario.hindcast is None:
        return None
    url = f"{target_url}/api/v1/recap/0/{scenario.hindcast.election}"
    return RecapPoller(url, out, clock.simulated_now, scenario.hindcast.poll_every)


class RecapPoller:
    """A background thread reading ``url`` every ``every`` real seconds until stopped, and once
    more when stopped (the recap after the load)."""

    def __init__(
        self, url: str, out: Path, simulated_now: Callable[[], float], every: float
    ) -> None:
        self.url, self.out, self.every = url, out, every
        self.simulated_now = simulated_now
        self.reads = self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recap-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_S + 5)

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_S) as client, self.out.open("a") as handle:
            next_due = time.monotonic()
            while True:
                stopping = self._stop.is_set()
                handle.write(json.dumps(self._read(client)) + "\n")
                handle.flush()
                if stopping:
                    return
                next_due += self.every
                self._stop.wait(max(0.0, next_due - time.monotonic()))

    def _read(self, client: httpx.Client) -> dict[str, Any]:
        sent = time.time()
        line: dict[str, Any] = {"t0": round(sent, 3), "sim": round(self.simulated_now(), 1)}
        self.reads += 1
        try:
            response = client.get(self.url)
            response.raise_for_status()
            total, done = recap_fields(response.json())
            line.update(ok=True, total=total, progres=done)
        except (httpx.HTTPError, ValueError) as exc:
            self.failures += 1
            first = str(exc).splitlines()[0] if str(exc) else ""
            line.update(ok=False, error=f"{type(exc).__name__}: {first}"[:300])
        line["t1"] = round(time.time(), 3)
        return line
