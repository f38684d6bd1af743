"""One group-commit batch on both engines: operations on different TPS share a wave (one round
trip on PostgreSQL), later ones see what earlier ones of their TPS wrote, and a failing operation
is undone alone, whether it refused before writing, failed after it wrote, or a statement failed."""

from __future__ import annotations

import hashlib
import json
import selectors
import socket
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from harness.postgres import PostgresServer
from mock_sirekap.batch import Keyed, run_batch, waves
from mock_sirekap.storage import Connection, Database, StorageError, open_database
from mock_sirekap.store import Conflict, PageWrite, ResultWrite, store_page, submit_result
from tests.mock_sirekap.conftest import BACKENDS

SHA = "a" * 64


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A fresh database with the mock's schema: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        target: Path | str = tmp_path / "batch.db"
    else:
        request.applymarker(pytest.mark.slow)
        server = request.getfixturevalue("postgres_server")
        target = server.create_database(f"batch_{uuid.uuid4().hex[:12]}")
    opened = open_database(target)
    opened.init_schema()
    return opened


@pytest.fixture
def writer(database: Database) -> Iterator[Connection]:
    conn = database.connect(writer=True)
    yield conn
    conn.close()


def page(tps: str, sha: str = SHA) -> Keyed:
    write = PageWrite(tps, "ppwp", 1, sha, 10)
    return Keyed(lambda conn: store_page(conn, write), (tps, "ppwp"))


def result(tps: str, key: str = "k", votes: int = 1, pages: tuple[str, ...] = (SHA,)) -> Keyed:
    body = json.dumps({"chart": {"1": votes}, "pages": list(pages)})
    write = ResultWrite(
        tps, "ppwp", "device", key, None, hashlib.sha256(body.encode()).hexdigest(), body,
        json.dumps({"1": votes}), pages,
    )  # fmt: skip
    return Keyed(lambda conn: submit_result(conn, write), (tps, "ppwp"))


def stored(database: Database, sql: str) -> list[Any]:
    conn = database.connect(writer=False)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_operations_on_other_rows_share_a_wave_and_a_repeated_or_keyless_one_starts_the_next() -> (
    None
):
    def op(_: Connection) -> None:
        return None

    batch = [Keyed(op, key) for key in ("a", "b", "c", "a", "d", None, "e", "e")]
    assert waves(batch) == [[0, 1, 2], [3, 4], [5], [6], [7]]
    assert waves([]) == []


def test_later_operations_see_what_earlier_ones_of_their_tps_wrote_in_the_same_batch(
    database: Database, writer: Connection
) -> None:
    """A page then the result that needs it, the same result three times, other TPS alongside:
    one batch, every outcome as if run one by one."""
    batch = [page("T1"), result("T1"), page("T2"), result("T1"), result("T1", key="k2")]
    outcomes = run_batch(writer, batch)
    assert [error for _, error in outcomes] == [None] * 5
    first, again, other_key = outcomes[1][0], outcomes[3][0], outcomes[4][0]
    assert first.created and not again.created and not other_key.created
    assert first.receipt_id == again.receipt_id == other_key.receipt_id
    assert outcomes[0][0].created and outcomes[2][0].created
    assert stored(database, "SELECT tps_code, revision FROM results") == [("T1", 1)]
    keys = stored(database, "SELECT key FROM idempotency ORDER BY key")
    assert keys == [("k",), ("k2",)]


def test_a_refusal_before_any_write_goes_to_its_caller_and_the_rest_is_committed(
    database: Database, writer: Connection
) -> None:
    outcomes = run_batch(writer, [page("T1"), result("T2"), result("T1")])
    assert isinstance(outcomes[1][1], Conflict)
    assert "pages never uploaded for TPS T2 ppwp" in str(outcomes[1][1])
    assert outcomes[0][1] is None and outcomes[2][1] is None
    assert stored(database, "SELECT tps_code FROM results") == [("T1",)]


def _writes_then_fails(conn: Connection) -> Generator[None, None, None]:
    conn.execute(
        "INSERT INTO pages (tps_code, election, page, sha256, size, stored_at) "
        "VALUES ('T9', 'ppwp', 1, ?, 1, 'now')",
        (SHA,),
    )
    yield
    raise RuntimeError("failed after writing")


def _duplicate_page(conn: Connection) -> None:
    for _ in range(2):  # the primary key refuses the second copy
        conn.execute(
            "INSERT INTO pages (tps_code, election, page, sha256, size, stored_at) "
            "VALUES ('T8', 'ppwp', 1, ?, 1, 'now')",
            (SHA,),
        )


