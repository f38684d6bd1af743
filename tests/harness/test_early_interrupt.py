"""A run interrupted in its first moments (a CI job cancelled at once) ends with one line and
exit code 4, never a traceback, and leaves nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rundir import exits
from tests.conftest import processes_mentioning
from tests.harness.conftest import REPO, SMOKE


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("after_s", [0.2, 0.6])
def test_an_interrupt_in_the_first_moments_is_one_line_and_exit_4(
    tmp_path: Path, sig: signal.Signals, after_s: float
) -> None:
    out = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--plain", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(after_s)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == exits.INCONCLUSIVE, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted" in (stdout + stderr).lower()
    assert not processes_mentioning(str(out))
