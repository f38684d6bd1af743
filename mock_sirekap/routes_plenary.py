"""The plenary side: PPK operators log in per kecamatan, submit each TPS's hand-counted totals, and
follow the kecamatan's progress up to its D.Hasil (see ``mock_sirekap.plenary``).

An operator token acts only on its own kecamatan (``dependencies.OperatorKecamatan``), and on the
TPS the registry lists there (``dependencies.plenary_tps``); the progress is also open to the admin
token (``dependencies.ViewedKecamatan``). Manual totals are read only once all of that is checked.

While the ``plenary_gate`` server fault is set, every route here answers 503 + Retry-After (the
admission middleware refuses them before they arrive); uploads and public reads go on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from mock_sirekap import metrics
from mock_sirekap.db import StorageUnavailable
from mock_sirekap.dependencies import (
    Mock,
    Operator,
    OperatorKecamatan,
    ViewedKecamatan,
    plenary_tps,
)
from mock_sirekap.errors import ApiError
from mock_sirekap.json_body import body_doc, read_json
from mock_sirekap.plenary import (
    AlreadyGaveled,
    ManualEntry,
    MissingUpload,
    PlenaryOutcome,
    progress,
    submit_manual,
)
from mock_sirekap.routes_device import CandidateId, Count, FieldName
from mock_sirekap.state import MockState
from mock_sirekap.storage import StorageError

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        401: "missing, invalid or expired operator token",
        403: "token scoped to another kecamatan, or TPS not in that kecamatan",
        404: "unknown kecamatan or election",
        503: "plenary suspended for maintenance, server at capacity, or storage unavailable",
    }.items()
}


class OperatorSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operator_id: str = Field(min_length=1, max_length=200)
    kecamatan_code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=200)


class OperatorSessionResponse(BaseModel):
    token: str
    expires_at: str


class ManualTotals(BaseModel):
    """A TPS's hand-counted totals, in the shape of a result submission's numbers."""

    model_config = ConfigDict(extra="forbid")
    chart: dict[CandidateId, Count]
    administrasi: dict[FieldName, Count]


class Difference(BaseModel):
    field: str = Field(description='"chart.<id>" or "administrasi.<name>"')
    manual: int | None
    sirekap: int | None


class PlenaryResult(BaseModel):
    status: str = Field(description="matched or discrepancy")
    tps_code: str
    election: str
    revision: int = Field(description="the stored result revision compared")
    differences: list[Difference]
    closed: bool
    closed_at: str | None


class ClosedTps(BaseModel):
    tps_code: str
    closed_at: str
    revision: int


class OpenTps(BaseModel):
    tps_code: str
    reason: str
    differences: list[Difference]
    since: str


class DHasil(BaseModel):
    chart: dict[str, int]
    administrasi: dict[str, int]
    tps: int
    completed_at: str


class PlenaryProgress(BaseModel):
    kecamatan_code: str
    election: str
    tps_total: int
    closed: int
    closed_tps: list[ClosedTps]
    open: list[OpenTps]
    pending: list[str] = Field(description="TPS uploaded, not yet submitted to the plenary")
    missing: list[str] = Field(description="TPS with no upload")
    complete: bool
    d_hasil: DHasil | None = Field(description="the kecamatan's sums once every TPS is closed")


MANUAL_BODY_DOC = body_doc(ManualTotals)
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "no result uploaded yet, or TPS gaveled with other totals"},
    415: {"description": "the body is not declared JSON"},
    422: {"description": "body not JSON integers under digit ids; every field named"},
}

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.post("/operators/sessions", status_code=201, response_model=OperatorSessionResponse)
async def create_operator_session(
    body: OperatorSessionRequest, mock: Mock
) -> OperatorSessionResponse:
    """Log a PPK operator in; the token it gets acts only on its own kecamatan."""
    if not mock.operators.check(body.operator_id, body.kecamatan_code, body.secret):
        raise ApiError(401, "unknown operator, wrong kecamatan or wrong secret")
    token, session = mock.operator_signer.issue(body.kecamatan_code, body.operator_id)
    return OperatorSessionResponse(token=token, expires_at=session.expires_at)


@router.put(
    "/recap/{kecamatan_code}/{election}/plenary/{tps_code}",
    response_model=PlenaryResult,
    openapi_extra={"requestBody": MANUAL_BODY_DOC},
    responses=SUBMIT_RESPONSES,
)
async def submit(
    operator: Operator,
    kecamatan: OperatorKecamatan,
    tps_code: Annotated[str, Depends(plenary_tps)],
    request: Request,
    mock: Mock,
) -> dict[str, Any]:
    """Compare a TPS's manual totals with its stored result; a match gavels the TPS."""
    body = await read_json(request, ManualTotals, "manual totals")
    entry = ManualEntry(
        kecamatan.code,
        kecamatan.election,
        tps_code,
        operator.operator_id,
        {"chart": body.chart, "administrasi": body.administrasi},
    )
    outcome = await _commit(mock, entry)
    metrics.PLENARY_SUBMISSIONS.labels(outcome.status).inc()
    if outcome.newly_closed:
        metrics.PLENARY_CLOSED.inc()
    return outcome.as_dict()


@router.get("/recap/{kecamatan_code}/{election}/plenary", response_model=PlenaryProgress)
async def read_progress(kecamatan: ViewedKecamatan, mock: Mock) -> dict[str, Any]:
    """The kecamatan's plenary: closed, open, pending and missing TPS, and its D.Hasil."""
    try:
        return await mock.read(progress, kecamatan.code, kecamatan.election, kecamatan.tps_codes)
    except StorageError as exc:
        raise ApiError(503, f"database not readable: {exc}") from None


async def _commit(mock: MockState, entry: ManualEntry) -> PlenaryOutcome:
    """Run the comparison in the next durable batch; map its refusals to HTTP errors."""
    try:
        outcome: PlenaryOutcome = await mock.committer.submit(
            lambda conn: submit_manual(conn, entry), key=(entry.tps_code, entry.election)
        )
    except MissingUpload as exc:
        metrics.PLENARY_SUBMISSIONS.labels("missing_upload").inc()
        raise ApiError(409, str(exc), outcome="missing_upload", differences=[]) from None
    except AlreadyGaveled as exc:
        metrics.PLENARY_SUBMISSIONS.labels("already_gaveled").inc()
        raise ApiError(
            409,
            str(exc),
            outcome="already_gaveled",
            closed_at=exc.closed_at,
            differences=exc.differences,
        ) from None
    except StorageUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    return outcome
