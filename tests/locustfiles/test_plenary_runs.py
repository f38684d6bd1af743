"""Headless Locust with PPK operators against the real mock: misreads caught, plenary gaveled.

The fixture scenario (fixtures/plenary_tiny.toml) injects known misreads: the forms whose
numbers do not add up must be caught by the server's arithmetic check (422, then the truth), the
ones that do must be stored and then caught by the plenary (a discrepancy, a KPPS correction).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from locustfiles.jobs import build_plan
from scenarios import (
    build_population,
    capacity_json,
    loads_scenario,
    write_operators,
    write_registry,
)
from tests.conftest import pick_free_port
from tests.locustfiles.conftest import LOCUST, LOCUSTFILE, REPO, LocustRun, export
from tests.mock_sirekap.conftest import MockServer, launch_mock, read_registry

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "plenary_tiny.toml"
TEXT = FIXTURE.read_text(encoding="utf-8")
PLAN = build_plan(TEXT, str(FIXTURE))
# The misreads the fixture's seed injects (scenarios.workload.misreads): TPS number -> adds up.
KNOWN_MISREADS = {
    "001": True, "002": True, "003": False, "004": False,
    "005": True, "007": True, "010": True, "011": False,
}  # fmt: skip
PLENARY_KEYS = {
    "tps_code", "kecamatan_code", "election", "operator_id", "upload_acked_s",
    "first_attempt_s", "gaveled_s", "attempts", "corrections", "discrepancy_causes",
    "misread", "worker",
}  # fmt: skip


@pytest.fixture
def plenary_mock(tmp_path: Path) -> Iterator[Callable[[], MockServer]]:
    """The mock serving the fixture's TPS and its PPK operator."""
    servers: list[MockServer] = []

    def start() -> MockServer:
        name = f"mock{len(servers)}"
        population = build_population(loads_scenario(TEXT))
        registry, operators = tmp_path / f"{name}-registry.csv", tmp_path / f"{name}-ops.csv"
        write_registry(population, registry)
        write_operators(population, operators, 1)
        capacity = tmp_path / f"{name}-capacity.json"
        capacity.write_text(json.dumps(capacity_json(PLAN.scenario.target)))
        server = launch_mock(
            tmp_path, name, "--registry", str(registry), "--operators", str(operators),
            "--capacity", str(capacity),
        )  # fmt: skip
        server.registry = read_registry(registry)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def run_with_gate(server: MockServer, run_dir: Path, *, processes: int) -> LocustRun:
    """A Locust run on a known clock; the plenary gate is set from 40 to 60 simulated minutes."""
    speedup = PLAN.speedup
    clock_start = time.time() + 4.0
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
               "--scenario", str(FIXTURE), "--host", server.url, "--run-dir", str(run_dir),
               "--clock-start", repr(clock_start)]  # fmt: skip
    if processes:
        port = str(pick_free_port())
        command += ["--processes", str(processes), "--master-bind-port", port]
        command += ["--master-port", port]

    def gate() -> None:
        url = f"{server.url}/admin/faults"
        time.sleep(max(0.0, clock_start + 2400 / speedup - time.time()))
        httpx.put(url, json={"plenary_gate": {"retry_after_s": 1}}, headers=server.admin)
        time.sleep(max(0.0, clock_start + 3600 / speedup - time.time()))
        httpx.delete(url, headers=server.admin)

    thread = threading.Thread(target=gate, daemon=True)
    thread.start()
    process = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    thread.join(timeout=30)
    assert process.returncode == 0, process.stderr[-3000:]
    return LocustRun(process, run_dir)


