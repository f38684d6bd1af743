"""The distributed options: addresses, contradictions, and a master whose workers never join."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from harness.distributed import MasterBind, master_bind, split_address
from harness.progress import lost_workers
from rundir.exits import UsageError
from rundir.timing import clock_warnings
from tests.conftest import pick_free_port
from tests.harness.conftest import REPO, SMOKE


def _args(**given: object) -> argparse.Namespace:
    base = {"expect_workers": None, "master_bind": None, "join_timeout": 60.0, "workers": 1,
            "ui": False}  # fmt: skip
    return argparse.Namespace(**{**base, **given})


def test_addresses_take_an_optional_port_and_ipv6_in_brackets() -> None:
    assert split_address("10.0.0.5", "--master") == ("10.0.0.5", 5557)
    assert split_address("10.0.0.5:6000", "--master") == ("10.0.0.5", 6000)
    assert split_address("[::1]:6000", "--master") == ("::1", 6000)
    with pytest.raises(UsageError, match=r"--master takes an IP address .*got 'master.local'"):
        split_address("master.local", "--master")
    with pytest.raises(UsageError, match="got port 70000"):
        split_address("10.0.0.5:70000", "--master")


def test_contradicting_options_are_usage_errors_naming_them() -> None:
    assert master_bind(_args()) is None
    with pytest.raises(UsageError, match="--master-bind needs --expect-workers"):
        master_bind(_args(master_bind="10.0.0.5"))
    with pytest.raises(UsageError, match="--workers starts local processes"):
        master_bind(_args(expect_workers=2, workers=2))
    with pytest.raises(UsageError, match="--expect-workers must be at least 1; got 0"):
        master_bind(_args(expect_workers=0))
    bind = master_bind(_args(expect_workers=2))
    assert bind == MasterBind("127.0.0.1", 5557, 2, 60.0)
    assert bind.loopback and bind.address == "127.0.0.1:5557"


def test_a_master_whose_workers_never_join_is_exit_3_naming_how_many_joined(tmp_path) -> None:
    port = pick_free_port()
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--out", str(tmp_path),
         "--plain", "--expect-workers", "2", "--master-bind", f"127.0.0.1:{port}",
         "--join-timeout", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout[-2000:]
    assert (
        f"0 of 2 workers joined within 2 s; start each with: sirekap-loadtest worker --master "
        f"127.0.0.1:{port}"
    ) in done.stdout + done.stderr


def test_the_live_panel_names_a_lost_generator_process_and_only_a_lost_one() -> None:
    progress = {
        "workers": [
            {"index": 0, "host": "gen-a", "pid": 11, "lost": None},
            {"index": 1, "host": "gen-b", "pid": 12, "lost": {"at_s": 9.5}},
        ]
    }
    assert lost_workers(progress) == ["GENERATOR LOST: process 1 (gen-b, pid 12)"]
    assert lost_workers({}) == []


def test_a_worker_clock_off_by_more_than_the_bound_is_said_with_its_direction() -> None:
    workers = [
        {"index": 0, "host": "gen-a", "pid": 11, "offset_s": 0.02},
        {"index": 1, "host": "gen-b", "pid": 12, "offset_s": 2.0},
        {"index": 2, "host": "gen-c", "pid": 13, "offset_s": -0.5},
        {"index": 3, "host": "gen-d", "pid": 14, "offset_s": None},
    ]
    assert clock_warnings(workers) == [
        "worker 1 (gen-b, pid 12): its clock is 2.000 s behind the master's (above 0.1 s); it "
        "schedules on the master's clock",
        "worker 2 (gen-c, pid 13): its clock is 0.500 s ahead of the master's (above 0.1 s); it "
        "schedules on the master's clock",
    ]
