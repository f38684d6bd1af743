"""The Sirekap upload API as a device uses it: the only code that knows paths, bodies and statuses.

To test a real service with a different API, write a class with the same four device methods
(and the same :class:`Answer` results) and select it with ``--api-class module:Class``; nothing
else in the harness knows the wire format. A scenario with a ``[plenary]`` also needs the three
PPK operator methods, ``operator_login``, ``submit_plenary`` and ``plenary_progress``. Each
method makes exactly one HTTP request through a :class:`Transport` (which times it, records it
and applies the request timeout) and judges the answer:

- ``ok``: done; ``data`` holds what the device needs (token, receipt, stored document);
- ``retry``: worth trying again (transport failures, 408, 425, 429, 5xx, a photo whose checksum
  did not survive the trip);
- ``relogin``: the token was refused (401); log in again, then retry;
- ``reject``: the server refuses this for good (other 4xx); retrying cannot help.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from locustfiles.retry import parse_retry_after
from rundir.failures import TRUNCATED


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"
    RELOGIN = "relogin"
    REJECT = "reject"


@dataclass(slots=True)
class Response:
    """One HTTP exchange as the transport saw it. ``status`` is 0 when no response arrived."""

    status: int
    failure: str | None  # the failure kind (see rundir.failures), None on 1xx-3xx
    content: bytes = b""
    retry_after: str | None = None  # the raw Retry-After header
    error: str = ""  # what went wrong, for transport failures
    finished_at: float = 0.0  # real UNIX time the exchange ended


class Transport(Protocol):
    """Sends one request; ``endpoint`` names it in the timeline and Locust's statistics."""

    def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Response: ...


@dataclass(slots=True)
class Answer:
    """The API's judgement of one request."""

    verdict: Verdict
    failure: str | None = None  # failure kind when not ok
    detail: str = ""  # one line: the server's error or the transport's
    retry_after: float | None = None  # real seconds the server asked to wait
    data: dict[str, Any] = field(default_factory=dict)
    status: int = 0  # the HTTP status (0: no response)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


@dataclass(frozen=True)
class Timeouts:
    """Real-clock seconds per request kind (scenario ``[client] timeouts``)."""

    session: float
    page: float
    result: float
    read: float


class DeviceCalls(Protocol):
    """What a KPPS device needs of the API to log in and submit a result (a correction, too)."""

    def login(self, tps_code: str, device_id: str, secret: str) -> Answer: ...

    def submit_result(
        self,
        token: str,
        tps_code: str,
        election: str,
        result: Any,
        pages: Any,
        idempotency_key: str,
        revision: int | None = None,
    ) -> Answer: ...


