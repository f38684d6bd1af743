"""The read side (KPU's public JSON shapes), health checks and metrics: no token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from mock_sirekap import metrics
from mock_sirekap.dependencies import Mock
from mock_sirekap.elections import child_level, election_error, parse_page
from mock_sirekap.errors import ApiError
from mock_sirekap.public_json import kpu_ts, recap_document, tps_document
from mock_sirekap.storage import StorageError
from mock_sirekap.store import now_iso, read_pages, read_result, recap_rows


async def known_tps(tps_code: str, election: str, mock: Mock) -> None:
    """404 unless the TPS of the path is in the registry and the election is known."""
    if tps_code not in mock.registry.tps:
        raise ApiError(404, f"unknown TPS {tps_code!r}: not in this server's registry")
    problem = election_error(election)
    if problem:
        raise ApiError(404, problem)


def _region_level(region_code: str, election: str) -> int:
    """The code length of the regions one level below ``region_code``; 404 for an unknown region
    or election."""
    child_len = child_level(region_code)
    if child_len is None:
        raise ApiError(
            404,
            f"unknown region code {region_code!r}: give 0 (national) or a provinsi (2 digits), "
            "kab/kota (4), kecamatan (6) or desa (10) code",
        )
    problem = election_error(election)
    if problem:
        raise ApiError(404, problem)
    return child_len


router = APIRouter()


@router.get(
    "/api/v1/tps/{tps_code}/{election}", dependencies=[Depends(known_tps)], responses={404: {}}
)
async def read_tps(tps_code: str, election: str, request: Request, mock: Mock) -> dict[str, Any]:
    """A TPS's stored result in the shape of KPU's public per-TPS JSON."""
    stored = await mock.read(read_result, tps_code, election)
    base = str(request.base_url).rstrip("/")
    return tps_document(tps_code, election, stored, base)


@router.get(
    "/api/v1/tps/{tps_code}/{election}/pages/{page}",
    dependencies=[Depends(known_tps)],
    responses={404: {}},
)
async def read_page(tps_code: str, election: str, page: str, mock: Mock) -> dict[str, Any]:
    """The stored versions of one page photo (hash, size, when); ``page`` is 1, 2, ...
    (decimal, no sign or leading zero)."""
    number, problem = parse_page(election, page)
    if problem:
        raise ApiError(404, problem)
    versions = await mock.read(read_pages, tps_code, election, number)
    if not versions:
        raise ApiError(404, f"page {number} of TPS {tps_code} {election} was never uploaded")
    return {
        "page": number,
        "versions": [{"sha256": v[0], "size": v[1], "stored_at": v[2]} for v in versions],
    }


@router.get("/api/v1/recap/{region_code}/{election}", responses={404: {}})
async def recap(region_code: str, election: str, mock: Mock) -> dict[str, Any]:
    """Aggregate of a region ("0" national, provinsi, kab/kota, kecamatan, desa)."""
    child_len = _region_level(region_code, election)
    registry = mock.registry
    if registry.tps_in(region_code) == 0:
        raise ApiError(404, f"region {region_code} holds no TPS in this server's registry")
    children = registry.children(region_code, child_len)
    totals = {child: registry.tps_in(child) for child in children}
    prefix = "" if region_code == "0" else region_code
    votes, done = await mock.read(recap_rows, prefix, child_len, election)
    return recap_document(children, totals, votes, done, kpu_ts(now_iso()))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {}})
async def readyz(mock: Mock) -> dict[str, Any]:
    """Ready to take uploads: the database answers and the writer runs (503 while the database
    cannot be reached, so a load balancer takes this instance out)."""
    try:
        await mock.read(lambda conn: conn.execute("SELECT 1 FROM results LIMIT 1").fetchall())
    except StorageError as exc:
        raise ApiError(503, f"database not readable: {exc}") from None
    if not mock.committer.alive:
        raise ApiError(503, "database writer stopped")
    return {"status": "ready", "tps": len(mock.registry.tps)}


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
