"""A command for command-fault tests: signal a real process, or check its state in /proc.

    python signal_process.py ACTION TARGET

ACTION: ``stop`` (SIGSTOP, then exit 1 unless it is stopped within 2 s), ``cont`` (SIGCONT, then
exit 1 unless it runs again within 2 s), ``stopped`` (exit 0 iff its state is T), ``running`` (exit
0 iff it exists and is not stopped).
TARGET: a pid, or the name of an environment variable holding one (``SIREKAP_PID_MOCK_2``).
Each call prints, and appends to ``$SIREKAP_RUN_DIR/signal_trace.log`` when that is set, a line
``ACTION PID STATE PHASE``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def main(action: str, target: str) -> int:
    pid = int(target if target.isdigit() else os.environ[target])
    if action == "stop":  # stopping is asynchronous: wait (2 s at most) until the kernel shows it
        os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + 2
        while state(pid) not in {"T", "t"} and time.monotonic() < deadline:
            time.sleep(0.02)
        ok = state(pid) in {"T", "t"}
    elif action == "cont":
        os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 2
        while state(pid) in {"T", "t"} and time.monotonic() < deadline:
            time.sleep(0.02)
        ok = state(pid) not in {"T", "t", "gone"}
    elif action == "stopped":
        ok = state(pid) in {"T", "t"}
    elif action == "running":
        ok = state(pid) not in {"T", "t", "Z", "gone"}
    else:
        print(f"unknown action {action!r}; valid: stop, cont, stopped, running", file=sys.stderr)
        return 2
    line = f"{action} {pid} {state(pid)} {os.environ.get('SIREKAP_FAULT_PHASE', '-')}"
    print(line)
    run_dir = os.environ.get("SIREKAP_RUN_DIR")
    if run_dir:
        with (Path(run_dir) / "signal_trace.log").open("a") as trace:
            trace.write(line + "\n")
    if not ok:
        print(f"{action}: process {pid} is in state {state(pid)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
