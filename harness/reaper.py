"""A run's reaper: a small process that outlives the harness only to clean up after it.

Every run starts one first. The harness tells it, one JSON line at a time on its standard input,
each child's process group as it starts (and forgets it once stopped), each Toxiproxy proxy the
run creates, and the run record's path. A clean end says ``{"done": true}`` and the reaper exits
touching nothing. If the pipe closes without it, the harness is gone however it died (SIGKILL,
out of memory, a crash): the reaper then SIGKILLs every process group it knows (after SIGCONT, as
one may be frozen by a process fault), deletes the run's proxies from their Toxiproxy, and marks
the run record ``killed``. Faults die with the parts that hold them: a network fault with its
proxy, a server fault with the embedded mock (a remote target's server faults hold a lease that
lapses without the harness), a process fault with the process group.

Standard library only: it must start fast and depend on nothing that could fail at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

KILLED = "killed"
KILLED_WHY = (
    "the harness was killed before the run ended; its reaper stopped every process of the run "
    "and removed its proxies"
)
ENDED = {"completed", "ended_early", "interrupted", "aborted", "failed", KILLED}


def kill_group(pgid: int) -> None:
    for sig in (signal.SIGCONT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def delete_proxy(api: str, name: str, timeout: float = 5.0) -> bool:
    """DELETE /proxies/NAME on a Toxiproxy API; True when it is gone (404 counts as gone)."""
    request = urllib.request.Request(f"{api.rstrip('/')}/proxies/{name}", method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 404
    except OSError:
        return False


def mark_killed(record: Path, why: str = KILLED_WHY) -> bool:
    """Set a run record that says it is still going to ``killed``; False if it had ended."""
    try:
        data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if data.get("reporting"):  # the run had ended; its report was being written
        ended = data.get("status")
        data["status"], data["reporting"] = KILLED, False
        data["error"] = (
            f"the harness was killed while writing the report of a run that had ended "
            f"({ended}); rebuild it with: sirekap-loadtest report {record.parent}"
        )
    elif data.get("status") in ENDED:
        return False
    else:
        data["status"], data["error"] = KILLED, why
    data["ended_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    partial = record.with_name(record.name + ".part")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(record)
    return True


def serve(lines: IO[str]) -> int:
    """Read the harness's lines until the pipe closes; clean up unless told it is done."""
    groups: set[int] = set()
    proxies: list[tuple[str, str]] = []
    record: Path | None = None
    for raw in lines:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if message.get("done"):
            return 0
        if "group" in message:
            groups.add(int(message["group"]))
        if "forget" in message:
            groups.discard(int(message["forget"]))
        if "proxy" in message:
            proxies.append((str(message["proxy"]["api"]), str(message["proxy"]["name"])))
        if "record" in message:
            record = Path(message["record"])
    for pgid in groups:
        kill_group(pgid)
    for api, name in proxies:
        delete_proxy(api, name)
    if record is not None:
        mark_killed(record)
    return 0


class Reaper:
    """The harness's end of the pipe; every call is best effort and never raises."""

    def __init__(self, log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "harness.reaper"],
                stdin=subprocess.PIPE,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not in the harness's group: Ctrl-C must not reach it
                text=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def _send(self, message: dict[str, Any]) -> None:
        stream = self.process.stdin
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            stream.write(json.dumps(message) + "\n")
            stream.flush()

    def watch(self, pgid: int) -> None:
        self._send({"group": pgid})

    def forget(self, pgid: int) -> None:
        self._send({"forget": pgid})

    def proxy(self, api: str, name: str) -> None:
        self._send({"proxy": {"api": api, "name": name}})

    def record(self, path: Path) -> None:
        self._send({"record": str(path)})

    def done(self) -> None:
        """The run ended by itself: the reaper leaves and cleans nothing."""
        self._send({"done": True})
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C sent to the terminal's group
    sys.exit(serve(sys.stdin))
