"""The conductor of a run (the Locust master, or the local runner): the clock, the pool, the files.

1. At test start it assigns each generator process its index and the scenario text.
2. When every process has laid out its jobs and the first users are up, it fixes the clock start
   (``--clock-start``, else that moment plus ``GO_MARGIN``) and sends it to all processes.
3. On every load-shape tick it sizes the user pool: ``processes * max(need)`` where a process
   needs one user per busy job and per job due within the next few seconds, with headroom; the
   pool only grows (idle users cost little, stopping a busy one would lose its upload), up to
   ``--max-users`` if given; plus one user per PPK operator of a plenary, each granted its
   operator on request (:mod:`locustfiles.operator_desk`).
4. It ends the run when every job has its outcome and every operator has finished its shift, or
   at the scenario's end plus ``--drain``.
5. When the test stops (that end, the web UI, Ctrl-C or SIGTERM) it asks each process for what
   it still holds, merges it with the worker reports, joins the ledger and the plenary lines
   (:mod:`locustfiles.reconcile`) and writes the run directory's files.
6. A target that refused every device at login and accepted nothing makes the process exit 3,
   its last line saying what to do; some devices refused is counted and said
   (:mod:`locustfiles.refusals`). While running, refused logins with none accepted are warned of
   once.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import gevent

from locustfiles.form_record import FormRecord
from locustfiles.jobs import LOOKAHEAD, DueTimes, Plan
from locustfiles.load_summary import (
    STOPPED_EARLY,
    GeneratorFacts,
    RunEnd,
    build_summary,
    lost_reason,
)
from locustfiles.operator_desk import OperatorDesk
from locustfiles.options import Options
from locustfiles.reconcile import reconcile
from locustfiles.refusals import early_warning
from rundir import exits, names
from rundir.generator_files import write_run_files
from rundir.ledger import LOST_PREFIX
from rundir.progress import totals, write_progress
from rundir.timeline import Timeline
from rundir.timing import FINAL_WAIT_S, clock_warnings
from scenarios import UnsafeTarget, check_target

GO_MARGIN = 0.5  # real seconds between the go message and the clock start
HEADROOM = 1.5  # pool growth factor when the need comes close to the pool
READY_TIMEOUT = 120.0  # real seconds for every process to lay out its jobs

logger = logging.getLogger(__name__)


class Conductor:
    """Master-side state of one run."""

    def __init__(self, environment: Any, options: Options, plan: Plan, run_dir: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.options = options
        self.plan = plan
        self.run_dir = run_dir
        self.local = not hasattr(self.runner, "clients")
        self.phase = "idle"  # idle -> assigned -> running -> collecting -> written
        self.workers: dict[str, int] = {}
        self.statuses: dict[int, dict[str, Any]] = {}
        self.finals: dict[int, dict[str, Any]] = {}
        self.timeline = Timeline()
        self.ledger: list[dict[str, Any]] = []
        self.plenary: list[dict[str, Any]] = []
        self.desk = OperatorDesk(self.runner, len(plan.operators))
        self.clock_start: float | None = None
        self.per_process = 1
        self.initial = 1
        self.users_peak = 0
        self.spawn_rate = 1.0
        self.terminating = False
        self.in_progress_peak = 0  # forms being uploaded at once, sampled twice a second
        self.end_reason = STOPPED_EARLY
        self.problems: list[str] = []  # what went wrong with the generator, for the summary
        self.host_refused: str | None = None  # a start from the web UI with a host not allowed
        self.assigned_at = 0.0
        self.progress_at = 0.0
        self.cpu_warnings = 0
        self.max_cpu = 0.0
        self.refusal: str | None = None  # the last line when the target refused every device
        self.refusal_warned = False
        self.runner.register_message("sirekap_status", self._on_status)
        self.runner.register_message("sirekap_final", self._on_final)
        self.runner.register_message("sirekap_clock", self._on_clock)
        self.lost: dict[int, dict[str, Any]] = {}  # index -> when and how a worker was lost
        events = environment.events
        events.test_start.add_listener(self._on_test_start)
        events.test_stopping.add_listener(self._on_test_stopping)
        events.worker_report.add_listener(self._on_worker_report)
        events.quit.add_listener(self._on_quit)
        if not self.local:
            events.cpu_warning.add_listener(self._on_cpu_warning)
            gevent.spawn(self._joining)

    # ---- start ----

    def process_count(self) -> int:
        if self.local:
            return 1
        clients = self.runner.clients
        return max(1, len(clients.ready) + len(clients.spawning) + len(clients.running))

    def _initial_per_process(self, count: int) -> int:
        """Users each process needs at the clock start: jobs due in the first seconds."""
        horizon = LOOKAHEAD + GO_MARGIN + 1.0
        due = [
            DueTimes(self.plan.partition(index, count), self.plan.speedup).due_by(horizon)
            for index in range(count)
        ]
        return max(1, math.ceil(max(due) * HEADROOM) + 2)

    def _on_test_start(self, environment: Any, **_: Any) -> None:
        if self.phase != "idle":
            return
        self.host_refused = None
        try:  # the web UI's form may have changed the host since the check at start-up
            check_target(environment.host or "", environment.parsed_options.allow_remote, "--host")
        except UnsafeTarget as error:
            self.host_refused = f"{error}; no load was sent"
            logger.error("sirekap: %s", self.host_refused)
            gevent.spawn(self.runner.stop)
            return
        if self.local:
            ids = ["local"]
        else:
            clients = self.runner.clients
            ids = sorted(node.id for node in (*clients.ready, *clients.spawning, *clients.running))
        self.workers = {client_id: index for index, client_id in enumerate(ids)}
        scenario = self.plan.scenario
        for client_id, index in self.workers.items():
            data = {
                "index": index,
                "count": len(ids),
                "scenario_text": self.plan.scenario_text,
                "scenario_source": scenario.source,
                "read_back": self.options.read_back,
                "api_class": self.options.api_class,
            }
            self.runner.send_message("sirekap_assign", data, client_id=client_id)
        self.phase = "assigned"
        self.assigned_at = time.monotonic()
        logger.info(
            "sirekap: %d jobs (%d TPS) over %d generator process(es), scenario %s",
            len(self.plan.jobs),
            self.plan.tps_in_run,
            len(ids),
            scenario.name,
        )

    def _on_status(self, environment: Any, msg: Any, **_: Any) -> None:
        index = int(msg.data["index"])
        data = msg.data.pop("data", None)
        if data is not None:  # a local run's data, which no worker report carries
            self._merge(data)
        if index in self.lost:
            return
        self.statuses[index] = msg.data
        if msg.data.get("error"):
            self._fail(f"generator process {index} {msg.data['error']}")
        busy = sum(int(status.get("busy", 0)) for status in self.statuses.values())
        self.in_progress_peak = max(self.in_progress_peak, busy)
        self._maybe_go()

    def _maybe_go(self) -> None:
        if self.phase != "assigned" or len(self.statuses) < len(self.workers):
            return
        if not all(status["ready"] for status in self.statuses.values()):
            return
        if self.runner.user_count < self.initial and self.options.clock_start is None:
            return
        now = time.time()
        lead = GO_MARGIN if self.options.start_lead is None else self.options.start_lead
        start = self.options.clock_start or now + lead
        self.clock_start = start
        self.phase = "running"
        for client_id in self.workers:
            self.runner.send_message("sirekap_go", {"clock_start": start}, client_id=client_id)
        logger.info("sirekap: clock starts at %.3f (in %.2f s)", start, start - now)
        for line in clock_warnings(self.described_workers()):
            logger.warning("sirekap: %s", line)
        self.progress_at = 0.0
        self._progress()  # the clock start, for the harness, at once

    # ---- the load shape ----

    def _fail(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)
            logger.error("sirekap: %s; stopping the run", problem)
        self.end_reason = "generator failure"

    def tick(self) -> tuple[int, float] | None:
        """The user pool for Locust's shape; None to end the test."""
        if self.phase in ("collecting", "written") or self.problems or self.host_refused:
            return None
        if self.phase == "assigned" and time.monotonic() - self.assigned_at > READY_TIMEOUT:
            waiting = sorted(set(self.workers.values()) - {
                index for index, status in self.statuses.items() if status.get("ready")
            })  # fmt: skip
            self._fail(f"generator processes {waiting} not ready after {READY_TIMEOUT:g} s")
            return None
        count = self.process_count()
        if self.phase == "idle":
            self.per_process = self._initial_per_process(count)
            pool = self._pool(count)
            self.initial = pool[0]
            return pool
        self._maybe_go()
        if self.phase == "running":
            self._check_lost()
            self._progress()
            if self._finished():
                return None
        needs = [int(status.get("need", 0)) for status in self.statuses.values()]
        need = max(needs, default=0)
        if need > 0.8 * self.per_process:
            self.per_process = math.ceil(need * HEADROOM) + 2
        return self._pool(count)

    def _progress(self) -> None:
        """Running totals for live displays, about once a second (never fatal)."""
        now = time.time()
        if self.clock_start is None or now - self.progress_at < 1.0:
            return
        self.progress_at = now
        self._warn_refusals()
        figures = totals(self.timeline, self.clock_start, self.plan.speedup, now)
        figures["tps_ready"] = bisect.bisect_right(self.plan.tps_ready, figures["sim_s"])
        figures["tps_total"] = len(self.plan.tps_ready)
        figures["clock_start"] = self.clock_start
        figures["workers"] = self.described_workers()
        try:
            write_progress(Path(self.run_dir), figures)
        except OSError as exc:
            logger.warning("sirekap: progress.json not written: %s", exc)

    def _warn_refusals(self) -> None:
        if self.refusal_warned:
            return
        warning = early_warning(self.timeline)
        if warning is not None:
            self.refusal_warned = True
            logger.warning("sirekap: %s", warning)

    def _pool(self, count: int) -> tuple[int, float]:
        """(users, spawn rate): the whole growth in one step; unchanged while the pool holds."""
        cap = self.options.max_users
        if cap is not None:
            self.per_process = min(self.per_process, max(1, cap // count))
        users = self.per_process * count + len(self.plan.operators)
        if users != self.users_peak:
            self.users_peak = max(self.users_peak, users)
            self.spawn_rate = float(max(1, users - self.runner.user_count))
        return users, self.spawn_rate

    def _finished(self) -> bool:
        assert self.clock_start is not None
        statuses = [s for index, s in self.statuses.items() if index not in self.lost]
        forms_done = all(s.get("done") for s in statuses)
        if len(self.statuses) == len(self.workers) and forms_done and self._operators_done():
            self.end_reason = "every form has its outcome" + (
                " and every operator finished its shift" if self.plan.operators else ""
            )
            return True
        deadline = self.clock_start + self.plan.real_duration + self.options.drain
        if time.time() >= deadline:
            self.end_reason = "the scenario's duration (and drain) elapsed"
            return True
        return False

    def _operators_done(self) -> bool:
        finished = sum(int(s.get("operators_finished", 0)) for s in self.statuses.values())
        return self.desk.all_granted and finished >= len(self.plan.operators)

    # ---- data from the processes ----

    def _merge(self, data: dict[str, Any], index: int | None = None) -> None:
        if self.phase == "written" or index in self.lost:  # a lost worker's lines are lost
            return
        self.timeline.merge_json(data["timeline"])
        self.ledger.extend(json.loads(line) for line in data["ledger"])
        self.plenary.extend(json.loads(line) for line in data.get("plenary", ()))

    def _on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        report = data.get("sirekap")
        if report is not None:
            self._merge(report["data"], int(report["index"]))

    def _on_final(self, environment: Any, msg: Any, **_: Any) -> None:
        index = int(msg.data["index"])
        if index in self.finals or index in self.lost:
            return
        self.finals[index] = msg.data
        self._merge(msg.data["data"], index)

    def _on_cpu_warning(self, environment: Any, cpu_usage: float, **_: Any) -> None:
        self.cpu_warnings += 1
        self.max_cpu = max(self.max_cpu, float(cpu_usage))

    # ---- the end ----

    def terminate(self) -> None:
        """SIGTERM while a headless run is going: stop it the way its end would."""
        if self.phase in ("collecting", "written") or self.terminating:
            return
        self.terminating = True
        self.end_reason = "terminated (SIGTERM)"
        logger.info("sirekap: SIGTERM: stopping the run and writing its files")
        gevent.spawn(self.runner.quit)

    def _on_test_stopping(self, environment: Any, **_: Any) -> None:
        if self.phase in ("idle", "collecting", "written"):
            return
        self.phase = "collecting"
        ended_at = time.time()
        for client_id in self.workers:
            self.runner.send_message("sirekap_finish", {}, client_id=client_id)
        deadline = time.monotonic() + FINAL_WAIT_S
        while len(self.finals) < len(self.workers) and time.monotonic() < deadline:
            gevent.sleep(0.05)
        try:
            self._write(ended_at)
        except OSError as exc:
            logger.error("sirekap: could not write the run files into %s: %s", self.run_dir, exc)
            environment.process_exit_code = 3
            return
        if self.problems:
            environment.process_exit_code = 3
        elif self.refusal is not None:
            environment.process_exit_code = exits.INFRASTRUCTURE
        elif environment.process_exit_code is None:
            # Failed requests are the experiment's data, not a harness error.
            environment.process_exit_code = 0

    def _write(self, ended_at: float) -> None:
        clock_start = self.clock_start if self.clock_start is not None else ended_at
        missing = sorted(set(self.workers.values()) - set(self.finals))
        for index in missing:
            self.ledger.extend(self._lost_lines(index, clock_start))
        cpu = [
            {"process": f"worker {index}", "count": final["cpu_warnings"],
             "max_cpu_percent": final["max_cpu_percent"]}
            for index, final in sorted(self.finals.items())
            if final["cpu_warnings"]
        ]  # fmt: skip
        if self.cpu_warnings:
            cpu.append(
                {"process": "master", "count": self.cpu_warnings, "max_cpu_percent": self.max_cpu}
            )
        reconcile(self.plan, self.ledger, self.plenary)
        summary = build_summary(
            self.plan,
            self.timeline,
            self.ledger,
            RunEnd(clock_start, ended_at, self.end_reason, self.options.max_slip),
            GeneratorFacts(
                len(self.workers),
                self.users_peak,
                self.in_progress_peak,
                cpu,
                missing,
                self.problems,
                self.described_workers(),
            ),
            self.plenary,
        )
        write_run_files(
            self.run_dir,
            self.timeline,
            self.ledger,
            summary,
            clock_start=clock_start,
            speedup=self.plan.speedup,
            plenary=self.plenary if self.plan.operators else None,
        )
        self.phase = "written"
        Path(self.run_dir, names.PROGRESS).unlink(missing_ok=True)  # live figures only; now final
        refused = summary["refused"]
        if refused["every_device"]:
            self.refusal = refused["message"]
            verdict = f"the target refused every device: exit code {exits.INFRASTRUCTURE}"
        elif summary["inconclusive"]:
            verdict = "INCONCLUSIVE: " + "; ".join(summary["reasons"])
        else:
            verdict = "ok"
        logger.info("sirekap: wrote %s (%s)", self.run_dir, verdict)
        if refused["message"] and not refused["every_device"]:
            logger.warning("sirekap: %s", refused["message"])

    def _on_quit(self, **_: Any) -> None:
        """Last of all (after Locust's own tables): the refusal, so it ends the output."""
        if self.refusal is not None:
            print(f"locustfiles/sirekap.py: {self.refusal}", file=sys.stderr, flush=True)

    # ---- the processes: clocks, joining, losing one ----

    def _on_clock(self, environment: Any, msg: Any, **_: Any) -> None:
        """A worker's clock exchange (:mod:`locustfiles.shared_clock`): the master's time."""
        reply = {"sent": msg.data["sent"], "master": time.time()}
        self.runner.send_message("sirekap_clock_reply", reply, client_id=msg.node_id)

    def described_workers(self) -> list[dict[str, Any]]:
        """Every generator process: its host, pid, clock offset, if lost when, and the CPU seconds
        it used from go to its final report (over ``wall_s``) and at each second of the run."""
        ids = {index: client_id for client_id, index in self.workers.items()}
        described = []
        for index, status in sorted(self.statuses.items()):
            clock, final = status.get("clock") or {}, self.finals.get(index, {})
            worker = {
                "index": index, "client_id": ids.get(index), "host": status.get("host"),
                "pid": status.get("pid"), "offset_s": clock.get("offset_s"),
                "rtt_s": clock.get("rtt_s"), "lost": self.lost.get(index),
                "cpu_s": final.get("cpu_s"), "wall_s": final.get("wall_s"),
                "cpu_by_second": final.get("cpu_by_second") or [],
            }  # fmt: skip
            described.append(worker)
        return described

    def _joining(self) -> None:
        """While the master waits for its workers: how many joined, for the harness's wait."""
        while self.phase == "idle":
            joined = len(self.runner.clients.ready) + len(self.runner.clients.running)
            with_spawning = joined + len(self.runner.clients.spawning)
            with contextlib.suppress(OSError):  # live figures only
                write_progress(Path(self.run_dir), {"phase": "joining", "joined": with_spawning})
            gevent.sleep(0.5)

    def _check_lost(self) -> None:
        """A worker that stopped sending heartbeats (killed, cut off) or quit is lost: named,
        its forms not yet reported are the generator's loss, the run inconclusive."""
        if self.local:
            return
        clients = self.runner.clients
        gone = {node.id for node in clients.missing}
        present = {node.id for node in clients.values()}
        for client_id, index in self.workers.items():
            if index in self.lost or index in self.finals:
                continue
            if client_id in gone or client_id not in present:
                status = self.statuses.get(index, {})
                at = time.time() - (self.clock_start or time.time())
                self.lost[index] = {
                    "client_id": client_id, "host": status.get("host"), "pid": status.get("pid"),
                    "at_s": round(at, 3),
                }  # fmt: skip
                logger.error("sirekap: %s; the run goes on without it", lost_reason(
                    index, self.lost[index]
                ))  # fmt: skip

    def _lost_lines(self, index: int, clock_start: float) -> list[dict[str, Any]]:
        """Ledger lines for the jobs of a process that never sent its final report."""
        reported = {(line["tps_code"], line["election"], line["device_id"]) for line in self.ledger}
        lines = []
        for job in self.plan.partition(index, len(self.workers)):
            if job.key in reported:
                continue
            record = FormRecord(job, index, clock_start + job.ready / self.plan.speedup)
            lost = self.lost.get(index)
            record.reason = f"{LOST_PREFIX}generator process {index} " + (
                f"({lost['host']}, pid {lost['pid']}) was lost at {lost['at_s']:.1f} s real"
                if lost
                else "sent no final report"
            )
            lines.append(record.to_json(clock_start, self.plan.speedup))
        return lines
