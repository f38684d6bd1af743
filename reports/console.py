"""What a report command prints, and where it writes.

A closed stdout (``| head``) ends the printing, not the command: the files are written before
the table is printed, so a reader that stops early loses nothing and the exit code stays the
command's own (a regression is still exit 1). ``--out`` is checked before any work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rundir.exits import UsageError


def emit(text: str) -> None:
    """Print ``text``; when stdout is closed, drop it (and everything after) quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # the interpreter flushes stdout again at exit: point it at nothing
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def writable(folder: Path, flag: str = "--out") -> None:
    """``folder`` exists (made if need be) and can be written; UsageError (exit 2) otherwise:
    checked before anything is measured, so nothing is printed for a result that cannot land."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{os.getpid()}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"{flag} {folder}: cannot write there ({error.strerror})") from None
