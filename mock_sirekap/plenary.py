"""The kecamatan plenary (PPK recap): hand-counted totals against Sirekap's stored result.

In 2024 the PPK plenary had to go through Sirekap: PPS Jimbaran matched its manual totals against
Sirekap's data, and differences held the plenary up (NusaBali, 16 Feb 2024). Here an
operator submits a TPS's manual totals; every key of ``chart`` and ``administrasi`` is compared
with the TPS's latest stored result. A match gavels (closes) the TPS for good; a discrepancy keeps
it open with the manual entry kept, and the next manual entry, or the next result revision from a
device, is compared again at once. Once every TPS of the kecamatan is closed, the D.Hasil (the
kecamatan's sums) is complete.

Write functions run inside the group committer's transaction (``db.GroupCommitter``): a plenary
outcome is answered only once committed, and an exception leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mock_sirekap.storage import Connection, Cursor, snapshot
from mock_sirekap.store import now_iso

SECTIONS: tuple[str, ...] = ("chart", "administrasi")
Numbers = Mapping[str, Mapping[str, int]]  # {"chart": {id: votes}, "administrasi": {name: n}}
Status = Literal["matched", "discrepancy"]


def compare(manual: Numbers, sirekap: Numbers) -> list[dict[str, Any]]:
    """Every field whose value differs (a key missing on one side is null there), by field."""
    differences = []
    for section in SECTIONS:
        ours, theirs = manual.get(section, {}), sirekap.get(section, {})
        for key in ours.keys() | theirs.keys():
            mine, stored = ours.get(key), theirs.get(key)
            if mine != stored:
                differences.append({"field": f"{section}.{key}", "manual": mine, "sirekap": stored})
    return sorted(differences, key=lambda difference: str(difference["field"]))


def canonical(numbers: Numbers) -> str:
    return json.dumps(
        {section: dict(numbers.get(section, {})) for section in SECTIONS},
        sort_keys=True,
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class ManualEntry:
    kecamatan_code: str
    election: str
    tps_code: str
    operator_id: str
    numbers: Numbers


@dataclass(frozen=True, slots=True)
class PlenaryOutcome:
    status: Status
    tps_code: str
    election: str
    revision: int
    differences: list[dict[str, Any]]
    closed_at: str | None
    newly_closed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tps_code": self.tps_code,
            "election": self.election,
            "revision": self.revision,
            "differences": self.differences,
            "closed": self.closed_at is not None,
            "closed_at": self.closed_at,
        }


class MissingUpload(Exception):
    """No result is stored for the TPS and election: nothing to compare with (HTTP 409)."""


class AlreadyGaveled(Exception):
    """The TPS was closed with other totals (HTTP 409); a gaveled TPS is final."""

    def __init__(self, message: str, closed_at: str, differences: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.closed_at = closed_at
        self.differences = differences


def submit_manual(conn: Connection, entry: ManualEntry) -> Generator[None, None, PlenaryOutcome]:
    """Compare a manual entry with the latest stored result; gavel the TPS on a match (a
    two-step write, as ``store``'s)."""
    key = (entry.election, entry.tps_code)
    pending_kept = conn.execute(
        "SELECT status, manual, revision, since, closed_at FROM plenary "
        "WHERE election = ? AND tps_code = ?",
        key,
    )
    pending_latest = _latest_result(conn, entry.tps_code, entry.election)
    yield
    kept = pending_kept.fetchone()
    manual = canonical(entry.numbers)
    if kept is not None and kept[0] == "closed":
        if kept[1] == manual:
            return PlenaryOutcome(
                "matched", entry.tps_code, entry.election, kept[2], [], kept[4], False
            )
        differences = compare(entry.numbers, json.loads(kept[1]))
        fields = ", ".join(str(d["field"]) for d in differences)
        raise AlreadyGaveled(
            f"TPS {entry.tps_code} {entry.election} already gaveled at {kept[4]} with other "
            f"totals (they differ in {fields}); a gaveled TPS is final: only its gaveled totals "
            "may be sent again",
            kept[4],
            differences,
        )
    latest = _numbers(pending_latest.fetchone())
    if latest is None:
        raise MissingUpload(
            f"no result uploaded for TPS {entry.tps_code} {entry.election} yet: the plenary can "
            "compare the manual totals only after a KPPS device has submitted the TPS's result"
        )
    revision, stored = latest
    differences = compare(entry.numbers, stored)
    now = now_iso()
    closed_at = None if differences else now
    since = kept[3] if kept is not None else now
    conn.execute(
        "INSERT INTO plenary (election, tps_code, kecamatan_code, status, manual, revision, "
        "differences, operator_id, since, closed_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (election, tps_code) DO UPDATE SET "
        "kecamatan_code = excluded.kecamatan_code, status = excluded.status, "
        "manual = excluded.manual, revision = excluded.revision, "
        "differences = excluded.differences, operator_id = excluded.operator_id, "
        "since = excluded.since, closed_at = excluded.closed_at, updated_at = excluded.updated_at",
        (
            *key,
            entry.kecamatan_code,
            "open" if differences else "closed",
            manual,
            revision,
            json.dumps(differences, separators=(",", ":")),
            entry.operator_id,
            since,
            closed_at,
            now,
        ),
    )
    status: Status = "discrepancy" if differences else "matched"
    return PlenaryOutcome(
        status, entry.tps_code, entry.election, revision, differences, closed_at, not differences
    )


def open_entry(conn: Connection, tps_code: str, election: str) -> Cursor:
    """The kept manual entry of a TPS the plenary holds open (sent now, fetched by
    ``recompare_after_result``, so it shares the result's round trip)."""
    return conn.execute(
        "SELECT manual FROM plenary WHERE election = ? AND tps_code = ? AND status = 'open'",
        (election, tps_code),
    )


def recompare_after_result(
    conn: Connection, entry: Cursor, tps_code: str, election: str, revision: int, numbers: Numbers
) -> bool:
    """Compare a new result revision with the kept manual ``entry`` (``open_entry``, sent before
    the revision was written) of an open TPS; True if it closed.

    Runs in the same transaction as the revision itself, so the gavel is as durable as the upload.
    """
    kept = entry.fetchone()
    if kept is None:
        return False
    differences = compare(json.loads(kept[0]), numbers)
    now = now_iso()
    conn.execute(
        "UPDATE plenary SET status = ?, revision = ?, differences = ?, closed_at = ?, "
        "updated_at = ? WHERE election = ? AND tps_code = ?",
        (
            "open" if differences else "closed",
            revision,
            json.dumps(differences, separators=(",", ":")),
            None if differences else now,
            now,
            election,
            tps_code,
        ),
    )
    return not differences


def _latest_result(conn: Connection, tps_code: str, election: str) -> Cursor:
    return conn.execute(
        "SELECT revision, body FROM results WHERE tps_code = ? AND election = ? "
        "ORDER BY revision DESC LIMIT 1",
        (tps_code, election),
    )


def _numbers(row: Any) -> tuple[int, dict[str, Any]] | None:
    """A ``_latest_result`` row as its revision and numbers."""
    if row is None:
        return None
    body = json.loads(row[1])
    return row[0], {section: body.get(section, {}) for section in SECTIONS}


# ---- reads (on a read connection; readers never block the writer) ----


def progress(
    conn: Connection, kecamatan_code: str, election: str, tps_codes: tuple[str, ...]
) -> dict[str, Any]:
    """Where the plenary of one kecamatan stands, and its D.Hasil once every TPS is closed."""
    with snapshot(conn):
        rows = {
            row[0]: row
            for row in conn.execute(
                "SELECT tps_code, status, manual, revision, differences, since, closed_at "
                "FROM plenary WHERE kecamatan_code = ? AND election = ?",
                (kecamatan_code, election),
            )
        }
        uploaded = {
            row[0]
            for row in conn.execute(
                "SELECT tps_code FROM latest WHERE election = ? AND tps_code >= ? AND tps_code < ?",
                (election, kecamatan_code, kecamatan_code + ":"),  # ":" sorts after "9"
            )
        }
    closed: list[dict[str, Any]] = []
    still_open: list[dict[str, Any]] = []
    pending: list[str] = []
    missing: list[str] = []
    for code in tps_codes:
        row = rows.get(code)
        if row is None:
            (pending if code in uploaded else missing).append(code)
        elif row[1] == "closed":
            closed.append({"tps_code": code, "closed_at": row[6], "revision": row[3]})
        else:
            still_open.append(
                {
                    "tps_code": code,
                    "reason": "discrepancy",
                    "differences": json.loads(row[4]),
                    "since": row[5],
                }
            )
    complete = bool(tps_codes) and len(closed) == len(tps_codes)
    return {
        "kecamatan_code": kecamatan_code,
        "election": election,
        "tps_total": len(tps_codes),
        "closed": len(closed),
        "closed_tps": closed,
        "open": still_open,
        "pending": pending,
        "missing": missing,
        "complete": complete,
        "d_hasil": _d_hasil([rows[item["tps_code"]] for item in closed]) if complete else None,
    }


def _d_hasil(closed_rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The kecamatan's sums over its gaveled TPS (their manual totals, equal to Sirekap's)."""
    sums: dict[str, dict[str, int]] = {section: {} for section in SECTIONS}
    for row in closed_rows:
        manual = json.loads(row[2])
        for section in SECTIONS:
            for key, value in manual.get(section, {}).items():
                sums[section][key] = sums[section].get(key, 0) + value
    return {
        **{section: dict(sorted(sums[section].items())) for section in SECTIONS},
        "tps": len(closed_rows),
        "completed_at": max(str(row[6]) for row in closed_rows),
    }


def export_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """One line per TPS and election the plenary dealt with, for the harness's export."""
    for row in conn.execute(
        "SELECT kecamatan_code, election, tps_code, status, closed_at, revision, differences, "
        "manual FROM plenary ORDER BY kecamatan_code, election, tps_code"
    ):
        yield {
            "kind": "plenary",
            "kecamatan_code": row[0],
            "election": row[1],
            "tps_code": row[2],
            "status": row[3],
            "closed_at": row[4],
            "revision": row[5],
            "differences": json.loads(row[6]),
            "manual": json.loads(row[7]),
        }
