"""Failure kinds of transport errors: refused, timeout, reset, truncated, other."""

from __future__ import annotations

import errno

import pytest

from rundir.failures import describe, http_failure, transport_failure


class HTTPParseError(Exception):
    """Named like geventhttpclient's: a response it could not parse (cut off)."""


class HTTPConnectionClosed(HTTPParseError):
    """Named like geventhttpclient's: closed before any response byte."""


class Timeout(BaseException):
    """Named like gevent's Timeout."""


class RetriesExceeded(Exception):
    def __init__(self, original: BaseException) -> None:
        super().__init__("retries exceeded")
        self.original = original


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused"),
        (ConnectionResetError(errno.ECONNRESET, "reset by peer"), "reset"),
        (BrokenPipeError(errno.EPIPE, "broken pipe"), "reset"),
        (TimeoutError("timed out"), "timeout"),
        (Timeout(), "timeout"),
        (RetriesExceeded(Timeout()), "timeout"),
        (HTTPConnectionClosed("connection closed."), "reset"),
        (HTTPParseError("Invalid EOF state"), "truncated"),
        (OSError(errno.ETIMEDOUT, "timed out"), "timeout"),
        (OSError(errno.EHOSTUNREACH, "no route"), "refused"),
        (ValueError("odd"), "other"),
    ],
)
def test_transport_errors_are_classified_by_kind(error: BaseException, kind: str) -> None:
    assert transport_failure(error) == kind


def test_http_errors_are_named_by_class_and_status() -> None:
    assert [http_failure(s) for s in (200, 302, 404, 409, 503)] == [
        None, None, "4xx:404", "4xx:409", "5xx:503"
    ]  # fmt: skip


def test_describe_names_the_wrapped_error() -> None:
    assert describe(RetriesExceeded(ConnectionResetError("peer"))) == "ConnectionResetError: peer"