class SirekapApi:
    """The mock Sirekap API (mock_sirekap/routes_device.py, routes_public.py)."""

    def __init__(self, transport: Transport, timeouts: Timeouts) -> None:
        self.transport = transport
        self.timeouts = timeouts

    def login(self, tps_code: str, device_id: str, secret: str) -> Answer:
        """POST /api/v1/sessions -> data: token, expires_in (real seconds)."""
        body = {"device_id": device_id, "tps_code": tps_code, "secret": secret}
        response = self._json(
            "session", "POST", "/api/v1/sessions", body, {}, self.timeouts.session
        )
        answer = judge(response, login=True)
        if answer.ok:
            return _fields(answer, response, ("token", "expires_in"))
        return answer

    def upload_page(
        self, token: str, tps_code: str, election: str, page: int, photo: bytes, sha256: str
    ) -> Answer:
        """PUT one page photo (``page`` is 0-based; the API counts from 1) -> data: sha256."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "X-Content-SHA256": sha256,
        }
        path = f"/api/v1/tps/{tps_code}/{election}/pages/{page + 1}"
        response = self.transport.send(
            "page", "PUT", path, body=photo, headers=headers, timeout=self.timeouts.page
        )
        answer = judge(response)
        if not answer.ok and response.status == 400 and "checksum mismatch" in answer.detail:
            # The photo was damaged on the way; sending it again is what a device should do.
            answer.verdict = Verdict.RETRY
        if answer.ok:
            return _fields(answer, response, ("sha256",))
        return answer

    def submit_result(
        self,
        token: str,
        tps_code: str,
        election: str,
        result: Mapping[str, Any],
        pages: Sequence[str],
        idempotency_key: str,
        revision: int | None = None,
    ) -> Answer:
        """PUT the form's numbers -> data: receipt_id, content_sha256, revision, stored_at.

        ``revision`` n+1 makes it a correction of the stored revision n.
        """
        body: dict[str, Any] = {"chart": result["chart"], "administrasi": result["administrasi"]}
        body["pages"] = list(pages)
        if revision is not None:
            body["revision"] = revision
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": idempotency_key}
        path = f"/api/v1/tps/{tps_code}/{election}/result"
        response = self._json("result", "PUT", path, body, headers, self.timeouts.result)
        answer = judge(response)
        if answer.ok:
            return _fields(answer, response, ("receipt_id", "content_sha256", "revision"))
        return answer

    def read_result(self, tps_code: str, election: str) -> Answer:
        """GET the stored form -> data: chart, administrasi (None when nothing is stored), and
        when the service says: content_sha256, revision, receipt_id."""
        path = f"/api/v1/tps/{tps_code}/{election}"
        response = self.transport.send(
            "read", "GET", path, body=None, headers={}, timeout=self.timeouts.read
        )
        answer = judge(response)
        if answer.ok:
            optional = ("content_sha256", "revision", "receipt_id")
            return _fields(answer, response, ("chart", "administrasi"), optional)
        return answer

    def operator_login(self, operator_id: str, kecamatan_code: str, secret: str) -> Answer:
        """POST /api/v1/operators/sessions -> data: token, expires_at."""
        body = {"operator_id": operator_id, "kecamatan_code": kecamatan_code, "secret": secret}
        response = self._json(
            "operator_session",
            "POST",
            "/api/v1/operators/sessions",
            body,
            {},
            self.timeouts.session,
        )
        answer = judge(response, login=True)
        if answer.ok:
            return _fields(answer, response, ("token",), ("expires_at",))
        return answer

    def submit_plenary(
        self,
        token: str,
        kecamatan_code: str,
        election: str,
        tps_code: str,
        manual: Mapping[str, Any],
    ) -> Answer:
        """PUT a TPS's manual totals to the plenary -> data: status, differences, revision, ...

        A 409 for a TPS with no upload yet is a refusal with ``data["outcome"]`` =
        ``"missing_upload"``.
        """
        body = {"chart": manual["chart"], "administrasi": manual["administrasi"]}
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/recap/{kecamatan_code}/{election}/plenary/{tps_code}"
        response = self._json("plenary", "PUT", path, body, headers, self.timeouts.result)
        answer = judge(response)
        if answer.ok:
            return _fields(
                answer, response, ("status", "differences"), ("revision", "closed", "closed_at")
            )
        outcome = json_object(response.content).get("outcome")
        if isinstance(outcome, str):
            answer.data = {"outcome": outcome}
        return answer

    def plenary_progress(self, token: str, kecamatan_code: str, election: str) -> Answer:
        """GET the kecamatan's plenary -> data: missing (TPS codes with no upload), closed, ..."""
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/recap/{kecamatan_code}/{election}/plenary"
        response = self.transport.send(
            "plenary_progress", "GET", path, body=None, headers=headers, timeout=self.timeouts.read
        )
        answer = judge(response)
        if answer.ok:
            return _fields(answer, response, ("missing",), ("closed", "pending", "complete"))
        return answer

    def _json(
        self,
        endpoint: str,
        method: str,
        path: str,
        body: Mapping[str, Any],
        headers: dict[str, str],
        timeout: float,
    ) -> Response:
        return send_json(self.transport, endpoint, method, path, body, headers, timeout)


def send_json(
    transport: Transport, endpoint: str, method: str, path: str, body: Mapping[str, Any],
    headers: dict[str, str], timeout: float,
) -> Response:  # fmt: skip
    """One request with a compact JSON body (for adapters too)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {**headers, "Content-Type": "application/json"}
    return transport.send(endpoint, method, path, body=data, headers=headers, timeout=timeout)


def judge(response: Response, *, login: bool = False) -> Answer:
    """The verdict on a response by status alone (see the module doc)."""
    status = response.status
    if response.failure is not None and status == 0:
        return Answer(Verdict.RETRY, response.failure, response.error)
    if response.failure == TRUNCATED:
        return Answer(Verdict.RETRY, TRUNCATED, f"HTTP {status}, body cut off", status=status)
    if 200 <= status < 300:
        return Answer(Verdict.OK, status=status)
    detail = _error_text(response)
    retry_after = parse_retry_after(response.retry_after, response.finished_at)
    failure = response.failure or f"http:{status}"
    if status in (408, 425, 429) or status >= 500:
        verdict = Verdict.RETRY
    elif status == 401 and not login:
        verdict = Verdict.RELOGIN
    else:
        verdict = Verdict.REJECT
    return Answer(verdict, failure, detail, retry_after, status=status)


def json_object(content: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_text(response: Response) -> str:
    """The server's ``{"error": ...}`` text, else the start of the body."""
    parsed = json_object(response.content)
    if isinstance(parsed.get("error"), str):
        text: str = parsed["error"]
    else:
        text = response.content[:200].decode("utf-8", "replace")
    return f"HTTP {response.status}: {text}"[:300]


def _fields(
    answer: Answer, response: Response, required: Sequence[str], optional: Sequence[str] = ()
) -> Answer:
    """Copy fields of a JSON object body into ``answer.data``; a body without them is cut off."""
    try:
        parsed = json.loads(response.content)
    except ValueError:
        parsed = None
    missing = [name for name in required if not isinstance(parsed, dict) or name not in parsed]
    if not isinstance(parsed, dict) or missing:
        shown = "not a JSON object" if not isinstance(parsed, dict) else f"no {', '.join(missing)}"
        return Answer(Verdict.RETRY, TRUNCATED, f"HTTP {response.status}: body has {shown}")
    answer.data = {name: parsed.get(name) for name in (*required, *optional)}
    return answer
