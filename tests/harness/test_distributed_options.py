"""The distributed options: addresses, contradictions, and a master whose workers never join."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.distributed import MasterBind, master_bind, split_address
from harness.progress import lost_workers
from rundir.exits import UsageError
from rundir.timing import clock_warnings
from tests.conftest import pick_free_port, processes_mentioning
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


def test_hostile_addresses_and_counts_are_usage_errors() -> None:
    for text in ("[::1", "127.0.0.1:", ":+5557", "127.0.0.1:5_557", "127.0.0.1:٥٥٥٧"):
        with pytest.raises(UsageError, match="--master takes an IP address"):
            split_address(text, "--master")
    for text in ("224.0.0.1", "0.0.0.0", "255.255.255.255"):
        with pytest.raises(UsageError, match=f"one host's own address, not {text}"):
            split_address(text, "--master")
    # 192.0.2.1 (TEST-NET-1, never assigned) is none of this host's addresses
    with pytest.raises(UsageError, match=r"--master-bind 192\.0\.2\.1: this host cannot listen"):
        master_bind(_args(expect_workers=1, master_bind="192.0.2.1"))
    with pytest.raises(UsageError, match="--expect-workers must be at most 1000; got 1000000"):
        master_bind(_args(expect_workers=1_000_000))
    with pytest.raises(UsageError, match="--join-timeout must be seconds > 0, at most 3600"):
        master_bind(_args(expect_workers=1, join_timeout=float("inf")))
    # Locust's own give-up takes whole seconds: a fractional join timeout is rounded up for it
    args = MasterBind("127.0.0.1", 5557, 1, 30.5).locust_args()
    assert args[args.index("--expect-workers-max-wait") + 1] == "41"


def test_a_worker_with_no_master_says_so_and_stops_every_process_it_started() -> None:
    port = pick_free_port()  # nothing listens there
    worker = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "worker", "--master", f"127.0.0.1:{port}",
         "--processes", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == f"worker of 127.0.0.1:{port}: 2 process(es)"
    line = worker.stdout.readline().strip()
    assert line.startswith(f"worker: nothing answers at 127.0.0.1:{port} yet (")
    assert line.endswith("waiting for the master (Locust gives up after about 5 minutes)")
    started = f"--master-port\x00{port}\x00"  # the Locust workers' command lines
    try:
        deadline = time.monotonic() + 60
        while len(processes_mentioning(started)) < 2:
            assert time.monotonic() < deadline, "the Locust workers never started"
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)  # the console script's SIGTERM, as Ctrl-C
        assert worker.wait(timeout=60) in (130, -signal.SIGTERM)
        deadline = time.monotonic() + 30
        while processes_mentioning(started):  # every forked worker too
            assert time.monotonic() < deadline, processes_mentioning(started)
            time.sleep(0.2)
    finally:
        for pid in processes_mentioning(started):
            os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait()


def test_too_many_worker_processes_for_this_host_are_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "worker", "--master", "127.0.0.1", "--processes",
         "100000"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--processes must be 1 to " in done.stderr and "per core of this host" in done.stderr
