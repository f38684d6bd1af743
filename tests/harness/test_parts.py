"""The harness's parts on their own: target safety, children, the run directory, scraping."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.children import Child, Children, StartError, wait_until
from harness.scrape import MetricsScraper, flatten
from harness.target import MockTarget, export_target
from rundir.layout import RunDir
from tests.conftest import pick_free_port


def test_children_are_stopped_with_everything_they_started(tmp_path: Path) -> None:
    """A child that forks a grandchild: stop_all leaves neither behind."""
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    children = Children()
    child = children.add(Child("sleeper", [sys.executable, "-c", script], tmp_path / "s.log"))
    child.start()
    wait_until(lambda: bool(child.tail()), child, 10, "it printed")
    grandchild = int(child.tail())
    children.stop_all()
    assert not child.alive
    time.sleep(0.2)
    assert not _running(grandchild)


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_child_that_dies_early_is_reported_with_its_log(tmp_path: Path) -> None:
    child = Child("broken", [sys.executable, "-c", "print('no config'); raise SystemExit(7)"],
                  tmp_path / "b.log")  # fmt: skip
    child.start()
    with pytest.raises(StartError) as error:
        wait_until(lambda: False, child, 10, "it answered")
    assert str(error.value) == "broken exited with code 7 before it answered: no config"


def test_the_run_directory_is_named_by_time_and_scenario(tmp_path: Path) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    now = datetime(2024, 2, 14, 6, 30, tzinfo=UTC)
    first = RunDir.create(tmp_path, "kuta selatan/2024", now)
    second = RunDir.create(tmp_path, "kuta selatan/2024", now)
    assert first.path.name == "20240214T063000Z-kuta-selatan-2024"
    assert second.path.name == "20240214T063000Z-kuta-selatan-2024-2"
    first.write_json(first.record, {"status": "running"})
    assert first.read_record() == {"status": "running"}
    assert (first.path / "report").is_dir() and (first.path / "logs").is_dir()


def test_flatten_keeps_counters_gauges_and_histogram_totals() -> None:
    text = (
        "# TYPE sirekap_requests counter\n"
        'sirekap_requests_total{endpoint="page",status="201"} 5.0\n'
        "# TYPE sirekap_queue_depth gauge\nsirekap_queue_depth 3.0\n"
        "# TYPE sirekap_db_commit_batch_size histogram\n"
        'sirekap_db_commit_batch_size_bucket{le="1.0"} 2.0\n'
        "sirekap_db_commit_batch_size_count 4.0\nsirekap_db_commit_batch_size_sum 9.0\n"
        "# TYPE python_gc_objects_collected counter\npython_gc_objects_collected_total 1.0\n"
    )
    assert flatten(text) == {
        'sirekap_requests_total{endpoint="page",status="201"}': 5.0,
        "sirekap_queue_depth": 3.0,
        "sirekap_db_commit_batch_size_count": 4.0,
        "sirekap_db_commit_batch_size_sum": 9.0,
    }


@pytest.mark.slow
def test_the_mock_target_is_scraped_killed_restarted_and_exported(tmp_path: Path) -> None:
    """The embedded mock as a process handle: SIGKILL, restart on the same data, export."""
    from mock_sirekap.registry import generate_registry, write_registry  # noqa: PLC0415

    registry = tmp_path / "registry.csv"
    write_registry(generate_registry(5, 1), registry)
    capacity = tmp_path / "capacity.json"
    capacity.write_text('{"mode": "raw"}')
    children = Children()
    target = MockTarget(
        children, port=pick_free_port(), db=tmp_path / "m.db", registry=registry,
        capacity=capacity, logs=tmp_path,
    )  # fmt: skip
    scraper = MetricsScraper(f"{target.url}/metrics", tmp_path / "metrics.jsonl", lambda: 42.0)
    path = tmp_path / "metrics.jsonl"

    def scraped() -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, scraped()
            time.sleep(0.1)

    try:
        target.start()
        scraper.start()
        until(lambda: any(line["ok"] for line in scraped()))  # answered while up
        first_pid = target.pid
        target.kill(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while target.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        until(lambda: not scraped()[-1]["ok"])  # at least one failed scrape while it is down
        target.restart()
        assert target.alive and target.pid != first_pid and target.starts == 2
        down = len(scraped())
        until(lambda: any(line["ok"] for line in scraped()[down:]))  # answered again
    finally:
        scraper.stop()
    lines = scraped()
    up = next(line for line in lines if line["ok"])
    assert up["sim"] == 42.0 and "sirekap_in_flight_requests" in up["samples"]
    first_failure = next(i for i, line in enumerate(lines) if not line["ok"])
    assert lines.index(up) < first_failure  # up, then down, then up again
    assert any(line["ok"] for line in lines[first_failure:])
    assert export_target(target.url, target.admin_token, tmp_path / "export.ndjson") == 0
    children.stop_all()
    assert not target.alive


def test_the_mock_takes_an_admin_token_that_starts_with_a_dash(tmp_path: Path) -> None:
    """Random tokens are URL-safe base64: one in 64 starts with '-', which must not read as an
    option on the mock's command line."""
    from mock_sirekap.registry import generate_registry, write_registry  # noqa: PLC0415

    write_registry(generate_registry(2, 1), tmp_path / "registry.csv")
    (tmp_path / "capacity.json").write_text('{"mode": "raw"}')
    children = Children()
    target = MockTarget(
        children, port=pick_free_port(), db=tmp_path / "m.db", registry=tmp_path / "registry.csv",
        capacity=tmp_path / "capacity.json", logs=tmp_path, admin_token="-starts-with-a-dash",
    )  # fmt: skip
    try:
        target.start()
        faults = httpx.get(
            f"{target.url}/admin/faults", headers={"Authorization": "Bearer -starts-with-a-dash"}
        )
        assert faults.status_code == 200
    finally:
        children.stop_all()
