"""A small HTTP/1.1 server on asyncio streams, enough for a JSON control API.

Keep-alive, ``Content-Length`` and chunked request bodies; one request at a time per connection.
Responses are framed as Go's net/http frames them: the handler's headers in name order, then
``Date``, then ``Content-Length`` (none on a 204).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
IDLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"  # None: no Content-Type header
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    pass


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed in the middle of a request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise BadRequest(f"malformed request line {lines[0]!r}") from None
    if not version.startswith("HTTP/1."):
        raise BadRequest(f"unsupported protocol {version!r}")
    headers: dict[str, str] = {"_version": version}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"malformed header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    body = await _read_body(reader, headers)
    return Request(method, target, headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest("request body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise BadRequest(f"invalid Content-Length {length_text!r}")
    length = int(length_text)
    if length > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    return await reader.readexactly(length) if length else b""


def encode_response(response: Response, keep_alive: bool) -> bytes:
    reason = (
        HTTPStatus(response.status).phrase
        if response.status in HTTPStatus._value2member_map_
        else ""
    )
    headers = dict(response.headers)
    if response.status != 204 and response.content_type is not None:
        headers["Content-Type"] = response.content_type
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines.extend(f"{name}: {headers[name]}" for name in sorted(headers))
    lines.append(f"Date: {formatdate(usegmt=True)}")
    if response.status != 204:
        lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if response.status == 204 else head + response.body


def _keep_alive(request: Request) -> bool:
    connection = request.headers.get("connection", "").lower()
    if request.headers.get("_version") == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


async def serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                request = await asyncio.wait_for(read_request(reader), IDLE_TIMEOUT_S)
            except BadRequest as exc:
                bad = Response(
                    400, f"400 Bad Request: {exc}\n".encode(), "text/plain; charset=utf-8"
                )
                writer.write(encode_response(bad, keep_alive=False))
                await writer.drain()
                return
            if request is None:
                return
            keep_alive = _keep_alive(request)
            try:
                response = await handler(request)
            except Exception:
                log.exception("API handler failed for %s %s", request.method, request.target)
                response = Response(500, b"internal error\n", "text/plain; charset=utf-8")
            writer.write(encode_response(response, keep_alive))
            await writer.drain()
            if not keep_alive:
                return
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def start_http_server(handler: Handler, host: str, port: int) -> asyncio.AbstractServer:
    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # the server is shutting down
            await serve_connection(handler, reader, writer)

    return await asyncio.start_server(on_connection, host, port, limit=MAX_HEADER_BYTES)
