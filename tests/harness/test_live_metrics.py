"""The harness's own /metrics during ``run``: the collector on a fabricated run directory (live
from progress.json, then final from the generator's files), promtool's lint, the options, the
endpoint's wait for each scraper's final scrape, and a real run scraped by this test and by a
real Prometheus server while it runs."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from faults.timeline import FaultTimeline, FaultWindow
from harness.live_metrics import LiveCollector, RunFacts
from harness.metrics_endpoint import LiveMetrics, MetricsListen, metrics_listen
from harness.run_options import parser
from rundir import exits, names
from rundir.endpoints import DEVICE
from rundir.exits import UsageError
from rundir.generator_files import write_run_files
from rundir.progress import totals, write_progress
from rundir.record import RunRecord
from rundir.timeline import Timeline
from scenarios import load_scenario
from tests.conftest import needs_program, pick_free_port, wait_until_http_ok
from tests.harness.conftest import REPO, SMOKE, cli

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
CLOCK_START = 1_700_000_000.0
SPEEDUP = 720.0


# -- a fabricated run -------------------------------------------------------------------------


def live_timeline() -> Timeline:
    """Two seconds of a run: page and session requests (one page failed), three forms started
    (one acknowledged)."""
    timeline = Timeline()
    timeline.record_request(0, "session", 8.0, None)
    timeline.record_request(0, "page", 30.0, None)
    timeline.record_request(1, "page", 120.0, None)
    timeline.record_request(1, "page", 2000.0, "5xx:503")
    for slip_ms in (20.0, 300.0, 3000.0):
        timeline.record_start(0, slip_ms)
    timeline.record_outcome(1, "acked")
    return timeline


def write_live(run_dir: Path, timeline: Timeline, tps_ready: int = 4) -> None:
    """progress.json as the generator writes it about once a second."""
    figures = totals(timeline, CLOCK_START, SPEEDUP, CLOCK_START + 2.5)
    write_progress(run_dir, {**figures, "tps_ready": tps_ready, "tps_total": 31})


def write_final(run_dir: Path, timeline: Timeline, sim_s: float = 5000.0) -> None:
    """The generator's final files: timeline.jsonl, ledger, load_summary.json (last)."""
    summary = {"run": {"sim_s": sim_s}, "forms": {"tps": 31}}
    write_run_files(run_dir, timeline, [], summary, clock_start=CLOCK_START, speedup=SPEEDUP)


def window(label: str | None, at: float = 60.0) -> FaultWindow:
    return FaultWindow(start_s=at, end_s=at + 60, layer="network", kind="down", label=label)


def collector_of(
    run_dir: Path,
    windows: Sequence[FaultWindow] = (),
    clock: float = 0.0,
    active: list[FaultWindow] | None = None,
) -> LiveCollector:
    """The collector of a smoke run; ``active``: the windows the applier has in place now."""
    facts = RunFacts(
        run_dir, run_dir.name, "smoke", SPEEDUP, 1_707_901_200.0, windows,
        sim_duration=14_400.0, clock_start=lambda: clock, active=lambda: active or [],
    )  # fmt: skip
    return LiveCollector(facts)


def exposition(collector: LiveCollector) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode()


def samples_of(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"sirekap_loadtest_{name}", frozenset(labels.items()))]


def buckets(samples: Samples, name: str, **labels: str) -> list[tuple[float, float]]:
    """The (le, cumulative count) of one histogram series, by bound."""
    name, wanted = f"sirekap_loadtest_{name}_bucket", {**labels, "le": ""}
    return sorted((float(dict(k)["le"]), n) for (m, k), n in samples.items()
                  if m == name and {**dict(k), "le": ""} == wanted)  # fmt: skip


# -- the collector ----------------------------------------------------------------------------


def test_before_any_progress_every_device_endpoint_counts_zero_and_no_clock_is_shown(
    tmp_path: Path,
) -> None:
    samples = samples_of(exposition(collector_of(tmp_path)))
    for endpoint in DEVICE:
        assert value(samples, "requests_total", endpoint=endpoint, outcome="ok") == 0
        assert value(samples, "request_duration_seconds_count", endpoint=endpoint, result="ok") == 0
    assert value(samples, "final_figures") == 0
    assert value(samples, "run_info", run_id=tmp_path.name, scenario="smoke") == 1
    assert value(samples, "speedup") == SPEEDUP
    shown = {name for name, _ in samples}
    assert "sirekap_loadtest_simulated_time_seconds" not in shown  # the clock is not fixed yet
    assert "sirekap_loadtest_clock_start_timestamp_seconds" not in shown


