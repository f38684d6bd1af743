"""The storage interface: one way to reach the database, whichever engine holds it.

``--db`` names the database: a file path is SQLite (the embedded default,
``mock_sirekap.sqlite_backend``), a ``postgresql://`` URL is PostgreSQL
(``mock_sirekap.postgres_backend``). Both give a ``Database`` whose connections run the SQL the
store, the plenary and the fault state are written in once: ``?`` placeholders, standard upserts
(``INSERT ... ON CONFLICT``), savepoints. What still differs between the engines is a ``Dialect``:
how a writing transaction starts and what it locks (SQLite ``BEGIN IMMEDIATE``: the file, one
writer at a time; PostgreSQL ``BEGIN`` and transaction-level advisory locks on the rows the batch
reads and writes, so writers of every process and instance that touch the same TPS take turns
as SQLite's do, and the others do not wait), how a consistent read starts, and two functions (a
JSON object's entries, string aggregation). Every driver error comes out as ``StorageError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


Statement = tuple[str, tuple[Any, ...]]


class StorageError(RuntimeError):
    """The database failed a statement, or cannot be reached (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    # The statements (with their parameters) that open a writing transaction for operations on
    # these keys (``batch.Keyed``; None: any row), holding what the operations read until commit.
    begin_write: Callable[[Sequence[Hashable | None]], list[Statement]]
    begin_read: str  # opens one consistent snapshot for several reads
    json_entries: str  # table function of (key, value) over the JSON object in ``{}``
    string_agg: str  # aggregate joining ``{}`` with spaces
    text: str  # the column type of text (ordered by bytes on both engines)
    without_rowid: str  # table option of a table keyed by its primary key
    shared: bool  # other instances may use the same database


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection in autocommit mode: transactions are opened and closed by the SQL sent."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def pipeline(self) -> contextlib.AbstractContextManager[None]:
        """Within it, statements are sent without waiting for each answer: a round trip is paid
        when a result is fetched, not per statement (PostgreSQL's pipeline mode; SQLite answers
        in-process at once). An error may surface at a later fetch or at the block's end."""

    def ensure(self) -> None:
        """Reconnect if the connection was lost (only outside a transaction); StorageError if
        the database cannot be reached."""

    def close(self) -> None: ...


class Database(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def name(self) -> str:
        """The database as messages show it (a path, or the URL without a password)."""

    def init_schema(self) -> None:
        """Create the tables (idempotent, safe when several processes start at once)."""

    def connect(self, *, writer: bool) -> Connection: ...


def parse_target(value: str | Path) -> Path | str:
    """``--db`` as given: a ``postgresql://`` URL (kept as text), else a file path."""
    text = str(value)
    if text.startswith(POSTGRES_SCHEMES):
        return text
    return Path(value)


def shown(target: Path | str) -> str:
    """``--db`` as messages show it: a URL without its password."""
    text = str(target)
    if not text.startswith(POSTGRES_SCHEMES):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = f"{parts.username}:***@{parts.hostname or ''}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


def open_database(target: Path | str) -> Database:
    """The database ``--db`` names (a path: SQLite; a ``postgresql://`` URL: PostgreSQL)."""
    if isinstance(target, str) and target.startswith(POSTGRES_SCHEMES):
        try:
            from mock_sirekap.postgres_backend import PostgresDatabase  # noqa: PLC0415
        except ImportError as exc:  # psycopg is an optional dependency
            raise StorageError(
                f"PostgreSQL needs psycopg ({exc.name} is missing): "
                "pip install 'sirekap-loadtest[postgres]'"
            ) from None
        return PostgresDatabase(target)
    from mock_sirekap.sqlite_backend import SqliteDatabase  # noqa: PLC0415

    return SqliteDatabase(Path(target))


@contextlib.contextmanager
def snapshot(conn: Connection) -> Iterator[None]:
    """One consistent read of several queries on an autocommit connection."""
    conn.execute(conn.dialect.begin_read)
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key {text} PRIMARY KEY, value {text} NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    tps_code {text} NOT NULL, election {text} NOT NULL, page INTEGER NOT NULL,
    sha256 {text} NOT NULL, size INTEGER NOT NULL, stored_at {text} NOT NULL,
    PRIMARY KEY (tps_code, election, page, sha256)
){without_rowid};
CREATE INDEX IF NOT EXISTS pages_by_hash ON pages (tps_code, election, sha256);
CREATE TABLE IF NOT EXISTS results (
    tps_code {text} NOT NULL, election {text} NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    content_sha256 {text} NOT NULL, receipt_id {text} NOT NULL UNIQUE, body {text} NOT NULL,
    device_id {text} NOT NULL, stored_at {text} NOT NULL,
    PRIMARY KEY (tps_code, election, revision)
);
CREATE TABLE IF NOT EXISTS idempotency (
    tps_code {text} NOT NULL, election {text} NOT NULL, key {text} NOT NULL,
    content_sha256 {text} NOT NULL, receipt_id {text} NOT NULL REFERENCES results (receipt_id),
    PRIMARY KEY (tps_code, election, key)
){without_rowid};
CREATE TABLE IF NOT EXISTS latest (
    election {text} NOT NULL, tps_code {text} NOT NULL, revision INTEGER NOT NULL,
    chart {text} NOT NULL,
    PRIMARY KEY (election, tps_code)
){without_rowid};
CREATE TABLE IF NOT EXISTS plenary (
    election {text} NOT NULL, tps_code {text} NOT NULL, kecamatan_code {text} NOT NULL,
    status {text} NOT NULL CHECK (status IN ('open', 'closed')),
    manual {text} NOT NULL, revision INTEGER NOT NULL, differences {text} NOT NULL,
    operator_id {text} NOT NULL, since {text} NOT NULL, closed_at {text},
    updated_at {text} NOT NULL,
    PRIMARY KEY (election, tps_code)
){without_rowid};
CREATE INDEX IF NOT EXISTS plenary_by_kecamatan ON plenary (kecamatan_code, election);
CREATE TABLE IF NOT EXISTS server_faults (
    id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, body {text} NOT NULL
);
"""


def schema_statements(dialect: Dialect) -> list[str]:
    """The schema's statements in ``dialect``'s types."""
    text = SCHEMA.format(text=dialect.text, without_rowid=dialect.without_rowid)
    return [statement.strip() for statement in text.split(";") if statement.strip()]
