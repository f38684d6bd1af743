"""PostgreSQL (psycopg 3), for a staging-like deployment: several mock instances on one database.

The SQL is the store's own (``?`` placeholders become psycopg's ``%s``). A writing transaction
takes a transaction-level advisory lock first, so the writers of every process and instance take
turns one batch at a time, as SQLite's ``BEGIN IMMEDIATE`` makes them: the store's read-then-write
logic needs no other locking, and a batch still pays for one commit. Every connection forces
``synchronous_commit = on``: a commit is on disk before it returns. Text columns use the "C"
collation, so text orders by bytes as in SQLite (region codes rely on ":" sorting after "9").

A connection lost (PostgreSQL restarted, the network cut) makes the statements that needed it fail
with ``StorageError`` (HTTP 503); the next batch or read reconnects (``ensure``), never in the
middle of a transaction.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from mock_sirekap.storage import Cursor, Dialect, StorageError, schema_statements

WRITE_LOCK = 0x53524B01  # advisory lock keys of this schema: the writers' turn,
SCHEMA_LOCK = 0x53524B02  # and creating the tables
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

POSTGRES = Dialect(
    name="postgresql",
    begin_write=("BEGIN", f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
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
            return conn.execute(_placeholders(sql), tuple(params) or None)
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
