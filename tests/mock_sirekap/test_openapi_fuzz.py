"""The published OpenAPI document, fuzzed: no input, however malformed, gets a 5xx."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.mock_sirekap.conftest import ADMIN_TOKEN, MockServer, launch_mock, read_registry

pytestmark = pytest.mark.slow
# Bounded per operation; raise it locally (FUZZ_EXAMPLES=500) for a deeper search.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MockServer, str]]:
    """One raw-mode mock for the whole module, and a device token for its first TPS."""
    folder = tmp_path_factory.mktemp("fuzz")
    registry = folder / "r.csv"
    server = launch_mock(
        folder, "f", "--tps", "5", "--registry-out", str(registry), "--capacity", "raw"
    )
    server.registry = read_registry(registry)
    with httpx.Client(timeout=10) as client:
        token = server.login(client, server.tps_codes()[0])["Authorization"]
    yield server, token
    server.stop()


def _fuzzer(server: MockServer, device_token: str, operation: Any) -> Callable[[], None]:
    token = f"Bearer {ADMIN_TOKEN}" if operation.path.startswith("/admin") else device_token

    @given(case=operation.as_strategy())
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case) -> None:
        params = case.path_parameters or {}
        if "tps_code" in params:
            params["tps_code"] = server.tps_codes()[0]  # reach past the token's TPS scope
        sent = {name.lower() for name in (case.headers or {})}
        headers = {} if "authorization" in sent else {"Authorization": token}
        case.call_and_validate(base_url=server.url, headers=headers, checks=[not_a_server_error])

    return fuzz  # type: ignore[no-any-return]


def test_no_input_makes_the_server_fail(fuzz_target: tuple[MockServer, str]) -> None:
    """Every operation, with bounded generated inputs (valid and invalid), answers below 500."""
    server, device_token = fuzz_target
    api = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        _fuzzer(server, device_token, operation)()
