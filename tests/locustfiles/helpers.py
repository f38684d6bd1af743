"""A small scenario for the locustfiles tests, and fakes for the device flow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from locustfiles.api import Answer, Verdict
from locustfiles.device import DeviceContext, FormUpload, TokenCache
from locustfiles.form_record import FormRecord
from locustfiles.jobs import Job, Plan, build_plan
from locustfiles.retry import RetryPolicy

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.toml"

# 12 TPS of Tanjung Benoa over one simulated hour at speedup 1200 (3 s real), 20 kB photos.
TINY = """
name = "tiny"
[clock]
start = "2024-02-14 17:00"
zone = "WITA"
duration = "1h"
speedup = 1200
[population]
scale = "regions"
seed = 3
[[population.regions]]
code = "5103051005"
tps = 12
[population.photo_size]
median = "20kB"
p95 = "30kB"
[arrival]
curve = [["17:00", 0.0], ["17:15", 0.5], ["17:35", 1.0]]
page_span = { median = "2m", p95 = "5m" }
[client]
timeouts = { connect = "2s", session = "5s", page = "10s", result = "5s", read = "5s" }
retry = { policy = "exponential", delay = "1m", cap = "10m", max_attempts = 4 }
think_time = ["10s", "10s"]
[target.mock]
mode = "raw"
"""


def scenario_text(**client: str) -> str:
    """TINY with [client] keys set, e.g. retry='{ policy = "none" }', devices_per_tps="2"."""
    lines, section = [], ""
    for line in TINY.splitlines():
        if line.startswith("["):
            section = line
        key = line.split("=")[0].strip()
        if section == "[client]" and key in client:
            continue
        lines.append(line)
        if line == "[client]":
            lines += [f"{name} = {value}" for name, value in client.items()]
    return "\n".join(lines) + "\n"


@cache
def tiny_plan(text: str = TINY) -> Plan:
    return build_plan(text, "tiny.toml")


@dataclass
class FakeClock:
    """Real time as the device sees it: ``sleep`` only moves ``now`` forward."""

    now_s: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


OK_DATA = {
    "login": {"token": "tok", "expires_in": 3600},
    "upload_page": {},
    "submit_result": {"receipt_id": "rcpt_1", "content_sha256": "c" * 64, "revision": 1},
    "read_result": {"chart": {}, "administrasi": {}, "content_sha256": "c" * 64},
}


@dataclass
class FakeApi:
    """Answers from a script per call name (then ok); records every call with its time."""

    clock: FakeClock
    script: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[tuple[str, float, tuple[Any, ...]]] = field(default_factory=list)

    def _answer(self, name: str, args: tuple[Any, ...]) -> Answer:
        self.calls.append((name, self.clock.now(), args))
        queued = self.script.get(name)
        if queued:
            return queued.pop(0)
        if name == "upload_page":
            return Answer(Verdict.OK, data={"sha256": args[5]})
        return Answer(Verdict.OK, data=dict(OK_DATA[name]))

    def login(self, *args: Any) -> Answer:
        return self._answer("login", args)

    def upload_page(self, *args: Any) -> Answer:
        return self._answer("upload_page", args)

    def submit_result(self, *args: Any) -> Answer:
        return self._answer("submit_result", args)

    def read_result(self, *args: Any) -> Answer:
        return self._answer("read_result", args)

    def times(self, name: str) -> list[float]:
        return [at for call, at, _ in self.calls if call == name]


def failing(
    kind: str, verdict: Verdict = Verdict.RETRY, retry_after: float | None = None
) -> Answer:
    return Answer(verdict, kind, f"HTTP {kind}", retry_after)


Step = Callable[[], None]


def smoke_plan() -> Plan:
    return tiny_plan(SMOKE.read_text(encoding="utf-8"))


def smoke_outage(plan: Plan) -> float:
    """Real seconds of the smoke's one network outage."""
    (outage,) = [f for f in plan.scenario.timeline if (f.layer, f.kind) == ("network", "down")]
    return outage.duration / plan.speedup


@dataclass
class OutageApi(FakeApi):
    """Every request is refused (nothing listens) until ``until``, real time on the fake clock."""

    until: float = 0.0

    def _answer(self, name: str, args: tuple[Any, ...]) -> Answer:
        if self.clock.now() < self.until:
            self.calls.append((name, self.clock.now(), args))
            return failing("refused")
        return super()._answer(name, args)


def outage_at_first_request(
    plan: Plan, job: Job, outage: float, clock_start: float = 1_000.0
) -> tuple[FormRecord, OutageApi]:
    """Run ``job`` through the real device flow (fake clock) with every request refused for
    ``outage`` real seconds from its first one: the worst moment for its retry schedule."""
    due = clock_start + job.ready / plan.speedup
    clock = FakeClock(now_s=due)
    api = OutageApi(clock, until=due + outage)
    context = DeviceContext(
        population=plan.population,
        policy=RetryPolicy(plan.scenario.client.retry, plan.speedup),
        tokens=TokenCache(),
        think_time=plan.scenario.client.think_time,
        speedup=plan.speedup,
        clock_start=clock_start,
        read_back=0.0,
        now=clock.now,
        sleep=clock.sleep,
    )
    record = FormRecord(job, 0, due, started_at=due)
    FormUpload(record, api, context).run()
    return record, api
