"""The kecamatan plenary over real HTTP: operator sessions, manual totals against uploads, gavels,
progress and D.Hasil, refusals, durability and the plenary gate."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from faults.server_layer import ServerFaults
from faults.timeline import FaultWindow
from reports.integrity import Ack, audit, read_export
from tests.mock_sirekap.conftest import (
    ADMIN_TOKEN,
    ON_BOTH_BACKENDS,
    MockServer,
    NewDatabase,
    every_process_answers,
    launch_mock,
    read_operators,
    read_registry,
    submit,
    upload_pages,
    valid_result,
)

pytestmark = ON_BOTH_BACKENDS
KEC_A, KEC_B = "510305", "510306"  # Kuta Selatan and a neighbour (KPU region codes)
TPS_A = ("5103051004001", "5103051004002", "5103051006001", "5103052001001")
TPS_B = ("5103061001001",)
OPERATORS = (
    (KEC_A, "ppk-510305-1", "secret-a1"),
    (KEC_A, "ppk-510305-2", "secret-a2"),
    (KEC_B, "ppk-510306-1", "secret-b1"),
)


@pytest.fixture
def plenary(tmp_path: Path, new_database: NewDatabase) -> Iterator[MockServer]:
    """A raw-mode mock with two kecamatan (4 TPS and 1 TPS) and an operators file."""
    registry = tmp_path / "registry.csv"
    lines = ["tps_code,dpt,device_id,secret"]
    lines += [f"{code},{200 + i},{code}-1,dev-{code}" for i, code in enumerate(TPS_A + TPS_B)]
    registry.write_text("\n".join(lines) + "\n")
    operators = tmp_path / "operators.csv"
    rows = ["kecamatan_code,operator_id,secret,name"]
    rows += [f"{kec},{op},{secret},PPK {kec}" for kec, op, secret in OPERATORS]
    operators.write_text("\n".join(rows) + "\n")
    server = launch_mock(
        tmp_path,
        "plenary",
        *("--registry", str(registry), "--operators", str(operators), "--capacity", "raw"),
        db_url=new_database("plenary"),
    )
    server.registry = read_registry(registry)
    server.operators = read_operators(operators)
    yield server
    server.stop()


def upload(mock: MockServer, client: httpx.Client, tps: str, shift: int = 0) -> dict[str, Any]:
    """A device uploads the TPS's pages and result; the numbers it sent."""
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    numbers = valid_result(mock.registry[tps]["dpt"], shift)
    response = submit(mock, client, tps, auth, {**numbers, "pages": pages})
    assert response.status_code == 201, response.text
    return numbers


def revise(
    mock: MockServer, client: httpx.Client, tps: str, revision: int, shift: int
) -> dict[str, Any]:
    """A device sends a corrected result (the next revision); the numbers it sent."""
    auth = mock.login(client, tps)
    pages = upload_pages(mock, client, tps, auth)
    numbers = valid_result(mock.registry[tps]["dpt"], shift)
    body = {**numbers, "pages": pages, "revision": revision}
    response = submit(mock, client, tps, auth, body)
    assert response.status_code == 201, response.text
    return numbers


def put_manual(
    mock: MockServer,
    client: httpx.Client,
    auth: dict[str, str],
    tps: str,
    numbers: dict[str, Any],
    kecamatan: str = KEC_A,
    election: str = "ppwp",
) -> httpx.Response:
    url = f"{mock.url}/api/v1/recap/{kecamatan}/{election}/plenary/{tps}"
    return client.put(url, json=numbers, headers=auth)


