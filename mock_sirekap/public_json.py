"""Reads in the shape of KPU's public results JSON (KPU public results JSON, pemilu2024.kpu.go.id).

The mock serves what devices uploaded the way KPU's site published it in 2024.
"""

from __future__ import annotations

from typing import Any

from mock_sirekap.store import StoredResult

PSU = "Reguler"
MODE = "hhcw"


def kpu_ts(iso: str) -> str:
    """``2024-02-14T11:44:00.123+00:00`` -> ``2024-02-14 11:44:00`` as in KPU's ``ts`` field."""
    return iso[:19].replace("T", " ")


def tps_document(
    tps_code: str, election: str, stored: StoredResult | None, base_url: str
) -> dict[str, Any]:
    """The per-TPS document; before any upload, KPU's shape with empty data."""
    if stored is None:
        return {
            "mode": MODE,
            "chart": None,
            "images": [],
            "administrasi": None,
            "psu": None,
            "ts": None,
            "status_suara": False,
            "status_adm": False,
        }
    body = stored.body
    images = [
        f"{base_url}/api/v1/tps/{tps_code}/{election}/pages/{stored.page_numbers.get(sha, 0)}"
        f"?sha256={sha}"
        for sha in body["pages"]
    ]
    return {
        "mode": MODE,
        "chart": body["chart"],
        "images": images,
        "administrasi": body["administrasi"],
        "psu": PSU,
        "ts": kpu_ts(stored.stored_at),
        "status_suara": True,
        "status_adm": True,
        "revision": stored.revision,
        "receipt_id": stored.receipt_id,
        "content_sha256": stored.content_sha256,
    }


def recap_document(
    children: list[str],
    totals_by_child: dict[str, int],
    votes: dict[str, dict[str, int]],
    done: dict[str, int],
    ts: str,
) -> dict[str, Any]:
    """The aggregate document: chart, one table row per child region, progress."""
    chart: dict[str, int] = {}
    table: dict[str, dict[str, Any]] = {}
    for child in children:
        child_votes = votes.get(child, {})
        for candidate, count in child_votes.items():
            chart[candidate] = chart.get(candidate, 0) + count
        total, progress = totals_by_child[child], done.get(child, 0)
        table[child] = {
            **child_votes,
            "psu": PSU,
            "persen": round(100.0 * progress / total, 2) if total else 0.0,
            "status_progress": progress > 0,
        }
    total = sum(totals_by_child[child] for child in children)
    progress = sum(done.get(child, 0) for child in children)
    return {
        "ts": ts,
        "psu": PSU,
        "mode": MODE,
        "chart": {**chart, "persen": round(100.0 * progress / total, 2) if total else 0.0},
        "table": table,
        "progres": {"total": total, "progres": progress},
    }
