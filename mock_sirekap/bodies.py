"""Request bodies under guard: a size limit per endpoint, a time limit, and client disconnects.

A declared ``Content-Length`` is only a claim: a body over the endpoint's limit is refused at once
(413, nothing read), and the modelled service time is charged on the bytes actually read (see
``admission``), so a client that declares 100 GB and hangs up costs what it sent. Routes check the
token before they ask for the body. Once a route asks, the whole body must arrive within the body
timeout (else 408) and within the limit (else 413, also for chunked bodies). A client that hangs up
mid-body ends its request at once: no answer is owed, nothing is held, and the metrics count it as
a disconnect, not as a server error.

``BodyGuard.receive`` stands between the app and the server's ``receive``. It keeps one read from
the server outstanding at a time, so that waiting for a disconnect (while a request is queued or
its answer is held back) never loses a message the app still needs.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

# Every JSON body of the API (a result, manual totals, a login, a fault state) is a few KiB.
JSON_BODY_LIMIT = 64 * 1024
DEFAULT_BODY_TIMEOUT = 60.0  # real seconds for a whole body, once the route asks for it
# nginx's "client closed request": never sent (the client is gone), shown in logs only.
CLIENT_CLOSED = 499


class BodyTooLarge(HTTPException):
    """413: the body (declared or read so far) is over the endpoint's limit."""


class BodyTimeout(HTTPException):
    """408: the body did not arrive within the body timeout."""


class ClientGone(HTTPException):
    """The client disconnected before its body arrived; nobody is left to answer."""


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; None when absent or not a plain decimal."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def has_no_body(scope: Scope) -> bool:
    """True when the request says it carries no body (no length or 0, and not chunked)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" and value.strip():
            return False
    return declared_length(scope) in {None, 0}


def too_large_message(endpoint: str, limit: int, size: int | None = None) -> str:
    what = "photo" if endpoint == "page" else "request body"
    of = f" of {size} bytes" if size is not None else ""
    return f"{what}{of} exceeds the {limit}-byte limit"


class BodyGuard:
    """The ``receive`` the app sees for one request (see the module doc)."""

    def __init__(
        self, receive: Receive, scope: Scope, endpoint: str, limit: int, timeout: float
    ) -> None:
        self._receive = receive
        self.endpoint = endpoint
        self.limit = limit
        self.timeout = timeout
        self.bytes_read = 0
        self.complete = has_no_body(scope)  # no body to wait for: the app reads nothing
        self.started = False  # the app asked for the body
        self.disconnected = False
        self._reader: asyncio.Task[Message] | None = None
        self._deadline: float | None = None
        self._first: Message | None = None  # a message read while watching, for the app

    def refusal(self, scope: Scope) -> str | None:
        """The 413 message when the declared length is over the limit, else None."""
        size = declared_length(scope)
        if size is not None and size > self.limit:
            return too_large_message(self.endpoint, self.limit, size)
        return None

    async def receive(self) -> Message:
        """The next message for the app; raises 408, 413 or ClientGone as described above."""
        if self._first is not None:
            message, self._first = self._first, None
            return message
        if self.disconnected:
            return {"type": "http.disconnect"}
        loop = asyncio.get_running_loop()
        if not self.complete and self._deadline is None:
            self.started = True
            self._deadline = loop.time() + self.timeout
        task = self._next()
        if self.complete:
            message = await asyncio.shield(task)
        else:
            assert self._deadline is not None
            done, _ = await asyncio.wait({task}, timeout=max(0.0, self._deadline - loop.time()))
            if not done:
                raise BodyTimeout(
                    408,
                    f"request body not received within {self.timeout:g} s "
                    f"({self.bytes_read} bytes arrived); send the whole body at once",
                )
            message = task.result()
        self._reader = None
        return self._account(message)

    async def until_disconnect(self) -> None:
        """Return once the client has gone. Only for a request whose body is read or absent."""
        assert self.complete
        while not self.disconnected:
            message = await asyncio.shield(self._next())
            self._reader = None
            if message["type"] == "http.disconnect":
                self.disconnected = True
            else:  # the (empty) body of a request without one: keep it for the app
                self._first = message

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    def _next(self) -> asyncio.Task[Message]:
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._receive())
        return self._reader

    def _account(self, message: Message) -> Message:
        if message["type"] == "http.disconnect":
            self.disconnected = True
            if not self.complete:
                raise ClientGone(CLIENT_CLOSED, "client disconnected before its body arrived")
            return message
        self.bytes_read += len(message.get("body", b""))
        if self.bytes_read > self.limit:
            raise BodyTooLarge(413, too_large_message(self.endpoint, self.limit))
        if not message.get("more_body", False):
            self.complete = True
        return message
