"""JSON request bodies read by the routes themselves, after the token is checked.

FastAPI would read a declared body before the route runs, that is before the token is checked;
routes that need a token read theirs with ``read_json`` once they have checked it. The body must
say it is JSON (``Content-Type: application/json``, else 415) and is validated strictly: a count
is a JSON integer (not ``"3"``, ``3.0`` or ``true``), every error names its field (422).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from mock_sirekap.errors import ApiError, validation_error

Model = TypeVar("Model", bound=BaseModel)


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_json(request: Request, model: type[Model], what: str) -> Model:
    """The body as ``model``; 415 unless it is declared JSON, 422 naming every bad field."""
    content_type = request.headers.get("content-type")
    if not is_json(content_type):
        got = repr(content_type) if content_type else "none"
        raise ApiError(415, f"{what} must be JSON: send Content-Type: application/json; got {got}")
    raw = await request.body()
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise validation_error(exc.errors(include_url=False)) from None


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that reads ``model`` with ``read_json``."""
    return {
        "required": True,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }
