"""The device side of the upload path: log in, upload page photos, submit the result."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from mock_sirekap import metrics, plenary
from mock_sirekap.arithmetic import check_result
from mock_sirekap.auth import AuthError, DeviceSession
from mock_sirekap.db import StorageUnavailable
from mock_sirekap.elections import election_error, parse_page
from mock_sirekap.errors import ApiError, arithmetic_error
from mock_sirekap.json_body import body_doc, read_json
from mock_sirekap.state import MockState
from mock_sirekap.store import Conflict, PageWrite, Receipt, ResultWrite, store_page, submit_result

HASH_OFF_LOOP_BYTES = 256 * 1024
# One hashing thread: it works beside the event loop; more would only contend for the same cores.
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo-sha256")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
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


def build_router(state: MockState) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

    def authorize(authorization: str | None, tps_code: str, election: str) -> DeviceSession:
        try:
            session = state.signer.verify(authorization)
        except AuthError as exc:
            raise ApiError(exc.status, str(exc)) from None
        if session.tps_code != tps_code:
            raise ApiError(
                403,
                f"token is scoped to TPS {session.tps_code}; it cannot write to TPS {tps_code}",
            )
        if state.registry.device_tps.get(session.device_id) != tps_code:
            # Signed before a restart with another registry: the key holds, the TPS may not.
            raise ApiError(
                401,
                f"device token names device {session.device_id!r} of TPS {tps_code}, which this "
                "server's registry does not list: log in again with a registered device",
            )
        problem = election_error(election)
        if problem:
            raise ApiError(404, problem)
        return session

    @router.post("/sessions", status_code=201, response_model=SessionResponse)
    async def create_session(body: SessionRequest) -> SessionResponse:
        """Log a KPPS device in; the token it gets may write only to its own TPS."""
        if not state.registry.check_device(body.device_id, body.tps_code, body.secret):
            raise ApiError(401, "unknown device, wrong TPS or wrong secret")
        return SessionResponse(
            token=state.signer.issue(body.tps_code, body.device_id), expires_in=state.signer.ttl
        )

    @router.put(
        "/tps/{tps_code}/{election}/pages/{page}",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
        responses={200: {"description": "identical photo already stored"}, 413: {}},
    )
    async def upload_page(
        tps_code: str,
        election: str,
        page: Annotated[str, PathParam(description="1, 2, ...: decimal, no sign or leading zero")],
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_content_sha256: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Store one page photo; the SHA-256 header proves the body arrived whole."""
        authorize(authorization, tps_code, election)
        number, problem = parse_page(election, page)
        if problem:
            raise ApiError(404, problem)
        actual, size = await _receive_photo(request, x_content_sha256, state)
        write = PageWrite(tps_code, election, number, actual, size)
        outcome = await _commit(state, lambda conn: store_page(conn, write))
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
        responses={
            200: {"description": "replay: the same result was already stored"},
            409: {"description": "a different result is stored, or a listed page is missing"},
            415: {"description": "the body is not declared JSON"},
            422: {
                "description": "not valid JSON, strict types refused, or ballot arithmetic "
                "violated; every field or rule listed"
            },
        },
    )
    async def submit(
        tps_code: str,
        election: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Store the vote counts of a TPS; idempotent by Idempotency-Key and by content."""
        session = authorize(authorization, tps_code, election)
        body = await read_json(request, ResultSubmission, "a result")
        key = (idempotency_key or "").strip()
        if not 1 <= len(key) <= 200:
            raise ApiError(400, "missing Idempotency-Key header: send one unique key per result")
        entry = state.registry.tps[tps_code]
        violations = check_result(election, body.chart, body.administrasi, entry.dpt)
        if violations:
            raise arithmetic_error(violations)
        write = _result_write(tps_code, election, session.device_id, key, body)
        numbers = {"chart": body.chart, "administrasi": body.administrasi}

        def store(conn: sqlite3.Connection) -> tuple[Receipt, bool]:
            # A new revision of a TPS the plenary holds open is compared with the kept manual
            # entry in the same transaction: the gavel is as durable as the upload. A first
            # revision cannot meet one (the plenary keeps an entry only once a result is stored),
            # so the common upload skips the lookup.
            receipt = submit_result(conn, write)
            gaveled = (
                receipt.created
                and receipt.revision > 1
                and plenary.recompare_after_result(
                    conn, tps_code, election, receipt.revision, numbers
                )
            )
            return receipt, gaveled

        receipt, gaveled = await _commit(state, store)
        if receipt.created:
            metrics.RESULTS_STORED.inc()
        if gaveled:
            metrics.PLENARY_CLOSED.inc()
        return JSONResponse(receipt.as_dict(), 201 if receipt.created else 200)

    return router


# The result body is read once the token is checked, and parsed by pydantic-core straight from
# JSON (faster than FastAPI's json-then-validate); the OpenAPI document still describes it.
RESULT_BODY_DOC = body_doc(ResultSubmission)


async def _commit(state: MockState, operation: Any) -> Any:
    """Run a write in the next durable batch; map its refusals to HTTP errors."""
    try:
        return await state.committer.submit(operation)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    except StorageUnavailable as exc:
        raise ApiError(503, str(exc)) from None


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


async def _receive_photo(
    request: Request, header_sha256: str | None, state: MockState
) -> tuple[str, int]:
    """Read and hash the body; refuse it unless it is whole and as declared (its size and time
    limits are the admission middleware's body guard)."""
    expected = (header_sha256 or "").strip().lower()
    if not SHA256_HEX.match(expected):
        raise ApiError(
            400, "missing or malformed X-Content-SHA256 header: send the photo's hex SHA-256"
        )
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
    if size == 0:
        raise ApiError(400, "empty body: a page upload must carry the photo bytes")
    # hashlib releases the GIL on large buffers: a photo is hashed on another core while this
    # process goes on receiving other uploads.
    if size >= HASH_OFF_LOOP_BYTES:
        actual = await asyncio.get_running_loop().run_in_executor(_HASHER, _sha256, chunks)
    else:
        actual = _sha256(chunks)
    if actual != expected:
        raise ApiError(
            400,
            f"checksum mismatch: received {size} bytes with SHA-256 {actual[:16]}..., header "
            f"says {expected[:16]}...; the upload was truncated or corrupted and not stored",
        )
    if state.config.keep_photos is not None:
        await asyncio.to_thread(_write_photo, state.config.keep_photos, actual, chunks)
    return actual, size


def _sha256(chunks: list[bytes]) -> str:
    # One update over the joined body: a single release of the GIL for the whole photo, where one
    # per chunk would make this thread queue for the GIL behind the event loop many times over.
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def _write_photo(directory: Path, sha256: str, chunks: list[bytes]) -> None:
    """Write the photo durably under its hash (write, fsync, rename) before it is acknowledged."""
    target = directory / sha256[:2] / f"{sha256}.jpg"
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    with partial.open("wb") as handle:
        handle.writelines(chunks)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
