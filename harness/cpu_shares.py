"""How much CPU each part of a run used over its load: the generator's and the target's shares.

The run's watch loop samples every child's process tree (user + system CPU seconds, children
included) about twice a second, and the harness's own process; a tree's last sample stands for
it once it ends. ``run.json`` keeps it under ``parts.cpu``: the load's real seconds, the host's
cores, and per part (by child name: ``locust``, ``mock``, ``toxiproxy``...; ``harness``) its CPU
seconds, its share of one core and of the host over the whole load, and its share of one core
in its busiest 5 seconds (``peak_of_a_core``). A generator near a whole core, or a
host near all of its cores, is where the figures stop being the target's alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import psutil

from harness.children import Child

PEAK_WINDOW_S = 5.0  # the busiest stretch of this length gives a part's peak share


def _tree_cpu(process: psutil.Process) -> float:
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class CpuShares:
    """CPU seconds per part since the first sample (see the module doc)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._mark: dict[tuple[str, int], tuple[float, float]] = {}  # window start: (t, cpu s)
        self._peak: dict[str, float] = {}  # the busiest window's share of a core, per part
        self._own = psutil.Process()

    def sample(self, children: Iterable[Child]) -> None:
        parts = [(child.name, child.pid) for child in children]
        for name, pid in [*parts, ("harness", os.getpid())]:
            if pid is None:
                continue
            try:
                process = psutil.Process(pid)
                if name == "harness":
                    times = process.cpu_times()
                    seconds = times.user + times.system
                else:
                    seconds = _tree_cpu(process)
            except psutil.Error:
                continue
            key, now = (name, pid), time.monotonic()
            self._first.setdefault(key, seconds)
            self._last[key] = seconds
            since, used = self._mark.setdefault(key, (now, seconds))
            if now - since >= PEAK_WINDOW_S:
                share = (seconds - used) / (now - since)
                self._peak[name] = max(self._peak.get(name, 0.0), share)
                self._mark[key] = (now, seconds)

    def record(self) -> dict[str, Any]:
        """What run.json keeps: ``seconds``, ``cores`` and ``parts`` {name: cpu_s, of_a_core,
        of_the_host, peak_of_a_core}."""
        wall = max(time.monotonic() - self.started, 1e-9)
        cores = os.cpu_count() or 1
        used: dict[str, float] = {}
        for key, last in self._last.items():
            used[key[0]] = used.get(key[0], 0.0) + last - self._first[key]
        parts = {
            name: {
                "cpu_s": round(seconds, 2),
                "of_a_core": round(seconds / wall, 3),
                "of_the_host": round(seconds / wall / cores, 3),
                "peak_of_a_core": round(self._peak.get(name, seconds / wall), 3),
            }
            for name, seconds in sorted(used.items())
        }
        return {"seconds": round(wall, 2), "cores": cores, "parts": parts}


def describe(record: dict[str, Any]) -> str:
    """One line: each part's share of the host over the load."""
    parts = record.get("parts") or {}
    shown = ", ".join(
        f"{name} {part['of_a_core']:.2f} core ({part['of_the_host']:.0%} of the host, "
        f"peak {part['peak_of_a_core']:.2f})"
        for name, part in sorted(parts.items(), key=lambda item: -item[1]["cpu_s"])
    )
    seconds, cores = record.get("seconds", 0), record.get("cores")
    return f"CPU over the load ({seconds:.0f} s, {cores} cores): {shown}"
