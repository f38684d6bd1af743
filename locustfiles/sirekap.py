"""Locustfile: KPPS devices uploading C.Hasil forms on a scenario's election-night schedule,
and, with a ``[plenary]``, PPK operators reconciling manual totals with them in the plenary.

    locust -f locustfiles/sirekap.py --scenario scenarios/smoke.toml --host http://127.0.0.1:8000

Works headless or with the web UI, in one process or distributed (``--processes N``, or
``--master`` with ``--worker`` processes, which need only this file: the scenario travels from
the master). The load shape below sizes the user pool and ends the test; ``--users`` and
``--spawn-rate`` are not used. Options of this file: ``--scenario``, ``--run-dir``,
``--clock-start``, ``--drain``, ``--max-slip``, ``--read-back``, ``--max-users``,
``--api-class``, ``--start-lead``, ``--allow-remote`` (see locustfiles/README.md).

Into the run directory go ``timeline.jsonl``, ``ledger.jsonl``, ``load_summary.json`` and, with a
plenary, ``plenary.jsonl`` (:mod:`rundir.generator_files`). The process exits 0 once they are
written (read the inconclusive flag from the summary), 2 on a bad option or scenario, 3 if a
generator process failed or the target refused every device at login (:mod:`locustfiles.refusals`).
"""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # loaded by path: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent
from locust import LoadTestShape, User, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import WorkerRunner

from locustfiles.conductor import Conductor
from locustfiles.device import FormUpload
from locustfiles.generator import Generator, remember_plan
from locustfiles.jobs import build_plan
from locustfiles.options import (
    add_options,
    check_plenary_api,
    check_target,
    clock_skew,
    default_run_dir,
    fail,
    read_options,
)
from locustfiles.shared_clock import CLOCK
from locustfiles.transport import HttpTransport, new_session
from locustfiles.webui import add_banner, describe, show
from locustfiles.webui import add_option as add_web_ui_option
from rundir.ledger import ABANDONED, ACKED
from scenarios import ScenarioError


class _Process:
    """This process's parts: a conductor (master or local) and/or a generator (worker or local)."""

    conductor: Conductor | None = None
    generator: Generator | None = None


_PROCESS = _Process()


def _options(parser: Any, **_: Any) -> None:
    add_options(parser)


def _init(environment: Any, runner: Any, **_: Any) -> None:
    if runner is None:  # nothing to run
        return
    if not isinstance(runner, WorkerRunner):
        _PROCESS.conductor = _conductor(environment)
        if environment.web_ui is not None:
            add_banner(environment.web_ui.app)
        if environment.parsed_options.headless:
            # Locust handles SIGTERM only once a headless load shape has finished; until then
            # stop the test here, so the run's files are written before the process exits.
            gevent.signal_handler(signal.SIGTERM, _PROCESS.conductor.terminate)
    if not hasattr(runner, "clients"):  # a worker or the local runner generates load
        CLOCK.skew = clock_skew(environment.parsed_options)
        _PROCESS.generator = Generator(environment)


_events: Any = events  # Locust's event hooks are untyped
_events.init_command_line_parser.add_listener(_options)
_events.init_command_line_parser.add_listener(add_web_ui_option)
_events.init.add_listener(_init)


def _conductor(environment: Any) -> Conductor:
    options = read_options(environment.parsed_options)
    try:
        text = options.scenario.read_text(encoding="utf-8")
        plan = build_plan(text, str(options.scenario))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--scenario: cannot read {options.scenario}: {exc}")
    except ScenarioError as exc:
        fail(str(exc))
    remember_plan(plan)
    gc.collect()
    gc.freeze()  # the plan lives all run: keep it out of the collector's full passes
    if not environment.host and plan.scenario.target.url:
        environment.host = plan.scenario.target.url
    check_target(environment.host, environment.parsed_options.allow_remote)
    if plan.operators:
        check_plenary_api(options.api_class)
    # Locust spawns fixed-count users first, so the operators are up before any device.
    Operator.fixed_count = len(plan.operators)
    run_dir = options.run_dir or default_run_dir(plan.scenario.name)
    show(describe(plan, options.drain))  # what the web UI's start form says
    return Conductor(environment, options, plan, run_dir)


def _generator() -> Generator:
    generator = _PROCESS.generator
    if generator is None:
        raise RuntimeError("the sirekap generator was not set up (init event not fired)")
    generator.ready.wait()
    return generator


def _connect(user: FastHttpUser, generator: Generator) -> Any:
    """The user's API client, once the scenario's timeouts are known."""
    # Connect, and a socket-level bound (each request also has its own whole-exchange
    # timeout, in the transport).
    timeouts = generator.timeouts
    assert timeouts is not None and generator.api_class is not None
    user.connection_timeout = generator.connect_timeout
    user.network_timeout = max(timeouts.session, timeouts.page, timeouts.result, timeouts.read)
    user.client = new_session(user)
    transport = HttpTransport(user, generator.recorder, generator.new_connection)
    return generator.api_class(transport, timeouts)


class Device(FastHttpUser):
    """A KPPS device: takes the next form due, uploads it, takes the next one."""

    wait_time = constant(0)
    concurrency = 2

    def on_start(self) -> None:
        self.api: Any = None

    @task
    def upload_next_form(self) -> None:
        generator = _generator()
        dispatcher, context = generator.dispatcher, generator.context
        if dispatcher is None or context is None or generator.timeouts is None:
            return
        if self.api is None:
            self.api = _connect(self, generator)
        record = dispatcher.claim()
        if record is None:
            dispatcher.wait_closed()
            return
        try:
            FormUpload(record, self.api, context).run()
        except Exception as exc:
            if record.final_outcome != ACKED:
                record.final_outcome = ABANDONED
                record.reason = f"generator error: {exc!r}"[:300]
            raise
        finally:
            dispatcher.done(record)


class Operator(FastHttpUser):
    """A PPK operator: takes one operator of the plan and works its plenary shift to the end."""

    fixed_count = 0  # set on the master: the plan's number of operators
    wait_time = constant(0)

    def on_start(self) -> None:
        self.claimed = False

    @task
    def work_shift(self) -> None:
        generator = _generator()
        dispatcher = generator.dispatcher
        if dispatcher is None or generator.timeouts is None:
            return
        if self.claimed:  # one shift per user: wait for the end of the run
            dispatcher.wait_closed()
            return
        self.claimed = True
        operator = generator.operators.claim()
        if operator is None or not dispatcher.wait_started():
            dispatcher.wait_closed()
            return
        api = _connect(self, generator)
        generator.operators.run(operator, api, generator.plenary_context())


class ArrivalShape(LoadTestShape):
    """Sizes the user pool for the arrival schedule and ends the test (see conductor.py).

    Users, ramp-up and run time come from the scenario, so the web UI's start form disables them
    (``use_common_options`` False) and its "This Run" parameter says what the run will do
    (locustfiles/webui.py).
    """

    use_common_options = False

    def tick(self) -> tuple[int, float, list[type[User]] | None] | None:
        conductor = _PROCESS.conductor
        pool = conductor.tick() if conductor is not None else None
        if pool is None:
            return None
        classes: list[type[User]] = [Device, Operator] if Operator.fixed_count else [Device]
        return (*pool, classes)
