"""Server faults with a lease lapse by themselves unless renewed: no fault outlives the harness."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.mock_sirekap.conftest import ON_BOTH_BACKENDS, MockServer, every_process_answers

pytestmark = [pytest.mark.slow, ON_BOTH_BACKENDS]
FAILING_READS = {"error_rate": 1.0, "error_status": 500, "endpoints": ["read"]}


def _read_status(server: MockServer, client: httpx.Client) -> int:
    return client.get(f"{server.url}/api/v1/tps/{server.tps_codes()[0]}/ppwp").status_code


def _wait_for_status(server: MockServer, client: httpx.Client, status: int, within: float) -> None:
    deadline = time.monotonic() + within
    while _read_status(server, client) != status:
        assert time.monotonic() < deadline, f"reads did not answer {status} within {within} s"
        time.sleep(0.05)


def test_a_fault_not_renewed_lapses_within_its_lease(
    mock: MockServer, client: httpx.Client
) -> None:
    put = client.put(
        f"{mock.url}/admin/faults", json={**FAILING_READS, "lease_s": 1.0}, headers=mock.admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["lease_s"] == 1.0 and put.json()["expires_at"] is not None
    assert _read_status(mock, client) == 500
    _wait_for_status(mock, client, 200, within=15)  # lapsed: the reads are served again
    state = client.get(f"{mock.url}/admin/faults", headers=mock.admin).json()
    assert state["active"] is False and state["error_rate"] == 0.0
    assert state["lapsed_at"] == put.json()["expires_at"]
    renew = client.post(f"{mock.url}/admin/faults/lease", json={"lease_s": 5}, headers=mock.admin)
    assert renew.status_code == 409
    assert renew.json()["error"] == (
        "no leased faults to renew (state: lapsed); set them with PUT /admin/faults and a lease_s"
    )


def test_a_renewed_fault_stays_until_renewals_stop(mock: MockServer, client: httpx.Client) -> None:
    lease = 3.0
    put = client.put(
        f"{mock.url}/admin/faults", json={**FAILING_READS, "lease_s": lease}, headers=mock.admin
    )
    version = put.json()["version"]
    statuses = []
    ends = time.monotonic() + 2.5 * lease
    while time.monotonic() < ends:  # renewed every 0.3 s: well within the lease
        renew = client.post(
            f"{mock.url}/admin/faults/lease",
            json={"lease_s": lease, "version": version},
            headers=mock.admin,
        )
        assert renew.status_code == 200, renew.text
        version = renew.json()["version"]
        statuses.append(_read_status(mock, client))
        time.sleep(0.3)
    assert set(statuses) == {500} and len(statuses) >= 3
    _wait_for_status(mock, client, 200, within=lease + 15)


def test_a_renewal_names_the_state_it_renews(mock: MockServer, client: httpx.Client) -> None:
    url = f"{mock.url}/admin/faults"
    first = client.put(url, json={**FAILING_READS, "lease_s": 60}, headers=mock.admin).json()
    client.put(url, json={**FAILING_READS, "lease_s": 60}, headers=mock.admin)
    stale = client.post(
        f"{url}/lease", json={"lease_s": 60, "version": first["version"]}, headers=mock.admin
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == (
        f"fault state version {first['version']} is no longer in force (version "
        f"{first['version'] + 1} is); renew the version PUT /admin/faults answered"
    )
    unleased = client.put(url, json=FAILING_READS, headers=mock.admin)
    assert unleased.json()["lease_s"] is None and unleased.json()["expires_at"] is None
    refused = client.post(f"{url}/lease", json={"lease_s": 60}, headers=mock.admin)
    assert refused.status_code == 409 and "(state: has no lease)" in refused.json()["error"]
    bad = client.put(url, json={**FAILING_READS, "lease_s": 0}, headers=mock.admin)
    assert bad.status_code == 422
    assert "lease_s: Input should be greater than 0" in bad.json()["error"]
    unauthorised = client.post(f"{url}/lease", json={"lease_s": 60})
    assert unauthorised.status_code == 401


def test_several_processes_lapse_the_fault_together(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock("--workers", "2")
    put = client.put(
        f"{server.url}/admin/faults", json={**FAILING_READS, "lease_s": 8.0}, headers=server.admin
    )
    assert put.status_code == 200
    answers = every_process_answers(lambda fresh: _read_status(server, fresh), 500, timeout=6)
    assert answers == {500}  # both processes took the fault up (well inside its 8 s lease)
    deadline = time.monotonic() + 30
    while True:
        statuses = set()
        for _ in range(10):
            with httpx.Client(timeout=10) as fresh:  # new connections reach both processes
                statuses.add(_read_status(server, fresh))
        if statuses == {200}:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)