def plenary_lines(run: LocustRun) -> list[dict[str, Any]]:
    text = (run.run_dir / "plenary.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_the_fixture_injects_the_known_misreads() -> None:
    found = {tps[-3:]: wrong.consistent for (tps, _), wrong in PLAN.misreads.items()}
    assert found == KNOWN_MISREADS


@pytest.mark.parametrize("processes", [0, 2], ids=["local", "two-processes"])
def test_every_misread_is_caught_where_expected_and_the_plenary_gavels_the_truth(
    tmp_path: Path, plenary_mock: Callable[[], MockServer], processes: int
) -> None:
    server = plenary_mock()
    run = run_with_gate(server, tmp_path / "run", processes=processes)
    summary, ledger, lines = run.summary, run.ledger, plenary_lines(run)
    population = PLAN.population
    assert summary["inconclusive"] is False, summary["reasons"]
    assert summary["run"]["end_reason"] == (
        "every form has its outcome and every operator finished its shift"
    )
    # Every form acked; every misread caught: arithmetic when it does not add up, else plenary.
    assert {line["final_outcome"] for line in ledger} == {"acked"}
    for line in ledger:
        number = line["tps_code"][-3:]
        if number not in KNOWN_MISREADS:
            assert line["misread"] is None
            continue
        consistent = KNOWN_MISREADS[number]
        assert line["misread"]["consistent"] is consistent
        assert line["misread"]["stored"] is consistent
        assert line["misread"]["caught_by"] == ("plenary" if consistent else "arithmetic")
        assert line["first_outcome"] == ("acked" if consistent else "rejected")
    assert summary["quality"] == {
        "misreads_injected": 8, "consistent": 5, "stored": 5, "caught_arithmetic": 3,
        "caught_plenary": 5, "undetected": 0, "never_stored": 0,
    }  # fmt: skip
    # plenary.jsonl: one complete line per TPS, every TPS gaveled after its upload was acked.
    assert [line["tps_code"] for line in lines] == [tps.code for tps in population]
    acked = {line["tps_code"]: line["acked_s"] for line in ledger}
    for line in lines:
        assert set(line) == PLENARY_KEYS
        assert line["operator_id"] == "ppk-510305-1" and line["kecamatan_code"] == "510305"
        assert line["upload_acked_s"] == acked[line["tps_code"]]
        assert line["gaveled_s"] is not None and line["gaveled_s"] >= line["upload_acked_s"]
        assert line["first_attempt_s"] == line["attempts"][0]["at_s"] >= 1800.0  # 17:30
        assert line["attempts"][-1]["outcome"] == "matched"
        assert all(a["status"] in (200, 409, 503) for a in line["attempts"])
        number = line["tps_code"][-3:]
        misread = line["misread"]
        assert (misread or {}).get("caught_by") == (
            None if number not in KNOWN_MISREADS
            else "plenary" if KNOWN_MISREADS[number] else "arithmetic"
        )  # fmt: skip
        outcomes = [a["outcome"] for a in line["attempts"] if a["outcome"] != "error"]
        if KNOWN_MISREADS.get(number):
            assert "discrepancy" in outcomes and line["discrepancy_causes"] == ["misread"]
            (correction,) = line["corrections"]
            assert (correction["outcome"], correction["revision"]) == ("acked", 2)
            differences = next(a for a in line["attempts"] if a["outcome"] == "discrepancy")
            assert {d["field"] for d in differences["differences"]} == set(misread["fields"])
        else:
            assert "discrepancy" not in outcomes and line["corrections"] == []
    # The plenary gate held the operator (503) while uploads went on.
    gated = [a for line in lines for a in line["attempts"] if a["status"] == 503]
    assert gated and all("plenary suspended" in a["detail"] for a in gated)
    assert summary["plenary"]["gaveled"] == 12 and summary["plenary"]["operators"] == 1
    # What the mock gaveled is the truth, and Sirekap's latest result is the truth.
    stored = export(server)
    plenary_rows = [row for row in stored if row["kind"] == "plenary"]
    assert len(plenary_rows) == 12 and {row["status"] for row in plenary_rows} == {"closed"}
    for row in plenary_rows:
        assert row["manual"] == population.result_body(row["tps_code"], "ppwp")
    latest: dict[str, int] = {}
    for row in stored:
        if row["kind"] == "result":
            latest[row["tps_code"]] = max(latest.get(row["tps_code"], 0), row["revision"])
    assert latest == {tps.code: 2 if KNOWN_MISREADS.get(tps.code[-3:]) else 1 for tps in population}
    progress = httpx.get(f"{server.url}/api/v1/recap/510305/ppwp/plenary", headers=server.admin)
    d_hasil = progress.json()["d_hasil"]
    truth = [population.result_body(tps, "ppwp") for tps in population]
    assert d_hasil["chart"] == {
        key: sum(body["chart"][key] for body in truth) for key in truth[0]["chart"]
    }
