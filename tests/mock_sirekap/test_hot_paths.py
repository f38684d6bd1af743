"""The hot routes (a page photo, a result) reach their handlers without the router; everything
else, including paths the router's patterns refuse, still goes through the router, and errors
get the answers the app's exception handlers give."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException

from mock_sirekap.bodies import BodyTooLarge
from mock_sirekap.errors import ApiError
from mock_sirekap.hot_paths import HotPaths, hot_params
from tests.mock_sirekap.conftest import MockServer, upload_pages, valid_result


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", "/api/v1/tps/1101/ppwp/result",
         ("result", {"tps_code": "1101", "election": "ppwp"})),
        ("PUT", "/api/v1/tps/1101/ppwp/pages/2",
         ("page", {"tps_code": "1101", "election": "ppwp", "page": "2"})),
        ("PUT", "/api/v1/tps//ppwp/result", None),  # the router's [^/]+ refuses an empty part
        ("PUT", "/api/v1/tps/1101/ppwp/result/", None),
        ("PUT", "/api/v1/tps/1101/ppwp/pages/", None),
        ("PUT", "/api/v1/tps/1101/ppwp/pages/2/x", None),
        ("POST", "/api/v1/tps/1101/ppwp/result", None),
        ("GET", "/api/v1/tps/1101/ppwp/pages/2", None),
        ("PUT", "/api/v2/tps/1101/ppwp/result", None),
        ("PUT", "/api/v1/recap/0/ppwp", None),
    ],
)  # fmt: skip
def test_only_the_hot_routes_own_paths_are_taken(
    method: str, path: str, expected: tuple[str, dict[str, str]] | None
) -> None:
    assert hot_params(method, path) == expected


async def _answer(name: str) -> Any:
    return name


def test_an_error_gets_the_handler_starlette_would_pick() -> None:
    table: dict[Any, Any] = {
        ApiError: "api", HTTPException: "http", 404: "not-found", Exception: "server-error"
    }  # fmt: skip
    layer = HotPaths(_answer, {}, table)  # type: ignore[arg-type]
    picks: dict[str, Any] = {
        "api": layer._error_handler(ApiError(409, "conflict")),
        "http 413": layer._error_handler(HTTPException(413, "too large")),
        "subclass": layer._error_handler(BodyTooLarge(413, "too large")),
        "by status": layer._error_handler(HTTPException(404, "gone")),
        "other": layer._error_handler(ValueError("a bug")),
    }
    assert picks == {
        "api": "api", "http 413": "http", "subclass": "http", "by status": "not-found",
        "other": None,  # the server-error middleware's, as without the hot path
    }  # fmt: skip


def test_paths_the_router_refuses_are_answered_by_the_router(
    mock: MockServer, client: httpx.Client
) -> None:
    code = mock.tps_codes()[0]
    headers = mock.login(client, code)
    empty_part = client.put(f"{mock.url}/api/v1/tps//ppwp/result", headers=headers, json={})
    assert empty_part.status_code == 404, empty_part.text
    assert empty_part.json() == {"error": "Not Found", "status": 404}
    wrong_method = client.post(f"{mock.url}/api/v1/tps/{code}/ppwp/result", headers=headers)
    assert wrong_method.status_code == 405, wrong_method.text


def test_hot_route_errors_keep_the_error_shape(mock: MockServer, client: httpx.Client) -> None:
    code = mock.tps_codes()[0]
    headers = mock.login(client, code)
    url = f"{mock.url}/api/v1/tps/{code}/ppwp/result"
    pages = upload_pages(mock, client, code, headers)
    body = {**valid_result(int(mock.registry[code]["dpt"])), "pages": pages}
    no_key = client.put(url, headers=headers, json=body)
    assert no_key.status_code == 400
    assert no_key.json()["error"].startswith("missing Idempotency-Key header")
    unknown = client.put(
        f"{mock.url}/api/v1/tps/{code}/xx/result", headers={**headers, "Idempotency-Key": "k"}
    )
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["status"] == 404
    stored = client.put(url, headers={**headers, "Idempotency-Key": "k1"}, json=body)
    assert stored.status_code == 201, stored.text
    chunked = client.put(
        url,
        headers={**headers, "Idempotency-Key": "k2", "Content-Type": "application/json"},
        content=iter([b"{" + b" " * (70 * 1024) + b"}"]),
    )
    assert chunked.status_code == 413, chunked.text
    assert chunked.json() == {"error": "request body exceeds the 65536-byte limit", "status": 413}
