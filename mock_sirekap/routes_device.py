"""The device side of the upload path: log in, upload page photos, submit the result.

A device logs in with its TPS and secret (``POST /api/v1/sessions``) and gets a token that may
write only to its own TPS (``dependencies.Device``); with it, it uploads each page photo (PUT,
idempotent by content hash) and then the vote counts (PUT, idempotent by Idempotency-Key and by
content, ballot arithmetic checked). Both bodies are read only once the token is accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from mock_sirekap import metrics, plenary
from mock_sirekap.arithmetic import check_result
from mock_sirekap.auth import DeviceSession
from mock_sirekap.db import StorageUnavailable
from mock_sirekap.dependencies import (
    Device,
    DirectHandler,
    DirectRoute,
    Mock,
    device_session,
    mock_state,
    resolved_by,
)
from mock_sirekap.elections import election_error, parse_page
from mock_sirekap.errors import ApiError, arithmetic_error
from mock_sirekap.json_body import body_doc, read_json
from mock_sirekap.photos import SHA256_HEX, parse_sha256, receive_photo
from mock_sirekap.state import MockState
from mock_sirekap.storage import Connection
from mock_sirekap.store import Conflict, PageWrite, Receipt, ResultWrite, store_page, submit_result

Outcome = TypeVar("Outcome")
Steps = Generator[None, None, Outcome]  # a write in steps (``batch``)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        400: "bad request (the error names what is wrong)",
        401: "missing, invalid or expired device token",
        403: "token scoped to another TPS",
        404: "unknown TPS, election or page",
        408: "the body did not arrive within the body timeout",
        413: "body over the limit (declared or sent)",
        503: "server at capacity (Retry-After) or storage unavailable",
    }.items()
}


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str = Field(min_length=1, max_length=200)
    tps_code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=200)


class SessionResponse(BaseModel):
    token: str
    expires_in: int


# Ids and counts are strict: ASCII-digit ids ("١0" and "²1" are digits to str.isdigit, not here),
# JSON integers for counts (not "3", 3.0 or true).
CandidateId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Count = Annotated[StrictInt, Field(ge=0, le=100_000)]


class ResultSubmission(BaseModel):
    """A C.Hasil's numbers: the candidates' votes, the administration section, its page photos."""

    model_config = ConfigDict(extra="forbid")
    chart: dict[CandidateId, Count] = Field(description="party or candidate id (digits) -> votes")
    administrasi: dict[FieldName, Count]
    pages: list[Annotated[str, Field(pattern=SHA256_HEX.pattern)]] = Field(
        min_length=1, max_length=64
    )
    revision: StrictInt | None = Field(None, ge=1, le=1000, description="n+1 for a correction")


class ReceiptResponse(BaseModel):
    receipt_id: str
    content_sha256: str
    stored_at: str
    revision: int


# The result body is read once the token is checked, and parsed by pydantic-core straight from
# JSON (faster than FastAPI's json-then-validate); the OpenAPI document still describes it.
RESULT_BODY_DOC = body_doc(ResultSubmission)
PAGE_BODY_DOC = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
}
RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "replay: the same result was already stored"},
    409: {"description": "a different result is stored, or a listed page is missing"},
    415: {"description": "the body is not declared JSON"},
    422: {
        "description": "not valid JSON, strict types refused, or ballot arithmetic "
        "violated; every field or rule listed"
    },
}


async def page_number(
    election: str,
    page: Annotated[str, PathParam(description="1, 2, ...: decimal, no sign or leading zero")],
) -> int:
    """The page of the path as a number; 404 unless that ballot's form has it (or the election
    is unknown)."""
    number, problem = 0, election_error(election)
    if problem is None:
        number, problem = parse_page(election, page)
    if problem:
        raise ApiError(404, problem)
    return number


async def declared_sha256(x_content_sha256: Annotated[str | None, Header()] = None) -> str:
    """The photo's SHA-256 the X-Content-SHA256 header declares (400 unless well-formed)."""
    return parse_sha256(x_content_sha256)


async def given_idempotency_key(idempotency_key: Annotated[str | None, Header()] = None) -> str:
    """The Idempotency-Key header, stripped ("" without one); checked once the body is read."""
    return (idempotency_key or "").strip()


router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, route_class=DirectRoute)


async def _device_of(request: Request) -> tuple[str, str, MockState, DeviceSession]:
    """What ``Device`` resolves for the path, by the same function."""
    tps_code, election = request.path_params["tps_code"], request.path_params["election"]
    mock = await mock_state(request)
    authorization = request.headers.get("authorization")
    return tps_code, election, mock, await device_session(tps_code, election, mock, authorization)


async def _upload_page_directly(request: Request) -> JSONResponse:
    tps_code, election, mock, _ = await _device_of(request)
    number = await page_number(election, request.path_params["page"])
    expected = await declared_sha256(request.headers.get("x-content-sha256"))
    return await upload_page(tps_code, election, number, expected, request, mock)


async def _submit_directly(request: Request) -> JSONResponse:
    tps_code, election, mock, session = await _device_of(request)
    key = await given_idempotency_key(request.headers.get("idempotency-key"))
    return await submit(tps_code, election, session, key, request, mock)


