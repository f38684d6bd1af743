"""SQLite, the embedded default: one file in WAL mode, synchronous=FULL.

Writers of every process take the file's write lock (``BEGIN IMMEDIATE``) one batch at a time and
wait for it rather than fail, so nothing a batch reads changes before it commits; readers never
block the writer.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mock_sirekap.storage import Cursor, Dialect, StorageError, schema_statements

# Writers of other processes hold the lock for one batch at most; wait rather than fail.
BUSY_TIMEOUT_MS = 30_000

SQLITE = Dialect(
    name="sqlite",
    begin_write=lambda _: [("BEGIN IMMEDIATE", ())],  # the file's write lock, whatever the rows
    begin_read="BEGIN",
    json_entries="json_each({})",
    string_agg="group_concat({}, ' ')",
    text="TEXT",
    without_rowid=" WITHOUT ROWID",
    shared=False,
)


def connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class SqliteCursor:
    """A statement's rows, fetched at once: the statement is reset straight away, so the
    connection's statement cache can reuse it while the rows wait (a batch sends many reads before
    it fetches any)."""

    __slots__ = ("_next", "_rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall()
        self._next = 0

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class SqliteConnection:
    """A ``sqlite3`` connection in autocommit mode whose errors are ``StorageError``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return SqliteCursor(self._conn.execute(sql, params))
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc

    def pipeline(self) -> contextlib.AbstractContextManager[None]:
        """In-process: every statement is answered at once, nothing to batch."""
        return contextlib.nullcontext()

    def ensure(self) -> None:
        """A file does not go away: nothing to reconnect."""

    def close(self) -> None:
        self._conn.close()


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @property
    def name(self) -> str:
        return str(self.path)

    def init_schema(self) -> None:
        conn = self.connect(writer=True)
        try:
            for statement in schema_statements(SQLITE):
                conn.execute(statement)
        finally:
            conn.close()

    def connect(self, *, writer: bool) -> SqliteConnection:
        try:
            return SqliteConnection(connect(self.path, writer=writer))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from exc
