"""What the mock stores: pages, results with their revisions and idempotency keys, and reads.

Write functions run inside the group committer's transaction (``db.GroupCommitter``); they raise
``Conflict`` for a 409 before they write anything, so they leave nothing behind. They are
generators in two steps (``batch``): send every read they may need, ``yield``, then fetch the
answers, decide and send the writes; a batch's operations on different TPS share one round trip.
Each reads and writes the rows of its own TPS and election alone (its key in the batch), whose
lock the batch holds from its first read to its commit (SQLite's ``BEGIN IMMEDIATE``,
PostgreSQL's advisory lock of that TPS), so nothing read can change before it is written.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mock_sirekap.storage import Connection, Cursor


class Conflict(Exception):
    """The write contradicts what is stored (HTTP 409); the message says what and how to fix it."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class PageWrite:
    tps_code: str
    election: str
    page: int
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class PageOutcome:
    created: bool
    stored_at: str


def store_page(conn: Connection, write: PageWrite) -> Generator[None, None, PageOutcome]:
    """Store a page photo's hash, or find it stored (idempotent by content hash)."""
    stored = conn.execute(
        "SELECT stored_at FROM pages WHERE tps_code = ? AND election = ? AND page = ? "
        "AND sha256 = ?",
        (write.tps_code, write.election, write.page, write.sha256),
    )
    yield
    row = stored.fetchone()
    if row is not None:
        return PageOutcome(False, row[0])
    stored_at = now_iso()
    conn.execute(  # the primary key refuses a second copy, should one ever be attempted
        "INSERT INTO pages (tps_code, election, page, sha256, size, stored_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (write.tps_code, write.election, write.page, write.sha256, write.size, stored_at),
    )
    return PageOutcome(True, stored_at)


@dataclass(frozen=True, slots=True)
class ResultWrite:
    tps_code: str
    election: str
    device_id: str
    idempotency_key: str
    revision: int | None  # None: "the first one"; a correction names n+1
    content_sha256: str
    body: str  # canonical JSON of chart, administrasi and pages
    chart_json: str  # the candidates' votes alone, for the recap
    pages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Receipt:
    receipt_id: str
    content_sha256: str
    stored_at: str
    revision: int
    created: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "content_sha256": self.content_sha256,
            "stored_at": self.stored_at,
            "revision": self.revision,
        }


class _Stored(NamedTuple):  # a stored revision, as a Receipt's first fields
    receipt_id: str
    content_sha256: str
    stored_at: str
    revision: int


def submit_result(conn: Connection, write: ResultWrite) -> Generator[None, None, Receipt]:
    """Store a result revision, or find it stored (idempotent by key and by content)."""
    listed = tuple(dict.fromkeys(write.pages))
    reads = _result_reads(conn, write, listed)
    yield
    keyed = latest = None
    present = set()
    for what, *row in reads.fetchall():
        if what == "key":
            keyed = _Stored(*row)
        elif what == "latest":
            latest = _Stored(*row)
        else:
            present.add(row[1])
    if keyed is not None:
        if keyed.content_sha256 != write.content_sha256:
            raise Conflict(
                f"Idempotency-Key {write.idempotency_key!r} was already used for a different "
                f"result (content {keyed.content_sha256[:12]}...); send a new key for a new "
                "result"
            )
        return Receipt(*keyed, created=False)

    if latest is not None and latest.content_sha256 == write.content_sha256:
        _remember_key(conn, write, latest.receipt_id)
        return Receipt(*latest, created=False)

    expected = 1 if latest is None else latest.revision + 1
    if latest is not None and write.revision is None:
        raise Conflict(
            f"a different result is already stored for TPS {write.tps_code} {write.election} "
            f"(revision {latest.revision}); a correction must say revision {expected}"
        )
    revision = expected if write.revision is None else write.revision
    if revision != expected:
        raise Conflict(
            f"revision {revision} is not the next one for TPS {write.tps_code} "
            f"{write.election}: the stored revision is {expected - 1}, so send revision {expected}"
        )
    _require_pages(write, listed, present)
    receipt_id = f"rcpt_{secrets.token_hex(10)}"
    stored_at = now_iso()
    where = (write.tps_code, write.election)
    conn.execute(
        "INSERT INTO results (tps_code, election, revision, content_sha256, receipt_id, body, "
        "device_id, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *where,
            revision,
            write.content_sha256,
            receipt_id,
            write.body,
            write.device_id,
            stored_at,
        ),
    )
    _remember_key(conn, write, receipt_id)
    conn.execute(
        "INSERT INTO latest (election, tps_code, revision, chart) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (election, tps_code) DO UPDATE SET revision = excluded.revision, "
        "chart = excluded.chart",
        (write.election, write.tps_code, revision, write.chart_json),
    )
    return Receipt(receipt_id, write.content_sha256, stored_at, revision, created=True)