def test_live_figures_come_from_progress_json_with_cumulative_buckets_in_seconds(
    tmp_path: Path,
) -> None:
    write_live(tmp_path, live_timeline())
    samples = samples_of(exposition(collector_of(tmp_path, clock=CLOCK_START)))
    assert value(samples, "final_figures") == 0
    assert value(samples, "requests_total", endpoint="page", outcome="ok") == 2
    assert value(samples, "requests_total", endpoint="page", outcome="5xx:503") == 1
    assert value(samples, "requests_total", endpoint="session", outcome="ok") == 1
    page_ok = buckets(samples, "request_duration_seconds", endpoint="page", result="ok")
    assert dict(page_ok)[0.025] == 0 and dict(page_ok)[0.05] == 1 and dict(page_ok)[0.25] == 2
    assert page_ok[-1] == (float("inf"), 2)
    counts = [count for _, count in page_ok]
    assert counts == sorted(counts)  # cumulative: never less at a higher bound
    failed = dict(buckets(samples, "request_duration_seconds", endpoint="page", result="failed"))
    assert failed[1.0] == 0 and failed[2.5] == 1
    page_sum = value(samples, "request_duration_seconds_sum", endpoint="page", result="ok")
    assert page_sum == pytest.approx(0.15)
    assert value(samples, "forms_started_total") == 3
    assert value(samples, "forms_finished_total", outcome="acked") == 1
    assert value(samples, "backlog_forms") == 2
    assert value(samples, "tps", state="ready") == 4
    assert value(samples, "tps", state="total") == 31
    slip = dict(buckets(samples, "start_slip_seconds"))
    assert (slip[0.05], slip[0.5], slip[5.0], slip[float("inf")]) == (1, 2, 3, 3)
    assert value(samples, "start_slip_seconds_sum") == pytest.approx(3.32)


def test_a_changed_progress_json_is_read_again_and_a_joining_one_keeps_the_figures(
    tmp_path: Path,
) -> None:
    collector = collector_of(tmp_path)
    timeline = live_timeline()
    write_live(tmp_path, timeline)
    first = samples_of(exposition(collector))
    write_progress(tmp_path, {"phase": "joining", "joined": 1})  # no totals: keep what we had
    assert samples_of(exposition(collector)) == first
    timeline.record_request(2, "result", 50.0, None)
    write_live(tmp_path, timeline, tps_ready=9)
    later = samples_of(exposition(collector))
    assert value(later, "requests_total", endpoint="result", outcome="ok") == 1
    assert value(later, "tps", state="ready") == 9
    assert collector.scrapes == 3


def test_the_final_files_make_the_figures_final_the_timelines_totals(tmp_path: Path) -> None:
    collector = collector_of(tmp_path, clock=CLOCK_START)
    timeline = live_timeline()
    write_live(tmp_path, timeline)
    live = samples_of(exposition(collector))
    timeline.record_request(3, "page", 40.0, None)  # the last seconds, after the last progress
    timeline.record_request(3, "session", 9.0, "refused")
    timeline.record_outcome(3, "acked")
    write_final(tmp_path, timeline, sim_s=5000.0)
    (tmp_path / names.PROGRESS).unlink()  # the generator removes it once the files are written
    final = samples_of(exposition(collector))
    assert value(final, "final_figures") == 1
    expected = {e: (c.count, c.ok, c.count - c.ok) for e, c in timeline.endpoint_totals().items()}
    assert _served_totals(_requests(final)) == expected
    assert value(final, "requests_total", endpoint="session", outcome="refused") == 1
    assert value(final, "forms_finished_total", outcome="acked") == 2
    assert value(final, "simulated_time_seconds") == 5000.0  # where the load ended
    assert value(final, "tps", state="ready") == 4  # the generator's live figure, kept
    for key, count in live.items():  # counters never go back
        if key[0].endswith("_total"):
            assert final[key] >= count
    write_live(tmp_path, live_timeline())  # a stray progress.json changes nothing now
    assert samples_of(exposition(collector)) == final