def read_progress(
    mock: MockServer, client: httpx.Client, auth: dict[str, str], kecamatan: str = KEC_A
) -> dict[str, Any]:
    response = client.get(f"{mock.url}/api/v1/recap/{kecamatan}/ppwp/plenary", headers=auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def shifted(numbers: dict[str, Any], **changes: int) -> dict[str, Any]:
    """A copy with ``chart_<id>=n`` or ``adm_<name>=n`` set (the manual count's own digits)."""
    chart, adm = dict(numbers["chart"]), dict(numbers["administrasi"])
    for key, value in changes.items():
        section, name = key.split("_", 1)
        (chart if section == "chart" else adm)[name] = value
    return {"chart": chart, "administrasi": adm}


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_operator_login_gives_a_kecamatan_token_and_refuses_bad_credentials(
    plenary: MockServer, client: httpx.Client
) -> None:
    url = f"{plenary.url}/api/v1/operators/sessions"
    ok = client.post(
        url, json={"operator_id": "ppk-510305-2", "kecamatan_code": KEC_A, "secret": "secret-a2"}
    )
    assert ok.status_code == 201, ok.text
    assert set(ok.json()) == {"token", "expires_at"}
    remaining = (_iso(ok.json()["expires_at"]) - datetime.now(UTC)).total_seconds()
    assert 3590 < remaining <= 3600  # --token-ttl default
    for body in (
        {"operator_id": "ppk-510305-1", "kecamatan_code": KEC_A, "secret": "wrong"},
        {"operator_id": "ppk-510305-1", "kecamatan_code": KEC_B, "secret": "secret-a1"},
        {"operator_id": "nobody", "kecamatan_code": KEC_A, "secret": "secret-a1"},
    ):
        refused = client.post(url, json=body)
        assert refused.status_code == 401
        assert refused.json() == {
            "error": "unknown operator, wrong kecamatan or wrong secret",
            "status": 401,
        }
    malformed = client.post(url, json={"operator_id": "ppk-510305-1", "secret": "x"})
    assert malformed.status_code == 422
    assert "kecamatan_code: Field required" in malformed.json()["error"]


def test_matching_manual_totals_gavel_the_tps(plenary: MockServer, client: httpx.Client) -> None:
    tps = TPS_A[0]
    numbers = upload(plenary, client, tps)
    auth = plenary.operator_login(client, KEC_A)
    response = put_manual(plenary, client, auth, tps, numbers)
    assert response.status_code == 200, response.text
    body = response.json()
    closed_at = body.pop("closed_at")
    assert body == {
        "status": "matched",
        "tps_code": tps,
        "election": "ppwp",
        "revision": 1,
        "differences": [],
        "closed": True,
    }
    assert abs((datetime.now(UTC) - _iso(closed_at)).total_seconds()) < 60
    progress = read_progress(plenary, client, auth)
    assert progress["closed_tps"] == [{"tps_code": tps, "closed_at": closed_at, "revision": 1}]


def test_a_discrepancy_names_every_differing_field_with_both_values(
    plenary: MockServer, client: httpx.Client
) -> None:
    """Union of keys on both sides, sorted by field; a key missing on one side is null there."""
    tps = TPS_A[0]
    stored = upload(plenary, client, tps)
    chart, adm = stored["chart"], stored["administrasi"]
    manual = shifted(
        stored,
        chart_100025=chart["100025"] - 5,  # OCR read a 3 as an 8 (a misread reported in 2024)
        chart_100099=4,  # a candidate Sirekap does not have
        adm_suara_sah=adm["suara_sah"] - 5,
    )
    del manual["administrasi"]["pengguna_total_p"]
    auth = plenary.operator_login(client, KEC_A)
    response = put_manual(plenary, client, auth, tps, manual)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "discrepancy",
        "tps_code": tps,
        "election": "ppwp",
        "revision": 1,
        "differences": [
            {
                "field": "administrasi.pengguna_total_p",
                "manual": None,
                "sirekap": adm["pengguna_total_p"],
            },
            {"field": "administrasi.suara_sah", "manual": adm["suara_sah"] - 5,
             "sirekap": adm["suara_sah"]},
            {"field": "chart.100025", "manual": chart["100025"] - 5, "sirekap": chart["100025"]},
            {"field": "chart.100099", "manual": 4, "sirekap": None},
        ],
        "closed": False,
        "closed_at": None,
    }  # fmt: skip
    progress = read_progress(plenary, client, auth)
    assert [item["tps_code"] for item in progress["open"]] == [tps]
    assert progress["open"][0]["differences"] == response.json()["differences"]
    assert progress["open"][0]["reason"] == "discrepancy"


