"""The options of ``sirekap-loadtest run`` and what is decided before anything starts.

Everything here happens before a connection, a child process or a run directory: the scenario is
read and checked (with ``--speedup`` applied to the parsed value, never to the text), the target
is checked against the loopback rule (scenarios.schema.safety), the admin token is found (flag,
file or environment variable: never handed to a child on a command line), the web UI's and
the live /metrics' ports are checked,
and the SLOs the run will not be able to measure are listed so the user hears it at the start.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from faults.timeline import FaultTimeline
from faults.toxiproxy.launcher import URL_VARIABLE
from harness.baseline import add_options as add_baseline_options
from harness.baseline import baseline_lines, check_baseline
from harness.command_faults import check_programs, command_plan
from harness.dependency_proxies import check_toxiproxy
from harness.distributed import MasterBind, master_bind
from harness.distributed import add_options as add_distributed_options
from harness.faultplan import FaultPlanError, fault_timeline
from harness.generator_sizing import (
    NOT_SIZED,
    Sizing,
    add_generator_option,
    load_generator,
    sizing,
)
from harness.hindcast_fit import FIT_OVERRIDE, with_fit
from harness.metrics_endpoint import DEFAULT_LINGER_S, MetricsListen, metrics_listen
from harness.readback import DEFAULT_RATE, DEFAULT_SAMPLE
from reports.hindcast import FITTED_BY_HARNESS
from rundir.exits import UsageError
from scenarios import (
    Scenario,
    ScenarioError,
    check_target,
    read_scenario_text,
    scenario_from_dict,
)

ADMIN_TOKEN_VARIABLE = "SIREKAP_ADMIN_TOKEN"
UI_PORT = 8089  # Locust's own default


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest run",
        description="Replay a scenario against the embedded mock (or --target), through faults.",
    )
    add = parser.add_argument
    add("scenario", type=Path, metavar="SCENARIO", help="a scenario .toml file")
    add("--target", metavar="URL", help="a running service instead of the mock")
    add("--allow-remote", metavar="HOST", help="allow a non-loopback --target")
    add(
        "--admin-token",
        metavar="T",
        help=f"the --target's admin token (server faults, export); visible in ps: prefer "
        f"--admin-token-file or ${ADMIN_TOKEN_VARIABLE}",
    )
    add("--admin-token-file", type=Path, metavar="FILE", help="read the admin token from FILE")
    add("--workers", type=int, default=1, help="Locust worker processes")
    add_distributed_options(add)
    add("--out", type=Path, default=Path("runs"), help="runs folder (runs/)")
    add("--speedup", type=float, help="override the scenario's speedup")
    add(
        "--instances", type=int, metavar="N",
        help="override [target.mock] instances: the embedded deployment's instance count",
    )  # fmt: skip
    add(
        "--read-back", type=float, default=1.0, metavar="FRACTION",
        help="share of acknowledged forms each device reads back (1; 0 sends only uploads)",
    )  # fmt: skip
    add(
        "--no-faults",
        action="store_true",
        help="run without the fault timeline (to see the night without its faults)",
    )
    add("--no-preflight", action="store_true", help="skip the --target's preflight (check)")
    add(
        "--audit-rate", type=float, default=DEFAULT_RATE, metavar="R",
        help=f"reads/s of the read-back audit after the load ({DEFAULT_RATE:g}; 0: none)",
    )  # fmt: skip
    add(
        "--audit-sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
        help=f"forms read back beside an export, as a cross-check ({DEFAULT_SAMPLE}; 0: none)",
    )  # fmt: skip
    add(
        "--api-class", metavar="MODULE:CLASS",
        help="the API client class for a service with another API (locustfiles/api.py)",
    )  # fmt: skip
    add("--ui", action="store_true", help="also serve Locust's web UI on 127.0.0.1")
    add("--ui-port", type=int, default=UI_PORT, metavar="PORT", help=f"its port ({UI_PORT})")
    add("--plain", action="store_true", help="plain progress lines, no panel")
    add(
        "--metrics-port", default="0", metavar="PORT",
        help="the run's own Prometheus /metrics (0: a free port, printed at the start; off: none)",
    )  # fmt: skip
    add(
        "--metrics-bind", metavar="ADDR",
        help="where /metrics listens (127.0.0.1); an address beyond loopback is the permission",
    )  # fmt: skip
    add(
        "--metrics-linger", type=float, default=DEFAULT_LINGER_S, metavar="SECONDS",
        help="after the report, wait at most this long for a scraper of the run to see its "
        f"final figures ({DEFAULT_LINGER_S:g}; 0: none)",
    )  # fmt: skip
    add_baseline_options(add)
    add_generator_option(parser)
    return parser


@dataclass(frozen=True)
class Prepared:
    scenario: Scenario
    text: str  # as the run directory keeps it (and Locust reads it)
    timeline: FaultTimeline
    admin_token: str | None
    bind: MasterBind | None = None  # the master of remote workers (harness.distributed)
    sizing: Sizing = NOT_SIZED  # the generator processes it needs, from a calibrate file
    workers: int = 1  # local generator processes (--workers)
    metrics: MetricsListen | None = None  # the run's own /metrics (harness.metrics_endpoint)
    fitted_by: str | None = None  # who set [hindcast.fitted]: this run's fit, or the file

    @property
    def processes(self) -> int:
        """The run's generator processes: remote workers, else local ones."""
        return self.bind.workers if self.bind is not None else self.workers


