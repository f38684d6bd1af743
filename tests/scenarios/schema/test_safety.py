"""The loopback rule (scenarios.schema.safety): one decision for the harness and the locustfile,
made from the URL as written, before any connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from locustfiles.options import check_target as locust_check
from scenarios.schema.safety import UnsafeTarget, check_target, is_loopback


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:80", "https://127.9.9.9"]
)
def test_loopback_targets_need_no_permission(url: str) -> None:
    assert check_target(url, None)


def test_a_remote_target_is_refused_unless_named() -> None:
    with pytest.raises(UnsafeTarget) as error:
        check_target("https://sirekap.example.org/api", None)
    assert str(error.value) == (
        "--target https://sirekap.example.org/api: sirekap.example.org is not a loopback "
        "address; a load test goes to a remote service only when you name it: "
        "add --allow-remote sirekap.example.org"
    )
    with pytest.raises(UnsafeTarget) as wrong:
        check_target("https://sirekap.example.org", "staging.example.org")
    assert "does not name the target's host 'sirekap.example.org'" in str(wrong.value)
    assert check_target("https://sirekap.example.org", "sirekap.example.org") == (
        "sirekap.example.org"
    )
    with pytest.raises(UnsafeTarget, match="give an http:// or https:// URL"):
        check_target("ftp://127.0.0.1", None)


@pytest.mark.parametrize(
    "url",
    ["http://[::ffff:127.0.0.1]:8000", "http://LOCALHOST:8000", "http://127.255.0.9:1"],
)
def test_ipv4_mapped_loopback_and_case_are_loopback(url: str) -> None:
    assert check_target(url, None)


@pytest.mark.parametrize("host", ["vm", "localhost.localdomain", "ip6-localhost", "sirekap"])
def test_a_name_is_remote_whatever_it_resolves_to(host: str) -> None:
    """A name is never looked up: /etc/hosts or DNS could say loopback today, not tomorrow."""
    assert not is_loopback(host)
    with pytest.raises(UnsafeTarget) as error:
        check_target(f"http://{host}:8000", None)
    assert str(error.value) == (
        f"--target http://{host}:8000: {host} is not a loopback address; a load test goes to "
        f"a remote service only when you name it: add --allow-remote {host}"
    )
    assert check_target(f"http://{host}:8000", host) == host


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.0.1"])
def test_numeric_hosts_in_unusual_forms_are_refused(host: str) -> None:
    for allowed in (None, host):
        with pytest.raises(UnsafeTarget) as error:
            check_target(f"http://{host}:8000", allowed)
        assert str(error.value) == (
            f"--target http://{host}:8000: {host} is a numeric address in an unusual form; "
            "write it in dotted-quad form (e.g. 127.0.0.1)"
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://vm:8000",
        "http://2130706433:80",
        "http://[::ffff:127.0.0.1]",
    ],
)
def test_the_locustfile_decides_as_the_harness_does(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        check_target(url, None)
        harness_ok, harness_says = True, ""
    except UnsafeTarget as error:
        harness_ok, harness_says = False, str(error)
    try:
        locust_check(url, None)
        locust_ok = True
    except SystemExit as exit_:
        locust_ok = False
        assert exit_.code == 2
        assert harness_says.replace("--target", "--host") in capsys.readouterr().err
    assert locust_ok == harness_ok


def test_run_refuses_a_name_before_connecting_with_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "scenarios/smoke.toml",
         "--target", "http://vm:8000", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "sirekap-loadtest run: --target http://vm:8000: vm is not a loopback address; a load "
        "test goes to a remote service only when you name it: add --allow-remote vm"
    )
    assert not list(tmp_path.iterdir())  # not even a run directory


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::ffff:127.0.0.1", "not a URL (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999", "not a URL (Port out of range 0-65535)"),
        ("http://127.0.0.1:abc", "not a URL (Port could not be cast to integer"),
        ("http://127.0.0.1:0", "port 0 is not a port; valid ports: 1 to 65535"),
        ("http://127.0.0.1:8000/api?x=1#f", "the service's base URL has no ?query or #fragment"),
        ("http://user:pw@127.0.0.1:8000", "credentials in the URL would be written to the run"),
    ],
)
def test_urls_that_cannot_be_loaded_as_given_are_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(UnsafeTarget) as error:
        check_target(url, None)
    assert str(error.value).startswith(f"--target {url!r}: ") and says in str(error.value)