def test_a_tps_without_an_upload_is_409_missing_upload(
    plenary: MockServer, client: httpx.Client
) -> None:
    tps = TPS_A[1]
    auth = plenary.operator_login(client, KEC_A)
    response = put_manual(plenary, client, auth, tps, valid_result(201))
    assert response.status_code == 409
    assert response.json() == {
        "error": (
            f"no result uploaded for TPS {tps} ppwp yet: the plenary can compare the manual "
            "totals only after a KPPS device has submitted the TPS's result"
        ),
        "status": 409,
        "outcome": "missing_upload",
        "differences": [],
    }
    assert tps in read_progress(plenary, client, auth)["missing"]  # nothing was kept


def test_a_gaveled_tps_takes_the_same_totals_again_and_refuses_others(
    plenary: MockServer, client: httpx.Client
) -> None:
    tps = TPS_A[0]
    numbers = upload(plenary, client, tps)
    auth = plenary.operator_login(client, KEC_A)
    first = put_manual(plenary, client, auth, tps, numbers)
    again = put_manual(plenary, client, auth, tps, numbers)
    assert again.status_code == 200 and again.json() == first.json()
    closed_at = first.json()["closed_at"]
    other = shifted(numbers, chart_100026=numbers["chart"]["100026"] + 1)
    refused = put_manual(plenary, client, auth, tps, other)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == (
        f"TPS {tps} ppwp already gaveled at {closed_at} with other totals (they differ in "
        "chart.100026); a gaveled TPS is final: only its gaveled totals may be sent again"
    )
    assert body["outcome"] == "already_gaveled" and body["closed_at"] == closed_at
    assert body["differences"] == [
        {
            "field": "chart.100026",
            "manual": numbers["chart"]["100026"] + 1,
            "sirekap": numbers["chart"]["100026"],
        }
    ]
    # a later device revision does not reopen a gaveled TPS
    revise(plenary, client, tps, 2, shift=3)
    assert read_progress(plenary, client, auth)["closed_tps"][0]["revision"] == 1


def test_a_corrected_manual_entry_closes_a_discrepancy(
    plenary: MockServer, client: httpx.Client
) -> None:
    tps = TPS_A[0]
    numbers = upload(plenary, client, tps)
    auth = plenary.operator_login(client, KEC_A)
    wrong = shifted(numbers, chart_100027=numbers["chart"]["100027"] + 40)
    first = put_manual(plenary, client, auth, tps, wrong)
    assert first.json()["status"] == "discrepancy"
    since = read_progress(plenary, client, auth)["open"][0]["since"]
    corrected = put_manual(plenary, client, auth, tps, numbers)
    assert corrected.status_code == 200
    assert corrected.json()["status"] == "matched" and corrected.json()["closed"] is True
    assert corrected.json()["differences"] == [] and corrected.json()["revision"] == 1
    progress = read_progress(plenary, client, auth)
    assert progress["open"] == [] and progress["closed"] == 1
    assert since <= progress["closed_tps"][0]["closed_at"]


def test_a_result_revision_is_compared_with_the_kept_manual_entry_at_once(
    plenary: MockServer, client: httpx.Client
) -> None:
    """A revision that still differs updates the open TPS; the one that matches gavels it."""
    tps = TPS_A[0]
    upload(plenary, client, tps, shift=0)  # the misread first upload
    truth = valid_result(plenary.registry[tps]["dpt"], shift=2)
    auth = plenary.operator_login(client, KEC_A)
    opened = put_manual(plenary, client, auth, tps, truth)
    assert [d["field"] for d in opened.json()["differences"]] == ["chart.100025", "chart.100026"]
    since = read_progress(plenary, client, auth)["open"][0]["since"]

    still_wrong = revise(plenary, client, tps, 2, shift=1)
    open_tps = read_progress(plenary, client, auth)["open"]
    assert open_tps == [
        {
            "tps_code": tps,
            "reason": "discrepancy",
            "since": since,
            "differences": [
                {
                    "field": f"chart.{candidate}",
                    "manual": truth["chart"][candidate],
                    "sirekap": still_wrong["chart"][candidate],
                }
                for candidate in ("100025", "100026")
            ],
        }
    ]
    revise(plenary, client, tps, 3, shift=2)  # the officer's correction: now it matches
    progress = read_progress(plenary, client, auth)
    assert progress["open"] == []
    assert [(c["tps_code"], c["revision"]) for c in progress["closed_tps"]] == [(tps, 3)]
    metrics = client.get(f"{plenary.url}/metrics").text
    assert "sirekap_plenary_closed_total 1.0" in metrics
    assert 'sirekap_plenary_submissions_total{outcome="discrepancy"} 1.0' in metrics