@pytest.mark.parametrize(
    ("failing", "error"),
    [(_writes_then_fails, RuntimeError), (_duplicate_page, StorageError)],
    ids=["fails after writing", "a statement fails"],
)
def test_an_operation_that_fails_midway_is_undone_alone(
    database: Database,
    writer: Connection,
    failing: Callable[[Connection], Any],
    error: type[Exception],
) -> None:
    """Its writes are gone, its error is its caller's, and the others of the batch (before and
    after it, in its wave and in later ones) are committed."""
    batch = [page("T1"), Keyed(failing, None), page("T2"), result("T1"), result("T2")]
    outcomes = run_batch(writer, batch)
    assert isinstance(outcomes[1][1], error)
    assert [outcome[1] for index, outcome in enumerate(outcomes) if index != 1] == [None] * 4
    assert stored(database, "SELECT DISTINCT tps_code FROM pages ORDER BY 1") == [("T1",), ("T2",)]
    assert stored(database, "SELECT tps_code FROM results ORDER BY 1") == [("T1",), ("T2",)]
    assert not writer.in_transaction


class TurnCounter:
    """A TCP relay to PostgreSQL counting the database's turns to answer: data from the server
    after data from the client. A round trip is one turn."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.turns = 0
        self._client_spoke = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(self._target)
        pairs = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for end in pairs:
                selector.register(end, selectors.EVENT_READ)
            while True:
                for ready, _ in selector.select():
                    end = client if ready.fileobj is client else server
                    data = end.recv(65536)
                    if not data:
                        client.close()
                        server.close()
                        return
                    if end is server and self._client_spoke:
                        self.turns += 1
                    self._client_spoke = end is client
                    pairs[end].sendall(data)

    def close(self) -> None:
        self._listener.close()


@pytest.mark.slow
def test_a_batch_on_postgresql_costs_a_round_trip_per_wave_and_one_to_commit(
    postgres_server: PostgresServer,
) -> None:
    """Forty uploads of forty TPS in one batch: the reads of all go out at once, so the batch
    waits for the database twice (their answers, then the commit), not once per statement or
    operation (forty or more); a TPS twice in the batch adds one wave. The bounds leave room for
    a long answer that the database sends in two pieces."""
    parts = urlsplit(postgres_server.create_database(f"turns_{uuid.uuid4().hex[:12]}"))
    assert parts.hostname is not None and parts.port is not None
    relay = TurnCounter(parts.hostname, parts.port)
    try:
        netloc = parts.netloc.rsplit(":", 1)[0] + f":{relay.port}"
        proxied = open_database(urlunsplit(parts._replace(netloc=netloc)))
        proxied.init_schema()
        conn = proxied.connect(writer=True)
        try:
            codes = [f"T{i:02d}" for i in range(40)]
            for batch, at_most in (
                ([page(code) for code in codes], 4),
                ([result(code) for code in codes], 4),
                ([result(code, key="again") for code in codes] + [result("T00", key="3rd")], 6),
            ):
                before = relay.turns
                assert [error for _, error in run_batch(conn, batch)] == [None] * len(batch)
                assert relay.turns - before <= at_most
        finally:
            conn.close()
    finally:
        relay.close()


def _in_thread(conn: Connection, batch: list[Keyed]) -> threading.Event:
    """Run ``batch`` on ``conn`` in a thread; the event is set once it has committed."""
    done = threading.Event()

    def run() -> None:
        if all(error is None for _, error in run_batch(conn, batch)):
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.mark.slow
def test_on_postgresql_a_batch_waits_only_for_one_holding_a_tps_it_touches(
    postgres_server: PostgresServer,
) -> None:
    """Batch A holds TPS T1 (its transaction open): a batch on T2 commits at once, one on T1
    waits until A commits, and so does a fault-state write (no one TPS: it waits for every
    batch, and every batch for it)."""
    database = open_database(postgres_server.create_database(f"locks_{uuid.uuid4().hex[:12]}"))
    database.init_schema()
    holder, other, keyless = (database.connect(writer=True) for _ in range(3))
    try:
        for statement, params in database.dialect.begin_write([("T1", "ppwp")]):
            holder.execute(statement, params)
        assert _in_thread(other, [page("T2")]).wait(10)  # another TPS: no wait
        same_tps = _in_thread(other, [page("T1")])
        fault_write = Keyed(lambda conn: conn.execute("DELETE FROM server_faults"), None)
        every_tps = _in_thread(keyless, [fault_write])
        assert not same_tps.wait(1.0) and not every_tps.is_set()  # both wait for A
        holder.execute("COMMIT")
        assert same_tps.wait(10) and every_tps.wait(10)
        pages = stored(database, "SELECT tps_code FROM pages ORDER BY 1")
        assert pages == [("T1",), ("T2",)]
    finally:
        for conn in (holder, other, keyless):
            conn.close()