def scenario_text(args: argparse.Namespace) -> tuple[Scenario, str, bool]:
    """The scenario, with --speedup set on the parsed data; the text the run directory keeps;
    whether this run fitted its [hindcast.fitted]."""
    try:
        text = read_scenario_text(args.scenario)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{args.scenario}: not valid TOML: {exc}") from None
    data, fitted = with_fit(data, str(args.scenario))
    overrides = [] if fitted is None else [FIT_OVERRIDE]
    if fitted is not None:
        print(fitted, flush=True)
    if args.speedup is not None:
        if not (args.speedup > 0 and math.isfinite(args.speedup)):
            raise UsageError(f"--speedup must be a finite number > 0; got {args.speedup:g}")
        clock = data.get("clock")
        if not isinstance(clock, dict):
            raise UsageError(f"{args.scenario}: no [clock] table whose speedup to override")
        clock["speedup"] = args.speedup
        overrides.append(f"--speedup {args.speedup:g}")
    if args.instances is not None:
        _override_instances(args, data)
        overrides.append(f"--instances {args.instances}")
    if overrides:
        text = f"# {args.scenario} as run, with {' '.join(overrides)}\n" + tomli_w.dumps(data)
    try:
        return scenario_from_dict(data, str(args.scenario)), text, fitted is not None
    except ScenarioError as error:
        raise UsageError(str(error)) from None


def _override_instances(args: argparse.Namespace, data: dict[str, object]) -> None:
    """``--instances N`` on the parsed scenario: the embedded deployment's count (1..16)."""
    if args.target:
        raise UsageError("--instances sets the embedded deployment's size; not with --target")
    target = data.setdefault("target", {})
    if not isinstance(target, dict) or "url" in target:
        raise UsageError(f"{args.scenario}: the target is a URL; --instances needs [target.mock]")
    mock = target.setdefault("mock", {})
    if not isinstance(mock, dict):
        raise UsageError(f"{args.scenario}: target.mock is not a table; --instances needs one")
    mock["instances"] = args.instances  # out of 1..16: the scenario's own error names the field