def test_progress_lists_every_state_and_sums_the_d_hasil_once_complete(
    plenary: MockServer, client: httpx.Client
) -> None:
    closed, still_open, pending, missing = TPS_A
    auth = plenary.operator_login(client, KEC_A)
    numbers = {tps: upload(plenary, client, tps, shift=i) for i, tps in enumerate(TPS_A[:3])}
    assert put_manual(plenary, client, auth, closed, numbers[closed]).json()["closed"] is True
    wrong = shifted(numbers[still_open], adm_suara_tidak_sah=9)
    assert put_manual(plenary, client, auth, still_open, wrong).json()["closed"] is False
    progress = read_progress(plenary, client, auth)
    assert progress["kecamatan_code"] == KEC_A and progress["election"] == "ppwp"
    assert progress["tps_total"] == 4 and progress["closed"] == 1
    assert [c["tps_code"] for c in progress["closed_tps"]] == [closed]
    assert [(o["tps_code"], o["reason"]) for o in progress["open"]] == [(still_open, "discrepancy")]
    assert progress["open"][0]["differences"] == [
        {"field": "administrasi.suara_tidak_sah", "manual": 9, "sirekap": 3}
    ]
    assert progress["pending"] == [pending] and progress["missing"] == [missing]
    assert progress["complete"] is False and progress["d_hasil"] is None

    numbers[missing] = upload(plenary, client, missing, shift=5)
    for tps in (still_open, pending, missing):
        assert put_manual(plenary, client, auth, tps, numbers[tps]).json()["closed"] is True
    done = read_progress(plenary, client, auth)
    assert done["complete"] is True and done["closed"] == 4
    assert done["open"] == done["pending"] == done["missing"] == []
    d_hasil = done["d_hasil"]
    assert d_hasil["tps"] == 4
    assert d_hasil["completed_at"] == max(c["closed_at"] for c in done["closed_tps"])
    for section in ("chart", "administrasi"):
        keys = numbers[closed][section]
        expected = {key: sum(numbers[tps][section][key] for tps in TPS_A) for key in keys}
        assert d_hasil[section] == expected, section
    # The other kecamatan's plenary has not started: the admin may read it too.
    other = read_progress(plenary, client, plenary.admin, KEC_B)
    assert other["missing"] == list(TPS_B) and other["complete"] is False
    # Acknowledged means durable: after kill -9 the gavels and the D.Hasil are all there.
    plenary.stop(signal.SIGKILL)
    plenary.start()
    assert read_progress(plenary, client, plenary.admin) == done


