"""The published OpenAPI document, fuzzed: no input, however malformed, gets a 5xx."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.mock_sirekap.conftest import (
    ADMIN_TOKEN,
    MockServer,
    launch_mock,
    read_operators,
    read_registry,
    submit,
    upload_pages,
    valid_result,
)

pytestmark = pytest.mark.slow
# Bounded per operation; raise it locally (FUZZ_EXAMPLES=500) for a deeper search.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


@dataclass(frozen=True)
class Tokens:
    device: str  # for the first TPS
    operator: str  # for the first TPS's kecamatan


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MockServer, Tokens]]:
    """One raw-mode mock for the whole module, and device and operator tokens for its first TPS."""
    folder = tmp_path_factory.mktemp("fuzz")
    registry, operators = folder / "r.csv", folder / "o.csv"
    server = launch_mock(
        folder,
        "f",
        *("--tps", "5", "--registry-out", str(registry), "--operators-out", str(operators)),
        *("--capacity", "raw"),
    )
    server.registry = read_registry(registry)
    server.operators = read_operators(operators)
    first = server.tps_codes()[0]
    with httpx.Client(timeout=10) as client:
        tokens = Tokens(
            server.login(client, first)["Authorization"],
            server.operator_login(client, first[:6])["Authorization"],
        )
        # A stored result, so that the plenary's manual totals get compared, not only refused.
        auth = {"Authorization": tokens.device}
        body = {**valid_result(server.registry[first]["dpt"])}
        body["pages"] = upload_pages(server, client, first, auth)
        assert submit(server, client, first, auth, body).status_code == 201
    yield server, tokens
    server.stop()


def _fuzzer(server: MockServer, tokens: Tokens, operation: Any) -> Callable[[], None]:
    if operation.path.startswith("/admin"):
        token = f"Bearer {ADMIN_TOKEN}"
    elif "plenary" in operation.path:
        token = tokens.operator
    else:
        token = tokens.device

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
        if "kecamatan_code" in params:
            params["kecamatan_code"] = server.tps_codes()[0][:6]  # and the operator's scope
            params["election"] = "ppwp"  # so that the manual totals' body is what gets fuzzed
        sent = {name.lower() for name in (case.headers or {})}
        headers = {} if "authorization" in sent else {"Authorization": token}
        case.call_and_validate(base_url=server.url, headers=headers, checks=[not_a_server_error])

    return fuzz  # type: ignore[no-any-return]


def test_no_input_makes_the_server_fail(fuzz_target: tuple[MockServer, Tokens]) -> None:
    """Every operation, with bounded generated inputs (valid and invalid), answers below 500."""
    server, tokens = fuzz_target
    api = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        _fuzzer(server, tokens, operation)()
