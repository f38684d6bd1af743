"""``sirekap-loadtest check``: the preflight against the real mock, a service lacking idempotency,
a target that does not answer, a wrong admin token and bad usage; dependency proxies' upstreams."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.preflight import EMBEDDED, upstreams
from scenarios import build_population, load_scenario, write_registry
from tests.conftest import pick_free_port
from tests.harness.conftest import SMOKE, mock_with_registry
from tests.harness.fake_service import fake_service
from tests.mock_sirekap.conftest import launch_mock

pytestmark = pytest.mark.slow  # real servers and child processes
REPO = Path(__file__).resolve().parents[2]
FORM = "TPS 5103052003004 ppwp"  # the smoke run's earliest form (no misreads in smoke)


def _check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "SIREKAP_ADMIN_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env={**environment, **(env or {})},
    )  # fmt: skip


def _lines(out: str) -> dict[str, str]:
    """check name -> its whole line."""
    found = {}
    for line in out.splitlines():
        status, _, rest = line.partition(" ")
        if status in {"PASS", "FAIL", "SKIP"}:
            found[rest.split(":", 1)[0]] = line
    return found


def _with_server_fault(tmp_path: Path) -> Path:
    text = SMOKE.read_text() + (
        '\n[[faults]]\nname = "slow server"\nlayer = "server"\nkind = "latency"\n'
        'start = "19:00"\nend = "19:10"\nparams = { latency_ms = 100 }\n'
    )
    path = tmp_path / "server_fault.toml"
    path.write_text(text)
    return path


@pytest.fixture
def smoke_mock(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_registry(build_population(load_scenario(SMOKE)), tmp_path / "registry.csv")
    with mock_with_registry(tmp_path) as mock:
        yield mock


def test_every_check_passes_against_the_mock_and_a_second_check_is_an_idempotent_repeat(
    smoke_mock, tmp_path: Path
) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text(smoke_mock.admin_token + "\n")
    receipts = set()
    for _ in range(2):  # the second finds the form stored: the same receipt again
        result = _check(
            str(SMOKE), "--target", smoke_mock.url, "--admin-token-file", str(token_file)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = _lines(result.stdout)
        assert list(lines) == ["health", "login", "page", "arithmetic", "result", "read", "admin",
                               "proxies"], result.stdout  # fmt: skip
        assert lines["login"] == (
            "PASS login: device 5103052003004-1 of TPS 5103052003004 (the scenario's registry) "
            "logged in"
        )
        assert lines["page"].startswith(f"PASS page: page 1 of {FORM} PUT twice was stored once")
        assert lines["arithmetic"] == (
            f"PASS arithmetic: a result of {FORM} whose votes do not add up (chart.100025 + 1) "
            "was refused with 422"
        )
        assert lines["result"].startswith(
            f"PASS result: the true result of {FORM} under Idempotency-Key "
            "5103052003004-1/ppwp/1, sent twice, got one receipt (rcpt_"
        )
        receipts.add(lines["result"].rsplit("(", 1)[1])
        assert (
            lines["read"]
            == f"PASS read: the read of {FORM} gives the stored numbers in KPU's per-TPS shape"
        )
        assert lines["admin"] == (
            f"PASS admin: GET /admin/faults answered 200 with the admin token from "
            f"--admin-token-file {token_file} (for the export)"
        )
        assert lines["proxies"] == "SKIP proxies: the scenario declares no [[proxies]]"
        assert result.stdout.splitlines()[-1] == (
            f"check: 7 passed, 0 failed, 1 skipped against {smoke_mock.url}"
        )
    export = httpx.get(
        f"{smoke_mock.url}/admin/export",
        headers={"Authorization": f"Bearer {smoke_mock.admin_token}"}, timeout=10,
    ).text  # fmt: skip
    assert len(receipts) == 1, receipts
    rows = [json.loads(line) for line in export.splitlines() if line.strip()]
    results = [row for row in rows if row.get("kind") == "result"]
    assert len(results) == 1, export  # one result stored: no duplicate, the wrong one refused


def test_a_service_that_stores_a_repeated_page_anew_fails_the_page_check_naming_idempotency() -> (
    None
):
    with fake_service() as service:
        result = _check(str(SMOKE), "--target", service.url)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["page"] == (
        f"FAIL page: not idempotent: PUT page 1 of {FORM} twice: stored twice (stored_at "
        "2024-02-14T12:00:00.000+00:00, then 2024-02-14T12:00:01.000+00:00); a repeat of a "
        "stored hash must answer 200 with the stored copy (README, API)"
    )
    for name in ("arithmetic", "result", "read"):
        assert lines[name] == f"SKIP {name}: not checked: needs the page check to pass"
    assert "1 failed" in result.stdout.splitlines()[-1]


def test_a_service_that_gives_a_replayed_result_a_new_receipt_fails_the_result_check() -> None:
    with fake_service(idempotent_pages=True, arithmetic=True) as service:
        result = _check(str(SMOKE), "--target", service.url)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["page"].startswith("PASS page:")
    assert lines["arithmetic"].startswith("PASS arithmetic:")
    assert lines["result"].startswith(
        f"FAIL result: not idempotent: the true result of {FORM} under Idempotency-Key "
        "5103052003004-1/ppwp/1, sent twice, got two receipts (r"
    )
    assert lines["result"].endswith("a replay must get the stored receipt (README, API)")
    assert lines["read"].startswith(f"FAIL read: the read of {FORM} failed: HTTP 404: not here")


def test_a_service_that_stores_numbers_that_do_not_add_up_fails_the_arithmetic_check() -> None:
    with fake_service(idempotent_pages=True) as service:
        result = _check(str(SMOKE), "--target", service.url)
    assert result.returncode == 1
    assert _lines(result.stdout)["arithmetic"] == (
        f"FAIL arithmetic: a result of {FORM} whose votes do not add up (chart.100025 + 1) was "
        "stored (HTTP 201); it must be refused with 422 naming each broken ballot rule "
        "(README, API)"
    )


def test_a_target_that_does_not_answer_exits_3_naming_the_url() -> None:
    url = f"http://127.0.0.1:{pick_free_port()}"
    result = _check(str(SMOKE), "--target", url)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"sirekap-loadtest check: target {url} does not answer: [Errno 111] Connection refused"
    )
    assert result.stdout == ""


def test_a_mock_without_the_scenarios_registry_fails_the_login_saying_what_to_load(
    tmp_path: Path,
) -> None:
    mock = launch_mock(tmp_path, "own", "--tps", "3", "--seed", "1", "--capacity", "raw")
    try:
        result = _check(str(SMOKE), "--target", mock.url)
    finally:
        mock.stop()
    assert result.returncode == 1
    lines = _lines(result.stdout)
    assert lines["login"] == (
        "FAIL login: device 5103052003004-1 of TPS 5103052003004 could not log in: HTTP 401: "
        "unknown device, wrong TPS or wrong secret; load the scenario's registry into the "
        "target (sirekap-loadtest validate SCENARIO --registry FILE writes it)"
    )
    assert lines["page"] == "SKIP page: not checked: needs the login check to pass"


def test_a_wrong_admin_token_fails_the_admin_check_naming_where_the_token_came_from(
    smoke_mock, tmp_path: Path
) -> None:
    scenario = str(_with_server_fault(tmp_path))
    result = _check(scenario, "--target", smoke_mock.url, env={"SIREKAP_ADMIN_TOKEN": "wrong"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert _lines(result.stdout)["admin"] == (
        "FAIL admin: the target refused the admin token from $SIREKAP_ADMIN_TOKEN (HTTP 403); "
        "give the one it was started with"
    )
    result = _check(scenario, "--target", smoke_mock.url)
    assert _lines(result.stdout)["admin"] == (
        "FAIL admin: the scenario schedules server faults, which need the target's admin API: "
        "give its token with --admin-token-file FILE or $SIREKAP_ADMIN_TOKEN"
    )
    result = _check(scenario, "--target", smoke_mock.url, "--admin-token", smoke_mock.admin_token)
    assert result.returncode == 0, result.stdout
    assert _lines(result.stdout)["admin"] == (
        "PASS admin: GET /admin/faults answered 200 with the admin token from --admin-token "
        "(for the scenario's server faults)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(SMOKE)],
         "sirekap-loadtest check: error: the following arguments are required: --target"),
        (["nope.toml", "--target", "http://127.0.0.1:9"],
         "sirekap-loadtest check: nope.toml: cannot read: No such file or directory"),
        ([str(SMOKE), "--target", "https://sirekap.example.org"],
         "sirekap-loadtest check: --target https://sirekap.example.org: sirekap.example.org is "
         "not a loopback address; a load test goes to a remote service only when you name it: "
         "add --allow-remote sirekap.example.org"),
        ([str(SMOKE), "--target", "http://127.0.0.1:9", "--admin-token", "a",
          "--admin-token-file", "f"],
         "sirekap-loadtest check: give the admin token once: --admin-token or --admin-token-file"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_the_message(args: list[str], message: str) -> None:
    result = _check(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == message


def test_the_device_checks_speak_through_an_api_class_adapter(smoke_mock) -> None:
    """Through an adapter only its answers are judged: not the mock's statuses and bodies."""
    adapter = "tests.harness.fake_service:AdapterApi"
    result = _check(str(SMOKE), "--target", smoke_mock.url, "--api-class", adapter)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["read"] == (
        f"PASS read: the read of {FORM} gives the stored numbers (through the API class)"
    )
    with fake_service() as service:  # a new receipt for a replay shows through any adapter
        result = _check(str(SMOKE), "--target", service.url, "--api-class", adapter)
    assert result.returncode == 1
    assert _lines(result.stdout)["result"].startswith("FAIL result: not idempotent:")


