"""Everything one server process holds: settings, registry and operators, database handles,
runtime model."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mock_sirekap import metrics
from mock_sirekap.admission import ServerRuntime
from mock_sirekap.auth import OperatorSigner, TokenSigner, signing_key
from mock_sirekap.config import MockConfig
from mock_sirekap.db import BatchStats, GroupCommitter
from mock_sirekap.operators import Operators, kecamatan_index
from mock_sirekap.registry import Registry
from mock_sirekap.server_faults import FaultState
from mock_sirekap.storage import Connection, Database, StorageError, open_database
from mock_sirekap.store import Conflict

T = TypeVar("T")

FAULT_POLL_SECONDS = 0.2
CLOSE_WAIT_S = 5.0  # at shutdown, for a read still running on a connection


def _observe_batch(stats: BatchStats) -> None:
    metrics.DB_COMMIT_SECONDS.observe(stats.seconds)
    metrics.DB_BATCH_SIZE.observe(stats.size)


@dataclass
class MockState:
    config: MockConfig
    registry: Registry
    runtime: ServerRuntime
    database: Database
    committer: GroupCommitter
    read_connection: Connection
    signer: TokenSigner
    operators: Operators
    operator_signer: OperatorSigner
    kecamatan: dict[str, tuple[str, ...]]  # kecamatan code -> its TPS codes, sorted
    read_lock: threading.Lock = field(default_factory=threading.Lock)  # the one read connection
    fault_reader: Connection | None = None  # the fault poller's own, opened by its first poll
    fault_lock: threading.Lock = field(default_factory=threading.Lock)  # held while it polls

    @classmethod
    def open(
        cls, config: MockConfig, registry: Registry, operators: Operators | None = None
    ) -> MockState:
        operators = operators if operators is not None else config.load_operators(registry)
        database = open_database(config.db)
        database.init_schema()
        committer = GroupCommitter(database, on_batch=_observe_batch)
        committer.start()
        reader = database.connect(writer=False)
        with contextlib.closing(database.connect(writer=True)) as conn:
            key = signing_key(conn)
        runtime = ServerRuntime(config.capacity.per_process(config.processes))
        return cls(
            config,
            registry,
            runtime,
            database,
            committer,
            reader,
            TokenSigner(key, config.token_ttl),
            operators,
            OperatorSigner(key, config.token_ttl),
            kecamatan_index(registry),
        )

    @property
    def reader(self) -> Connection:
        """The read connection, reconnected first if it was lost (StorageError if the database
        cannot be reached)."""
        self.read_connection.ensure()
        return self.read_connection

    async def read(self, query: Callable[..., T], *args: Any) -> T:
        """Run ``query(connection, *args)`` on the read connection; reads take turns on it. On a
        database server (a link that can be slow or proxied) in a thread, so a slow database
        slows the reads, never the event loop; a local SQLite file answers at once, in line."""

        def run() -> T:
            with self.read_lock:
                return query(self.reader, *args)

        if not self.database.dialect.shared:
            return run()
        return await asyncio.to_thread(run)

    @property
    def follows_faults(self) -> bool:
        """Other processes or instances may change the fault state: poll it."""
        return self.config.processes > 1 or self.database.dialect.shared

    def close(self) -> None:
        self.committer.stop()
        _close_when_idle(self.read_connection, self.read_lock)
        if self.fault_reader is not None:
            _close_when_idle(self.fault_reader, self.fault_lock)

    async def save_faults(self, state: FaultState) -> FaultState:
        """Store a new fault state for every process of this mock and apply it here."""
        return await self._write_faults(lambda _: state)

    async def renew_faults(self, lease_s: float, version: int | None) -> FaultState:
        """Hold the faults in force ``lease_s`` more seconds; Conflict when there is nothing to
        renew (none set, lapsed, or not ``version``)."""

        def renewed(stored: FaultState) -> FaultState:
            if version is not None and stored.version != version:
                raise Conflict(
                    f"fault state version {version} is no longer in force (version "
                    f"{stored.version} is); renew the version PUT /admin/faults answered"
                )
            if not stored.active or stored.expires_at is None:
                why = "lapsed" if stored.lapsed_at else "has no lease" if stored.active else "none"
                raise Conflict(
                    f"no leased faults to renew (state: {why}); set them with PUT /admin/faults "
                    "and a lease_s"
                )
            return stored.renewed(lease_s)

        return await self._write_faults(renewed)

    async def _write_faults(self, make: Callable[[FaultState], FaultState]) -> FaultState:
        """Store ``make(the stored state)`` as the next version, in one transaction."""
        made: list[FaultState] = []

        def write(conn: Connection) -> int:
            row = conn.execute("SELECT version, body FROM server_faults WHERE id = 1").fetchone()
            stored = FaultState.from_row(row[0], row[1]) if row else FaultState()
            if stored.expires_at is not None and time.time() >= stored.expires_at:
                stored = stored.lapse()
            state = make(stored)
            made.append(state)
            version = (row[0] if row else 0) + 1
            conn.execute(
                "INSERT INTO server_faults (id, version, body) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body",
                (version, state.to_row()),
            )
            return version

        version = await self.committer.submit(write)
        state = made[-1]
        state.version = version
        self.runtime.set_faults(state)
        return state

    def reload_faults(self) -> None:
        """Apply the stored fault state if another process or instance changed it (blocking)."""
        with self.read_lock:
            self._apply_stored_faults(self.reader)

    async def refresh_faults(self) -> None:
        """``reload_faults`` as a read: on a database server in a thread, not the event loop."""
        await self.read(self._apply_stored_faults)

    def _apply_stored_faults(self, conn: Connection) -> None:
        row = conn.execute("SELECT version, body FROM server_faults WHERE id = 1").fetchone()
        if row is not None and row[0] != self.runtime.faults.version:
            self.runtime.set_faults(FaultState.from_row(row[0], row[1]))

    async def follow_faults(self) -> None:
        """Poll the shared fault state (only needed with several server processes or
        instances), on a connection of its own: through a slow database link a poll takes a
        round trip, which the public reads must not wait behind."""
        while True:
            await asyncio.sleep(FAULT_POLL_SECONDS)
            with contextlib.suppress(StorageError):
                await asyncio.to_thread(self._poll_faults)

    def _poll_faults(self) -> None:
        with self.fault_lock:
            if self.fault_reader is None:
                self.fault_reader = self.database.connect(writer=False)
            self.fault_reader.ensure()
            self._apply_stored_faults(self.fault_reader)


def _close_when_idle(conn: Connection, lock: threading.Lock) -> None:
    """Close ``conn`` once the thread of a read still running on it (its task cancelled at
    shutdown, the thread not) has finished: a connection closed under a waiting driver leaves it
    polling a closed socket, and the process waiting for that thread at exit. One stuck longer
    is left to the process's exit."""
    if not lock.acquire(timeout=CLOSE_WAIT_S):
        return
    try:
        conn.close()
    finally:
        lock.release()


def clear_faults(config: MockConfig) -> None:
    """A fresh start of the mock has no server faults (run once, before the processes start)."""
    database = open_database(config.db)
    database.init_schema()
    with contextlib.closing(database.connect(writer=True)) as conn:
        conn.execute("DELETE FROM server_faults")
