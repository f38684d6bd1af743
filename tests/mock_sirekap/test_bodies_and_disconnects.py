"""Request bodies under guard: a declared length costs nothing until bytes arrive, a body has a
time limit (408) and a size limit (413 at once when declared), and a client that hangs up frees
its worker and is counted as a disconnect, not as a server error."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from tests.mock_sirekap.conftest import MockServer, photo

pytestmark = pytest.mark.slow


def _address(server: MockServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _head(path: str, length: int, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: x", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and raw bytes of the whole answer (the server closes the connection after it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def _error(raw: bytes) -> str:
    error: str = json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"]
    return error


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_declared_bodies_that_never_arrive_leave_the_workers_free(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    """16 clients declare big photos and hang up (8 with a valid token, 8 without): the model
    charges the bytes they sent (none), not the 7.6 MB they declared at 10 s per MiB, so the
    16 workers are free again at once and every request after them is served."""
    capacity = {
        "workers": 16, "queue": 4, "queue_timeout": 1.0, "retry_after": 1,
        "service_time": {"page": {"median": 0.01, "p95": 0.01, "per_mib": 10.0},
                         "read": {"median": 0.01, "p95": 0.01}},
    }  # fmt: skip
    server = start_mock(capacity=capacity)
    tps = server.tps_codes()[0]
    auth = server.login(client, tps)
    _, sha = photo("never-sent")
    path = f"/api/v1/tps/{tps}/ppwp/pages/1"
    sockets = [socket.create_connection(_address(server), timeout=10) for _ in range(16)]
    for index, sock in enumerate(sockets):
        headers = {"X-Content-SHA256": sha, **(auth if index % 2 else {})}
        sock.sendall(_head(path, 8_000_000, headers))
    time.sleep(1.0)
    for sock in sockets:
        sock.close()
    # Before the fix each took a worker for 76 s of declared service time: every read got 503.
    deadline, statuses = time.monotonic() + 15, []
    while time.monotonic() < deadline:
        statuses = [client.get(f"{server.url}/api/v1/tps/{tps}/ppwp").status_code for _ in range(8)]
        if statuses == [200] * 8:
            break
        time.sleep(0.2)
    assert statuses == [200] * 8
    text = client.get(f"{server.url}/metrics").text
    assert _metric(text, 'sirekap_client_disconnects_total{endpoint="page"}') == 8
    assert _metric(text, 'sirekap_requests_total{endpoint="page",status="401"}') == 8
    assert 'status="500"' not in text
    assert _metric(text, "sirekap_in_flight_requests") == 0
    assert client.get(f"{server.url}{path}").status_code == 404  # nothing was stored


def test_a_declared_size_over_the_limit_is_refused_at_once_without_reading(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    for path, limit, what in (
        (f"/api/v1/tps/{tps}/ppwp/pages/1", 8_388_608, "photo"),
        (f"/api/v1/tps/{tps}/ppwp/result", 65_536, "request body"),
        ("/admin/faults", 65_536, "request body"),
    ):
        with socket.create_connection(_address(mock), timeout=10) as sock:
            sock.sendall(_head(path, 100_000_000_000))  # no token, no body: nothing to wait for
            status, raw = _answer(sock)
        assert status == 413, raw
        assert _error(raw) == f"{what} of 100000000000 bytes exceeds the {limit}-byte limit"
        assert b"connection: close" in raw.lower()


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)

    def chunks() -> object:
        for _ in range(20):
            yield b" " * 8192  # 160 KiB of JSON whitespace, no Content-Length

    response = client.put(
        f"{mock.url}/api/v1/tps/{tps}/ppwp/result",
        content=chunks(),  # type: ignore[arg-type]
        headers={**auth, "Content-Type": "application/json", "Idempotency-Key": "k"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request body exceeds the 65536-byte limit"


def test_a_body_slower_than_the_body_timeout_gets_408_and_frees_its_worker(
    start_mock: Callable[..., MockServer], client: httpx.Client
) -> None:
    server = start_mock("--body-timeout", "1")
    tps = server.tps_codes()[0]
    auth = server.login(client, tps)
    _, sha = photo("slow")
    started = time.monotonic()
    with socket.create_connection(_address(server), timeout=20) as sock:
        headers = {**auth, "X-Content-SHA256": sha}
        sock.sendall(_head(f"/api/v1/tps/{tps}/ppwp/pages/1", 1000, headers) + b"x" * 10)
        status, raw = _answer(sock)
    assert status == 408, raw
    assert _error(raw) == (
        "request body not received within 1 s (10 bytes arrived); send the whole body at once"
    )
    assert b"connection: close" in raw.lower()
    assert time.monotonic() - started < 15  # bounded by the body timeout, not by the client
    text = client.get(f"{server.url}/metrics").text
    assert _metric(text, 'sirekap_requests_total{endpoint="page",status="408"}') == 1
    assert _metric(text, "sirekap_in_flight_requests") == 0


def test_a_client_that_hangs_up_mid_body_is_a_disconnect_not_a_server_error(
    mock: MockServer, client: httpx.Client
) -> None:
    tps = mock.tps_codes()[0]
    auth = mock.login(client, tps)
    body, sha = photo("cut-off", 65536)
    with socket.create_connection(_address(mock), timeout=10) as sock:
        headers = {**auth, "X-Content-SHA256": sha}
        sock.sendall(_head(f"/api/v1/tps/{tps}/ppwp/pages/1", len(body), headers) + body[:4096])
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = client.get(f"{mock.url}/metrics").text
        if _metric(text, 'sirekap_client_disconnects_total{endpoint="page"}') == 1:
            break
        time.sleep(0.1)
    assert _metric(text, 'sirekap_client_disconnects_total{endpoint="page"}') == 1
    assert 'endpoint="page",status="500"' not in text
    assert client.get(f"{mock.url}/api/v1/tps/{tps}/ppwp/pages/1").status_code == 404
    assert "Traceback" not in mock.log.read_text()