@router.post("/sessions", status_code=201, response_model=SessionResponse)
async def create_session(body: SessionRequest, mock: Mock) -> SessionResponse:
    """Log a KPPS device in; the token it gets may write only to its own TPS."""
    if not mock.registry.check_device(body.device_id, body.tps_code, body.secret):
        raise ApiError(401, "unknown device, wrong TPS or wrong secret")
    return SessionResponse(
        token=mock.signer.issue(body.tps_code, body.device_id), expires_in=mock.signer.ttl
    )


@router.put(
    "/tps/{tps_code}/{election}/pages/{page}",
    status_code=201,
    dependencies=[Depends(device_session)],
    openapi_extra={"requestBody": PAGE_BODY_DOC},
    responses={200: {"description": "identical photo already stored"}, 413: {}},
)
@resolved_by(_upload_page_directly)
async def upload_page(
    tps_code: str,
    election: str,
    number: Annotated[int, Depends(page_number)],
    expected: Annotated[str, Depends(declared_sha256)],
    request: Request,
    mock: Mock,
) -> JSONResponse:
    """Store one page photo; the SHA-256 header proves the body arrived whole."""
    actual, size = await receive_photo(request, expected, mock.config.keep_photos)
    write = PageWrite(tps_code, election, number, actual, size)
    outcome = await _commit(mock, lambda conn: store_page(conn, write), (tps_code, election))
    if outcome.created:
        metrics.PAGES_STORED.inc()
        metrics.UPLOAD_BYTES.inc(size)
    return JSONResponse(
        {"sha256": actual, "size": size, "stored_at": outcome.stored_at},
        201 if outcome.created else 200,
    )


@router.put(
    "/tps/{tps_code}/{election}/result",
    status_code=201,
    response_model=ReceiptResponse,
    openapi_extra={"requestBody": RESULT_BODY_DOC},
    responses=RESULT_RESPONSES,
)
@resolved_by(_submit_directly)
async def submit(
    tps_code: str,
    election: str,
    session: Device,
    key: Annotated[str, Depends(given_idempotency_key)],
    request: Request,
    mock: Mock,
) -> JSONResponse:
    """Store the vote counts of a TPS; idempotent by Idempotency-Key and by content."""
    body = await read_json(request, ResultSubmission, "a result")
    if not 1 <= len(key) <= 200:
        raise ApiError(400, "missing Idempotency-Key header: send one unique key per result")
    violations = check_result(
        election, body.chart, body.administrasi, mock.registry.tps[tps_code].dpt
    )
    if violations:
        raise arithmetic_error(violations)
    write = _result_write(tps_code, election, session.device_id, key, body)
    numbers = {"chart": body.chart, "administrasi": body.administrasi}
    receipt, gaveled = await _commit(
        mock, lambda conn: _store_result(conn, write, numbers), (tps_code, election)
    )
    if receipt.created:
        metrics.RESULTS_STORED.inc()
    if gaveled:
        metrics.PLENARY_CLOSED.inc()
    return JSONResponse(receipt.as_dict(), 201 if receipt.created else 200)


# What ``hot_paths`` serves straight: its endpoint class -> the route's resolved_by handler.
HOT_HANDLERS: dict[str, DirectHandler] = {"page": _upload_page_directly, "result": _submit_directly}


async def _commit(
    mock: MockState, operation: Callable[[Connection], Steps[Outcome]], tps: tuple[str, str]
) -> Outcome:
    """Run a write on the rows of one TPS and election in the next durable batch; map its
    refusals to HTTP errors."""
    try:
        outcome: Outcome = await mock.committer.submit(operation, key=tps)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    except StorageUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    return outcome


def _store_result(
    conn: Connection, write: ResultWrite, numbers: plenary.Numbers
) -> Steps[tuple[Receipt, bool]]:
    """Store the result; True with it when that gavels the TPS in a plenary held open for it.

    A new revision of a TPS the plenary holds open is compared with the kept manual entry in the
    same transaction: the gavel is as durable as the upload. A first revision cannot meet one (the
    plenary keeps an entry only once a result is stored), so the common upload skips the lookup.
    """
    # Only a correction (which names its revision) can be a new revision > 1; its lookup is sent
    # with the result's own reads, so it costs no round trip of its own.
    kept = (
        plenary.open_entry(conn, write.tps_code, write.election)
        if write.revision is not None and write.revision > 1
        else None
    )
    receipt = yield from submit_result(conn, write)
    gaveled = (
        kept is not None
        and receipt.created
        and receipt.revision > 1
        and plenary.recompare_after_result(
            conn, kept, write.tps_code, write.election, receipt.revision, numbers
        )
    )
    return receipt, gaveled


def _result_write(
    tps_code: str, election: str, device_id: str, key: str, body: ResultSubmission
) -> ResultWrite:
    """The row to store: the content hash covers chart, administrasi and pages, not revision."""
    content = {"chart": body.chart, "administrasi": body.administrasi, "pages": body.pages}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return ResultWrite(
        tps_code,
        election,
        device_id,
        key,
        body.revision,
        hashlib.sha256(canonical.encode()).hexdigest(),
        canonical,
        json.dumps(body.chart, separators=(",", ":")),
        tuple(body.pages),
    )
