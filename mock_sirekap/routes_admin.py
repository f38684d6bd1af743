"""Admin endpoints behind the admin token: server-side faults and the export for the audit.

Every route here needs the admin token (``dependencies.require_admin``, a dependency of the whole
router): a fault state or lease renewal is read only once the token is accepted.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from mock_sirekap import plenary
from mock_sirekap.dependencies import Mock, require_admin
from mock_sirekap.errors import ApiError
from mock_sirekap.json_body import body_doc, read_json
from mock_sirekap.server_faults import FaultState, LeasedFaultSpec, LeaseRenewal
from mock_sirekap.state import MockState
from mock_sirekap.storage import snapshot
from mock_sirekap.store import Conflict, export_rows, now_iso

ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing admin token"},
    403: {"description": "wrong admin token"},
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {415: {}, 422: {}}

router = APIRouter(
    prefix="/admin", responses=ADMIN_RESPONSES, dependencies=[Depends(require_admin)]
)


@router.get("/faults")
async def get_faults(mock: Mock) -> dict[str, Any]:
    """The server faults in force (``active`` false once a lease has lapsed, with
    ``lapsed_at``)."""
    await mock.refresh_faults()
    return mock.runtime.current_faults().as_dict()


@router.put(
    "/faults",
    openapi_extra={"requestBody": body_doc(LeasedFaultSpec)},
    responses={409: {"description": "brown-out without a capacity model"}, **BODY_RESPONSES},
)
async def put_faults(request: Request, mock: Mock) -> dict[str, Any]:
    """Replace the server fault state: error rate and status, latency, capacity brown-out,
    plenary gate. With ``lease_s`` the state lapses (every fault removed) unless renewed
    within ``lease_s`` seconds by ``POST /admin/faults/lease``; the answer's ``version``
    names this state for the renewal."""
    body = await read_json(request, LeasedFaultSpec, "a fault state")
    spec = body.fault_spec()
    if spec.capacity_fraction < 1.0 and mock.runtime.capacity.raw:
        raise ApiError(
            409,
            "capacity brown-out needs a capacity model; this server runs in raw mode "
            "(start it with --capacity FILE)",
        )
    saved = await mock.save_faults(FaultState.leased(spec, now_iso(), body.lease_s))
    return saved.as_dict()


@router.post(
    "/faults/lease",
    openapi_extra={"requestBody": body_doc(LeaseRenewal)},
    responses={
        409: {
            "description": "no faults in force, the lease lapsed, or another version is in force"
        },
        **BODY_RESPONSES,
    },
)
async def renew_lease(request: Request, mock: Mock) -> dict[str, Any]:
    """Renew the lease of the faults in force: they hold ``lease_s`` more seconds from now.
    A lapsed lease is not revived (409): set the faults again with ``PUT /admin/faults``."""
    body = await read_json(request, LeaseRenewal, "a lease renewal")
    try:
        saved = await mock.renew_faults(body.lease_s, body.version)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    return saved.as_dict()


@router.delete("/faults", status_code=204)
async def delete_faults(mock: Mock) -> Response:
    """Remove every server fault."""
    await mock.save_faults(FaultState())
    return Response(status_code=204)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export(mock: Mock) -> StreamingResponse:
    """NDJSON of every stored result revision and page, for the integrity audit, and of every
    plenary TPS state (lines of kind result, page and plenary)."""
    return StreamingResponse(_export_lines(mock), media_type="application/x-ndjson")


def _export_lines(mock: MockState) -> Iterator[bytes]:
    # A connection of its own: the export streams from a thread while requests go on.
    conn = mock.database.connect(writer=False)
    try:
        with snapshot(conn):  # one consistent snapshot of the whole export
            for row in itertools.chain(export_rows(conn), plenary.export_rows(conn)):
                yield (json.dumps(row, separators=(",", ":")) + "\n").encode()
    finally:
        conn.close()
