"""``sirekap-loadtest run SCENARIO``: replay election night through faults, report, exit code.

One run: start the target (the embedded mock, or check a remote one answers), start the fault layer
and route the load through a proxy, start Locust on the shared clock, apply the fault timeline,
scrape the target's metrics, export what it stored, build the report, exit with the verdict's code
(reports/verdict.py). Whatever happens (an error, Ctrl-C, a part dying) faults are removed, every
child process is stopped, the run record says how the run ended and the partial report is written;
if the harness itself is killed, the run's reaper (harness.reaper) does the same, and the next run
in the same folder sweeps up after one whose reaper died too (harness.leftovers).

How a run ends (``run.json`` status -> exit code): ``completed`` -> by the SLOs (0 or 1);
``aborted`` (an abort_on_fail SLO breached) -> 1; ``ended_early`` (Locust stopped before the
scenario's end: STOP in the web UI, Locust quitting) and ``interrupted`` (Ctrl-C, SIGTERM, also
while the report is written) -> 4; ``failed`` (a part would not start or died) -> 3; ``killed``
(the harness was killed; written by its reaper or the next run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from typing import Any
from urllib.parse import urlsplit

from faults.applier import FaultApplier, FaultCleanupError, FaultLayer
from faults.command_layer import CommandFaults
from faults.network_layer import NetworkFaults, ProxyRouter
from faults.server_layer import ServerFaults
from faults.timeline import SimClock
from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import ToxiproxyStartError, start_toxiproxy
from harness.abort import AbortRun, AbortWatch, EndedEarly
from harness.children import AdoptedServer, Child, Children, StartError, one_line
from harness.command_faults import check_reverts, command_layer
from harness.cpu_shares import CpuShares
from harness.cpu_shares import describe as describe_cpu
from harness.dependency_proxies import attach as attach_dependencies
from harness.dependency_proxies import left_behind
from harness.distributed import await_go, free_port
from harness.embedded import EmbeddedTarget
from harness.faultplan import check_layers
from harness.leftovers import sweep_dead_runs
from harness.locust import locust_args
from harness.metrics_endpoint import LiveMetrics
from harness.preflight import EMBEDDED, before_run
from harness.progress import ProgressView, Snapshot, final_snapshot, live_snapshot
from harness.readback import audit_input
from harness.reaper import Reaper
from harness.recap_poll import RecapPoller, recap_poller
from harness.run_options import Prepared, before_start, parser, prepare, recorded_options
from harness.run_report import write_report
from harness.scrape import MetricsScraper
from harness.target import check_admin_token, check_remote
from reports.hindcast import FITTED_BY
from rundir import timing
from rundir.files import read_json
from rundir.layout import RunDir
from rundir.progress import read_progress
from rundir.record import RunRecord, utc_iso

PROXY_PREFIX = "sirekap-"  # + the run id: a shared Toxiproxy holds each run's own proxy


class Run:
    """One run, start to finish; ``execute`` returns the exit code."""

    def __init__(self, args: argparse.Namespace, prepared: Prepared) -> None:
        self.args, self.prepared = args, prepared
        scenario = self.scenario = prepared.scenario
        self.timeline, self.admin_token = prepared.timeline, prepared.admin_token
        self.dir = RunDir.create(args.out, scenario.name)
        self.dir.scenario.write_text(prepared.text, encoding="utf-8")
        self.reaper = Reaper(self.dir.logs / "reaper.log")
        self.reaper.record(self.dir.record)
        self.children = Children(self.reaper)
        self.target: EmbeddedTarget | None = None
        self.applier: FaultApplier | None = None
        self.commands: CommandFaults | None = None  # the command fault layer, when there is one
        self.toxiproxy: ToxiproxyClient | None = None
        self.toxiproxy_url = ""
        self.scraper: MetricsScraper | None = None
        self.recap: RecapPoller | None = None  # a hindcast's reads of the national recap
        self.clock_start = 0.0
        self.proxy_name = PROXY_PREFIX + self.dir.path.name
        self.dependency_prefix = f"{self.proxy_name}_"  # this run's toxics on a shared proxy
        options = recorded_options(args)
        options["admin_token_given"] = bool(self.admin_token)
        options[FITTED_BY] = prepared.fitted_by
        self.record = RunRecord(
            run_id=self.dir.path.name,
            scenario={"name": scenario.name, "source": str(args.scenario)},
            clock={
                "speedup": scenario.clock.speedup,
                "sim_duration_s": scenario.clock.duration,
                "real_duration_s": scenario.clock.real_duration,
                "start_local": scenario.clock.local(0.0),
            },
            options=options,
            parts={"harness": {"pid": os.getpid()}, "reaper": {"pid": self.reaper.pid}},
            generator=prepared.sizing.record(prepared.processes),
        )
        self.abort = AbortWatch(scenario.slo.parsed)
        self.save()  # a record from the start: whatever happens next, it says how the run ended
        self._progress: dict[str, Any] = {}

    def save(self) -> None:
        self.record.parts.update(self.children.describe())  # what a later sweep may stop
        self.dir.write_json(self.dir.record, self.record.to_json())

    # -- the parts --------------------------------------------------------------------------
    def _network_layer(self, client: ToxiproxyClient) -> FaultLayer:
        proxies = {"load": NetworkFaults(client, self.proxy_name)}
        if self.target is not None and self.target.database is not None:
            proxies["db"] = NetworkFaults(client, self.target.database.proxy_name)
        if self.scenario.proxies:  # the service's links to its dependencies: not ours
            for proxy in self.scenario.proxies:  # told first: a kill may come any time
                self.reaper.dependency(self.toxiproxy_url, proxy.name, self.dependency_prefix)
            found, described = attach_dependencies(
                client, self.scenario.proxies, self.dependency_prefix
            )
            proxies.update(found)
            assert self.record.toxiproxy is not None
            self.record.toxiproxy["dependencies"] = described
        return ProxyRouter(proxies, default="load")

    def start_target(self, toxiproxy: ToxiproxyClient | None) -> str:
        """The target's URL: the remote one (it must answer first), else the embedded mock."""
        if self.args.target:
            check_remote(self.args.target)
            self.record.target = {"kind": "remote", "url": self.args.target}
            found = before_run(
                self.args, self.scenario, self.dir.scenario, "server" in self.timeline.layers,
                self.admin_token, self.reaper,
            )  # fmt: skip
            self.record.target["preflight"] = found.as_record()
            found.raise_if_failed()  # exit 3 before any load: nothing was measured
            return str(self.args.target).rstrip("/")
        self.target = EmbeddedTarget(self.children, self.scenario, self.dir)
        if self.target.needs_database:
            assert toxiproxy is not None
            self.target.add_database(toxiproxy, self.own_proxy(f"{self.proxy_name}-db"))
        self.target.start()
        self.admin_token = self.target.admin_token
        self.record.target = self.target.describe()
        self.record.target["preflight"] = EMBEDDED.as_record()
        return self.target.url

    def start_toxiproxy(self) -> ToxiproxyClient:
        """Start (or find) Toxiproxy: the fault layer of the load path and the database link."""
        try:  # the reaper knows the server the moment it exists: a kill may come any time
            server = start_toxiproxy(on_spawn=self.reaper.watch)
        except ToxiproxyStartError as error:
            raise StartError(f"fault layer: {error}") from None
        if server.process is not None:
            self.children.add(AdoptedServer("toxiproxy", server))
        self.record.toxiproxy = {**server.describe(), "proxies": []}
        self.toxiproxy_url = server.url
        return ToxiproxyClient(server.url)

    def own_proxy(self, name: str) -> str:
        """A proxy of this run's: known to the record and the reaper before it exists."""
        assert self.record.toxiproxy is not None
        self.record.toxiproxy["proxies"].append(name)
        self.reaper.proxy(self.toxiproxy_url, name)  # told first: a kill may come any time
        return name

    def route_load(self, client: ToxiproxyClient, target_url: str) -> str:
        """Route the load through this run's own proxy; the URL to load."""
        parts = urlsplit(target_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        bind = self.prepared.bind  # remote workers reach the proxy where the master listens
        address = bind.host if bind is not None else "127.0.0.1"
        listen = free_port(address)
        shown = f"[{address}]" if ":" in address else address
        client.ensure_proxy(
            self.own_proxy(self.proxy_name), listen=f"{shown}:{listen}", upstream=f"{host}:{port}"
        )
        return f"{parts.scheme}://{shown}:{listen}{parts.path.rstrip('/')}"

    def start_locust(self, host: str) -> Child:
        bind = self.prepared.bind
        allow_remote = self.args.allow_remote
        if bind is not None and not bind.loopback and urlsplit(host).hostname == bind.host:
            allow_remote = bind.host  # the load goes to this run's proxy on the named address
        args = locust_args(
            self.dir.scenario, self.dir.path, drain=timing.DRAIN_S, host=host,
            clock_start=None if bind is not None else self.clock_start,
            workers=self.args.workers, allow_remote=allow_remote,
        )  # fmt: skip
        if bind is not None:
            args += bind.locust_args()
        args += ["--csv", str(self.dir.locust / "locust")]
        args += ["--read-back", f"{self.args.read_back:g}"]
        if self.args.api_class:
            args += ["--api-class", self.args.api_class]
        args += ["--html", str(self.dir.locust / "locust.html")]
        if self.args.ui:
            args.remove("--headless")
            # the web UI stays up after the shape ends unless told to quit
            args += ["--autostart", "--autoquit", "3", "--web-host", "127.0.0.1"]
            args += ["--web-port", str(self.args.ui_port)]
        child = self.children.add(Child("locust", args, self.dir.logs / "locust.log"))
        child.start()
        self.record.parts["locust"] = {"command": args, "pid": child.pid}
        if self.args.ui:
            print(f"Locust web UI: http://127.0.0.1:{self.args.ui_port}", flush=True)
        return child

    # -- the run ----------------------------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        """The generator's live figures, read once a tick; the last ones once it removed them
        (it does when its final files are written)."""
        self._progress = read_progress(self.dir.path) or self._progress
        return self._progress

    def snapshot(self) -> Snapshot:
        scraped = self.scraper.last_samples if self.scraper is not None else {}
        faults = [w.label or w.kind for w in self.applier.active] if self.applier else []
        return live_snapshot(self.scenario, self.clock_start, self._progress, scraped, faults)

    def load_summary(self) -> dict[str, Any]:
        return read_json(self.dir.load_summary) or {}

    def watch(self, locust: Child) -> None:
        """Until Locust ends; a dead part ends the run (StartError) unless a fault killed it."""
        real = self.scenario.clock.real_duration
        deadline = self.clock_start + real + timing.DRAIN_S + timing.END_MARGIN_S
        plain = True if self.args.plain else None
        shares = CpuShares()
        with ProgressView(self.scenario.name, self.snapshot, plain=plain) as view:
            while locust.alive:
                shares.sample(self.children.running())
                progress = self.progress()
                view.update()
                self._check_abort(progress)
                if time.time() > deadline:
                    raise StartError(
                        f"Locust did not finish within {timing.END_MARGIN_S:g} s of the "
                        "scenario's end"
                    )
                self._check_mocks()
                check_reverts(self.commands)  # a revert failed at its window's end: stop
                mine = {c.name for c in self.target.processes} if self.target else set()
                watched = {"locust", *mine}
                gone = [c.name for c in self.children.dead() if c.name not in watched]
                if gone:
                    raise StartError(f"{', '.join(gone)} died during the run")
                time.sleep(0.5)
            if locust.returncode == 0:
                view.show(final_snapshot(self.scenario, self.snapshot(), self.load_summary()))
        self.record.parts["cpu"] = shares.record()
        print(describe_cpu(self.record.parts["cpu"]), flush=True)
        if locust.returncode != 0:
            raise StartError(self._locust_failure(locust))
        self._check_end()

    def _start_clock(self, load_url: str) -> Child | None:
        """Fix the clock start: ahead, for local processes (Locust starts later); when remote
        workers have joined, for a master (started here, returned)."""
        if self.prepared.bind is None:
            self.clock_start = time.time() + timing.lead(self.args.workers)
            return None
        locust = self.start_locust(load_url)
        self.record.generator.update(self.prepared.bind.describe())
        self.save()
        try:
            self.clock_start = await_go(
                self.prepared.bind, self.progress, lambda: locust.alive,
                lambda line: print(line, flush=True), lambda: self._locust_failure(locust),
            )  # fmt: skip
        except RuntimeError as error:
            raise StartError(str(error)) from None
        return locust

    def _fault_layers(
        self, toxiproxy: ToxiproxyClient | None, target_url: str, clock: SimClock
    ) -> dict[str, FaultLayer]:
        layers: dict[str, FaultLayer] = {}
        if toxiproxy is not None:
            layers["network"] = self._network_layer(toxiproxy)
        if self.admin_token:
            layers["server"] = ServerFaults(target_url, self.admin_token)
        if self.target is not None:
            layers["process"] = self.target.process_layer()
        if "command" in self.timeline.layers:  # the user's commands: any target
            layers["command"] = self.commands = command_layer(
                self.dir, target_url, clock, self.reaper, self.target
            )
        check_layers(self.timeline.layers, layers)
        return layers

    def _locust_failure(self, locust: Child) -> str:
        """Why Locust failed, in its own words where it wrote them (the refused devices)."""
        refused = self.load_summary().get("refused") or {}
        if refused.get("every_device") and refused.get("message"):
            return str(refused["message"])
        return f"Locust exited with code {locust.returncode}: {locust.tail()}"

    def _check_end(self) -> None:
        """Locust ended by itself: at the scenario's end, or early (inconclusive)."""
        run = self.load_summary().get("run")
        if not run:
            raise StartError("Locust ended without writing load_summary.json (see logs/)")
        if run.get("ended_early"):
            raise EndedEarly(str(run["ended_early"]))

    def _check_abort(self, progress: dict[str, Any]) -> None:
        if self.abort.watched and (breach := self.abort.check(progress)) is not None:
            raise AbortRun(str(breach))

    def _check_mocks(self) -> None:
        """A mock process dead outside a process fault ends the run (StartError)."""
        active = self.applier.active if self.applier else []
        if self.target is not None and (dead := self.target.died(active)) is not None:
            raise StartError(f"{dead.name} died: {dead.tail()}")

    def execute(self) -> int:
        self.save()
        try:
            with LiveMetrics(self, self.prepared.metrics):  # served until the report is written
                return self._execute()
        finally:
            self.reaper.done()

    def _execute(self) -> int:
        scraper: MetricsScraper | None = None
        try:
            # A remote service without network faults is loaded directly (its own Host and TLS
            # name); network faults need the load to pass through the local proxy, and a
            # deployment on PostgreSQL reaches its database through one.
            direct = (
                bool(self.args.target)
                and "network" not in self.timeline.layers
                and not self.scenario.proxies
            )
            toxiproxy = None if direct else self.start_toxiproxy()
            self.toxiproxy = toxiproxy
            target_url = self.start_target(toxiproxy)
            load_url = target_url if toxiproxy is None else self.route_load(toxiproxy, target_url)
            locust = self._start_clock(load_url)
            self.record.clock["start"] = self.clock_start
            self.record.clock["start_utc"] = utc_iso(self.clock_start)
            clock = SimClock(self.scenario.clock.speedup, self.clock_start, time.time)
            layers = self._fault_layers(toxiproxy, target_url, clock)
            self.applier = FaultApplier(self.timeline, layers, clock)
            scraper = self.scraper = MetricsScraper(
                f"{target_url}/metrics", self.dir.server_metrics, clock.simulated_now,
                urls=self.target.metrics_urls() if self.target else None,
            )  # fmt: skip
            self.recap = recap_poller(self.scenario, target_url, self.dir.recap, clock)
            if locust is None:
                locust = self.start_locust(load_url)
            self.record.status = "running"
            self.save()
            scraper.start()
            if self.recap is not None:
                self.recap.start()
            if self.target is not None:
                self.target.start_recording(clock.simulated_now)
            self.applier.start()
            self.watch(locust)
            self.record.status = "completed"
        except KeyboardInterrupt:
            self.record.status = "interrupted"
            self._stop_locust_gently()
        except AbortRun as breach:
            self.record.status, self.record.aborted = "aborted", str(breach)
            print(f"sirekap-loadtest run: {breach}", flush=True)
            self._stop_locust_gently()
        except EndedEarly as early:
            self.record.status, self.record.ended_early = "ended_early", str(early)
            print(f"sirekap-loadtest run: {early}", flush=True)
        except Exception as error:  # a part would not start or failed: exit code 3, not a breach
            self.record.status, self.record.error = "failed", one_line(error)
            self._stop_locust_gently()
        finally:
            self._wind_down(scraper)
        return self.report()

    def _wind_down(self, scraper: MetricsScraper | None) -> None:
        """Faults off, scraper stopped, export and read-back, children stopped: a second Ctrl-C
        waits."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._clear_faults()
            if scraper is not None:
                scraper.stop()
            if self.recap is not None:
                self.recap.stop()  # its last read: the recap after the load
            if self.target is not None:
                self.target.stop_recording()
            self._audit_input()  # before the proxies go: a deployment reads its database via one
            self._remove_proxies()
        finally:
            self.children.stop_all()
            if workers := (self.load_summary().get("generator") or {}).get("workers"):
                self.record.generator["workers"] = workers
            self.record.ended_utc = utc_iso()
            self.save()
            signal.signal(signal.SIGINT, previous)

    def _clear_faults(self) -> None:
        if self.applier is None:
            return
        try:
            self.applier.close()
        except FaultCleanupError as error:  # faults may still be in place: the run is not sound
            self._failed(str(error))
        self.record.faults = [event.to_dict() for event in self.applier.events]
        dependencies = list((self.record.toxiproxy or {}).get("dependencies") or {})
        if self.toxiproxy is not None and (why := left_behind(
            self.toxiproxy, dependencies, self.dependency_prefix
        )):  # fmt: skip
            self._failed(why)

    def _failed(self, why: str) -> None:
        """The run is not sound: failed, with ``why`` after any error already said."""
        self.record.status = "failed"
        self.record.error = f"{self.record.error + '; ' if self.record.error else ''}{why}"

    def _remove_proxies(self) -> None:
        """This run's proxies go with the run (a shared Toxiproxy keeps no trace of them)."""
        if self.toxiproxy is None or self.record.toxiproxy is None:
            return
        for name in self.record.toxiproxy.get("proxies", []):
            try:
                self.toxiproxy.delete_proxy(name)
            except Exception as error:  # the reaper would retry only if the harness died
                self.record.parts["proxy_error"] = f"could not remove proxy {name}: {error}"

    def _stop_locust_gently(self) -> None:
        """SIGINT first: Locust then writes what it has (timeline, ledger) before it exits. A
        second Ctrl-C or SIGTERM meanwhile waits: the wind-down must not be cut short."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for child in self.children.named("locust"):
                if child.alive:
                    child.signal(signal.SIGINT)
                    with contextlib.suppress(Exception):
                        assert child.process is not None
                        child.process.wait(timeout=timing.STOP_WAIT_S)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _audit_input(self) -> None:
        """The export, then the read-back (harness/readback.py), straight to the target."""
        if self.target is not None and not self.target.answers:
            self.record.parts["read_back_error"] = "the embedded target was not answering"
            return
        url = self.target.url if self.target is not None else (self.args.target or "").rstrip("/")
        interrupted = audit_input(
            self.dir.path, url, self.record.parts, admin_token=self.admin_token,
            rate=self.args.audit_rate, sample=self.args.audit_sample,
            api_class=self.args.api_class, watcher=self.reaper,
        )  # fmt: skip
        if interrupted and self.record.status == "completed":
            self.record.status = "interrupted"

    def report(self) -> int:
        return write_report(self.args, self.dir, self.record, self.save)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    prepared = prepare(args)  # UsageError: harness.cli says it and exits 2
    if args.target and prepared.admin_token:
        check_admin_token(args.target, prepared.admin_token)
    for line in sweep_dead_runs(args.out):
        print(f"sirekap-loadtest run: {line}", flush=True)
    run = Run(args, prepared)
    print(f"run directory: {run.dir.path}", flush=True)
    for line in before_start(args, prepared):
        print(line, flush=True)
    if run.abort.at_end_only:
        shown = ", ".join(slo.expression for slo in run.abort.at_end_only)
        print(f"abort_on_fail can be checked only at the end for: {shown}", flush=True)
    return run.execute()
