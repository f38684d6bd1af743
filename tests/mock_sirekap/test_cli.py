"""The mock's command line: one-line errors with exit code 2, 3 when it cannot listen."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _loadtest_mock(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``sirekap-loadtest mock ARGS`` (the console script's dispatcher)."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "mock", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_sirekap", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_bad_registry_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    registry = tmp_path / "r.csv"
    registry.write_text("tps_code,dpt,device_id,secret\n5103051004001,999,d,s\n")
    result = _run("--db", str(tmp_path / "m.db"), "--registry", str(registry))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"mock_sirekap: {registry}: line 2: dpt '999' must be a whole number 1-300"
    )


def test_registry_and_generation_are_exclusive_and_one_is_required(tmp_path: Path) -> None:
    neither = _run("--db", str(tmp_path / "m.db"))
    assert neither.returncode == 2
    assert "one of the arguments --registry --tps is required" in neither.stderr
    bad_workers = _run("--db", str(tmp_path / "m.db"), "--tps", "3", "--workers", "0")
    assert bad_workers.returncode == 2
    assert bad_workers.stderr.strip() == "mock_sirekap: --workers must be at least 1; got 0"


def test_a_missing_capacity_file_is_named(tmp_path: Path) -> None:
    result = _run("--db", str(tmp_path / "m.db"), "--tps", "3", "--capacity", "nope.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mock_sirekap: nope.toml: cannot read capacity file: No such file or directory"
    )


@pytest.mark.slow
def test_a_taken_port_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _loadtest_mock("--db", str(tmp_path / "m.db"), "--tps", "3", "--port", str(port))
    assert result.returncode == 3
    assert result.stderr == (
        f"sirekap-loadtest mock: port {port} on 127.0.0.1 is taken; choose another with --port\n"
    )
    assert result.stdout == ""  # no random admin token for a server that never ran


def test_help_names_the_command_and_the_exit_codes() -> None:
    result = _loadtest_mock("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: sirekap-loadtest mock ")
    text = " ".join(result.stdout.split())
    assert "exit codes: 0 stopped by Ctrl-C or SIGTERM; 2 bad arguments or input files; " in text
    assert "3 could not start (e.g. the port is taken)" in text
    assert "visible to other users in ps" in text
    assert _run("--help").stdout.startswith("usage: mock_sirekap ")


def test_the_mock_subcommand_of_sirekap_loadtest_is_the_same_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "mock", "--db", str(tmp_path / "m.db")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "one of the arguments --registry --tps is required" in result.stderr