def test_plenary_refusals_say_what_is_wrong(plenary: MockServer, client: httpx.Client) -> None:
    tps = TPS_A[0]
    numbers = upload(plenary, client, tps)
    auth_a = plenary.operator_login(client, KEC_A)
    auth_b = plenary.operator_login(client, KEC_B)
    device = plenary.login(client, tps)
    cases: list[tuple[dict[str, str], str, str, Any, int, str]] = [
        ({}, KEC_A, tps, numbers, 401,
         "missing operator token: send Authorization: Bearer <token>, the token from "
         "POST /api/v1/operators/sessions"),
        ({"Authorization": "Bearer abc"}, KEC_A, tps, numbers, 401,
         "malformed operator token: log in again"),
        (device, KEC_A, tps, numbers, 401, "malformed operator token: log in again"),
        (auth_b, KEC_A, tps, numbers, 403,
         f"token is scoped to kecamatan {KEC_B}; it cannot act on kecamatan {KEC_A}"),
        (auth_a, KEC_A, TPS_B[0], numbers, 403,
         f"TPS '{TPS_B[0]}' is not in kecamatan {KEC_A}: its plenary takes only the 4 TPS the "
         "registry lists there"),
        (auth_a, "999999", tps, numbers, 404,
         "unknown kecamatan '999999': give the 6-digit code of a kecamatan with TPS in this "
         "server's registry"),
        (auth_a, KEC_A, tps, {"chart": {"100025": "many"}, "administrasi": {"suara_sah": -1}},
         422, "invalid request: chart.100025: Input should be a valid integer; "
         "administrasi.suara_sah: Input should be greater than or equal to 0"),
        (auth_a, KEC_A, tps, {"chart": {}}, 422,
         "invalid request: administrasi: Field required"),
    ]  # fmt: skip
    for headers, kecamatan, code, body, status, message in cases:
        response = put_manual(plenary, client, headers, code, body, kecamatan)
        assert response.status_code == status, (message, response.text)
        assert response.json()["error"] == message
        assert response.json()["status"] == status
    token = auth_a["Authorization"].removeprefix("Bearer ")
    payload, signature = token.split(".")
    tampered = {"Authorization": f"Bearer {payload}.{'A' * len(signature)}"}
    invalid = put_manual(plenary, client, tampered, tps, numbers)
    assert invalid.status_code == 401
    assert invalid.json()["error"] == "invalid operator token: log in again"
    election = put_manual(plenary, client, auth_a, tps, numbers, election="dprd")
    assert election.status_code == 404
    assert election.json()["error"] == (
        "unknown election 'dprd'; valid elections: ppwp, pdpr, pdpd, pdprdp, pdprdk"
    )
    url = f"{plenary.url}/api/v1/recap/{KEC_A}/ppwp/plenary"
    missing = client.get(url)
    assert missing.status_code == 401
    assert missing.json()["error"] == (
        "missing token: send Authorization: Bearer <token> with an operator token of this "
        "kecamatan or the admin token"
    )
    other = client.get(url, headers=auth_b)
    assert other.status_code == 403
    assert other.json()["error"] == (
        f"token is scoped to kecamatan {KEC_B}; it cannot act on kecamatan {KEC_A}"
    )
    unknown = client.get(f"{plenary.url}/api/v1/recap/12/ppwp/plenary", headers=plenary.admin)
    assert unknown.status_code == 404 and "unknown kecamatan '12'" in unknown.json()["error"]
    # none of the refusals reached the plenary
    assert read_progress(plenary, client, auth_a)["pending"] == [tps]


