"""``sirekap-loadtest mock`` as a user runs it: the line saying where it listens, the admin token
from the environment or a file (never on a command line, never printed), and exit code 0 with no
traceback when stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.children import Children
from harness.target import MockTarget
from mock_sirekap import ADMIN_TOKEN_ENV
from mock_sirekap.registry import generate_registry, write_registry
from tests.conftest import pick_free_port, wait_until_http_ok

pytestmark = pytest.mark.slow
TOKEN = "s3cret-admin-token"


def _start(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    port = pick_free_port()
    command = [
        sys.executable, "-m", "harness.cli", "mock", "--db", str(tmp_path / f"m{port}.db"),
        "--tps", "3", "--port", str(port), *args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_http_ok(f"{url}/readyz", alive=lambda: process.poll() is None)
    return process, url


def _stop(process: subprocess.Popen[str], sig: int) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_signal_stops_the_mock_with_exit_code_0_and_no_traceback(
    tmp_path: Path, sig: int, workers: str
) -> None:
    process, url = _start(tmp_path, "--workers", workers)
    code, out, err = _stop(process, sig)
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out.startswith(f"sirekap-loadtest mock: listening on {url} (API docs at {url}/docs); ")
    assert out.rstrip().endswith("; stop with Ctrl-C")
    assert "admin token (generated): " in out  # a generated token is shown: nobody else has it


def test_the_admin_token_comes_from_the_environment_and_is_not_printed(tmp_path: Path) -> None:
    process, url = _start(tmp_path, env={ADMIN_TOKEN_ENV: TOKEN})
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/admin/faults", headers=auth).status_code == 200
        assert TOKEN.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        code, out, err = _stop(process, signal.SIGTERM)
    assert code == 0
    assert f"admin token from ${ADMIN_TOKEN_ENV}" in out
    assert TOKEN not in out + err


def test_the_admin_token_comes_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text(f"{TOKEN}\n")
    process, url = _start(
        tmp_path, "--admin-token-file", str(token_file), env={ADMIN_TOKEN_ENV: "not-this-one"}
    )
    try:
        assert httpx.get(
            f"{url}/admin/faults", headers={"Authorization": f"Bearer {TOKEN}"}
        ).is_success
    finally:
        code, out, err = _stop(process, signal.SIGTERM)
    assert code == 0 and f"admin token from {token_file}" in out and TOKEN not in out + err


def test_an_unreadable_or_empty_token_file_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path, message in (
        (tmp_path / "missing", "cannot read: No such file or directory"),
        (empty, "empty; write the token on its first line"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "mock", "--db", str(tmp_path / "m.db"),
             "--tps", "3", "--admin-token-file", str(path)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr == f"sirekap-loadtest mock: --admin-token-file {path}: {message}\n"


def test_the_harness_hands_the_admin_token_over_in_the_environment(tmp_path: Path) -> None:
    """The mock as the harness starts it: its command line (what ps shows) holds no token."""
    write_registry(generate_registry(2, 1), tmp_path / "registry.csv")
    (tmp_path / "capacity.json").write_text('{"mode": "raw"}')
    children = Children()
    target = MockTarget(
        children, port=pick_free_port(), db=tmp_path / "m.db", registry=tmp_path / "registry.csv",
        capacity=tmp_path / "capacity.json", logs=tmp_path, admin_token="-starts-with-a-dash",
    )  # fmt: skip
    try:
        target.start()
        assert target.pid is not None
        cmdline = Path(f"/proc/{target.pid}/cmdline").read_bytes()
        assert b"mock_sirekap" in cmdline
        assert b"starts-with-a-dash" not in cmdline and b"--admin-token" not in cmdline
        auth = {"Authorization": "Bearer -starts-with-a-dash"}
        assert httpx.get(f"{target.url}/admin/faults", headers=auth).status_code == 200
    finally:
        children.stop_all()
