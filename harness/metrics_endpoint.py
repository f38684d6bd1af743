"""The harness's own ``/metrics`` during ``run``; harness.live_metrics has the figures.

``--metrics-port PORT`` (default 0: a free port; ``off`` serves nothing) on ``--metrics-bind
ADDR`` (default 127.0.0.1). Nothing listens beyond loopback unless an address is named, by the
rule of ``--master-bind`` (harness.distributed.named_address: one IP address of this host's own;
naming it is the permission). A taken port is refused before the run starts (exit 2). The URL is
printed at the start and kept in ``run.json`` (``parts.live_metrics``).

It serves from before the first part starts until the run's report is written; the final
figures are in before it stops, so a scrape then sees the report's totals. When something
scraped it during the run and has not yet seen the final figures, it waits for one more scrape,
at most ``--metrics-linger`` seconds (10; 0: never); nobody scraping costs no wait. Scrapers are
told apart by address and User-Agent (a Prometheus server and a test's client on the same host
each get their final scrape).
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from faults.applier import FaultApplier
from faults.timeline import FaultTimeline
from harness.distributed import check_own_address, named_address
from harness.live_metrics import LiveCollector, RunFacts
from rundir.exits import StartError, UsageError
from rundir.layout import RunDir
from rundir.record import RunRecord
from scenarios import ZONE_UTC_OFFSET_HOURS, Scenario

DEFAULT_BIND = "127.0.0.1"
DEFAULT_LINGER_S = 10.0
MAX_LINGER_S = 600.0
OFF = ("off", "none")
BIND_VALID = "--metrics-bind takes one IP address of this host, e.g. 127.0.0.1 or 10.0.0.5"
RESPONSE_GRACE_S = 0.25  # the last answer on its way out before the server closes


@dataclass(frozen=True)
class MetricsListen:
    """Where the live /metrics listens; port 0: a free one, chosen as it starts."""

    host: str
    port: int
    linger: float = DEFAULT_LINGER_S

    def address(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port if port is None else port}"

    def taken(self, error: OSError | None = None) -> str:
        """What is wrong with the address: taken, or (another error) why it cannot be had."""
        if error is None or error.errno == errno.EADDRINUSE:
            why = f"{self.address()} is taken"
        else:
            why = f"{self.address()} cannot be listened on ({error.strerror or error})"
        return f"{why}; choose another with --metrics-port (0: a free one), or --metrics-port off"


def metrics_listen(args: argparse.Namespace) -> MetricsListen | None:
    """The options checked before the run starts; None for ``--metrics-port off``. UsageError
    (exit 2) naming the flag, what is wrong and what is valid."""
    text = str(args.metrics_port).strip()
    if text.lower() in OFF:
        if args.metrics_bind is not None:
            raise UsageError("--metrics-bind says where the live /metrics listens; not with "
                             "--metrics-port off")  # fmt: skip
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise UsageError(
            "--metrics-port takes a port from 1 to 65535, 0 for a free one, or off; "
            f"got {args.metrics_port!r}"
        )
    linger = args.metrics_linger
    if not (math.isfinite(linger) and 0 <= linger <= MAX_LINGER_S):
        raise UsageError(
            f"--metrics-linger must be seconds from 0 to {MAX_LINGER_S:g}; got {linger:g}"
        )
    bind = DEFAULT_BIND if args.metrics_bind is None else args.metrics_bind
    listen = MetricsListen(bind_address(bind), int(text), linger)
    if listen.port:
        check_free(listen)
    return listen


def bind_address(text: str) -> str:
    """``--metrics-bind``: an IP address of this host (IPv6 with or without brackets)."""
    host = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    named_address(host, BIND_VALID, text)
    check_own_address(host, "--metrics-bind")
    return host


def check_free(listen: MetricsListen) -> None:
    """UsageError when the port is taken (bound as the server binds it: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((listen.host, listen.port))
        except OSError as error:  # in use, or not ours to have (a privileged port)
            raise UsageError(f"--metrics-port {listen.port}: {listen.taken(error)}") from None


class RunLike(Protocol):
    """What the endpoint reads of a run (harness.run.Run)."""

    dir: RunDir
    scenario: Scenario
    timeline: FaultTimeline
    applier: FaultApplier | None
    clock_start: float
    record: RunRecord

    def save(self) -> None: ...


def run_facts(run: RunLike) -> RunFacts:
    clock = run.scenario.clock
    zone = dt.timezone(dt.timedelta(hours=ZONE_UTC_OFFSET_HOURS[clock.zone]))
    return RunFacts(
        run.dir.path, run.dir.path.name, run.scenario.name, clock.speedup,
        clock.start.replace(tzinfo=zone).timestamp(), run.timeline.windows,
        sim_duration=float(clock.duration), clock_start=lambda: run.clock_start,
        active=lambda: run.applier.active if run.applier is not None else [],
    )  # fmt: skip


Scraper = tuple[str, str]  # (remote address, User-Agent)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Scrapers:
    """Who scraped, and whether each has seen the final figures yet (thread-safe)."""

    def __init__(self) -> None:
        self._saw_final: dict[Scraper, bool] = {}
        self._changed = threading.Condition()

    def saw(self, scraper: Scraper, final: bool) -> None:
        with self._changed:
            self._saw_final[scraper] = self._saw_final.get(scraper, False) or final
            self._changed.notify_all()

    @property
    def waiting(self) -> list[Scraper]:
        """The scrapers that watched the run and have not seen its final figures."""
        with self._changed:
            return [scraper for scraper, final in self._saw_final.items() if not final]

    def wait_final(self, timeout: float) -> bool:
        """Until every scraper has seen the final figures, at most ``timeout`` s; True if so."""
        with self._changed:
            return self._changed.wait_for(lambda: all(self._saw_final.values()), timeout)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per scrape on the run's output."""


def metrics_app(collector: LiveCollector, scrapers: Scrapers) -> WsgiApp:
    """prometheus_client's WSGI app of the collector, noting who saw which figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    inner = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        collector.collected.final = None
        body: Iterable[bytes] = inner(environ, start_response)
        final = getattr(collector.collected, "final", None)
        if final is not None:  # the collector ran: a scrape (not a favicon)
            who = (str(environ.get("REMOTE_ADDR", "")), str(environ.get("HTTP_USER_AGENT", "")))
            scrapers.saw(who, bool(final))
        return body

    return app


def serve(listen: MetricsListen, app: WsgiApp) -> tuple[WSGIServer, threading.Thread]:
    """The app served from a daemon thread on ``listen`` (OSError when it cannot bind)."""

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET

    server = make_server(listen.host, listen.port, app, Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-metrics", daemon=True)
    thread.start()
    return server, thread


class LiveMetrics:
    """``with LiveMetrics(run, listen):`` serves the run's /metrics, says where, records it."""

    def __init__(self, run: RunLike, listen: MetricsListen | None) -> None:
        self.run, self.listen = run, listen
        self.collector: LiveCollector | None = None
        self.scrapers = Scrapers()
        self.url: str | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LiveMetrics:
        if self.listen is None:
            return self
        self.collector = LiveCollector(run_facts(self.run))
        try:
            self._server, self._thread = serve(
                self.listen, metrics_app(self.collector, self.scrapers)
            )
        except OSError as error:  # taken since the check before the start: a part not started
            why = f"live metrics: {self.listen.taken(error)}"
            record = self.run.record
            record.status, record.error, record.exit_code = "failed", why, StartError.exit_code
            self.run.save()
            raise StartError(why) from None
        port = int(self._server.server_port)
        self.url = f"http://{self.listen.address(port)}/metrics"
        self.run.record.parts["live_metrics"] = {
            "url": self.url, "bind": self.listen.host, "port": port,
        }  # fmt: skip
        print(f"live metrics (Prometheus): {self.url}", flush=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is None or self.collector is None:
            return
        try:
            self.collector.refresh()  # the final figures in, whoever scraped
            if kind is None:
                self._linger(self.collector)
        except KeyboardInterrupt:
            pass  # the report is written: a Ctrl-C now only cuts the wait short
        finally:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)

    def _linger(self, collector: LiveCollector) -> None:
        """Each scraper that watched the run gets to see its final figures: bounded, and only
        while one has not seen them yet."""
        assert self.listen is not None
        if not (self.listen.linger and collector.figures.final and self.scrapers.waiting):
            return
        if self.scrapers.wait_final(self.listen.linger):
            time.sleep(RESPONSE_GRACE_S)  # the last answer on its way out
