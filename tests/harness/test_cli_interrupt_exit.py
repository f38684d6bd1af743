"""An interrupt in a command's first moments is one line and exit code 4, whatever it lands in:
a library's import machinery (held until the import ends, so pydantic or abc never turn it into
an error of their own) or ``exec`` of a string, as a dataclass being built raises it (CPython 3.11
would otherwise end a ``python -m`` process by SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rundir import exits
from tests.harness.conftest import REPO

LAUNCHER = textwrap.dedent(
    """
    import sys
    from harness import cli

    cli.SUBCOMMANDS["interrupted"] = ("slow_command", "a command whose import or start is slow")
    sys.argv = ["sirekap-loadtest", "interrupted"]
    sys.exit(cli.main())
    """
)
INTERRUPTED = "sirekap-loadtest interrupted: interrupted (Ctrl-C or SIGTERM)"


def launch(folder: Path, command: str) -> subprocess.Popen[str]:
    (folder / "launcher.py").write_text(LAUNCHER)
    (folder / "slow_command.py").write_text(textwrap.dedent(command))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}
    return subprocess.Popen(
        [sys.executable, "-m", "launcher"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_an_interrupt_caught_from_inside_exec_exits_4_not_by_sigint(tmp_path: Path) -> None:
    process = launch(
        tmp_path,
        """
        def main(argv):
            exec("raise KeyboardInterrupt")  # as a Ctrl-C landing in a dataclass's method
            return 0
        """,
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != -signal.SIGINT, "the process ended by SIGINT, not its exit code"
    assert process.returncode == exits.INCONCLUSIVE, stderr
    assert stderr.strip() == INTERRUPTED


def test_an_interrupt_during_the_import_waits_for_its_end(tmp_path: Path) -> None:
    started, ended = tmp_path / "started", tmp_path / "ended"
    process = launch(
        tmp_path,
        f"""
        import pathlib, time
        pathlib.Path({str(started)!r}).touch()
        time.sleep(1.0)  # a library building its classes
        pathlib.Path({str(ended)!r}).touch()

        def main(argv):
            return 0
        """,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert ended.exists(), "the interrupt cut the import short"
    assert process.returncode == exits.INCONCLUSIVE, stderr
    assert stderr.strip() == INTERRUPTED
