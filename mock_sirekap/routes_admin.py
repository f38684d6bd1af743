"""Admin endpoints behind the admin token: server-side faults and the export for the audit."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from mock_sirekap import plenary
from mock_sirekap.auth import AuthError, check_admin
from mock_sirekap.db import connect
from mock_sirekap.errors import ApiError
from mock_sirekap.server_faults import FaultSpec, FaultState
from mock_sirekap.state import MockState
from mock_sirekap.store import export_rows, now_iso

ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing admin token"},
    403: {"description": "wrong admin token"},
}


def build_router(state: MockState) -> APIRouter:
    router = APIRouter(prefix="/admin", responses=ADMIN_RESPONSES)

    def admin(authorization: str | None) -> None:
        try:
            check_admin(authorization, state.config.admin_token)
        except AuthError as exc:
            raise ApiError(exc.status, str(exc)) from None

    @router.get("/faults")
    async def get_faults(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        """The server faults in force."""
        admin(authorization)
        state.reload_faults()
        return state.runtime.faults.as_dict()

    @router.put("/faults", responses={409: {"description": "brown-out without a capacity model"}})
    async def put_faults(
        spec: FaultSpec, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        """Replace the server fault state: error rate and status, latency, capacity brown-out,
        plenary gate."""
        admin(authorization)
        if spec.capacity_fraction < 1.0 and state.runtime.capacity.raw:
            raise ApiError(
                409,
                "capacity brown-out needs a capacity model; this server runs in raw mode "
                "(start it with --capacity FILE)",
            )
        saved = await state.save_faults(FaultState(spec, since=now_iso()))
        return saved.as_dict()

    @router.delete("/faults", status_code=204)
    async def delete_faults(authorization: Annotated[str | None, Header()] = None) -> Response:
        """Remove every server fault."""
        admin(authorization)
        await state.save_faults(FaultState())
        return Response(status_code=204)

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-ndjson": {}}}},
    )
    async def export(authorization: Annotated[str | None, Header()] = None) -> StreamingResponse:
        """NDJSON of every stored result revision and page, for the integrity audit, and of every
        plenary TPS state (lines of kind result, page and plenary)."""
        admin(authorization)
        return StreamingResponse(_export_lines(state), media_type="application/x-ndjson")

    return router


def _export_lines(state: MockState) -> Iterator[bytes]:
    # A connection of its own: the export streams from a thread while requests go on.
    conn = connect(state.config.db, writer=False)
    try:
        conn.execute("BEGIN")  # one consistent snapshot of the whole export
        for row in itertools.chain(export_rows(conn), plenary.export_rows(conn)):
            yield (json.dumps(row, separators=(",", ":")) + "\n").encode()
        conn.execute("COMMIT")
    finally:
        conn.close()