def test_a_registry_without_operators_file_has_no_operators(
    tmp_path: Path, client: httpx.Client, new_database: NewDatabase
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(f"tps_code,dpt,device_id,secret\n{TPS_A[0]},200,d1,s1\n")
    server = launch_mock(
        tmp_path, "bare", "--registry", str(registry), "--capacity", "raw",
        db_url=new_database("bare"),
    )  # fmt: skip
    try:
        login = client.post(
            f"{server.url}/api/v1/operators/sessions",
            json={"operator_id": f"ppk-{KEC_A}-1", "kecamatan_code": KEC_A, "secret": "x"},
        )
        assert login.status_code == 401
        progress = client.get(
            f"{server.url}/api/v1/recap/{KEC_A}/ppwp/plenary", headers=server.admin
        )
        assert progress.status_code == 200 and progress.json()["missing"] == [TPS_A[0]]
    finally:
        server.stop()


def test_generated_registries_get_one_operator_per_kecamatan(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock(tps=40)
    kecamatan = sorted({code[:6] for code in server.tps_codes()})
    assert sorted(server.operators) == [f"ppk-{kec}-1" for kec in kecamatan]
    tps = server.tps_codes()[0]
    numbers = upload(server, client, tps)
    auth = server.operator_login(client, tps[:6])
    response = put_manual(server, client, auth, tps, numbers, kecamatan=tps[:6])
    assert response.status_code == 200 and response.json()["status"] == "matched"


def test_the_plenary_gate_suspends_only_the_plenary_until_cleared(
    plenary: MockServer, client: httpx.Client
) -> None:
    tps = TPS_A[0]
    auth = plenary.operator_login(client, KEC_A)
    faults = f"{plenary.url}/admin/faults"
    put = client.put(faults, json={"plenary_gate": {"retry_after_s": 120}}, headers=plenary.admin)
    assert put.status_code == 200 and put.json()["active"] is True
    assert put.json()["plenary_gate"] == {"retry_after_s": 120}
    login_body = {"operator_id": "ppk-510305-1", "kecamatan_code": KEC_A, "secret": "secret-a1"}
    refused = [
        client.post(f"{plenary.url}/api/v1/operators/sessions", json=login_body),
        put_manual(plenary, client, auth, tps, valid_result(200)),
        client.get(f"{plenary.url}/api/v1/recap/{KEC_A}/ppwp/plenary", headers=auth),
    ]
    for response in refused:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "120"
        assert response.json() == {
            "error": "plenary suspended for Sirekap maintenance",
            "status": 503,
        }
    numbers = upload(plenary, client, tps)  # uploads go on
    assert client.get(f"{plenary.url}/api/v1/recap/{KEC_A}/ppwp").status_code == 200
    assert client.get(f"{plenary.url}/api/v1/tps/{tps}/ppwp").json()["chart"] == numbers["chart"]
    default = client.put(faults, json={"plenary_gate": {}}, headers=plenary.admin)
    assert default.json()["plenary_gate"] == {"retry_after_s": 60}
    assert put_manual(plenary, client, auth, tps, numbers).headers["retry-after"] == "60"
    bad = client.put(faults, json={"plenary_gate": {"retry_after": 5}}, headers=plenary.admin)
    assert bad.status_code == 422
    assert "plenary_gate.retry_after: Extra inputs are not permitted" in bad.json()["error"]
    assert client.delete(faults, headers=plenary.admin).status_code == 204
    assert put_manual(plenary, client, auth, tps, numbers).json()["status"] == "matched"
    text = client.get(f"{plenary.url}/metrics").text
    assert 'sirekap_rejections_total{reason="plenary_gate"} 4.0' in text
    assert 'sirekap_requests_total{endpoint="plenary",status="503"} 4.0' in text


def test_the_fault_layer_applies_and_clears_the_plenary_gate(
    plenary: MockServer, client: httpx.Client
) -> None:
    auth = plenary.operator_login(client, KEC_A)
    url = f"{plenary.url}/api/v1/recap/{KEC_A}/ppwp/plenary"
    window = FaultWindow.model_validate(
        {"start_s": 0, "end_s": 60, "layer": "server", "kind": "plenary_gate",
         "params": {"retry_after_s": 30}}
    )  # fmt: skip
    errors = FaultWindow.model_validate(
        {"start_s": 0, "end_s": 60, "layer": "server", "kind": "errors",
         "params": {"rate": 1.0, "status": 500, "endpoints": ["read"]}}
    )  # fmt: skip
    layer = ServerFaults(plenary.url, ADMIN_TOKEN)
    try:
        layer.apply("gate", window)
        layer.apply("errors", errors)
        gated = client.get(url, headers=auth)
        assert gated.status_code == 503 and gated.headers["retry-after"] == "30"
        assert client.get(f"{plenary.url}/api/v1/tps/{TPS_A[0]}/ppwp").status_code == 500
        layer.remove("errors", errors)
        assert layer.current()["plenary_gate"] == {"retry_after_s": 30}
        assert client.get(url, headers=auth).status_code == 503
        layer.remove("gate", window)
        assert client.get(url, headers=auth).status_code == 200
        assert layer.current()["active"] is False
    finally:
        layer.clear()
        layer.close()


def test_the_plenary_gate_is_shared_by_every_server_process(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock("--workers", "2")
    kecamatan = server.tps_codes()[0][:6]
    auth = server.operator_login(client, kecamatan)
    spec = {"plenary_gate": {"retry_after_s": 7}}
    assert client.put(f"{server.url}/admin/faults", json=spec, headers=server.admin).is_success

    def answer(fresh: httpx.Client) -> tuple[int, str | None]:
        response = fresh.get(f"{server.url}/api/v1/recap/{kecamatan}/ppwp/plenary", headers=auth)
        return response.status_code, response.headers.get("retry-after")

    assert every_process_answers(answer, (503, "7")) == {(503, "7")}


def test_the_export_carries_plenary_lines_the_integrity_audit_leaves_out(
    plenary: MockServer, client: httpx.Client, tmp_path: Path
) -> None:
    auth = plenary.operator_login(client, KEC_A)
    closed, still_open = TPS_A[:2]
    numbers = {tps: upload(plenary, client, tps) for tps in (closed, still_open)}
    put_manual(plenary, client, auth, closed, numbers[closed])
    wrong = shifted(numbers[still_open], chart_100025=numbers[still_open]["chart"]["100025"] + 1)
    put_manual(plenary, client, auth, still_open, wrong)
    export = client.get(f"{plenary.url}/admin/export", headers=plenary.admin).text
    rows = [json.loads(line) for line in export.splitlines()]
    lines = [row for row in rows if row["kind"] == "plenary"]
    assert [(row["tps_code"], row["status"]) for row in lines] == [
        (closed, "closed"),
        (still_open, "open"),
    ]
    assert set(lines[0]) == {
        "kind", "kecamatan_code", "election", "tps_code", "status", "closed_at", "revision",
        "differences", "manual",
    }  # fmt: skip
    assert lines[0]["manual"] == numbers[closed] and lines[0]["differences"] == []
    assert lines[0]["kecamatan_code"] == KEC_A and lines[0]["revision"] == 1
    assert lines[1]["closed_at"] is None and lines[1]["manual"] == wrong
    assert [d["field"] for d in lines[1]["differences"]] == ["chart.100025"]
    saved = tmp_path / "export.ndjson"
    saved.write_text(export)
    results = read_export(saved)
    assert {row["kind"] for row in results} == {"result"} and len(results) == 2
    acks = [
        Ack(row["tps_code"], row["election"], row["receipt_id"], row["content_sha256"])
        for row in results
    ]
    assert audit(acks, results).as_dict()["lost"] == 0 and audit(acks, results).clean


def test_plenary_metrics_count_submissions_by_outcome(
    plenary: MockServer, client: httpx.Client
) -> None:
    auth = plenary.operator_login(client, KEC_A)
    before = client.get(f"{plenary.url}/metrics").text
    for outcome in ("matched", "discrepancy", "missing_upload", "already_gaveled"):
        assert f'sirekap_plenary_submissions_total{{outcome="{outcome}"}} 0.0' in before
    assert "sirekap_plenary_closed_total 0.0" in before
    numbers = upload(plenary, client, TPS_A[0])
    put_manual(plenary, client, auth, TPS_A[1], numbers)  # missing_upload
    put_manual(plenary, client, auth, TPS_A[0], shifted(numbers, chart_100025=0))
    put_manual(plenary, client, auth, TPS_A[0], numbers)
    put_manual(plenary, client, auth, TPS_A[0], numbers)  # idempotent: matched again
    put_manual(plenary, client, auth, TPS_A[0], shifted(numbers, chart_100025=0))
    text = client.get(f"{plenary.url}/metrics").text
    for outcome, count in (
        ("matched", 2),
        ("discrepancy", 1),
        ("missing_upload", 1),
        ("already_gaveled", 1),
    ):
        assert f'sirekap_plenary_submissions_total{{outcome="{outcome}"}} {count}.0' in text
    assert "sirekap_plenary_closed_total 1.0" in text
