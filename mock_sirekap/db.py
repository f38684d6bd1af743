"""Group commit: an upload is acknowledged only once its transaction is durably committed.

All writes of one process go through one writer thread. It takes every operation waiting in its
queue and runs them all in one writing transaction (SQLite: ``BEGIN IMMEDIATE`` with
synchronous=FULL; PostgreSQL: ``BEGIN`` and advisory locks on the TPS the batch touches,
synchronous commit on) that commits once (``batch.run_batch``), so a batch of concurrent uploads
pays for one fsync and, on a database server, a round trip or two. Only after that commit does
any caller's future resolve. Uniqueness and idempotency are database constraints, so they hold
across restarts and across several server processes (and, on PostgreSQL, instances) sharing one
database. A batch that cannot commit (the database unreachable) fails as a whole with
``StorageUnavailable``; the next batch reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from mock_sirekap.batch import Keyed, Operation, run_batch
from mock_sirekap.storage import Connection, Database, StorageError

MAX_BATCH = 512


class StorageUnavailable(StorageError):
    """The database could not commit; nothing of the batch was acknowledged."""


@dataclass(frozen=True, slots=True)
class BatchStats:
    size: int
    seconds: float


_Item = tuple[Keyed, asyncio.Future[Any], asyncio.AbstractEventLoop]


class GroupCommitter:
    """Runs write operations in batched durable transactions on a dedicated thread."""

    def __init__(
        self, database: Database, on_batch: Callable[[BatchStats], None] | None = None
    ) -> None:
        self._database = database
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._conn: Connection | None = None

    def start(self) -> None:
        self._conn = self._database.connect(writer=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    async def submit(self, operation: Operation, key: Hashable | None = None) -> Any:
        """Run ``operation(conn)`` in the next batch; return its result once committed.

        ``key`` names the rows it reads and writes (``batch``): operations of other keys may run
        alongside it in one round trip; without one it runs alone."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((Keyed(operation, key), future, loop))
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
        try:
            conn.ensure()
            outcomes = run_batch(conn, [keyed for keyed, _, _ in batch])
        except StorageError as exc:
            with contextlib.suppress(StorageError):
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
