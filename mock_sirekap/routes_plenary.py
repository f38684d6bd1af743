"""The plenary side: PPK operators log in per kecamatan, submit each TPS's hand-counted totals, and
follow the kecamatan's progress up to its D.Hasil (see ``mock_sirekap.plenary``).

While the ``plenary_gate`` server fault is set, every route here answers 503 + Retry-After (the
admission middleware refuses them before they arrive); uploads and public reads go on.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from mock_sirekap import metrics
from mock_sirekap.auth import AuthError, OperatorSession, is_admin
from mock_sirekap.db import StorageUnavailable
from mock_sirekap.elections import election_error
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


def build_router(state: MockState) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

    def operator(authorization: str | None) -> OperatorSession:
        try:
            session = state.operator_signer.verify(authorization)
        except AuthError as exc:
            raise ApiError(exc.status, str(exc)) from None
        _require_listed(state, session)
        return session

    def known(kecamatan_code: str, election: str) -> tuple[str, ...]:
        """The kecamatan's TPS codes; 404 for an unknown kecamatan or election."""
        tps_codes = state.kecamatan.get(kecamatan_code)
        if tps_codes is None:
            raise ApiError(
                404,
                f"unknown kecamatan {kecamatan_code!r}: give the 6-digit code of a kecamatan "
                "with TPS in this server's registry",
            )
        problem = election_error(election)
        if problem:
            raise ApiError(404, problem)
        return tps_codes

    def in_scope(session: OperatorSession, kecamatan_code: str) -> None:
        if session.kecamatan_code != kecamatan_code:
            raise ApiError(
                403,
                f"token is scoped to kecamatan {session.kecamatan_code}; it cannot act on "
                f"kecamatan {kecamatan_code}",
            )

    @router.post("/operators/sessions", status_code=201, response_model=OperatorSessionResponse)
    async def create_operator_session(body: OperatorSessionRequest) -> OperatorSessionResponse:
        """Log a PPK operator in; the token it gets acts only on its own kecamatan."""
        if not state.operators.check(body.operator_id, body.kecamatan_code, body.secret):
            raise ApiError(401, "unknown operator, wrong kecamatan or wrong secret")
        token, session = state.operator_signer.issue(body.kecamatan_code, body.operator_id)
        return OperatorSessionResponse(token=token, expires_at=session.expires_at)

    @router.put(
        "/recap/{kecamatan_code}/{election}/plenary/{tps_code}",
        response_model=PlenaryResult,
        openapi_extra={"requestBody": MANUAL_BODY_DOC},
        responses={
            409: {"description": "no result uploaded yet, or TPS gaveled with other totals"},
            415: {"description": "the body is not declared JSON"},
            422: {"description": "body not JSON integers under digit ids; every field named"},
        },
    )
    async def submit(
        kecamatan_code: str,
        election: str,
        tps_code: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Compare a TPS's manual totals with its stored result; a match gavels the TPS."""
        session = operator(authorization)
        tps_codes = known(kecamatan_code, election)
        in_scope(session, kecamatan_code)
        if tps_code not in tps_codes:
            raise ApiError(
                403,
                f"TPS {tps_code!r} is not in kecamatan {kecamatan_code}: its plenary takes only "
                f"the {len(tps_codes)} TPS the registry lists there",
            )
        body = await read_json(request, ManualTotals, "manual totals")
        entry = ManualEntry(
            kecamatan_code,
            election,
            tps_code,
            session.operator_id,
            {"chart": body.chart, "administrasi": body.administrasi},
        )
        outcome = await _commit(state, entry)
        metrics.PLENARY_SUBMISSIONS.labels(outcome.status).inc()
        if outcome.newly_closed:
            metrics.PLENARY_CLOSED.inc()
        return outcome.as_dict()

    @router.get(
        "/recap/{kecamatan_code}/{election}/plenary",
        response_model=PlenaryProgress,
    )
    async def read_progress(
        kecamatan_code: str,
        election: str,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """The kecamatan's plenary: closed, open, pending and missing TPS, and its D.Hasil."""
        admin = is_admin(authorization, state.config.admin_token)
        session = None
        if not admin:
            if not authorization:
                raise ApiError(
                    401,
                    "missing token: send Authorization: Bearer <token> with an operator token "
                    "of this kecamatan or the admin token",
                )
            session = operator(authorization)
        tps_codes = known(kecamatan_code, election)
        if session is not None:
            in_scope(session, kecamatan_code)
        try:
            return progress(state.reader, kecamatan_code, election, tps_codes)
        except sqlite3.Error as exc:
            raise ApiError(503, f"database not readable: {exc}") from None

    return router


def _require_listed(state: MockState, session: OperatorSession) -> None:
    """401 for a token signed before a restart with other operators: the key holds, the account
    may not."""
    listed = state.operators.by_id.get(session.operator_id)
    if listed is None or listed.kecamatan_code != session.kecamatan_code:
        raise ApiError(
            401,
            f"operator token names operator {session.operator_id!r} of kecamatan "
            f"{session.kecamatan_code}, which this server does not list: log in again",
        )


async def _commit(state: MockState, entry: ManualEntry) -> PlenaryOutcome:
    """Run the comparison in the next durable batch; map its refusals to HTTP errors."""
    try:
        outcome: PlenaryOutcome = await state.committer.submit(
            lambda conn: submit_manual(conn, entry)
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