def test_fault_active_is_1_for_the_windows_in_place_each_named_once(tmp_path: Path) -> None:
    outage, again, unnamed = window("outage"), window("outage", 600.0), window(None, 900.0)
    active = [again]
    samples = samples_of(exposition(collector_of(tmp_path, (outage, again, unnamed), 0, active)))
    faults = {dict(k)["window"]: n for (m, k), n in samples.items() if m.endswith("fault_active")}
    assert faults == {"outage": 0, "outage #2": 1, "network/down": 0}
    active.clear()
    samples = samples_of(exposition(collector_of(tmp_path, (outage, again, unnamed), 0, active)))
    assert value(samples, "fault_active", window="outage #2", layer="network", kind="down") == 0


def test_the_live_simulated_clock_stops_at_the_scenarios_end(tmp_path: Path) -> None:
    running = samples_of(exposition(collector_of(tmp_path, clock=time.time() - 10)))
    assert value(running, "simulated_time_seconds") == pytest.approx(10 * SPEEDUP, rel=0.05)
    draining = samples_of(exposition(collector_of(tmp_path, clock=time.time() - 100)))
    assert value(draining, "simulated_time_seconds") == 14_400.0  # 4 h, not 72 000 s


def test_a_scrape_passes_promtool_check_metrics(tmp_path: Path) -> None:
    promtool = needs_program("promtool")
    write_live(tmp_path, live_timeline())
    text = exposition(collector_of(tmp_path, (window("outage"),), clock=CLOCK_START))
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", ""), text


# -- the options ------------------------------------------------------------------------------


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _listen(*argv: str) -> MetricsListen | None:
    return metrics_listen(parser().parse_args([str(SMOKE), *argv]))


def _refused(*argv: str) -> str:
    with pytest.raises(UsageError) as error:
        _listen(*argv)
    return str(error.value)


def test_metrics_options_errors_name_the_flag_and_what_is_valid() -> None:
    valid = "--metrics-port takes a port from 1 to 65535, 0 for a free one, or off"
    for given in ("abc", "70000", "-1", "8o80"):
        assert _refused("--metrics-port", given) == f"{valid}; got {given!r}"
    linger = _refused("--metrics-linger", "-1")
    assert linger == "--metrics-linger must be seconds from 0 to 600; got -1"
    assert _listen("--metrics-port", "off") is None
    assert _listen() == MetricsListen("127.0.0.1", 0, 10.0)  # loopback and a free port


def test_metrics_bind_takes_one_own_ip_address_loopback_unless_named() -> None:
    valid = "--metrics-bind takes one IP address of this host, e.g. 127.0.0.1 or 10.0.0.5"
    assert _refused("--metrics-bind", "localhost") == f"{valid}; got 'localhost'"
    assert _refused("--metrics-bind", "0.0.0.0") == f"{valid}: one host's own address, not 0.0.0.0"
    # the IPv4 wildcard written as an IPv4-mapped IPv6 address, and no address at all
    assert _refused("--metrics-bind", "::ffff:0.0.0.0") == (
        f"{valid}: one host's own address, not ::ffff:0.0.0.0"
    )
    assert _refused("--metrics-bind", "") == f"{valid}; got ''"
    not_ours = _refused("--metrics-bind", "192.0.2.1")  # TEST-NET-1: no host's own
    assert not_ours.startswith("--metrics-bind 192.0.2.1: this host cannot listen there (")
    assert _refused("--metrics-port", "off", "--metrics-bind", "127.0.0.1") == (
        "--metrics-bind says where the live /metrics listens; not with --metrics-port off"
    )
    listen = _listen("--metrics-bind", "127.0.0.2", "--metrics-port", "0")
    assert listen is not None and listen.host == "127.0.0.2"


def test_a_taken_metrics_port_is_exit_2_with_one_line_before_anything_starts(
    tmp_path: Path,
) -> None:
    with held_port() as port:
        done = cli("run", str(SMOKE), "--out", str(tmp_path), "--metrics-port", str(port))
    assert done.returncode == exits.USAGE
    assert done.stderr == (
        f"sirekap-loadtest run: --metrics-port {port}: 127.0.0.1:{port} is taken; choose another "
        "with --metrics-port (0: a free one), or --metrics-port off\n"
    )
    assert list(tmp_path.iterdir()) == []  # no run directory: nothing started


# -- the endpoint -----------------------------------------------------------------------------


def fake_run(run_dir: Path) -> Any:
    """What LiveMetrics reads of a run (harness.run.Run); ``saves`` counts its saves."""
    record = RunRecord(run_id=run_dir.name, scenario={}, clock={})
    run = SimpleNamespace(dir=SimpleNamespace(path=run_dir), scenario=load_scenario(SMOKE),
                          timeline=FaultTimeline(), applier=None, clock_start=CLOCK_START,
                          record=record, saves=[])  # fmt: skip
    run.save = lambda: run.saves.append(record.status)
    return run


