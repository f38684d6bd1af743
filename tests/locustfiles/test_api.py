"""The API client: the paths and headers it sends, and how it judges each answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from locustfiles.api import Response, SirekapApi, Timeouts, Verdict, judge

TIMEOUTS = Timeouts(session=5.0, page=60.0, result=6.0, read=7.0)


@dataclass
class ScriptedTransport:
    response: Response
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, endpoint: str, method: str, path: str, **kwargs: Any) -> Response:
        self.sent.append({"endpoint": endpoint, "method": method, "path": path, **kwargs})
        return self.response


def api_answering(
    status: int, body: object = None, **extra: Any
) -> tuple[SirekapApi, ScriptedTransport]:
    failure = f"{status // 100}xx:{status}" if status >= 400 else None
    content = json.dumps(body).encode() if body is not None else b""
    transport = ScriptedTransport(Response(status, failure, content, **extra))
    return SirekapApi(transport, TIMEOUTS), transport


def test_login_posts_the_device_credentials_and_returns_the_token() -> None:
    api, transport = api_answering(201, {"token": "t1", "expires_in": 3600})
    answer = api.login("5103051005001", "5103051005001-1", "s3cret")
    assert answer.ok and answer.data == {"token": "t1", "expires_in": 3600}
    (sent,) = transport.sent
    assert (sent["endpoint"], sent["method"], sent["path"], sent["timeout"]) == (
        "session", "POST", "/api/v1/sessions", 5.0
    )  # fmt: skip
    assert json.loads(sent["body"]) == {
        "device_id": "5103051005001-1", "tps_code": "5103051005001", "secret": "s3cret"
    }  # fmt: skip


def test_pages_are_numbered_from_one_on_the_wire_and_carry_their_hash() -> None:
    api, transport = api_answering(201, {"sha256": "a" * 64, "size": 3})
    answer = api.upload_page("tok", "5103051005001", "ppwp", 0, b"abc", "a" * 64)
    assert answer.ok and answer.data == {"sha256": "a" * 64}
    (sent,) = transport.sent
    assert sent["path"] == "/api/v1/tps/5103051005001/ppwp/pages/1"
    assert sent["headers"]["X-Content-SHA256"] == "a" * 64
    assert sent["headers"]["Authorization"] == "Bearer tok"
    assert (sent["body"], sent["timeout"]) == (b"abc", 60.0)


def test_the_result_goes_with_its_pages_and_the_idempotency_key() -> None:
    receipt = {"receipt_id": "r", "content_sha256": "c", "revision": 1, "stored_at": "x"}
    api, transport = api_answering(201, receipt)
    result = {"chart": {"100025": 1}, "administrasi": {"suara_sah": 1}}
    answer = api.submit_result("tok", "5103051005001", "ppwp", result, ["p1", "p2"], "key-1")
    assert answer.data == {"receipt_id": "r", "content_sha256": "c", "revision": 1}
    (sent,) = transport.sent
    assert sent["path"] == "/api/v1/tps/5103051005001/ppwp/result"
    assert sent["headers"]["Idempotency-Key"] == "key-1"
    assert json.loads(sent["body"]) == {**result, "pages": ["p1", "p2"]}


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, Verdict.OK), (201, Verdict.OK), (408, Verdict.RETRY), (429, Verdict.RETRY),
     (500, Verdict.RETRY), (502, Verdict.RETRY), (503, Verdict.RETRY), (401, Verdict.RELOGIN),
     (400, Verdict.REJECT), (403, Verdict.REJECT), (404, Verdict.REJECT), (409, Verdict.REJECT),
     (413, Verdict.REJECT), (422, Verdict.REJECT)],
)  # fmt: skip
def test_statuses_are_judged_retry_relogin_or_reject(status: int, verdict: Verdict) -> None:
    failure = f"{status // 100}xx:{status}" if status >= 400 else None
    assert judge(Response(status, failure, b'{"error": "x"}')).verdict is verdict


def test_a_refused_login_is_a_rejection_not_a_relogin() -> None:
    answer = judge(Response(401, "4xx:401", b'{"error": "unknown device"}'), login=True)
    assert answer.verdict is Verdict.REJECT
    assert answer.detail == "HTTP 401: unknown device"


def test_a_503_keeps_the_servers_message_and_retry_after() -> None:
    body = b'{"error": "server at capacity", "status": 503}'
    answer = judge(Response(503, "5xx:503", body, retry_after="2", finished_at=1.0))
    assert (answer.verdict, answer.failure, answer.retry_after) == (Verdict.RETRY, "5xx:503", 2.0)
    assert answer.detail == "HTTP 503: server at capacity"


def test_transport_failures_are_retried_with_their_kind() -> None:
    answer = judge(Response(0, "refused", error="ConnectionRefusedError: refused"))
    assert (answer.verdict, answer.failure) == (Verdict.RETRY, "refused")
    assert answer.detail == "ConnectionRefusedError: refused"


def test_a_photo_damaged_on_the_way_is_sent_again() -> None:
    body = {"error": "checksum mismatch: received 10 bytes ...", "status": 400}
    api, _ = api_answering(400, body)
    answer = api.upload_page("tok", "5103051005001", "ppwp", 2, b"x", "b" * 64)
    assert (answer.verdict, answer.failure) == (Verdict.RETRY, "4xx:400")


def test_a_success_without_the_expected_fields_counts_as_cut_off() -> None:
    api, _ = api_answering(201, {"expires_in": 3600})
    answer = api.login("t", "d", "s")
    assert (answer.verdict, answer.failure) == (Verdict.RETRY, "truncated")
    assert answer.detail == "HTTP 201: body has no token"
    api, _ = api_answering(200)
    assert api.read_result("t", "ppwp").detail == "HTTP 200: body has not a JSON object"
