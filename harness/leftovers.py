"""Sweeping up after a dead run: the next run in the same folder finishes what nobody did.

A run's reaper (harness.reaper) cleans up when the harness is killed. If both died (a machine
crash, ``kill -9`` of every process), the run record still says ``starting`` or ``running`` and
an external Toxiproxy (``TOXIPROXY_URL``, one that outlives runs) may still hold the run's proxy
with its toxics: a fault left in place. Before it starts, ``run`` looks at the records in its
``--out`` folder: one that says it is still going while its harness process is gone is marked
``killed``, its processes still alive (checked by their command line, never by pid alone) are
killed, its proxies are deleted from the Toxiproxy it names, and the reverts of its command faults
still owed (``pending_reverts.json``) are run; each is said, and each that fails is said to be
maybe still in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.reaper import ENDED, delete_proxy, mark_killed, run_pending_reverts

SWEPT_WHY = (
    "the harness and its reaper died before the run ended; found by a later run, which stopped "
    "what was left of it"
)


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def harness_alive(record: dict[str, Any]) -> bool:
    """The run's harness process still exists and is still a sirekap-loadtest run."""
    pid = ((record.get("parts") or {}).get("harness") or {}).get("pid")
    if not isinstance(pid, int):
        return False  # a record from before pids were kept: nothing to check by
    command = " ".join(_cmdline(pid))
    return "sirekap-loadtest" in command or "harness.cli" in command


def _leftover_processes(record: dict[str, Any]) -> Iterator[int]:
    """Pids of the run's children that are alive and still run the recorded command."""
    for part in (record.get("parts") or {}).values():
        if not isinstance(part, dict):
            continue
        pid, command = part.get("pid"), part.get("command")
        if isinstance(pid, int) and isinstance(command, list) and _cmdline(pid) == command:
            yield pid


def sweep_dead_runs(out: Path) -> list[str]:
    """Mark and clean up every dead run under ``out``; one line per run swept."""
    said = []
    for path in sorted(out.glob("*/run.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("status") in ENDED or harness_alive(record):
            continue
        for pid in _leftover_processes(record):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        toxiproxy = record.get("toxiproxy") or {}
        removed = [
            name
            for name in toxiproxy.get("proxies") or []
            if toxiproxy.get("url") and delete_proxy(str(toxiproxy["url"]), str(name), timeout=2)
        ]
        reverts = run_pending_reverts(path.parent)
        if mark_killed(path, "; ".join([SWEPT_WHY, *reverts])):
            extra = f"; removed its proxies {', '.join(removed)}" if removed else ""
            extra += "".join(f"; {line}" for line in reverts)
            said.append(f"run {path.parent.name} had died without ending: marked killed{extra}")
    return said
