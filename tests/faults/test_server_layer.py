"""The server layer against a small fake admin endpoint that records every call (the real mock's
plenary gate through this layer: tests/mock_sirekap/test_plenary.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from faults.kinds import PlenaryGateParams
from faults.server_layer import DEFAULT_LEASE_S, ServerFaultError, ServerFaults, fault_state
from faults.timeline import FaultTimeline, FaultWindow
from tests.conftest import pick_free_port
from tests.mock_sirekap.conftest import ADMIN_TOKEN as MOCK_ADMIN_TOKEN
from tests.mock_sirekap.conftest import MockServer, launch_mock

TOKEN = "s3cret"
LEASE = {"lease_s": DEFAULT_LEASE_S}  # sent with every state; renewed every third of it


@dataclass
class FakeAdmin:
    url: str
    calls: list[tuple[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def admin() -> Iterator[FakeAdmin]:
    fake = FakeAdmin("")

    class Handler(BaseHTTPRequestHandler):
        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self._answer(401, {"detail": "bad token"})
            return False

        def _answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            if self.path != "/admin/faults" or not self._authorised():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("capacity_fraction", 1) < 0.2:
                self._answer(422, {"detail": "capacity_fraction below the minimum 0.2"})
                return
            fake.calls.append(("PUT", body))
            fake.state = body
            self._answer(200, body)

        def do_DELETE(self) -> None:
            if self._authorised():
                fake.calls.append(("DELETE", None))
                fake.state = {}
                self._answer(204)

        def do_GET(self) -> None:
            if self._authorised():
                self._answer(200, fake.state)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def server(kind: str, start: float = 0, end: float = 10, **params: object) -> FaultWindow:
    return FaultWindow.model_validate(
        {"start_s": start, "end_s": end, "layer": "server", "kind": kind, "params": params}
    )


def test_fault_state_combines_the_active_windows() -> None:
    errors = server("errors", rate=0.3, status=500, endpoints=["page"])
    slow = server("latency", latency_ms=200, jitter_ms=20, endpoints=["page"])
    brownout = server("brownout", capacity_fraction=0.25, endpoints=["page"])
    assert fault_state([errors.params, slow.params, brownout.params]) == {  # type: ignore[list-item]
        "error_rate": 0.3,
        "error_status": 500,
        "latency_ms": 200.0,
        "jitter_ms": 20.0,
        "capacity_fraction": 0.25,
        "endpoints": ["page"],
    }


def test_apply_puts_the_state_and_the_last_remove_deletes_it(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, TOKEN)
    errors, slow = server("errors", rate=0.5), server("latency", latency_ms=100)
    layer.apply("w0", errors)
    layer.apply("w1", slow)
    layer.remove("w0", errors)
    layer.remove("w1", slow)
    assert admin.calls == [
        ("PUT", {"error_rate": 0.5, "error_status": 503, **LEASE}),
        (
            "PUT",
            {
                "error_rate": 0.5,
                "error_status": 503,
                "latency_ms": 100.0,
                "jitter_ms": 0.0,
                **LEASE,
            },
        ),
        ("PUT", {"latency_ms": 100.0, "jitter_ms": 0.0, **LEASE}),
        ("DELETE", None),
    ]
    assert layer.current() == {}


def test_clear_deletes_the_servers_faults(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, TOKEN)
    layer.apply("w0", server("brownout", capacity_fraction=0.5))
    layer.clear()
    assert admin.calls[-1] == ("DELETE", None)
    assert layer.current() == {}


def test_a_refused_token_is_reported_as_such(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, "wrong")
    with pytest.raises(ServerFaultError, match="answered 401: the admin token was refused"):
        layer.apply("w0", server("errors", rate=0.5))


def test_a_rejected_state_reports_the_servers_answer(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, TOKEN)
    with pytest.raises(ServerFaultError) as error:
        layer.apply("w0", server("brownout", capacity_fraction=0.1))
    assert f"PUT {admin.url}/admin/faults answered 422" in str(error.value)
    assert "capacity_fraction below the minimum 0.2" in str(error.value)


def test_an_unreachable_server_is_reported_with_the_url() -> None:
    url = f"http://127.0.0.1:{pick_free_port()}"
    layer = ServerFaults(url, TOKEN, timeout=1.0)
    with pytest.raises(ServerFaultError, match=f"DELETE {url}/admin/faults failed: ConnectError"):
        layer.clear()


def test_an_empty_admin_token_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="admin_token must not be empty"):
        ServerFaults("http://127.0.0.1:1", "")


def test_the_plenary_gate_is_sent_beside_endpoint_scoped_faults() -> None:
    gate = server("plenary_gate", retry_after_s=120)
    errors = server("errors", rate=0.2, endpoints=["page"])
    assert fault_state([gate.params]) == {"plenary_gate": {"retry_after_s": 120}}  # type: ignore[list-item]
    assert fault_state([errors.params, gate.params]) == {  # type: ignore[list-item]
        "error_rate": 0.2,
        "error_status": 503,
        "endpoints": ["page"],
        "plenary_gate": {"retry_after_s": 120},
    }
    assert server("plenary_gate").params == PlenaryGateParams(retry_after_s=60)


def test_apply_and_remove_put_and_clear_the_plenary_gate(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, TOKEN)
    gate, slow = server("plenary_gate"), server("latency", latency_ms=50)
    layer.apply("gate", gate)
    assert layer.current() == {"plenary_gate": {"retry_after_s": 60}, **LEASE}
    layer.apply("slow", slow)
    layer.remove("gate", gate)
    layer.remove("slow", slow)
    assert admin.calls == [
        ("PUT", {"plenary_gate": {"retry_after_s": 60}, **LEASE}),
        (
            "PUT",
            {"plenary_gate": {"retry_after_s": 60}, "latency_ms": 50.0, "jitter_ms": 0.0, **LEASE},
        ),
        ("PUT", {"latency_ms": 50.0, "jitter_ms": 0.0, **LEASE}),
        ("DELETE", None),
    ]


def test_plenary_gate_windows_take_no_endpoints_and_do_not_stack() -> None:
    with pytest.raises(ValidationError) as error:
        server("plenary_gate", endpoints=["page"])
    assert (
        "unknown parameter 'endpoints' for a server plenary_gate fault; "
        "valid parameters: retry_after_s"
    ) in str(error.value)
    with pytest.raises(ValidationError, match="retry_after_s"):
        server("plenary_gate", retry_after_s=-1)
    # The gate affects only the plenary endpoints, so it overlaps endpoint-scoped faults freely.
    FaultTimeline(windows=(server("plenary_gate"), server("errors", rate=0.5, endpoints=["page"])))
    with pytest.raises(ValidationError) as twice:
        FaultTimeline(windows=(server("plenary_gate", 0, 10), server("plenary_gate", 5, 20)))
    assert "only one server plenary_gate fault can be active at a time" in str(twice.value)


def _reads(mock: MockServer) -> int:
    return httpx.get(f"{mock.url}/api/v1/tps/{mock.tps_codes()[0]}/ppwp", timeout=10).status_code


@pytest.mark.slow
def test_the_layer_renews_its_lease_and_a_closed_layer_lets_the_fault_lapse(
    tmp_path: Path,
) -> None:
    """Against the real mock: while the window is active the layer renews the lease, so the fault
    holds for several leases; once the layer is gone (no clear: a dead harness) it lapses."""
    mock = launch_mock(tmp_path, "lease", "--tps", "3", "--capacity", "raw")
    try:
        mock.registry = {"1101011001001": {}}  # the first TPS of --tps 3 --seed 1
        layer = ServerFaults(mock.url, MOCK_ADMIN_TOKEN, lease_s=1.5)
        layer.apply("w0", server("errors", rate=1.0, status=500, endpoints=["read"]))
        statuses = []
        ends = time.monotonic() + 4.5  # three leases
        while time.monotonic() < ends:
            statuses.append(_reads(mock))
            time.sleep(0.2)
        assert set(statuses) == {500} and layer.renew_error is None
        assert layer.current()["version"] >= 2  # renewed at least once
        layer.close()  # stops renewing, leaves the fault: as if the harness was killed
        deadline = time.monotonic() + 15
        while _reads(mock) != 200:
            assert time.monotonic() < deadline, "the fault outlived its lease"
            time.sleep(0.1)
        assert httpx.get(f"{mock.url}/admin/faults", headers=mock.admin).json()["active"] is False
    finally:
        mock.stop()


def test_the_renewal_thread_stops_with_the_last_window(admin: FakeAdmin) -> None:
    layer = ServerFaults(admin.url, TOKEN, lease_s=30)
    window = server("errors", rate=0.5)
    layer.apply("w0", window)
    assert any(t.name == "server-fault-lease" for t in threading.enumerate())
    layer.remove("w0", window)
    assert not any(t.name == "server-fault-lease" for t in threading.enumerate())
    with pytest.raises(ValueError, match="lease_s must be above 0 seconds; got 0"):
        ServerFaults(admin.url, TOKEN, lease_s=0)
