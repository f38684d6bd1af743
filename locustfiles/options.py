"""The locustfile's own command-line options, added to Locust's parser, and their checks.

Every error is one line naming the option, what was given and what is valid; the process then
exits with code 2 (README, exit codes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from rundir import exits
from rundir.layout import folder_name
from rundir.timing import DRAIN_S
from scenarios import UnsafeTarget
from scenarios import check_target as safe_target

DEFAULT_API = "locustfiles.api:SirekapApi"


def add_options(parser: Any) -> None:
    """Listener of Locust's ``init_command_line_parser`` event."""
    group = parser
    group.add_argument(
        "--scenario", metavar="FILE", help="scenario TOML file (required)", include_in_web_ui=False
    )
    group.add_argument(
        "--run-dir",
        metavar="DIR",
        help="where timeline.jsonl, ledger.jsonl and load_summary.json go "
        "(default runs/<UTC time>-<scenario>)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--clock-start",
        metavar="EPOCH",
        help="real UNIX time of simulated offset 0, shared with the harness and the fault "
        "timeline (default: when the generator is ready)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--drain",
        metavar="SECONDS",
        default=f"{DRAIN_S:g}",
        help="real seconds after the scenario's end for uploads in progress to finish (default 5)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--max-slip",
        metavar="SECONDS",
        default="1",
        help="p99 start slip (real seconds) above which the run is inconclusive (default 1)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--read-back",
        metavar="FRACTION",
        default="1",
        help="fraction of acknowledged forms each device reads back (default 1)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--api-class",
        metavar="MODULE:CLASS",
        default=DEFAULT_API,
        help=f"the API client class, for a service with another API (default {DEFAULT_API})",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--max-users",
        metavar="N",
        help="cap on the user pool (default: no cap; forms then start late and the run says so)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--start-lead",
        metavar="SECONDS",
        default="",
        help="without --clock-start: real seconds from the moment every generator process is "
        "ready to simulated offset 0 (default 0.5)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--clock-skew",
        metavar="SECONDS",
        default="0",
        help=argparse.SUPPRESS,  # tests only: this host's clock as if set that far off
        include_in_web_ui=False,
    )
    group.add_argument(
        "--allow-remote",
        metavar="HOST",
        help="allow load on this non-loopback host (load goes to loopback only without it)",
        include_in_web_ui=False,
    )


@dataclass(frozen=True)
class Options:
    """The checked options of this process."""

    scenario: Path
    run_dir: Path | None
    clock_start: float | None
    drain: float
    max_slip: float
    read_back: float
    api_class: str
    max_users: int | None = None
    start_lead: float | None = None  # the conductor's go margin when no --clock-start is given


def fail(message: str) -> NoReturn:
    print(f"locustfiles/sirekap.py: {message}", file=sys.stderr)
    raise SystemExit(exits.USAGE)


def read_options(parsed: Any) -> Options:
    """Check the parsed options; exits with code 2 and one line on the first bad one."""
    if not getattr(parsed, "scenario", None):
        fail(
            "--scenario: missing; give the scenario TOML file, e.g. --scenario scenarios/smoke.toml"
        )
    scenario = Path(parsed.scenario)
    if not scenario.is_file():
        fail(f"--scenario: {scenario}: no such file")
    clock_start = None
    if parsed.clock_start not in (None, ""):
        clock_start = _number("--clock-start", parsed.clock_start, "a UNIX time in seconds")
        if clock_start <= 0:
            fail(f"--clock-start: got {parsed.clock_start}; must be a UNIX time in seconds")
    drain = _number("--drain", parsed.drain, "a number of seconds >= 0")
    max_slip = _number("--max-slip", parsed.max_slip, "a number of seconds > 0")
    read_back = _number("--read-back", parsed.read_back, "a fraction between 0 and 1")
    if drain < 0:
        fail(f"--drain: got {parsed.drain}; must be a number of seconds >= 0")
    if max_slip <= 0:
        fail(f"--max-slip: got {parsed.max_slip}; must be a number of seconds > 0")
    if not 0 <= read_back <= 1:
        fail(f"--read-back: got {parsed.read_back}; must be a fraction between 0 and 1")
    max_users = None
    if parsed.max_users not in (None, ""):
        max_users = int(_number("--max-users", parsed.max_users, "a whole number >= 1"))
        if max_users < 1 or max_users != float(parsed.max_users):
            fail(f"--max-users: got {parsed.max_users}; must be a whole number >= 1")
    start_lead = None
    if getattr(parsed, "start_lead", "") not in (None, ""):
        start_lead = _number("--start-lead", parsed.start_lead, "a number of seconds >= 0")
        if start_lead < 0:
            fail(f"--start-lead: got {parsed.start_lead}; must be a number of seconds >= 0")
    load_api_class(parsed.api_class)
    run_dir = Path(parsed.run_dir) if parsed.run_dir else None
    return Options(
        scenario, run_dir, clock_start, drain, max_slip, read_back, parsed.api_class, max_users,
        start_lead,
    )  # fmt: skip


def clock_skew(parsed: Any) -> float:
    """``--clock-skew`` (tests only), read on the worker before the master's options arrive."""
    value = getattr(parsed, "clock_skew", "0") or "0"
    return _number("--clock-skew", value, "a number of seconds")


def _number(flag: str, value: Any, valid: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        fail(f"{flag}: got {value!r}; must be {valid}")
    if not math.isfinite(number):
        fail(f"{flag}: got {value!r}; must be {valid}")
    return number


def api_class_from(spec: str) -> type[Any]:
    """The class named ``module:Class``; ValueError saying why it cannot be loaded."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"got {spec!r}; must be MODULE:CLASS, e.g. {DEFAULT_API}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise ValueError(f"{module_name!r} has no class {class_name!r}")
    return found


def load_api_class(spec: str) -> type[Any]:
    """:func:`api_class_from`, exiting with a one-line error if the class cannot be loaded."""
    try:
        return api_class_from(spec)
    except ValueError as exc:
        fail(f"--api-class: {exc}")


PLENARY_METHODS = ("operator_login", "submit_plenary", "plenary_progress")


def check_plenary_api(spec: str) -> None:
    """A scenario with a plenary needs the API class's operator methods."""
    api = load_api_class(spec)
    missing = [name for name in PLENARY_METHODS if not callable(getattr(api, name, None))]
    if missing:
        fail(
            f"--api-class: {spec} has no {', '.join(missing)}; the scenario's [plenary] needs "
            f"the PPK operator methods {', '.join(PLENARY_METHODS)} (see locustfiles/api.py), "
            "or set [plenary] enabled = false"
        )


def default_run_dir(scenario_name: str, now: dt.datetime | None = None) -> Path:
    return Path("runs") / folder_name(scenario_name, now)


def check_target(host: str | None, allow_remote: str | None) -> None:
    """Load goes to loopback unless ``--allow-remote`` names the target's host (the rule of
    scenarios.schema.safety, shared with the harness)."""
    if not host:
        fail(
            "no target: pass --host URL (the mock or the service) or set [target] url in the "
            "scenario"
        )
    try:
        safe_target(host, allow_remote, flag="--host")
    except UnsafeTarget as error:
        fail(str(error))
