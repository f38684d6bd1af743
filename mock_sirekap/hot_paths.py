"""The two hot routes of election night, a page photo and a result, served straight to their
handlers.

A request of ``PUT /api/v1/tps/{tps_code}/{election}/pages/{page}`` or
``PUT /api/v1/tps/{tps_code}/{election}/result`` (every part non-empty, as the router's own path
patterns require) goes from the admission middleware to the route's ``resolved_by`` handler
(``dependencies``) without passing FastAPI's router, its per-route wrappers and their exit stacks,
which were a tenth of the mock's CPU per durable write (bench/bench_mock.py). An error the handler
raises gets its answer from the app's own exception handlers (``errors``), found as Starlette finds
them (by status code for an HTTP error, else by the error's class); any other error goes on to
the server-error middleware, as before. Every other request is served by the router.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_sirekap.dependencies import DirectHandler

ErrorHandler = Callable[[Request, Any], Any]  # as Starlette's table holds them


def hot_params(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """("page" or "result", the path's parameters) for a hot route's path, else None."""
    if method != "PUT" or not path.startswith("/api/v1/tps/"):
        return None
    parts = path[12:].split("/")
    if not all(parts):
        return None
    if len(parts) == 3 and parts[2] == "result":
        return "result", {"tps_code": parts[0], "election": parts[1]}
    if len(parts) == 4 and parts[2] == "pages":
        return "page", {"tps_code": parts[0], "election": parts[1], "page": parts[3]}
    return None


class HotPaths:
    """ASGI layer inside the admission middleware: the hot routes to their handlers (module doc).

    ``handlers`` maps "page" and "result" to the routes' ``resolved_by`` handlers;
    ``error_handlers`` is the app's exception-handler table, read at each error."""

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[str, DirectHandler],
        error_handlers: Mapping[Any, ErrorHandler],
    ) -> None:
        self.app = app
        self.handlers = handlers
        self.error_handlers = error_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = hot_params(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if hot is None:
            await self.app(scope, receive, send)
            return
        endpoint, params = hot
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            response = await self.handlers[endpoint](request)
        except Exception as exc:
            handler = self._error_handler(exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):  # the mock's are; Starlette allows plain ones
                response = await response
        await response(scope, receive, send)

    def _error_handler(self, exc: Exception) -> ErrorHandler | None:
        """The handler Starlette's exception middleware would pick; a handler of ``Exception``
        or 500 belongs to the server-error middleware, so it is left to that."""
        table = self.error_handlers
        if isinstance(exc, HTTPException) and exc.status_code in table:
            return table[exc.status_code]
        for kind in type(exc).__mro__:
            if kind is Exception:
                return None
            if kind in table:
                return table[kind]
        return None