def _scrape(url: str, agent: str) -> Samples:
    response = httpx.get(url, headers={"User-Agent": agent}, timeout=5)
    response.raise_for_status()
    return samples_of(response.text)


def test_the_endpoint_records_its_url_and_waits_for_each_watcher_to_see_the_final_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = fake_run(tmp_path)
    write_live(tmp_path, live_timeline())
    metrics = LiveMetrics(run, MetricsListen("127.0.0.1", 0, linger=20.0)).__enter__()
    assert metrics.url is not None
    assert capsys.readouterr().out == f"live metrics (Prometheus): {metrics.url}\n"
    assert run.record.parts["live_metrics"]["url"] == metrics.url
    for agent in ("Prometheus/2.42.0", "a test"):  # two scrapers of the live run
        assert value(_scrape(metrics.url, agent), "final_figures") == 0
    write_final(tmp_path, live_timeline())
    started = time.monotonic()
    closing = threading.Thread(target=metrics.__exit__, args=(None, None, None), daemon=True)
    closing.start()
    for agent in ("Prometheus/2.42.0", "a test"):
        time.sleep(0.3)
        assert closing.is_alive()  # still waiting: not everyone has seen the final figures
        assert value(_scrape(metrics.url, agent), "final_figures") == 1
    closing.join(timeout=5)
    assert not closing.is_alive() and time.monotonic() - started < 5  # not the whole linger
    with pytest.raises(httpx.ConnectError):
        httpx.get(metrics.url, timeout=2)


def test_a_watcher_that_never_comes_back_costs_at_most_the_linger_and_none_costs_nothing(
    tmp_path: Path,
) -> None:
    write_live(tmp_path, live_timeline())
    watched = LiveMetrics(fake_run(tmp_path), MetricsListen("127.0.0.1", 0, linger=0.5))
    url = watched.__enter__().url
    assert url is not None
    _scrape(url, "gone")
    write_final(tmp_path, live_timeline())
    assert 0.5 <= _closing_time(watched) < 3
    unwatched = LiveMetrics(fake_run(tmp_path), MetricsListen("127.0.0.1", 0, linger=30.0))
    assert _closing_time(unwatched.__enter__()) < 2


def _closing_time(metrics: LiveMetrics) -> float:
    started = time.monotonic()
    metrics.__exit__(None, None, None)
    return time.monotonic() - started


def test_a_port_taken_after_the_check_fails_the_run_as_a_part_that_would_not_start(
    tmp_path: Path,
) -> None:
    run = fake_run(tmp_path)
    with held_port() as port, pytest.raises(exits.StartError) as error:
        LiveMetrics(run, MetricsListen("127.0.0.1", port)).__enter__()
    assert str(error.value).startswith(f"live metrics: 127.0.0.1:{port} is taken; choose another")
    assert (run.record.status, run.record.exit_code) == ("failed", exits.INFRASTRUCTURE)
    assert run.record.error == str(error.value) and run.saves == ["failed"]


# -- a real run, scraped while it runs ----------------------------------------------------------


@dataclass
class LiveRun:
    """A smoke run served on ``port``: its exit code and output, its run directory, every
    scrape this test made of it, and the URL of a real Prometheus that scraped it too."""

    port: int
    code: int
    output: str
    folder: Path
    scrapes: list[Samples]
    prometheus: str | None  # None where Prometheus is not installed


def _prometheus(folder: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """A real Prometheus on a free loopback port scraping ``port`` every second (starting)."""
    url, config = f"http://127.0.0.1:{pick_free_port()}", folder / "prometheus.yml"
    scrape = [{"targets": [f"127.0.0.1:{port}"]}]
    target = {"job_name": "sirekap-loadtest", "static_configs": scrape}
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": [target]}))
    argv = [str(shutil.which("prometheus")), f"--config.file={config}", "--log.level=warn",
            f"--storage.tsdb.path={folder}/tsdb", f"--web.listen-address={url[7:]}"]  # fmt: skip
    with (folder / "prometheus.log").open("wb") as log:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log), url