def check_api_class(spec: str, plenary: bool) -> None:
    """``--api-class`` loads (and has the operator methods a plenary needs): checked in a child
    Python, since the harness never imports what runs in Locust; UsageError naming the class."""
    code = (
        "import sys; from locustfiles.options import check_plenary_api, load_api_class; "
        "spec = sys.argv[1]; load_api_class(spec); "
        "check_plenary_api(spec) if sys.argv[2] == '1' else None"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, spec, "1" if plenary else "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit code {done.returncode}"
        raise UsageError(why.removeprefix("locustfiles/sirekap.py: "))


def admin_token(args: argparse.Namespace) -> str | None:
    """--admin-token, else --admin-token-file, else $SIREKAP_ADMIN_TOKEN; None when none."""
    if args.admin_token and args.admin_token_file:
        raise UsageError("give the admin token once: --admin-token or --admin-token-file")
    if args.admin_token:
        return str(args.admin_token)
    if args.admin_token_file:
        try:
            token = str(args.admin_token_file.read_text(encoding="utf-8")).strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(f"--admin-token-file {args.admin_token_file}: {why}") from None
        if not token:
            raise UsageError(f"--admin-token-file {args.admin_token_file}: the file is empty")
        return token
    return os.environ.get(ADMIN_TOKEN_VARIABLE, "") or None


def check_ui_port(port: int) -> None:
    """The web UI's port must be free before the run starts (Locust would only log it)."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--ui-port must be from 1 to 65535; got {port}")
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(
                f"--ui-port {port}: 127.0.0.1:{port} is taken; choose another with --ui-port"
            ) from None


def check_places(scenario: Scenario, timeline: FaultTimeline, remote: bool) -> None:
    """Every fault names a process or a proxy this run will have (UsageError naming the valid)."""
    mock = scenario.target.mock
    instances = [] if remote or mock is None or not mock.deployed else [
        f"mock-{i}" for i in range(1, mock.instances + 1)
    ]  # fmt: skip
    db = not remote and mock is not None and mock.storage == "postgres"
    victims = {"all", *instances, *(["db"] if db else [])}
    proxies = ({"db"} if db else set()) | {proxy.name for proxy in scenario.proxies}
    for window in timeline.windows:
        if remote and window.layer == "process":
            raise UsageError(
                f"{window.describe()}: a process fault needs a process the harness runs (the "
                "embedded mock or deployment), not --target; remove it or run without --target"
            )
        victim = getattr(window.params, "victim", None)
        if victim is not None and victim not in victims:
            valid = ", ".join(sorted(victims)) if instances else "none: the target is one mock"
            raise UsageError(f"{window.describe()}: no process {victim!r}; valid victims: {valid}")
        proxy = getattr(window.params, "proxy", None)
        if proxy is not None and proxy not in proxies:
            valid = (
                ", ".join(sorted(proxies)) or "none (a database link needs storage = 'postgres')"
            )
            raise UsageError(f"{window.describe()}: no proxy {proxy!r}; valid proxies: {valid}")


def prepare(args: argparse.Namespace) -> Prepared:
    """Everything decided before the run starts; UsageError (exit 2) naming what is wrong."""
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    bind = master_bind(args)
    metrics = metrics_listen(args)  # a taken --metrics-port: exit 2 before anything starts
    if not (args.audit_rate >= 0 and math.isfinite(args.audit_rate)) or args.audit_sample < 0:
        raise UsageError(
            f"--audit-rate must be reads/s >= 0 (0: no read-back) and --audit-sample a count "
            f">= 0; got {args.audit_rate:g} and {args.audit_sample}"
        )
    if not 0 <= args.read_back <= 1:
        raise UsageError(f"--read-back must be a share from 0 to 1; got {args.read_back:g}")
    scenario, text, fitted_here = scenario_text(args)
    try:
        timeline = FaultTimeline() if args.no_faults else fault_timeline(scenario)
    except FaultPlanError as error:
        raise UsageError(str(error)) from None
    if args.target:
        check_target(args.target, args.allow_remote)  # UnsafeTarget: exit 2 at the CLI
    if args.ui:
        check_ui_port(args.ui_port)
    check_places(scenario, timeline, remote=bool(args.target))
    check_toxiproxy(scenario, os.environ.get(URL_VARIABLE))
    if args.api_class:
        check_api_class(args.api_class, scenario.plenary.enabled)
    check_programs(timeline)  # a command fault that could not be reverted would outlive the run
    check_baseline(args)
    token = admin_token(args)
    if args.target and "server" in timeline.layers and not token:
        raise UsageError(
            "the scenario has server faults, which need the target's admin API: give its token "
            f"with --admin-token-file FILE or ${ADMIN_TOKEN_VARIABLE} (or --no-faults)"
        )
    need = sizing(scenario, load_generator(args.generator, args.out), read_back=args.read_back)
    fitted_by = None  # reports.hindcast.FITTED_BY in the run record
    if scenario.hindcast is not None and scenario.hindcast.fitted:
        fitted_by = FITTED_BY_HARNESS if fitted_here else "the scenario file"
    return Prepared(scenario, text, timeline, token, bind, need, args.workers, metrics, fitted_by)


def unmeasurable(
    prepared: Prepared, remote: bool, no_faults: bool, audit_off: bool = False
) -> list[str]:
    """The SLOs this run will not be able to measure, and why: said before the run starts."""
    found = []
    slos = [slo for slo in prepared.scenario.slo.parsed if slo.scope != "plan"]
    if remote and not prepared.admin_token:
        found += [
            f"not measurable in this run: {slo.expression}: without the target's admin token "
            "(export) the audit reads every form back, and a read cannot see duplicates"
            if slo.metric == "duplicate"
            else f"not measurable in this run: {slo.expression}: no export (admin token) and "
            "--audit-rate 0 turns the read-back audit off"
            for slo in slos
            if slo.scope == "integrity" and (slo.metric == "duplicate" or audit_off)
        ]
    if no_faults:
        names = {fault.name for fault in prepared.scenario.timeline}
        found += [
            f"not applicable in this run: {slo.expression}: its fault window is removed by "
            "--no-faults"
            for slo in slos
            if slo.scope == "recovery" and slo.args and slo.args[0] in names
        ]
    return found


def before_start(args: argparse.Namespace, prepared: Prepared) -> list[str]:
    """What a run says before it starts: the SLOs it cannot measure, every command its command
    faults will run, and too few generator processes for the scenario's peak."""
    lines = unmeasurable(prepared, bool(args.target), args.no_faults, args.audit_rate == 0)
    lines += command_plan(prepared.scenario, prepared.timeline)
    lines += baseline_lines(args, prepared.scenario)
    shortfall = prepared.sizing.shortfall(prepared.processes)
    if shortfall is not None:
        lines.append(f"sirekap-loadtest run: {shortfall}")
    return lines


SECRET_OPTIONS = ("admin_token",)  # never written to the run record


def recorded_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options as the run record keeps them: paths as text, secrets only as given or not."""
    options: dict[str, Any] = {}
    for key, value in vars(args).items():
        if key in SECRET_OPTIONS:
            continue
        options[key] = str(value) if isinstance(value, Path) else value
    return options
