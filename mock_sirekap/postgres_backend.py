"""PostgreSQL (psycopg 3), for a staging-like deployment: several mock instances on one database.

The SQL is the store's own (``?`` placeholders become psycopg's ``%s``). A writing transaction
first takes transaction-level advisory locks (``begin_write``): one per TPS and election its
operations touch, in one order (sorted), so no two batches deadlock, and the writers' lock shared;
an operation on no one key (the fault state) takes the writers' lock alone, exclusive. Every
store operation reads and writes the rows of its own TPS and election only (``batch``), so two
batches of any processes or instances that touch the same TPS take turns, as SQLite's
``BEGIN IMMEDIATE`` makes all writers do, and the others commit side by side: the store's
read-then-write logic needs no other locking, idempotency and uniqueness are constraints
besides, and a batch still pays for one commit. A batch runs in psycopg's pipeline mode
(``pipeline``): statements go out without waiting for each answer, so a batch costs a round
trip per wave of reads and one for the commit, not one per statement; psycopg prepares a
statement sent often. Every connection forces ``synchronous_commit = on``: a commit is on disk
before it returns. Text columns use the "C" collation, so text orders by bytes as in SQLite
(region codes rely on ":" sorting after "9").

A connection lost (PostgreSQL restarted, the network cut) makes the statements that needed it fail
with ``StorageError`` (HTTP 503); the next batch or read reconnects (``ensure``), never in the
middle of a transaction.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from mock_sirekap.storage import Cursor, Dialect, Statement, StorageError, schema_statements

WRITE_LOCK = 0x53524B01  # advisory lock keys of this schema: the writers' turn,
SCHEMA_LOCK = 0x53524B02  # creating the tables,
ROW_LOCKS = 0x53524B03  # and (with a key's hash) the rows of one TPS and election
CONNECT_TIMEOUT_S = 3
CONNECT_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": CONNECT_TIMEOUT_S,
    "options": "-c synchronous_commit=on",
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


def row_lock(key: Hashable) -> int:
    """The advisory lock (a 32-bit number, the same in every process) of one operation key."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def begin_write(keys: Sequence[Hashable | None]) -> list[Statement]:
    """``BEGIN`` and the locks of a batch on ``keys``: every key's, sorted (two batches wait for
    each other in one order, never in a circle), under the writers' lock shared; a keyless
    operation takes the writers' lock exclusive, so it waits for every other batch."""
    if None in keys:
        return [("BEGIN", ()), (f"SELECT pg_advisory_xact_lock({WRITE_LOCK})", ())]
    return [
        ("BEGIN", ()),
        (f"SELECT pg_advisory_xact_lock_shared({WRITE_LOCK})", ()),
        (  # unnest yields the sorted array in order, so the locks are taken in that order
            f"SELECT pg_advisory_xact_lock({ROW_LOCKS}, k) FROM unnest(CAST(? AS integer[])) k",
            (sorted({row_lock(key) for key in keys}),),
        ),
    ]


POSTGRES = Dialect(
    name="postgresql",
    begin_write=begin_write,
    begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    json_entries="jsonb_each_text(CAST({} AS jsonb))",
    string_agg="string_agg({}, ' ')",
    text='TEXT COLLATE "C"',
    without_rowid="",
    shared=True,
)


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    if "%" in sql:
        raise ValueError(f"SQL for both engines must not contain '%': {sql}")
    return sql.replace("?", "%s")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def shown_url(url: str) -> str:
    """The URL without user or password, as messages show it."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unparsable URL)"
    host, port, dbname = parts.get("host", ""), parts.get("port", 5432), parts.get("dbname", "")
    return f"postgresql://{host}:{port}/{dbname}"


class PostgresCursor:
    """A psycopg cursor whose errors, including those of a pipeline's earlier statements that
    surface when this one's rows are fetched, are ``StorageError``."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        try:
            return self._cursor.fetchone()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {_first_line(exc)}") from exc

    def fetchall(self) -> list[Any]:
        try:
            return self._cursor.fetchall()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {_first_line(exc)}") from exc

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PostgresConnection:
    """One psycopg connection in autocommit mode, reconnected by ``ensure`` once lost."""

    def __init__(self, url: str, role: str) -> None:
        self._url = url
        self._role = role
        self._conn: psycopg.Connection[Any] | None = None
        self.ensure()

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    @property
    def in_transaction(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return False
        return conn.info.transaction_status != pq.TransactionStatus.IDLE

    def ensure(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return
        self._conn = None
        if conn is not None:
            conn.close()
        try:
            self._conn = psycopg.connect(
                self._url, application_name=f"mock_sirekap {self._role} {os.getpid()}",
                **CONNECT_OPTIONS,
            )  # fmt: skip
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot reach PostgreSQL {shown_url(self._url)}: {_first_line(exc)}"
            ) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        conn = self._conn
        if conn is None or conn.closed:
            raise StorageError(f"connection to PostgreSQL {shown_url(self._url)} lost")
        try:
            return PostgresCursor(conn.execute(_placeholders(sql), tuple(params) or None))
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {_first_line(exc)}") from exc

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        """psycopg's pipeline mode: statements are sent at once, answers read when fetched."""
        conn = self._conn
        if conn is None or conn.closed:
            raise StorageError(f"connection to PostgreSQL {shown_url(self._url)} lost")
        try:
            with conn.pipeline():
                yield
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {_first_line(exc)}") from exc

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class PostgresDatabase:
    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    @property
    def name(self) -> str:
        return shown_url(self.url)

    def init_schema(self) -> None:
        conn = self.connect(writer=True)
        try:
            conn.execute("BEGIN")
            conn.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
            for statement in schema_statements(POSTGRES):
                conn.execute(statement)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def connect(self, *, writer: bool) -> PostgresConnection:
        return PostgresConnection(self.url, "writer" if writer else "reader")
