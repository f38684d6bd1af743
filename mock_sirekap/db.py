"""SQLite in WAL mode with group commit: an upload is acknowledged only once durably committed.

All writes of one process go through one writer thread. It takes every operation waiting in its
queue, runs each inside its own savepoint of one ``BEGIN IMMEDIATE`` transaction and commits once
(synchronous=FULL), so a batch of concurrent uploads pays for one fsync. Only after that commit does
any caller's future resolve. Operations that fail roll back to their savepoint without touching the
others in the batch. Uniqueness and idempotency are database constraints, so they hold across
restarts and across several server processes sharing one file.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    tps_code TEXT NOT NULL, election TEXT NOT NULL, page INTEGER NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, stored_at TEXT NOT NULL,
    PRIMARY KEY (tps_code, election, page, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pages_by_hash ON pages (tps_code, election, sha256);
CREATE TABLE IF NOT EXISTS results (
    tps_code TEXT NOT NULL, election TEXT NOT NULL, revision INTEGER NOT NULL CHECK (revision >= 1),
    content_sha256 TEXT NOT NULL, receipt_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
    device_id TEXT NOT NULL, stored_at TEXT NOT NULL,
    PRIMARY KEY (tps_code, election, revision)
);
CREATE TABLE IF NOT EXISTS idempotency (
    tps_code TEXT NOT NULL, election TEXT NOT NULL, key TEXT NOT NULL,
    content_sha256 TEXT NOT NULL, receipt_id TEXT NOT NULL REFERENCES results (receipt_id),
    PRIMARY KEY (tps_code, election, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    election TEXT NOT NULL, tps_code TEXT NOT NULL, revision INTEGER NOT NULL,
    chart TEXT NOT NULL,
    PRIMARY KEY (election, tps_code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plenary (
    election TEXT NOT NULL, tps_code TEXT NOT NULL, kecamatan_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    manual TEXT NOT NULL, revision INTEGER NOT NULL, differences TEXT NOT NULL,
    operator_id TEXT NOT NULL, since TEXT NOT NULL, closed_at TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (election, tps_code)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS plenary_by_kecamatan ON plenary (kecamatan_code, election);
CREATE TABLE IF NOT EXISTS server_faults (
    id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, body TEXT NOT NULL
);
"""

# Writers of other processes hold the lock for one batch at most; wait rather than fail.
BUSY_TIMEOUT_MS = 30_000
MAX_BATCH = 512


class StorageUnavailable(RuntimeError):
    """The database could not commit; nothing of the batch was acknowledged."""


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


def init_schema(path: Path) -> None:
    """Create the tables (idempotent, safe when several processes start at once)."""
    conn = connect(path, writer=True)
    try:
        conn.executescript(SCHEMA)
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class BatchStats:
    size: int
    seconds: float


Operation = Callable[[sqlite3.Connection], Any]
_Item = tuple[Operation, asyncio.Future[Any], asyncio.AbstractEventLoop]


class GroupCommitter:
    """Runs write operations in batched durable transactions on a dedicated thread."""

    def __init__(self, path: Path, on_batch: Callable[[BatchStats], None] | None = None) -> None:
        self._path = path
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self._conn = connect(self._path, writer=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    async def submit(self, operation: Operation) -> Any:
        """Run ``operation(conn)`` in the next batch; return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((operation, future, loop))
        return await future

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._commit(batch)
                    return
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        conn = self._conn
        assert conn is not None
        started = time.perf_counter()
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for operation, _, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    outcomes.append((operation(conn), None))
                    conn.execute("RELEASE op")
                except Exception as exc:  # the operation's own error goes back to its caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((None, exc))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StorageUnavailable(f"storage could not commit: {exc}")
            outcomes = [(None, failure)] * len(batch)
        if self._on_batch is not None:
            self._on_batch(BatchStats(len(batch), time.perf_counter() - started))
        # One wake-up per event loop for the whole batch, not one per write.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Resolution]] = {}
        for (_, future, loop), (result, error) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, result, error))
        for loop, resolutions in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, resolutions)


_Resolution = tuple[asyncio.Future[Any], Any, BaseException | None]


def _resolve_all(resolutions: list[_Resolution]) -> None:
    for future, result, error in resolutions:
        if future.done():  # the caller went away (client disconnected); the write stands
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
