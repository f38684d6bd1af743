"""One run, Locust workers on other hosts: the harness is their master.

``run --expect-workers N --master-bind ADDR[:PORT]`` starts Locust as a master listening on
ADDR:PORT (Locust's default port 5557) and waits, at most ``--join-timeout`` seconds, for N
workers started elsewhere with ``sirekap-loadtest worker --master ADDR[:PORT]``
(:mod:`harness.worker`); the scenario travels from the master. The run is then exactly a local
one: one clock (the master's, which each worker measures its offset from:
:mod:`locustfiles.shared_clock`), one fault timeline, one run directory. The workers must reach
the load path, so this run's load-path proxy listens on ADDR too. Safety as for targets: nothing
listens beyond loopback unless an address is named here, and naming one is the permission.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rundir.exits import UsageError
from rundir.timing import clock_warnings

LOCUST_MASTER_PORT = 5557  # Locust's own default
DEFAULT_JOIN_TIMEOUT_S = 60.0
START_LEAD_S = 3.0  # from every worker ready to simulated 0: the harness sets its faults up
PREPARE_TIMEOUT_S = 120.0  # the workers laying out their jobs (the conductor's own bound)
MAX_JOIN_TIMEOUT_S = 3600.0
MAX_WORKERS = 1000  # Locust workers one master takes (a national night needs tens)


@dataclass(frozen=True)
class MasterBind:
    host: str
    port: int
    workers: int
    join_timeout: float

    @property
    def address(self) -> str:
        """HOST:PORT as a worker's --master takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    def locust_args(self) -> list[str]:
        """Locust's master options; its own give-up a little after ours (we say how many)."""
        return [
            "--master", "--master-bind-host", self.host, "--master-bind-port", str(self.port),
            "--expect-workers", str(self.workers),
            "--expect-workers-max-wait", str(math.ceil(self.join_timeout) + 10),  # whole seconds
            "--start-lead", f"{START_LEAD_S:g}",
        ]  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {"bind": self.address, "expect_workers": self.workers}


def add_options(add: Callable[..., Any]) -> None:
    add(
        "--expect-workers", type=int, metavar="N",
        help="run as master of N Locust workers started elsewhere with 'sirekap-loadtest "
        "worker --master ADDR[:PORT]' (instead of --workers)",
    )  # fmt: skip
    add(
        "--master-bind", metavar="ADDR[:PORT]",
        help=f"with --expect-workers: where the master and the load-path proxy listen "
        f"(default 127.0.0.1:{LOCUST_MASTER_PORT}); an address beyond loopback is the "
        "permission to listen there",
    )  # fmt: skip
    add(
        "--join-timeout", type=float, default=DEFAULT_JOIN_TIMEOUT_S, metavar="SECONDS",
        help=f"how long to wait for the --expect-workers to join ({DEFAULT_JOIN_TIMEOUT_S:g})",
    )  # fmt: skip


def split_address(text: str, flag: str) -> tuple[str, int]:
    """ADDR[:PORT] (IPv6 in brackets) -> (address, port); UsageError naming the flag."""
    valid = f"{flag} takes an IP address with an optional port, e.g. 10.0.0.5:{LOCUST_MASTER_PORT}"
    host, port_text = text, ""
    if text.startswith("[") and "]" not in text:
        raise UsageError(f"{valid}; got {text!r}")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    separated = text.count(":") == 1 or (text.startswith("[") and "]:" in text)
    if (separated and not port_text) or (
        port_text and not (port_text.isascii() and port_text.isdigit())
    ):
        raise UsageError(f"{valid}; got {text!r}")
    named_address(host, valid, text)
    port = int(port_text) if port_text else LOCUST_MASTER_PORT
    if not 0 < port < 65536:
        raise UsageError(f"{valid}; got port {port}")
    return host, port


def named_address(host: str, valid: str, given: str) -> None:
    """The rule for where the harness listens (the master, its live /metrics): one IP address
    of a host, named (never a name, a wildcard, multicast or broadcast); naming one beyond
    loopback is the permission. UsageError: ``valid``, then what was ``given``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"{valid}; got {given!r}") from None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:0.0.0.0 is the IPv4 wildcard
    for form in (address, mapped) if mapped is not None else (address,):
        if form.is_multicast or form.is_unspecified or str(form) == "255.255.255.255":
            raise UsageError(f"{valid}: one host's own address, not {host}")


def master_bind(args: argparse.Namespace) -> MasterBind | None:
    """The master's bind, or None for a run of local processes; UsageError if the options
    contradict each other."""
    if args.expect_workers is None:
        if args.master_bind:
            raise UsageError("--master-bind needs --expect-workers N (the workers to wait for)")
        return None
    if args.expect_workers < 1:
        raise UsageError(f"--expect-workers must be at least 1; got {args.expect_workers}")
    if args.workers != 1:
        raise UsageError("--workers starts local processes; with --expect-workers give neither")
    if args.ui:
        raise UsageError("--ui is for a run of local processes; --expect-workers runs headless")
    if not 0 < args.join_timeout <= MAX_JOIN_TIMEOUT_S:
        raise UsageError(
            f"--join-timeout must be seconds > 0, at most {MAX_JOIN_TIMEOUT_S:g}; "
            f"got {args.join_timeout:g}"
        )
    if args.expect_workers > MAX_WORKERS:
        raise UsageError(
            f"--expect-workers must be at most {MAX_WORKERS}; got {args.expect_workers}"
        )
    host, port = split_address(args.master_bind or "127.0.0.1", "--master-bind")
    check_own_address(host, "--master-bind")
    return MasterBind(host, port, args.expect_workers, args.join_timeout)


def check_own_address(host: str, flag: str) -> None:
    """UsageError unless this host can listen on ``host`` (one of its own addresses)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError as error:
        raise UsageError(
            f"{flag} {host}: this host cannot listen there ({error.strerror}); name one of its "
            "own addresses"
        ) from None


def free_port(host: str) -> int:
    """A port free on ``host`` now (the load-path proxy's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def await_go(
    bind: MasterBind,
    progress: Callable[[], dict[str, Any]],
    alive: Callable[[], bool],
    say: Callable[[str], None],
    died: Callable[[], str] = lambda: "the master's Locust exited",
) -> float:
    """Wait for the workers to join and the master to fix the clock; its start (UNIX time).

    RuntimeError naming how many joined when they do not within the join timeout, or when
    Locust ends first."""
    started = time.monotonic()
    joined_deadline = started + bind.join_timeout
    said = -1
    while True:
        figures = progress()
        if figures.get("clock_start"):
            for line in clock_warnings(figures.get("workers") or ()):
                say(line)
            return float(figures["clock_start"])
        joined = int(figures.get("joined") or 0)
        if joined != said:
            say(f"workers: {joined} of {bind.workers} joined the master at {bind.address}")
            said = joined
        now = time.monotonic()
        joining = joined < bind.workers
        if not alive():
            raise RuntimeError(f"{died()} while {joined} of {bind.workers} workers had joined")
        if (joining and now > joined_deadline) or (
            now > joined_deadline + PREPARE_TIMEOUT_S
        ):  # fmt: skip
            if joining:
                raise RuntimeError(
                    f"{joined} of {bind.workers} workers joined within {bind.join_timeout:g} s; "
                    f"start each with: sirekap-loadtest worker --master {bind.address}"
                )
            raise RuntimeError("the workers joined but the master never started the clock")
        time.sleep(0.2)
