"""``python -m faults.toxiproxy`` / ``sirekap-loadtest toxiproxy``: usage errors and start-up."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from faults.toxiproxy.__main__ import main
from faults.toxiproxy.builtin.api import VERSION
from tests.conftest import pick_free_port, wait_until_http_ok


def test_an_invalid_port_is_a_usage_error_saying_what_is_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--port", "http"]) == 2
    assert "invalid port 'http'; valid: 0-65535" in capsys.readouterr().err


def test_a_missing_config_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "proxies.json"
    assert main(["--config", str(missing)]) == 2
    assert f"config file {missing} does not exist" in capsys.readouterr().err


def test_a_port_in_use_is_reported_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["--port", str(port), "--log-level", "error"]) == 3
    err = capsys.readouterr().err
    assert f"toxiproxy: cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_version_flag_prints_the_compatible_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "faults.toxiproxy", "-version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"toxiproxy-server version {VERSION}"


def test_config_file_proxies_are_created_on_start(tmp_path: Path) -> None:
    port = pick_free_port()
    config = tmp_path / "proxies.json"
    config.write_text(
        '[{"name": "from_config", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}]'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "faults.toxiproxy", "--port", str(port), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_http_ok(f"http://127.0.0.1:{port}/version", alive=lambda: process.poll() is None)
        proxies = httpx.get(f"http://127.0.0.1:{port}/proxies").json()
        assert list(proxies) == ["from_config"]
        assert proxies["from_config"]["enabled"] is True
    finally:
        process.terminate()
        assert process.wait(10) == 0, "SIGTERM is a clean shutdown"
