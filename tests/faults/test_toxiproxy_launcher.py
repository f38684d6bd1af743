"""Choosing the Toxiproxy server: TOXIPROXY_URL, then toxiproxy-server on PATH, then built in."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import httpx
import pytest

from faults.toxiproxy.builtin.api import VERSION
from faults.toxiproxy.launcher import (
    ToxiproxyServer,
    ToxiproxyStartError,
    start_toxiproxy,
    toxiproxy_server,
)
from tests.conftest import pick_free_port

pytestmark = pytest.mark.slow


def _env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "TOXIPROXY_URL"}
    env["PATH"] = ""
    env.update(overrides)
    return env


def _script(directory: Path, body: str) -> None:
    path = directory / "toxiproxy-server"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_toxiproxy_url_selects_that_server_and_starts_nothing(
    builtin_server: ToxiproxyServer,
) -> None:
    with toxiproxy_server(_env(TOXIPROXY_URL=builtin_server.url + "/")) as server:
        assert server.describe() == {
            "kind": "external",
            "url": builtin_server.url,
            "version": VERSION,
        }
        assert server.process is None
    httpx.get(f"{builtin_server.url}/version").raise_for_status()  # not stopped by us


def test_a_toxiproxy_url_that_is_not_a_url_is_an_error_saying_the_valid_form() -> None:
    with pytest.raises(ToxiproxyStartError, match="is not a URL; valid form: http://HOST:PORT"):
        start_toxiproxy(_env(TOXIPROXY_URL="localhost:8474"))


def test_a_toxiproxy_url_that_does_not_answer_is_an_error() -> None:
    url = f"http://127.0.0.1:{pick_free_port()}"
    with pytest.raises(ToxiproxyStartError, match=f"TOXIPROXY_URL={url} does not answer GET"):
        start_toxiproxy(_env(TOXIPROXY_URL=url))


def test_toxiproxy_server_on_path_is_started_with_its_own_flags(tmp_path: Path) -> None:
    # a stand-in binary: the built-in server accepts toxiproxy-server's -host/-port flags
    _script(tmp_path, f'exec "{sys.executable}" -m faults.toxiproxy "$@"')
    with toxiproxy_server(_env(PATH=str(tmp_path))) as server:
        assert server.kind == "binary"
        assert server.url.startswith("http://127.0.0.1:")
        process = server.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None, "a server we started is stopped"


def test_a_binary_that_will_not_start_is_an_error_with_its_output(tmp_path: Path) -> None:
    _script(tmp_path, 'echo "bind: permission denied" >&2; exit 3')
    with pytest.raises(ToxiproxyStartError) as error:
        start_toxiproxy(_env(PATH=str(tmp_path)))
    message = str(error.value)
    assert "the binary Toxiproxy server would not start" in message
    assert "exited with status 3: bind: permission denied" in message


def test_without_url_or_binary_the_builtin_server_is_started_and_stopped() -> None:
    with toxiproxy_server(_env()) as server:
        assert server.kind == "builtin"
        assert server.version == VERSION
        assert httpx.get(f"{server.url}/proxies").json() == {}
        process = server.process
        port = int(server.url.rsplit(":", 1)[1])
    assert process is not None and process.returncode == 0, "SIGTERM stops it cleanly"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
