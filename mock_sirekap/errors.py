"""One error shape for every refusal: ``{"error": "<one line>", "status": <code>}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mock_sirekap.arithmetic import Violation
from mock_sirekap.storage import StorageError


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def arithmetic_error(violations: list[Violation]) -> ApiError:
    listed = "; ".join(f"{v.field}: {v.message}" for v in violations)
    return ApiError(
        422,
        f"ballot arithmetic violated ({len(violations)} rule"
        f"{'s' if len(violations) > 1 else ''}): {listed}",
        violations=[v.as_dict() for v in violations],
    )


def validation_error(errors: Sequence[Any]) -> ApiError:
    """A 422 listing every field pydantic refused, with its path."""
    violations = [
        {"field": _field_path(err["loc"]), "rule": err["type"], "message": err["msg"]}
        for err in errors
    ]
    listed = "; ".join(f"{v['field']}: {v['message']}" for v in violations)
    return ApiError(422, f"invalid request: {listed}", violations=violations)


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": message, "status": status, **extra}


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.status, exc.message, **exc.extra), exc.status)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            error_body(exc.status_code, message), exc.status_code, headers=exc.headers
        )

    async def request_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        error = validation_error(exc.errors())
        return JSONResponse(error_body(422, error.message, **error.extra), 422)

    async def storage_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(503, f"storage unavailable: {exc}"), 503)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
