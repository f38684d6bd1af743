"""Reads in KPU's public shapes, health, metrics, and the admin API (faults, export)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from tests.mock_sirekap.conftest import (
    ON_BOTH_BACKENDS,
    MockServer,
    every_process_answers,
    submit,
    upload_pages,
    valid_result,
)

pytestmark = ON_BOTH_BACKENDS


def _store(mock: MockServer, client: httpx.Client, tps: str, shift: int = 0) -> dict[str, int]:
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    body = {**valid_result(mock.registry[tps]["dpt"], shift), "pages": pages}
    assert submit(mock, client, tps, auth, body).status_code == 201
    chart: dict[str, int] = body["chart"]
    return chart


def test_tps_document_has_kpu_shape_before_and_after_upload(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    before = client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").json()
    assert before["chart"] is None and before["images"] == [] and before["status_suara"] is False
    chart = _store(mock, client, tps)
    after = client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").json()
    assert after["chart"] == chart and after["status_suara"] is True
    assert after["mode"] == "hhcw" and len(after["ts"]) == 19  # "2024-02-14 18:44:00"
    assert [url.split("?")[0].rsplit("/", 1)[1] for url in after["images"]] == ["1", "2", "3"]
    assert after["administrasi"]["suara_sah"] == sum(chart.values())
    unknown = client.get(f"{mock.url}/api/v1/tps/9999999999999/ppwp")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown TPS '9999999999999': not in this server's registry"


def test_recap_aggregates_every_region_level_with_progress(
    mock: MockServer, client: httpx.Client
) -> None:
    codes = mock.tps_codes()
    charts = [_store(mock, client, tps, shift) for shift, tps in enumerate(codes[:3])]
    expected = {key: sum(chart[key] for chart in charts) for key in charts[0]}
    national = client.get(f"{mock.url}/api/v1/recap/0/ppwp").json()
    assert national["progres"] == {"total": len(codes), "progres": 3}
    assert {k: v for k, v in national["chart"].items() if k != "persen"} == expected
    assert national["chart"]["persen"] == round(100 * 3 / len(codes), 2)
    for length in (2, 4, 6, 10):
        region = codes[0][:length]
        doc = client.get(f"{mock.url}/api/v1/recap/{region}/ppwp").json()
        in_region = [code for code in codes if code.startswith(region)]
        assert doc["progres"]["total"] == len(in_region), length
        assert all(child.startswith(region) for child in doc["table"])
        assert sum(row.get("100025", 0) for row in doc["table"].values()) == doc["chart"].get(
            "100025", 0
        )
    bad = client.get(f"{mock.url}/api/v1/recap/123/ppwp")
    assert bad.status_code == 404
    assert bad.json()["error"].startswith("unknown region code '123': give 0 (national)")


def test_health_readiness_and_prometheus_metrics(mock: MockServer, client: httpx.Client) -> None:
    assert client.get(f"{mock.url}/healthz").json() == {"status": "ok"}
    assert client.get(f"{mock.url}/readyz").json() == {"status": "ready", "tps": 12}
    _store(mock, client, mock.tps_codes()[0])
    text = client.get(f"{mock.url}/metrics").text
    assert 'sirekap_requests_total{endpoint="result",status="201"} 1.0' in text
    assert "sirekap_pages_stored_total 3.0" in text
    assert "sirekap_results_stored_total 1.0" in text
    for name in (
        "sirekap_request_duration_seconds_bucket",
        "sirekap_in_flight_requests",
        "sirekap_queue_depth",
        "sirekap_upload_bytes_total",
        "sirekap_db_commit_duration_seconds_count",
        "sirekap_db_commit_batch_size_bucket",
    ):
        assert name in text, name


def test_admin_endpoints_need_the_admin_token(mock: MockServer, client: httpx.Client) -> None:
    for method, path in (
        ("GET", "/admin/faults"),
        ("DELETE", "/admin/faults"),
        ("GET", "/admin/export"),
    ):
        missing = client.request(method, f"{mock.url}{path}")
        assert missing.status_code == 401
        assert missing.json()["error"].startswith("missing admin token")
        wrong = client.request(method, f"{mock.url}{path}", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 403 and wrong.json()["error"] == "wrong admin token"


def test_injected_error_faults_fail_requests_until_removed(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    spec = {"error_rate": 1.0, "error_status": 503, "endpoints": ["read"]}
    put = client.put(f"{mock.url}/admin/faults", json=spec, headers=mock.admin)
    assert put.status_code == 200 and put.json()["active"] is True
    failed = client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp")
    assert failed.status_code == 503 and failed.headers["retry-after"] == "2"
    assert failed.json()["error"] == "injected server fault: HTTP 503"
    assert client.get(f"{mock.url}/healthz").status_code == 200  # only the chosen endpoints
    assert client.delete(f"{mock.url}/admin/faults", headers=mock.admin).status_code == 204
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").status_code == 200
    state = client.get(f"{mock.url}/admin/faults", headers=mock.admin).json()
    assert state["active"] is False and state["error_rate"] == 0.0


def test_injected_latency_slows_the_chosen_endpoint(mock: MockServer, client: httpx.Client) -> None:
    tps = mock.tps_codes()[0]
    spec = {"latency_ms": 300, "jitter_ms": 0, "endpoints": ["read"]}
    assert client.put(f"{mock.url}/admin/faults", json=spec, headers=mock.admin).status_code == 200
    slow = client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp")
    assert slow.status_code == 200 and slow.elapsed.total_seconds() >= 0.3


def test_bad_fault_specs_are_refused_with_what_is_valid(
    mock: MockServer, client: httpx.Client
) -> None:
    url = f"{mock.url}/admin/faults"
    unknown = client.put(url, json={"endpoints": ["upload"]}, headers=mock.admin)
    assert unknown.status_code == 422
    assert (
        "unknown endpoint 'upload'; valid endpoints: session, page, result, read, recap"
        in (unknown.json()["error"])
    )
    typo = client.put(url, json={"eror_rate": 0.5}, headers=mock.admin)
    assert (
        typo.status_code == 422
        and "eror_rate: Extra inputs are not permitted" in typo.json()["error"]
    )
    brownout = client.put(url, json={"capacity_fraction": 0.5}, headers=mock.admin)
    assert brownout.status_code == 409
    assert brownout.json()["error"].startswith("capacity brown-out needs a capacity model")


def test_export_lists_every_result_and_page_as_ndjson(
    mock: MockServer, client: httpx.Client
) -> None:
    for tps in mock.tps_codes()[:2]:
        _store(mock, client, tps)
    response = client.get(f"{mock.url}/admin/export", headers=mock.admin)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    results = [row for row in rows if row["kind"] == "result"]
    pages = [row for row in rows if row["kind"] == "page"]
    assert len(results) == 2 and len(pages) == 6
    assert set(results[0]) >= {
        "tps_code", "election", "revision", "content_sha256", "receipt_id", "stored_at",
    }  # fmt: skip
    assert set(pages[0]) >= {"tps_code", "election", "page", "content_sha256", "size", "stored_at"}


def test_several_server_processes_share_faults_metrics_and_storage(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock("--workers", "2")
    tps = server.tps_codes()[0]
    _store(server, client, tps)
    spec = {"error_rate": 1.0, "error_status": 500, "endpoints": ["read"]}
    assert client.put(f"{server.url}/admin/faults", json=spec, headers=server.admin).is_success
    answered: list[int] = []

    def read(fresh: httpx.Client) -> int:
        answered.append(fresh.get(f"{server.url}/api/v1/tps/{tps}/ppwp").status_code)
        return answered[-1]

    assert every_process_answers(read, 500, tries=20) == {500}
    failed = answered.count(500)  # the last 20 at least, and any before both processes had it
    text = client.get(f"{server.url}/metrics").text  # counted over both processes
    assert f'sirekap_requests_total{{endpoint="read",status="500"}} {failed:.1f}' in text
    assert "sirekap_results_stored_total 1.0" in text
