"""Locust's web UI start form for the locustfile: what the run will do, not users to pick."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import pick_free_port, wait_until_http_ok
from tests.locustfiles.conftest import LOCUST, LOCUSTFILE, REPO
from tests.locustfiles.helpers import TINY

pytestmark = pytest.mark.slow

MARK = "window.templateArgs = "


def start_form(page: str) -> dict[str, Any]:
    """The arguments Locust hands its start form (the JSON in the index page)."""
    line = next(line for line in page.splitlines() if MARK in line)
    data: dict[str, Any] = json.loads(line.split(MARK, 1)[1])
    return data


def _web_ui_command(tmp_path: Path, port: int) -> list[str]:
    """Locust with its web UI (no --headless) on the tiny scenario, aimed at a closed port."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    return [str(LOCUST), "-f", str(LOCUSTFILE), "--scenario", str(scenario),
            "--host", "http://127.0.0.1:9", "--run-dir", str(tmp_path / "run"),
            "--web-host", "127.0.0.1", "--web-port", str(port)]  # fmt: skip


def test_the_start_form_says_what_the_scenario_will_do_and_disables_users_and_ramp_up(
    tmp_path: Path,
) -> None:
    """Run by hand with the web UI (no --headless): the form's users, ramp-up and run time are
    disabled for the load shape; a line above the UI and the form's "This Run" parameter (its
    only choice) name the scenario, its TPS and its length in both clocks."""
    port = pick_free_port()
    command = _web_ui_command(tmp_path, port)
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as process:
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_http_ok(url, timeout=60, alive=lambda: process.poll() is None)
            page = httpx.get(url, timeout=10).text
            form = start_form(page)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    text = (
        "scenario tiny: 12 TPS (12 forms), 1h simulated in 3s real (speed-up 1200), then up to "
        "5s for uploads in progress"
    )
    assert form["hide_common_options"] is True, stderr[-2000:]
    assert form["shape_use_common_options"] is False
    shown = form["extra_options"]
    assert list(shown) == ["ThisRun"]
    assert shown["ThisRun"]["default_value"] == text
    assert shown["ThisRun"]["choices"] == [text]
    assert shown["ThisRun"]["help_text"] == (
        "set by --scenario, shown in the web UI: the load shape starts users as the forms fall "
        "due and ends the run; users, ramp-up and run time are not used"
    )
    banner = (
        '<div id="sirekap-run" style="padding:8px 24px;font:14px/1.4 sans-serif;'
        'background:#fff8e1;color:#222;border-bottom:1px solid #e0c060">Scenario tiny: 12 TPS '
        "(12 forms), 1h simulated in 3s real (speed-up 1200), then up to 5s for uploads in "
        "progress. Users and ramp-up are set by the scenario's load shape, not by the form "
        'below.</div><div id="root">'
    )
    assert page.count(banner) == 1
    assert not (tmp_path / "run").exists()  # stopped before it started: nothing ran


def test_a_host_changed_in_the_start_form_obeys_the_loopback_rule(tmp_path: Path) -> None:
    """The form's Host field is checked again when the run starts: a remote host not named by
    --allow-remote gets no load; the log says why and the UI waits for a host it may load."""
    port = pick_free_port()
    command = _web_ui_command(tmp_path, port)
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as process:
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_http_ok(f"{url}/", timeout=60, alive=lambda: process.poll() is None)
            answer = httpx.post(
                f"{url}/swarm",
                data={"user_count": 1, "spawn_rate": 1, "host": "http://example.org:8000"},
                timeout=10,
            )
            assert answer.is_success, answer.text
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                state = httpx.get(f"{url}/stats/requests", timeout=10).json()
                if state["state"] == "stopped":
                    break
                time.sleep(0.2)
            assert state["state"] == "stopped" and state["total_rps"] == 0
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert (
        "sirekap: --host http://example.org:8000: example.org is not a loopback address; a load "
        "test goes to a remote service only when you name it: add --allow-remote example.org; "
        "no load was sent"
    ) in stderr
    assert not (tmp_path / "run").exists()