def _result_reads(conn: Connection, write: ResultWrite, listed: tuple[str, ...]) -> Cursor:
    """All a submission decides on, in one statement: the revision its Idempotency-Key names
    ("key"), the latest revision ("latest"), and which listed pages are stored ("page")."""
    where = (write.tps_code, write.election)
    return conn.execute(
        "SELECT 'key', r.receipt_id, i.content_sha256, r.stored_at, r.revision "
        "FROM idempotency i JOIN results r ON r.receipt_id = i.receipt_id "
        "WHERE i.tps_code = ? AND i.election = ? AND i.key = ? "
        "UNION ALL SELECT * FROM (SELECT 'latest', receipt_id, content_sha256, stored_at, "
        "revision FROM results WHERE tps_code = ? AND election = ? "
        "ORDER BY revision DESC LIMIT 1) AS latest "
        "UNION ALL SELECT 'page', NULL, sha256, NULL, NULL FROM pages "
        "WHERE tps_code = ? AND election = ? "
        f"AND sha256 IN ({', '.join('?' * len(listed)) or 'NULL'})",
        (*where, write.idempotency_key, *where, *where, *listed),
    )


def _remember_key(conn: Connection, write: ResultWrite, receipt_id: str) -> None:
    conn.execute(
        "INSERT INTO idempotency (tps_code, election, key, content_sha256, receipt_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (write.tps_code, write.election, write.idempotency_key, write.content_sha256, receipt_id),
    )


def _require_pages(write: ResultWrite, listed: tuple[str, ...], present: set[str]) -> None:
    missing = [sha for sha in listed if sha not in present]
    if missing:
        shown = ", ".join(sha[:12] + "..." for sha in missing)
        raise Conflict(
            f"pages never uploaded for TPS {write.tps_code} {write.election}: {shown}; "
            "upload every listed page before submitting the result"
        )


# ---- reads (on a read connection; readers never block the writer) ----


@dataclass(frozen=True, slots=True)
class StoredResult:
    revision: int
    receipt_id: str
    content_sha256: str
    stored_at: str
    body: dict[str, Any]
    page_numbers: dict[str, int]  # sha256 -> page number


def read_result(conn: Connection, tps_code: str, election: str) -> StoredResult | None:
    row = conn.execute(
        "SELECT revision, receipt_id, content_sha256, stored_at, body FROM results "
        "WHERE tps_code = ? AND election = ? ORDER BY revision DESC LIMIT 1",
        (tps_code, election),
    ).fetchone()
    if row is None:
        return None
    numbers = dict(
        conn.execute(
            "SELECT sha256, page FROM pages WHERE tps_code = ? AND election = ?",
            (tps_code, election),
        ).fetchall()
    )
    return StoredResult(row[0], row[1], row[2], row[3], json.loads(row[4]), numbers)


def read_pages(conn: Connection, tps_code: str, election: str, page: int) -> list[Any]:
    return conn.execute(
        "SELECT sha256, size, stored_at FROM pages WHERE tps_code = ? AND election = ? "
        "AND page = ? ORDER BY stored_at",
        (tps_code, election, page),
    ).fetchall()


def _prefix_bounds(prefix: str) -> tuple[str, str]:
    # Codes are digits; ":" sorts right after "9", so [prefix, prefix + ":") holds the region.
    return prefix, prefix + ":"


def recap_rows(
    conn: Connection, region_prefix: str, child_len: int, election: str
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Votes per child region and candidate, and TPS with a result per child region."""
    low, high = _prefix_bounds(region_prefix)
    votes: dict[str, dict[str, int]] = {}
    entries = conn.dialect.json_entries.format("l.chart")
    for child, candidate, total in conn.execute(
        "SELECT substr(l.tps_code, 1, ?), c.key, SUM(CAST(c.value AS INTEGER)) "
        f"FROM latest l, {entries} c "
        "WHERE l.election = ? AND l.tps_code >= ? AND l.tps_code < ? GROUP BY 1, 2",
        (child_len, election, low, high),
    ):
        votes.setdefault(child, {})[candidate] = total
    done = dict(
        conn.execute(
            "SELECT substr(tps_code, 1, ?), COUNT(*) FROM latest "
            "WHERE election = ? AND tps_code >= ? AND tps_code < ? GROUP BY 1",
            (child_len, election, low, high),
        ).fetchall()
    )
    return votes, done


def export_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every stored result revision and page, for the harness's integrity audit."""
    keys = conn.dialect.string_agg.format("key")
    for row in conn.execute(
        "SELECT r.tps_code, r.election, r.revision, r.content_sha256, r.receipt_id, r.stored_at, "
        f"r.device_id, (SELECT {keys} FROM idempotency i "
        " WHERE i.receipt_id = r.receipt_id) FROM results r ORDER BY r.tps_code, r.election, "
        "r.revision"
    ):
        yield {
            "kind": "result",
            "tps_code": row[0],
            "election": row[1],
            "revision": row[2],
            "content_sha256": row[3],
            "receipt_id": row[4],
            "stored_at": row[5],
            "device_id": row[6],
            "idempotency_keys": (row[7] or "").split(),
        }
    for row in conn.execute(
        "SELECT tps_code, election, page, sha256, size, stored_at FROM pages "
        "ORDER BY tps_code, election, page, stored_at"
    ):
        yield {
            "kind": "page",
            "tps_code": row[0],
            "election": row[1],
            "page": row[2],
            "content_sha256": row[3],
            "size": row[4],
            "stored_at": row[5],
        }
