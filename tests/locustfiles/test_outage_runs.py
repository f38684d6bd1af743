"""Headless Locust through a real Toxiproxy outage: the smoke's devices retry through it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import toxiproxy_server
from tests.conftest import pick_free_port
from tests.locustfiles.conftest import LOCUST, LOCUSTFILE, REPO, LocustRun
from tests.locustfiles.helpers import SMOKE, outage_at_first_request, smoke_outage, smoke_plan
from tests.mock_sirekap.conftest import MockServer

pytestmark = pytest.mark.slow

LEAD_S = 5.0  # real seconds between starting Locust and the clock start (as the harness does)
# The outage begins this long before the device's first request (room for a busy machine's
# scheduling) and ends the smoke's outage length after that request, so it covers the request
# and everything the device tries for the whole outage after it.
EARLY_S = 1.0


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_a_smoke_length_outage_at_the_worst_moment_costs_no_tps(
    tmp_path: Path, mock_for: Callable[..., MockServer]
) -> None:
    """The smoke scenario against the real mock through a real proxy that refuses connections
    for the smoke's 20 simulated minutes, starting just before the first request of the device
    whose retry schedule is the shortest (its own seeded jitter): every form is acknowledged, the
    ones the outage hit only after it ended."""
    text = SMOKE.read_text(encoding="utf-8")
    plan = smoke_plan()
    outage = smoke_outage(plan)

    def span(index: int) -> float:  # real seconds from the first request to the last attempt
        record, api = outage_at_first_request(plan, plan.jobs[index], 1e9)
        return api.calls[-1][1] - record.due_at

    worst = min(range(len(plan.jobs)), key=span)
    worst_job = plan.jobs[worst]
    server = mock_for(text)
    upstream = urlsplit(server.url).netloc
    run_dir = tmp_path / "run"
    with toxiproxy_server() as toxiproxy, ToxiproxyClient(toxiproxy.url) as client:
        listen = f"127.0.0.1:{pick_free_port()}"
        client.create_proxy("sirekap", listen=listen, upstream=upstream)
        clock_start = time.time() + LEAD_S
        first = clock_start + worst_job.ready / plan.speedup
        down = first - EARLY_S
        command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                   "--scenario", str(SMOKE), "--host", f"http://{listen}",
                   "--run-dir", str(run_dir), "--clock-start", repr(clock_start),
                   "--read-back", "0"]  # fmt: skip
        with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as process:
            _sleep_until(down)
            client.disable("sirekap")
            down_at = time.time()
            _sleep_until(max(first, down_at) + outage)
            client.enable("sirekap")
            up_at = time.time()
            _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr[-3000:]
    run = LocustRun(subprocess.CompletedProcess(command, 0, "", stderr), run_dir)
    ledger = run.ledger
    assert len(ledger) == len(plan.jobs) == 31
    assert [line["tps_code"] for line in ledger if line["final_outcome"] != "acked"] == []
    hit = {line["tps_code"]: line for line in ledger if line["failures"].get("refused")}
    assert worst_job.tps_code in hit, f"the outage missed {worst_job.tps_code}"
    assert hit[worst_job.tps_code]["first_failure"] == "refused"
    assert hit[worst_job.tps_code]["attempts"]["session"] > 1  # its very first request failed
    for line in hit.values():
        assert line["acked_at"] > up_at, line
    summary = run.summary
    assert summary["forms"]["final"]["acked"] == 31
    assert summary["inconclusive"] is False, summary["reasons"]
    assert down_at < up_at
