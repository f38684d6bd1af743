"""A run's reaper: a small process that outlives the harness only to clean up after it.

Every run starts one first. The harness tells it, one JSON line at a time on its standard input,
each child's process group as it starts (and forgets it once stopped), each Toxiproxy proxy the run
creates, each dependency's proxy it puts toxics on, and the run record's path. A clean end says
``{"done": true}`` and the reaper exits touching nothing. If the pipe closes without it, the harness
is gone however it died (SIGKILL, out of memory, a crash): the reaper then SIGKILLs every process
group it knows (after SIGCONT, as one may be frozen by a process fault), deletes the run's proxies
from their Toxiproxy (on a dependency's proxy, which outlives the run, it removes only the run's
toxics and brings it up if it is down), runs the reverts of the command faults still owed
(``pending_reverts.json`` beside the record: the load has stopped by then, and a hung apply is
killed before its revert runs), and marks the run record ``killed``, naming each revert run and each
that failed (that fault may still be in place). Faults die with the parts that hold them: a network
fault with its proxy, a server fault with the embedded mock (a remote target's server faults hold a
lease that lapses without the harness), a process fault with the process group; a command fault
needs its revert.

Standard library only (and rundir's file names): it must start fast and depend on nothing that
could fail at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from rundir import names  # file names only: rundir imports nothing

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


def _api(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def clean_dependency(api: str, proxy: str, prefix: str) -> bool:
    """On a dependency's proxy (not the run's), remove the toxics named with ``prefix`` and
    bring the proxy up if it is down (the run found it up); True when that worked."""
    base = f"{api.rstrip('/')}/proxies/{proxy}"
    try:
        for toxic in _api("GET", f"{base}/toxics") or []:
            name = str(toxic.get("name", ""))
            if name.startswith(prefix):
                _api("DELETE", f"{base}/toxics/{name}")
        if not (_api("GET", base) or {}).get("enabled", True):
            _api("POST", base, {"enabled": True})
    except (OSError, ValueError):
        return False
    return True


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


def _revert(entry: dict[str, Any]) -> str | None:
    """Run one pending revert (its argv, its SIREKAP_* variables, its timeout); None when it
    exited 0, else what went wrong."""
    argv = [str(item) for item in entry.get("argv") or []]
    timeout = float(entry.get("timeout_s") or 30)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SIREKAP_")}
    env = {**inherited, **(entry.get("env") or {}), "SIREKAP_FAULT_PHASE": "revert"}
    if not argv:
        return "no argv was recorded"
    log = Path(str(entry.get("log") or os.devnull))
    with contextlib.suppress(OSError):
        log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("ab") as out:
            out.write(f"--- revert by the reaper: {shlex.join(argv)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True,
            )  # fmt: skip
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(process.pid)
                process.wait(timeout=5)
                return f"did not finish within its timeout_s of {timeout:g} s (killed)"
    except (OSError, subprocess.SubprocessError) as error:
        return f"could not run: {error}"
    return None if code == 0 else f"exited {code} (see {log})"


def run_pending_reverts(run_dir: Path) -> list[str]:
    """Run the command-fault reverts a dead run still owed; one line for each. The ones that
    fail stay in the file (a later look finds them), the others leave it."""
    path = run_dir / names.PENDING_REVERTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    said: list[str] = []
    left: list[dict[str, Any]] = []
    for entry in reversed(data.get("reverts") or []):  # latest first, as the harness does
        label = entry.get("label") or f"window {entry.get('window')}"
        argv = shlex.join(str(item) for item in entry.get("argv") or [])
        why = _revert(entry)
        if why is None:
            said.append(f"ran the pending revert of command fault {label!r} ({argv})")
        else:
            said.append(f"command fault {label!r} may still be in place: its revert {argv} {why}")
            left.insert(0, entry)
    with contextlib.suppress(OSError):
        partial = path.with_name(path.name + ".part")
        partial.write_text(json.dumps({**data, "reverts": left}, indent=2) + "\n", encoding="utf-8")
        partial.replace(path)
    return said


def serve(lines: IO[str]) -> int:
    """Read the harness's lines until the pipe closes; clean up unless told it is done."""
    groups: set[int] = set()
    proxies: list[tuple[str, str]] = []
    dependencies: list[tuple[str, str, str]] = []
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
        if "dependency" in message:
            entry = message["dependency"]
            dependencies.append((str(entry["api"]), str(entry["proxy"]), str(entry["prefix"])))
        if "record" in message:
            record = Path(message["record"])
    for pgid in groups:
        kill_group(pgid)
    for api, name in proxies:
        delete_proxy(api, name)
    for api, name, prefix in dependencies:
        clean_dependency(api, name, prefix)
    if record is not None:
        reverts = run_pending_reverts(record.parent)
        mark_killed(record, "; ".join([KILLED_WHY, *reverts]))
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

    def dependency(self, api: str, proxy: str, prefix: str) -> None:
        """A dependency's proxy: on a kill only the toxics named with ``prefix`` go."""
        self._send({"dependency": {"api": api, "proxy": proxy, "prefix": prefix}})

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
