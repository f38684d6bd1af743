"""Failure kinds, as counted in the timeline and the ledger.

``refused`` (nothing listens), ``timeout`` (no complete answer in time), ``reset`` (the connection
broke before any answer), ``truncated`` (the answer was cut off), ``4xx:<status>``,
``5xx:<status>``, and ``other`` for anything else. Transport errors are judged by type and errno,
not by importing the HTTP client, so this module stays pure.
"""

from __future__ import annotations

import errno
from typing import Final

REFUSED: Final = "refused"
TIMEOUT: Final = "timeout"
RESET: Final = "reset"
TRUNCATED: Final = "truncated"
OTHER: Final = "other"

_TIMEOUT_ERRNOS: Final = {errno.ETIMEDOUT}
_RESET_ERRNOS: Final = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN}
_REFUSED_ERRNOS: Final = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}
# geventhttpclient: a connection closed before any response byte, or a response it cannot parse
# (cut off in the status line or headers); gevent: its Timeout.
_RESET_NAMES: Final = {"HTTPConnectionClosed", "RemoteDisconnected"}
_TRUNCATED_NAMES: Final = {"HTTPParseError", "IncompleteRead", "HTTPProtocolViolationError"}
_TIMEOUT_NAMES: Final = {"Timeout", "ConnectTimeout", "ReadTimeout"}


def http_failure(status: int) -> str | None:
    """``4xx:<status>`` or ``5xx:<status>`` for an error status; None below 400."""
    if status < 400:
        return None
    return f"{status // 100}xx:{status}"


def transport_failure(error: BaseException) -> str:
    """The kind of a transport error (an exception raised instead of an HTTP response)."""
    original = getattr(error, "original", None)  # geventhttpclient's RetriesExceeded wraps it
    if isinstance(original, BaseException):
        error = original
    names = {cls.__name__ for cls in type(error).__mro__}
    if isinstance(error, ConnectionRefusedError):
        return REFUSED
    if isinstance(error, TimeoutError) or names & _TIMEOUT_NAMES:
        return TIMEOUT
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return RESET
    if names & _TRUNCATED_NAMES and not names & _RESET_NAMES:
        return TRUNCATED
    if names & _RESET_NAMES:
        return RESET
    code = getattr(error, "errno", None)
    if code in _REFUSED_ERRNOS:
        return REFUSED
    if code in _TIMEOUT_ERRNOS:
        return TIMEOUT
    if code in _RESET_ERRNOS:
        return RESET
    return OTHER


def describe(error: BaseException) -> str:
    """One line naming the error, for ledger reasons."""
    original = getattr(error, "original", None)
    if isinstance(original, BaseException):
        error = original
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}"[:200]