def test_an_api_class_that_cannot_be_loaded_is_a_usage_error() -> None:
    with fake_service() as service:
        result = _check(str(SMOKE), "--target", service.url, "--api-class", "nowhere:Api")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "sirekap-loadtest check: --api-class: cannot import 'nowhere': No module named 'nowhere'"
    )


def test_each_dependency_proxys_upstream_must_accept_connections() -> None:
    assert [str(line) for line in upstreams([])] == [
        "SKIP proxies: the scenario declares no [[proxies]]"
    ]
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        open_port = listening.getsockname()[1]
        closed_port = pick_free_port()
        lines = upstreams(
            [("db", f"127.0.0.1:{open_port}"), ("cache", f"127.0.0.1:{closed_port}"),
             ("queue", "no-port")]
        )  # fmt: skip
    assert [str(line) for line in lines] == [
        f"PASS proxy db: upstream 127.0.0.1:{open_port} accepts connections",
        f"FAIL proxy cache: upstream 127.0.0.1:{closed_port} does not accept connections "
        "(Connection refused); start what listens there, or correct the proxy's upstream",
        "FAIL proxy queue: upstream 'no-port' is not host:port; give it as e.g. 127.0.0.1:5432",
    ]


def test_check_connects_to_the_upstream_of_every_proxy_the_scenario_declares(
    smoke_mock, tmp_path: Path
) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        up, down = listening.getsockname()[1], pick_free_port()
        scenario = tmp_path / "proxies.toml"
        scenario.write_text(
            SMOKE.read_text()
            + f'\n[[proxies]]\nname = "db"\nlisten = "127.0.0.1:{pick_free_port()}"\n'
            f'upstream = "127.0.0.1:{up}"\n'
            + f'\n[[proxies]]\nname = "cache"\nlisten = "127.0.0.1:{pick_free_port()}"\n'
            f'upstream = "127.0.0.1:{down}"\n'
        )
        result = _check(str(scenario), "--target", smoke_mock.url)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["proxy db"] == f"PASS proxy db: upstream 127.0.0.1:{up} accepts connections"
    assert lines["proxy cache"] == (
        f"FAIL proxy cache: upstream 127.0.0.1:{down} does not accept connections (Connection "
        "refused); start what listens there, or correct the proxy's upstream"
    )
    assert "proxies" not in lines


def test_the_embedded_mock_is_not_checked_and_the_record_says_so() -> None:
    assert EMBEDDED.as_record() == {
        "status": "skipped",
        "reason": "the embedded mock (the harness wrote its registry and started it)",
    }
