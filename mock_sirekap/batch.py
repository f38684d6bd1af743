"""One group-commit batch: every operation of it in one writing transaction, committed once.

An operation is ``operation(conn) -> result``, or a generator function that sends its reads,
``yield``s, and fetches them once resumed (then decides, sends its writes and returns its result;
it may yield again for reads that depend on the first answers). Operations carry a key, the rows
they read and write (a TPS and election): those of different keys touch disjoint rows. The
batch's transaction locks the keys of its operations (``Dialect.begin_write``) and runs them in
waves of distinct keys, every operation of a wave sending its reads before any
fetches. On a database server the batch is pipelined, so a wave costs one round trip, not one per
operation or per statement; an operation without a key runs in a wave of its own. Waves keep the
order in which operations were submitted for those that share a key, and the statements reach
the database in that order.

The batch first runs pipelined and without a savepoint per operation: an operation that refuses
(``Conflict`` and the like) before it writes leaves nothing behind, so the others need not pay for
savepoints. If an operation fails after it wrote, or a statement fails, the batch is rolled back
and run again one savepoint per operation, unpipelined, so that only the failing operation's
writes are undone and its error goes back to its caller alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from mock_sirekap.storage import Connection, Cursor, Dialect, StorageError

Operation = Callable[[Connection], Any]
Outcome = tuple[Any, BaseException | None]  # the result, or the error for its caller


@dataclass(frozen=True, slots=True)
class Keyed:
    """An operation and the rows it reads and writes (None: any, so it runs alone)."""

    operation: Operation
    key: Hashable | None


def run_batch(conn: Connection, batch: Sequence[Keyed]) -> list[Outcome]:
    """Run and commit ``batch``; StorageError (nothing committed) if the database cannot."""
    outcomes = _pipelined(conn, batch)
    if outcomes is None:
        outcomes = _with_savepoints(conn, batch)
    return outcomes


def waves(batch: Sequence[Keyed]) -> list[list[int]]:
    """The batch's positions cut into runs of distinct keys (a keyless operation alone)."""
    cut: list[list[int]] = []
    keys: set[Hashable] = set()
    for index, item in enumerate(batch):
        if not cut or item.key is None or item.key in keys or None in keys:
            cut.append([])
            keys = set()
        cut[-1].append(index)
        keys.add(item.key)
    return cut


class _Redo(Exception):
    """The pipelined batch cannot stand: run it again with a savepoint per operation."""


class _Watched:
    """The batch's connection, noting which operations have sent a write."""

    __slots__ = ("_conn", "current", "wrote")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.current = -1
        self.wrote: set[int] = set()

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if not sql.startswith("SELECT"):
            self.wrote.add(self.current)
        return self._conn.execute(sql, params)

    def pipeline(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # already in the batch's pipeline

    def ensure(self) -> None:
        """Never reconnects in the middle of a batch."""

    def close(self) -> None:
        """The batch's connection is the committer's to close."""


def _begin(conn: Connection, batch: Sequence[Keyed]) -> None:
    """Open the writing transaction, holding what the batch's operations read and write."""
    for statement, params in conn.dialect.begin_write([item.key for item in batch]):
        conn.execute(statement, params)


def _pipelined(conn: Connection, batch: Sequence[Keyed]) -> list[Outcome] | None:
    """Run the batch pipelined, in waves, no savepoints; None (rolled back) to run it again."""
    watched = _Watched(conn)
    outcomes: list[Outcome] = [(None, None)] * len(batch)
    try:
        with conn.pipeline():
            _begin(conn, batch)
            for wave in waves(batch):
                _run_wave(watched, batch, wave, outcomes)
            conn.execute("COMMIT")
    except (_Redo, StorageError):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("SELECT 1").fetchall()  # the connection lost: the batch fails as a whole
        return None
    return outcomes


def _run_wave(
    watched: _Watched, batch: Sequence[Keyed], wave: list[int], outcomes: list[Outcome]
) -> None:
    """Advance every operation of ``wave`` a step at a time until each has its outcome: each
    step sends its reads before any of the next steps fetches."""
    steps = [(index, _steps(batch[index].operation, watched)) for index in wave]
    while steps:
        waiting = []
        for index, step in steps:
            watched.current = index
            try:
                next(step)
            except StopIteration as done:
                outcomes[index] = (done.value, None)
                continue
            except StorageError:
                raise _Redo from None
            except Exception as exc:  # a refusal: its caller's, if it wrote nothing
                if index in watched.wrote:
                    raise _Redo from None
                outcomes[index] = (None, exc)
                continue
            waiting.append((index, step))
        steps = waiting


def _steps(operation: Operation, conn: Connection) -> Generator[None, None, Any]:
    """The operation as steps, whether it is a generator function or a plain one."""
    started = operation(conn)
    if isinstance(started, Generator):
        return (yield from started)
    return started


def _with_savepoints(conn: Connection, batch: Sequence[Keyed]) -> list[Outcome]:
    """Run the batch one savepoint per operation: a failing one undoes only its own writes."""
    outcomes: list[Outcome] = []
    _begin(conn, batch)
    for item in batch:
        conn.execute("SAVEPOINT op")
        try:
            outcomes.append((_to_the_end(item.operation, conn), None))
            conn.execute("RELEASE SAVEPOINT op")
        except Exception as exc:  # the operation's own error goes back to its caller
            conn.execute("ROLLBACK TO SAVEPOINT op")
            conn.execute("RELEASE SAVEPOINT op")
            outcomes.append((None, exc))
    conn.execute("COMMIT")
    return outcomes


def _to_the_end(operation: Operation, conn: Connection) -> Any:
    steps = _steps(operation, conn)
    try:
        while True:
            next(steps)
    except StopIteration as done:
        return done.value
