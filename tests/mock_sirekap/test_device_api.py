"""The device side of the mock over real HTTP: sessions, page uploads, result submissions."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.mock_sirekap.conftest import (
    ON_BOTH_BACKENDS,
    MockServer,
    photo,
    submit,
    upload_pages,
    valid_result,
)

pytestmark = ON_BOTH_BACKENDS


def test_login_gives_a_token_and_refuses_bad_credentials(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    device_id, secret = mock.device(tps)
    ok = client.post(
        f"{mock.url}/api/v1/sessions",
        json={"device_id": device_id, "tps_code": tps, "secret": secret},
    )
    assert ok.status_code == 201
    assert ok.json()["expires_in"] == 3600 and ok.json()["token"]
    other_tps = mock.tps_codes()[1]
    for body in (
        {"device_id": device_id, "tps_code": tps, "secret": "wrong"},
        {"device_id": device_id, "tps_code": other_tps, "secret": secret},
        {"device_id": "nobody", "tps_code": tps, "secret": secret},
    ):
        refused = client.post(f"{mock.url}/api/v1/sessions", json=body)
        assert refused.status_code == 401
        assert refused.json() == {
            "error": "unknown device, wrong TPS or wrong secret",
            "status": 401,
        }
    malformed = client.post(f"{mock.url}/api/v1/sessions", json={"device_id": device_id})
    assert malformed.status_code == 422
    assert "tps_code: Field required" in malformed.json()["error"]


def test_page_upload_stores_once_and_reports_identical_replays(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body, sha = photo("page-one")
    url = f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/1"
    first = client.put(url, content=body, headers={**auth, "X-Content-SHA256": sha})
    assert first.status_code == 201
    assert first.json()["sha256"] == sha and first.json()["size"] == len(body)
    again = client.put(url, content=body, headers={**auth, "X-Content-SHA256": sha})
    assert again.status_code == 200
    assert again.json()["stored_at"] == first.json()["stored_at"]
    listed = client.get(url).json()
    assert [v["sha256"] for v in listed["versions"]] == [sha]


def test_page_upload_refuses_truncated_empty_and_unverifiable_bodies(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body, sha = photo("page-two", 4096)
    url = f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/2"
    truncated = client.put(url, content=body[:1000], headers={**auth, "X-Content-SHA256": sha})
    assert truncated.status_code == 400
    assert "checksum mismatch: received 1000 bytes" in truncated.json()["error"]
    assert "truncated or corrupted and not stored" in truncated.json()["error"]
    empty = client.put(url, content=b"", headers={**auth, "X-Content-SHA256": sha})
    assert empty.status_code == 400
    assert empty.json()["error"] == "empty body: a page upload must carry the photo bytes"
    no_header = client.put(url, content=body, headers=auth)
    assert no_header.status_code == 400
    assert "missing or malformed X-Content-SHA256" in no_header.json()["error"]
    assert client.get(url).status_code == 404  # nothing of it was stored


def test_page_upload_refuses_unknown_elections_pages_and_oversized_photos(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock("--max-upload-mib", "0.01")  # 10,485 bytes
    tps = server.tps_codes()[0]
    auth = server.login(client, tps)
    body, sha = photo("small", 1000)
    headers = {**auth, "X-Content-SHA256": sha}
    base = f"{server.url}/api/v1/tps/{tps}"
    unknown_election = client.put(f"{base}/dprd/pages/1", content=body, headers=headers)
    assert unknown_election.status_code == 404
    assert unknown_election.json()["error"] == (
        "unknown election 'dprd'; valid elections: ppwp, pdpr, pdpd, pdprdp, pdprdk"
    )
    bad_page = client.put(f"{base}/ppwp/pages/4", content=body, headers=headers)
    assert bad_page.status_code == 404
    assert bad_page.json()["error"] == "unknown page 4 for ppwp; valid pages are 1-3"
    big, big_sha = photo("big", 20_000)
    too_big = client.put(
        f"{base}/ppwp/pages/1", content=big, headers={**auth, "X-Content-SHA256": big_sha}
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "photo of 20000 bytes exceeds the 10485-byte limit"


def test_device_tokens_are_required_valid_and_scoped_to_their_tps(
    mock: MockServer, client: httpx.Client
) -> None:
    mine, theirs = mock.tps_codes()[:2]
    auth = mock.login(client, mine)
    body, sha = photo("scoped")
    url = f"{mock.url}/api/v1/tps/{theirs}/ppwp/pages/1"
    missing = client.put(url, content=body, headers={"X-Content-SHA256": sha})
    assert missing.status_code == 401
    assert missing.json()["error"] == "missing device token: send Authorization: Bearer <token>"
    token = auth["Authorization"].removeprefix("Bearer ")
    payload, signature = token.split(".")
    tampered = f"{payload}.{'A' * len(signature)}"
    for bad, message in (
        ("abc", "malformed device token: log in again"),
        (tampered, "invalid device token: log in again"),
    ):
        refused = client.put(
            url, content=body, headers={"Authorization": f"Bearer {bad}", "X-Content-SHA256": sha}
        )
        assert refused.status_code == 401
        assert refused.json()["error"] == message
    other = client.put(url, content=body, headers={**auth, "X-Content-SHA256": sha})
    assert other.status_code == 403
    assert other.json()["error"] == (
        f"token is scoped to TPS {mine}; it cannot write to TPS {theirs}"
    )


def test_result_submission_is_idempotent_by_key_and_by_content(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    body = {**valid_result(mock.registry[tps]["dpt"]), "pages": pages}
    first = submit(mock, client, tps, auth, body, key="k1")
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["revision"] == 1 and receipt["receipt_id"].startswith("rcpt_")
    assert len(receipt["content_sha256"]) == 64
    replay = submit(mock, client, tps, auth, body, key="k1")
    assert replay.status_code == 200 and replay.json() == receipt
    same_content_new_key = submit(mock, client, tps, auth, body, key="k2")
    assert same_content_new_key.status_code == 200 and same_content_new_key.json() == receipt
    reused_key = submit(
        mock,
        client,
        tps,
        auth,
        {**valid_result(mock.registry[tps]["dpt"], 1), "pages": pages},
        "k1",
    )
    assert reused_key.status_code == 409
    assert (
        "Idempotency-Key 'k1' was already used for a different result" in reused_key.json()["error"]
    )
    no_key = client.put(f"{mock.url}/api/v1/tps/{tps}/ppwp/result", json=body, headers=auth)
    assert no_key.status_code == 400
    assert (
        no_key.json()["error"] == "missing Idempotency-Key header: send one unique key per result"
    )


def test_a_different_result_needs_the_next_revision_and_history_is_kept(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    dpt = mock.registry[tps]["dpt"]
    assert submit(mock, client, tps, auth, {**valid_result(dpt), "pages": pages}).status_code == 201
    changed = {**valid_result(dpt, shift=2), "pages": pages}
    conflict = submit(mock, client, tps, auth, changed)
    assert conflict.status_code == 409
    assert conflict.json()["error"] == (
        f"a different result is already stored for TPS {tps} ppwp (revision 1); "
        "a correction must say revision 2"
    )
    skipped = submit(mock, client, tps, auth, {**changed, "revision": 3})
    assert skipped.status_code == 409
    assert "revision 3 is not the next one" in skipped.json()["error"]
    corrected = submit(mock, client, tps, auth, {**changed, "revision": 2})
    assert corrected.status_code == 201 and corrected.json()["revision"] == 2
    shown = client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").json()
    assert shown["revision"] == 2 and shown["chart"] == changed["chart"]
    export = client.get(f"{mock.url}/admin/export", headers=mock.admin).text.splitlines()
    assert sum('"kind":"result"' in line for line in export) == 2


def test_a_result_listing_a_page_never_uploaded_is_refused(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth, count=2)
    missing = "ab" * 32
    body = {**valid_result(mock.registry[tps]["dpt"]), "pages": [*pages, missing]}
    response = submit(mock, client, tps, auth, body)
    assert response.status_code == 409
    assert response.json()["error"] == (
        f"pages never uploaded for TPS {tps} ppwp: abababababab...; "
        "upload every listed page before submitting the result"
    )


def test_a_result_that_does_not_add_up_lists_every_violated_rule(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    body = {**valid_result(mock.registry[tps]["dpt"]), "pages": pages}
    body["chart"] = {**body["chart"], "100025": body["chart"]["100025"] + 5}  # a 3 read as an 8
    body["administrasi"] = {**body["administrasi"], "pengguna_total_l": 1}
    response = submit(mock, client, tps, auth, body)
    assert response.status_code == 422
    fields = [(v["field"], v["rule"]) for v in response.json()["violations"]]
    assert fields == [
        ("chart", "candidates_sum_to_valid"),
        ("administrasi.pengguna_total_j", "total_is_male_plus_female"),
    ]
    assert response.json()["error"].startswith("ballot arithmetic violated (2 rules): chart: ")
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").json()["chart"] is None