def _watch(port: int, root: Path) -> tuple[int, str, list[Samples]]:
    """Run the smoke scenario, scraping its /metrics every quarter second until it ends."""
    argv = [sys.executable, "-m", "harness.cli", "run", str(SMOKE), "--plain",
            "--out", str(root / "out"), "--metrics-port", str(port)]  # fmt: skip
    url, scrapes, log = f"http://127.0.0.1:{port}/metrics", [], root / "harness.log"
    with log.open("w") as output:
        harness = subprocess.Popen(argv, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while harness.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):  # not serving yet, or no more
                scrapes.append(samples_of(httpx.get(url, timeout=2).text))
            time.sleep(0.25)
        return harness.wait(timeout=30), log.read_text(), scrapes
    finally:
        if harness.poll() is None:
            harness.terminate()
            harness.wait(timeout=30)


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    root, port = tmp_path_factory.mktemp("live-metrics"), pick_free_port()
    prometheus, url = _prometheus(root, port) if shutil.which("prometheus") else (None, None)
    try:
        if prometheus is not None:
            up = prometheus.poll
            wait_until_http_ok(f"{url}/-/ready", timeout=30, alive=lambda: up() is None)
        code, output, scrapes = _watch(port, root)
        folders = [p for p in (root / "out").iterdir() if (p / "run.json").exists()]
        assert len(folders) == 1, output
        yield LiveRun(port, code, output, folders[0], scrapes, url)
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=30)


def _requests(samples: Samples) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["endpoint"], dict(labels)["outcome"]): count
        for (name, labels), count in samples.items()
        if name == "sirekap_loadtest_requests_total"
    }


def _report_totals(folder: Path) -> dict[str, tuple[int, int, int]]:
    summary = json.loads((folder / names.REPORT / "summary.json").read_text())
    return {e["endpoint"]: (e["requests"], e["ok"], e["failed"]) for e in summary["endpoints"]}


def _served_totals(requests: dict[tuple[str, str], float]) -> dict[str, tuple[int, int, int]]:
    """(requests, ok, failed) of each endpoint with requests, as summary.json has them."""
    total, ok = Counter[str](), Counter[str]()
    for (endpoint, outcome), count in requests.items():
        total[endpoint] += int(count)
        ok[endpoint] += int(count) if outcome == "ok" else 0
    return {endpoint: (n, ok[endpoint], n - ok[endpoint]) for endpoint, n in total.items() if n}


@pytest.mark.slow
def test_a_live_runs_counters_grow_while_it_runs_and_end_at_the_reports_totals(
    live_run: LiveRun,
) -> None:
    assert live_run.code == exits.OK, live_run.output
    url = f"http://127.0.0.1:{live_run.port}/metrics"
    assert f"live metrics (Prometheus): {url}\n" in live_run.output
    parts = json.loads((live_run.folder / names.RECORD).read_text())["parts"]
    assert parts["live_metrics"] == {"url": url, "bind": "127.0.0.1", "port": live_run.port}
    live = [s for s in live_run.scrapes if value(s, "final_figures") == 0]
    final = [s for s in live_run.scrapes if value(s, "final_figures") == 1]
    assert len(live) >= 10 and final, f"{len(live)} live scrapes, {len(final)} final"
    sums = [sum(_requests(s).values()) for s in live_run.scrapes]
    assert sums == sorted(sums) and len(set(sums)) >= 5  # they grew, and never went back
    for earlier, later in zip(live_run.scrapes, live_run.scrapes[1:], strict=False):
        for key, count in _requests(earlier).items():
            assert _requests(later)[key] >= count, key
    outage = {"window": "short outage", "layer": "network", "kind": "down"}
    assert any(value(s, "fault_active", **outage) == 1 for s in live)  # seen while in place
    assert value(final[-1], "fault_active", **outage) == 0
    assert _served_totals(_requests(final[-1])) == _report_totals(live_run.folder)
    assert value(final[-1], "tps", state="total") == 31


@pytest.mark.slow
def test_a_real_prometheus_server_scraped_the_run_and_ends_at_the_reports_totals(
    live_run: LiveRun,
) -> None:
    needs_program("prometheus")
    assert live_run.prometheus is not None
    query = "last_over_time(sirekap_loadtest_requests_total[10m])"  # the target is gone now
    response = httpx.get(f"{live_run.prometheus}/api/v1/query", params={"query": query}, timeout=10)
    response.raise_for_status()
    result = response.json()["data"]["result"]
    requests = {
        (series["metric"]["endpoint"], series["metric"]["outcome"]): float(series["value"][1])
        for series in result
    }
    assert {series["metric"]["job"] for series in result} == {"sirekap-loadtest"}
    assert _served_totals(requests) == _report_totals(live_run.folder)  # it saw the final figures
