"""Strict input: ASCII-digit ids, JSON integers for counts, one spelling of a page number, JSON
bodies declared as such; and device and operator tokens that outlive their registry entry."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.mock_sirekap.conftest import MockServer, photo, submit, upload_pages, valid_result

PAGE_RULE = "(a page number is written in decimal without sign, spaces or leading zeros)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chart": {"100025": "3"}}, "chart.100025: Input should be a valid integer"),
        ({"chart": {"100025": True}}, "chart.100025: Input should be a valid integer"),
        ({"chart": {"100025": 3.0}}, "chart.100025: Input should be a valid integer"),
        ({"administrasi": {"suara_sah": "7"}}, "administrasi.suara_sah: Input should be a valid"),
        ({"revision": "2"}, "revision: Input should be a valid integer"),
        ({"chart": {"١0": 1}}, "chart.١0.[key]: String should match pattern '^[0-9]{1,12}$'"),
        ({"chart": {"²1": 1}}, "chart.²1.[key]: String should match pattern '^[0-9]{1,12}$'"),
    ],
)
def test_counts_are_json_integers_and_ids_ascii_digits(
    mock: MockServer, client: httpx.Client, change: dict[str, Any], message: str
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body = {
        **valid_result(mock.registry[tps]["dpt"]),
        "pages": upload_pages(mock, client, tps, auth),
    }
    for section, value in change.items():
        body[section] = {**body[section], **value} if isinstance(value, dict) else value
    response = submit(mock, client, tps, auth, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith("invalid request: ")
    assert message in response.json()["error"]
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp").json()["chart"] is None


def test_a_result_must_be_declared_json_and_be_json(mock: MockServer, client: httpx.Client) -> None:
    tps = mock.tps_codes()[0]
    auth = {**mock.login(client, tps), "Idempotency-Key": "k"}
    url = f"{mock.url}/api/v1/tps/{tps}/ppwp/result"
    plain = client.put(url, content=b"{}", headers={**auth, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"] == (
        "a result must be JSON: send Content-Type: application/json; got 'text/plain'"
    )
    undeclared = client.put(url, content=b"{}", headers=auth)
    assert undeclared.status_code == 415
    assert undeclared.json()["error"].endswith("got none")
    broken = client.put(
        url, content=b"chart=1", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"].startswith("invalid request: body: Invalid JSON")


@pytest.mark.parametrize("page", ["01", "+1", "%201", "1%20", "١", "0x1"])
def test_a_page_number_has_one_spelling(mock: MockServer, client: httpx.Client, page: str) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body, sha = photo("one-spelling")
    url = f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/{page}"
    upload = client.put(url, content=body, headers={**auth, "X-Content-SHA256": sha})
    read = client.get(url)
    for response in (upload, read):
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error.startswith("unknown page ") and error.endswith(
            f"for ppwp; valid pages are 1-3 {PAGE_RULE}"
        )
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/1").status_code == 404


def test_plenary_totals_are_strict_too(mock: MockServer, client: httpx.Client) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.operator_login(client, tps[:6])
    url = f"{mock.url}/api/v1/recap/{tps[:6]}/ppwp/plenary/{tps}"
    numbers = valid_result(mock.registry[tps]["dpt"])
    bad = {**numbers, "chart": {**numbers["chart"], "²1": 1, "100026": True}}
    response = client.put(url, json=bad, headers=auth)
    assert response.status_code == 422
    assert "chart.²1.[key]: String should match pattern" in response.json()["error"]
    assert "chart.100026: Input should be a valid integer" in response.json()["error"]
    plain = client.put(url, content=b"{}", headers={**auth, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"].startswith("manual totals must be JSON: ")


@pytest.mark.slow
def test_tokens_signed_before_a_restart_with_a_smaller_registry_are_refused(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock()
    kept, gone = server.tps_codes()[0], server.tps_codes()[-1]
    device = server.login(client, gone)
    operator = server.operator_login(client, gone[:6])
    server.stop()
    registry = server.db.with_name("smaller-registry.csv")
    with registry.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("tps_code", "dpt", "device_id", "secret"))
        for device_id, secret in server.registry[kept]["devices"].items():
            writer.writerow((kept, server.registry[kept]["dpt"], device_id, secret))
    cut = server.args.index("--tps")
    server.args = [*server.args[:cut], "--registry", str(registry)]  # same db, same token key
    server.start()
    body, sha = photo("orphan")
    page = client.put(
        f"{server.url}/api/v1/tps/{gone}/ppwp/pages/1",
        content=body,
        headers={**device, "X-Content-SHA256": sha},
    )
    assert page.status_code == 401
    device_id = sorted(server.registry[gone]["devices"])[0]
    assert page.json()["error"] == (
        f"device token names device '{device_id}' of TPS {gone}, which this server's registry "
        "does not list: log in again with a registered device"
    )
    result = submit(server, client, gone, device, {**valid_result(200), "pages": [sha]})
    assert result.status_code == 401 and result.json()["error"] == page.json()["error"]
    progress = client.get(f"{server.url}/api/v1/recap/{gone[:6]}/ppwp/plenary", headers=operator)
    assert progress.status_code == 401
    assert progress.json()["error"] == (
        f"operator token names operator 'ppk-{gone[:6]}-1' of kecamatan {gone[:6]}, which this "
        "server does not list: log in again"
    )
    export = client.get(f"{server.url}/admin/export", headers=server.admin).text
    assert gone not in export  # nothing stored for a TPS the server does not know
