"""The read side (KPU's public JSON shapes), health checks and metrics."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Request, Response

from mock_sirekap import metrics
from mock_sirekap.elections import child_level, election_error, parse_page
from mock_sirekap.errors import ApiError
from mock_sirekap.public_json import kpu_ts, recap_document, tps_document
from mock_sirekap.state import MockState
from mock_sirekap.store import now_iso, read_pages, read_result, recap_rows


def build_router(state: MockState) -> APIRouter:
    router = APIRouter()

    def known(tps_code: str, election: str) -> None:
        if tps_code not in state.registry.tps:
            raise ApiError(404, f"unknown TPS {tps_code!r}: not in this server's registry")
        problem = election_error(election)
        if problem:
            raise ApiError(404, problem)

    @router.get("/api/v1/tps/{tps_code}/{election}", responses={404: {}})
    async def read_tps(tps_code: str, election: str, request: Request) -> dict[str, Any]:
        """A TPS's stored result in the shape of KPU's public per-TPS JSON."""
        known(tps_code, election)
        stored = read_result(state.reader, tps_code, election)
        base = str(request.base_url).rstrip("/")
        return tps_document(tps_code, election, stored, base)

    @router.get("/api/v1/tps/{tps_code}/{election}/pages/{page}", responses={404: {}})
    async def read_page(tps_code: str, election: str, page: str) -> dict[str, Any]:
        """The stored versions of one page photo (hash, size, when); ``page`` is 1, 2, ...
        (decimal, no sign or leading zero)."""
        known(tps_code, election)
        number, problem = parse_page(election, page)
        if problem:
            raise ApiError(404, problem)
        versions = read_pages(state.reader, tps_code, election, number)
        if not versions:
            raise ApiError(404, f"page {number} of TPS {tps_code} {election} was never uploaded")
        return {
            "page": number,
            "versions": [{"sha256": v[0], "size": v[1], "stored_at": v[2]} for v in versions],
        }

    @router.get("/api/v1/recap/{region_code}/{election}", responses={404: {}})
    async def recap(region_code: str, election: str) -> dict[str, Any]:
        """Aggregate of a region ("0" national, provinsi, kab/kota, kecamatan, desa)."""
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
        registry = state.registry
        if registry.tps_in(region_code) == 0:
            raise ApiError(404, f"region {region_code} holds no TPS in this server's registry")
        children = registry.children(region_code, child_len)
        totals = {child: registry.tps_in(child) for child in children}
        prefix = "" if region_code == "0" else region_code
        votes, done = recap_rows(state.reader, prefix, child_len, election)
        return recap_document(children, totals, votes, done, kpu_ts(now_iso()))

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {}})
    async def readyz() -> dict[str, Any]:
        """Ready to take uploads: the database answers and the writer runs."""
        try:
            state.reader.execute("SELECT 1 FROM results LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise ApiError(503, f"database not readable: {exc}") from None
        if not state.committer.alive:
            raise ApiError(503, "database writer stopped")
        return {"status": "ready", "tps": len(state.registry.tps)}

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return router
