"""The generator side of a run in one Locust process (a worker, or the local runner).

It receives its assignment from the conductor (:mod:`locustfiles.conductor`): the scenario text,
its process index and the process count. It lays out its share of the jobs (in a thread, so
Locust's heartbeats go on), reports its status twice a second (ready, users it needs, done),
starts handing out jobs at the shared clock start, sends what it recorded with every Locust
worker report, and sends the rest when the conductor ends the run.

Messages (Locust custom messages; with the local runner they are delivered in-process):
``sirekap_assign``, ``sirekap_go``, ``sirekap_finish`` from the conductor; ``sirekap_status`` and
``sirekap_final`` to it; and ``data["sirekap"]`` in each worker report.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import socket
import time
from typing import Any

import gevent
from gevent.event import Event
from locust.runners import LocalRunner

from locustfiles.api import Timeouts
from locustfiles.device import DeviceContext, TokenCache
from locustfiles.dispatcher import Dispatcher
from locustfiles.jobs import LOOKAHEAD, Plan, build_plan, text_digest
from locustfiles.operator_desk import OperatorPool
from locustfiles.options import api_class_from
from locustfiles.ppk_operator import PlenaryContext
from locustfiles.recorder import Recorder
from locustfiles.retry import RetryPolicy
from locustfiles.shared_clock import CLOCK, REPLY_TIMEOUT_S, SAMPLES

STATUS_INTERVAL = 0.5

logger = logging.getLogger(__name__)

_PLANS: dict[str, Plan] = {}  # scenario digest -> plan, so a local run builds it once


def plan_for(text: str, source: str) -> Plan:
    """The plan of this scenario text, built once per process."""
    digest = text_digest(text)
    if digest not in _PLANS:
        _PLANS[digest] = build_plan(text, source)
    return _PLANS[digest]


def remember_plan(plan: Plan) -> None:
    _PLANS[text_digest(plan.scenario_text)] = plan


class Generator:
    """Jobs, dispatcher, recorder and device settings of this process."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.index = 0
        self.count = 1
        self.recorder = Recorder(0)
        self.plan: Plan | None = None
        self.dispatcher: Dispatcher | None = None
        self.context: DeviceContext | None = None
        self.api_class: type[Any] | None = None
        self.timeouts: Timeouts | None = None
        self.new_connection = False
        self.connect_timeout = 10.0
        self.ready = Event()
        self.operators = OperatorPool(self.runner)
        self.failed = ""
        self.cpu_warnings = 0
        self.max_cpu = 0.0
        self.went: tuple[float, float] | None = None  # (CPU s, monotonic s) of this process at go
        # (real s since the clock start, CPU s since go), each whole second of the run
        self.cpu_by_second: list[tuple[float, float]] = []
        self.runner.register_message("sirekap_assign", self._on_assign)
        self.runner.register_message("sirekap_go", self._on_go)
        self.runner.register_message("sirekap_finish", self._on_finish)
        self.runner.register_message("sirekap_clock_reply", self._on_clock_reply)
        self._clock_reply = Event()
        environment.events.cpu_warning.add_listener(self._on_cpu_warning)
        environment.events.report_to_master.add_listener(self._on_report)
        environment.events.quitting.add_listener(self._on_quitting)

    # ---- messages from the conductor ----

    def _on_assign(self, environment: Any, msg: Any, **_: Any) -> None:
        data = msg.data
        self.index, self.count = int(data["index"]), int(data["count"])
        self.recorder = Recorder(self.index)
        self.operators.index = self.index
        gevent.spawn(self._prepare, data).link_exception(self._crashed)

    def _prepare(self, data: dict[str, Any]) -> None:
        if not isinstance(self.runner, LocalRunner):  # a worker: on the master's clock first
            self._measure_clock()
        text, source = data["scenario_text"], data["scenario_source"]
        if text_digest(text) in _PLANS:
            plan = plan_for(text, source)
        else:  # lay out the jobs in a thread: the hub keeps heartbeats and messages going
            plan = gevent.get_hub().threadpool.apply(plan_for, (text, source))
        self.plan = plan
        self.operators.plan = plan
        gc.collect()
        gc.freeze()  # the plan lives all run: keep it out of the collector's full passes
        scenario = plan.scenario
        client = scenario.client
        jobs = plan.partition(self.index, self.count)
        self.dispatcher = Dispatcher(jobs, plan.speedup, self.recorder, CLOCK.now)
        self.timeouts = Timeouts(
            client.timeouts.session,
            client.timeouts.page,
            client.timeouts.result,
            client.timeouts.read,
        )
        self.new_connection = client.new_connection_per_upload
        self.connect_timeout = client.timeouts.connect
        self.api_class = api_class_from(data["api_class"])
        dispatcher = self.dispatcher
        self.context = DeviceContext(
            population=plan.population,
            policy=RetryPolicy(client.retry, plan.speedup),
            tokens=TokenCache(),
            think_time=client.think_time,
            speedup=plan.speedup,
            clock_start=0.0,
            read_back=float(data["read_back"]),
            now=CLOCK.now,
            sleep=gevent.sleep,
            closed=lambda: dispatcher.closed,
            misreads=plan.misreads,
            officer_fix=scenario.quality.officer_fix,
        )
        self.ready.set()
        gevent.spawn(self._report_status)

    def _measure_clock(self) -> None:
        """The offset from the master's clock (:mod:`locustfiles.shared_clock`)."""
        for _ in range(SAMPLES):
            self._clock_reply.clear()
            self.runner.send_message("sirekap_clock", {"index": self.index, "sent": CLOCK.local()})
            self._clock_reply.wait(REPLY_TIMEOUT_S)
        if CLOCK.rtt is None:
            logger.warning("sirekap generator %d: the master never answered the clock", self.index)

    def _on_clock_reply(self, environment: Any, msg: Any, **_: Any) -> None:
        received = CLOCK.local()
        CLOCK.sample(float(msg.data["sent"]), float(msg.data["master"]), received)
        self._clock_reply.set()

    def _on_go(self, environment: Any, msg: Any, **_: Any) -> None:
        clock_start = float(msg.data["clock_start"])
        self.ready.wait()
        assert self.dispatcher is not None and self.context is not None and self.plan
        self.recorder.start(clock_start, self.plan.speedup)
        self.went = (time.process_time(), time.monotonic())
        self.context.clock_start = clock_start
        self.dispatcher.begin(clock_start)
        gevent.spawn(self._sample_cpu, clock_start, self.went[0])

    def plenary_context(self) -> PlenaryContext:
        """What this process's operators share (once the clock has started)."""
        dispatcher = self.dispatcher
        assert self.plan is not None and dispatcher is not None
        assert dispatcher.clock_start is not None
        return PlenaryContext(
            plan=self.plan,
            clock_start=dispatcher.clock_start,
            now=CLOCK.now,
            sleep=dispatcher.wait_closed,
            closed=lambda: dispatcher.closed,
            worker=self.index,
        )

    def _on_finish(self, environment: Any, msg: Any, **_: Any) -> None:
        self._send_final()

    def _on_quitting(self, environment: Any, **_: Any) -> None:
        """This process shuts down on its own (a signal): send what it holds first."""
        if self.plan is not None and not self.recorder.closed:
            self._send_final()

    def _send_final(self) -> None:
        if self.recorder.closed:
            return
        if self.dispatcher is not None:
            self.dispatcher.close()
        else:
            self.recorder.close()
        payload = {
            "index": self.index,
            "data": {**self.recorder.drain(), "plenary": self.operators.lines()},
            "cpu_warnings": self.cpu_warnings,
            "max_cpu_percent": self.max_cpu,
            **self._cpu_used(),
            "users": self.runner.user_count,
            "error": self.failed,
        }
        self.runner.send_message("sirekap_final", payload)

    def _sample_cpu(self, clock_start: float, at_go: float) -> None:
        """This process's CPU time at each whole second of the run, until its final report: the
        CPU share over any window (``sirekap-loadtest calibrate`` judges its steady window)."""
        second = 0
        while not self.recorder.closed:
            gevent.sleep(max(0.0, clock_start + second - CLOCK.now()))
            at = CLOCK.now() - clock_start
            self.cpu_by_second.append((round(at, 3), round(time.process_time() - at_go, 4)))
            second = max(second + 1, math.ceil(at))

    def _cpu_used(self) -> dict[str, Any]:
        """This process's CPU seconds and wall seconds from go to now (what one generator process
        costs: ``sirekap-loadtest calibrate`` reads them)."""
        if self.went is None:
            return {"cpu_s": None, "wall_s": None, "cpu_by_second": []}
        cpu, wall = self.went
        return {
            "cpu_s": round(time.process_time() - cpu, 3),
            "wall_s": round(time.monotonic() - wall, 3),
            "cpu_by_second": [list(pair) for pair in self.cpu_by_second],
        }

    # ---- to the conductor ----

    def status(self) -> dict[str, Any]:
        dispatcher = self.dispatcher
        if dispatcher is None or not self.ready.is_set():
            return {"index": self.index, "ready": False, "need": 0, "error": self.failed}
        return {
            "index": self.index,
            "ready": True,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "clock": CLOCK.describe(),
            "need": dispatcher.need(LOOKAHEAD),
            "done": dispatcher.all_done,
            "users": self.runner.user_count,
            **dispatcher.counts(),
            **self.operators.status(),
        }

    def _report_status(self) -> None:
        users = 0
        # A local runner sends no worker reports: its data rides with the status instead, so the
        # conductor's live figures (progress.json) grow during the run in every mode.
        local = isinstance(self.runner, LocalRunner)
        while self.dispatcher is not None and not self.dispatcher.closed:
            status = self.status()
            if local and not self.recorder.closed:
                status["data"] = self.recorder.drain()
            self.runner.send_message("sirekap_status", status)
            if self.runner.user_count > users:
                # New users live to the end of the run: take them out of the collector's full
                # passes, which would otherwise stall every greenlet for a growing time.
                users = self.runner.user_count
                gc.freeze()
            gevent.sleep(STATUS_INTERVAL)

    def _on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if not self.recorder.closed:
            data["sirekap"] = {"index": self.index, "data": self.recorder.drain()}

    def _on_cpu_warning(self, environment: Any, cpu_usage: float, **_: Any) -> None:
        self.cpu_warnings += 1
        self.max_cpu = max(self.max_cpu, float(cpu_usage))

    def _crashed(self, greenlet: Any) -> None:
        self.failed = f"could not prepare its jobs: {greenlet.exception!r}"[:300]
        logger.error("sirekap generator %d %s", self.index, self.failed)
        self.runner.send_message("sirekap_status", self.status())
