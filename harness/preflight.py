"""The preflight: before any load, a handful of requests show that the target offers what the
scenario needs (``sirekap-loadtest check``; ``run --target`` runs it first).

The device checks (login, page, arithmetic, result, read) run in a child process, ``python -m
locustfiles.preflight``, through the devices' own API class: the harness does not import the load
generator (the import direction tests/test_import_rules.py checks). The harness adds what only it
knows: that the target answers at all (else exit 3), its health check, its admin API with the run's
token (which never goes to the child), and the upstreams of the scenario's ``[[proxies]]``. One line
per check: PASS, FAIL with what to fix, or SKIP (not applicable, or needing a check that failed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.children import Watcher
from rundir import exits
from rundir.exits import StartError, UsageError
from scenarios import Scenario

PASS, FAIL, SKIP = "pass", "fail", "skip"
ANSWER_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 3.0  # a dependency proxy's upstream
CHILD_SETUP_S = 60.0  # the child lays out the scenario's plan before its first request
CHILD_REQUESTS = 40  # at most: a login, the pages of one form (up to 30) and one more, 3 results,
# a read and a page listing
TOKEN_VARIABLES = ("SIREKAP_ADMIN_TOKEN", "MOCK_SIREKAP_ADMIN_TOKEN")  # kept from the child


@dataclass(frozen=True)
class CheckLine:
    check: str
    status: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status.upper()} {self.check}: {self.detail}"


@dataclass(frozen=True)
class Preflight:
    """The lines of one preflight, or why it did not run."""

    lines: tuple[CheckLine, ...] = ()
    skipped: str = ""

    @property
    def failed(self) -> list[CheckLine]:
        return [line for line in self.lines if line.status == FAIL]

    def as_record(self) -> dict[str, Any]:
        """What the run record keeps (``run.json`` target.preflight)."""
        if self.skipped:
            return {"status": "skipped", "reason": self.skipped}
        status = "failed" if self.failed else "passed"
        return {"status": status, "checks": [asdict(line) for line in self.lines]}

    def raise_if_failed(self) -> None:
        """StartError (exit 3: nothing was measured) naming the first failing check."""
        if self.failed:
            raise StartError(
                f"preflight failed: {self.failed[0]} (no load was sent; --no-preflight skips it)"
            )


# The embedded mock is not checked: the harness wrote its registry and started it on the mock's
# own API, and a run's results stay what they were without a preflight.
EMBEDDED = Preflight(skipped="the embedded mock (the harness wrote its registry and started it)")


def health(url: str) -> CheckLine:
    """GET /healthz; StartError when the target does not answer at all."""
    try:
        reply = httpx.get(f"{url}/healthz", timeout=ANSWER_TIMEOUT_S)
    except httpx.TransportError as error:
        raise StartError(f"target {url} does not answer: {error or type(error).__name__}") from None
    if reply.is_success:
        return CheckLine("health", PASS, f"GET /healthz answered {reply.status_code}")
    return CheckLine(
        "health", FAIL, f"GET /healthz answered HTTP {reply.status_code}; `run` waits for it "
        "to answer 2xx before any load (README, API)",
    )  # fmt: skip


def device_checks(
    scenario: Scenario,
    scenario_file: Path,
    url: str,
    api_class: str | None = None,
    allow_remote: str | None = None,
    watcher: Watcher | None = None,
) -> list[CheckLine]:
    """The child's checks; UsageError for its usage errors, StartError if it could not run."""
    command = [
        sys.executable, "-m", "locustfiles.preflight", "--scenario", str(scenario_file),
        "--host", url,
    ]  # fmt: skip
    if api_class:  # else the devices' default, locustfiles.api:SirekapApi
        command += ["--api-class", api_class]
    if allow_remote:
        command += ["--allow-remote", allow_remote]
    spec = scenario.client.timeouts
    bound = CHILD_SETUP_S + CHILD_REQUESTS * (spec.connect + max(spec.session, spec.page))
    code, out, err = _child(command, bound, watcher)
    if code is None:
        detail = f"the device checks did not finish within {bound:g} s; is the target stuck?"
        return [*_parse(out), CheckLine("devices", FAIL, detail)]
    if code == exits.USAGE:
        lines = [line.removeprefix("locustfiles.preflight: ") for line in err.splitlines()]
        raise UsageError("\n".join(lines) or "the device checks refused their options")
    found = _parse(out)
    if code not in {exits.OK, exits.BREACHED} or not found:
        tail = " | ".join(err.strip().splitlines()[-3:])
        raise StartError(f"the preflight's device checks failed (exit {code}): {tail}")
    return found


def _child(
    command: list[str], bound: float, watcher: Watcher | None
) -> tuple[int | None, str, str]:
    """Run the child to its end (None as its code when ``bound`` seconds passed first): it never
    outlives the call, and the run's reaper knows it meanwhile."""
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env, start_new_session=True,  # Ctrl-C reaches the harness, which ends it
    )  # fmt: skip
    if watcher is not None:
        watcher.watch(process.pid)
    try:
        out, err = process.communicate(timeout=bound)
        return process.returncode, out, err
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return None, out, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if watcher is not None:
            watcher.forget(process.pid)


def _parse(out: str) -> list[CheckLine]:
    lines = []
    for text in out.splitlines():
        try:
            item = json.loads(text)
            lines.append(CheckLine(str(item["check"]), str(item["status"]), str(item["detail"])))
        except (ValueError, KeyError, TypeError):
            continue  # not one of the child's lines
    return lines


def admin(url: str, token: str | None, source: str, server_faults: bool) -> CheckLine:
    """The admin API answers an authenticated GET: needed for server faults (and the export)."""
    if not token:
        if not server_faults:
            return CheckLine("admin", SKIP, "no server faults scheduled and no admin token given")
        return CheckLine(
            "admin", FAIL, "the scenario schedules server faults, which need the target's admin "
            "API: give its token with --admin-token-file FILE or $SIREKAP_ADMIN_TOKEN",
        )  # fmt: skip
    why = "for the scenario's server faults" if server_faults else "for the export"
    try:
        reply = httpx.get(
            f"{url}/admin/faults",
            headers={"Authorization": f"Bearer {token}"},
            timeout=ANSWER_TIMEOUT_S,
        )
    except httpx.TransportError as error:
        return CheckLine("admin", FAIL, f"GET /admin/faults did not answer: {error}")
    if reply.status_code in {401, 403}:
        return CheckLine(
            "admin", FAIL, f"the target refused the admin token from {source} (HTTP "
            f"{reply.status_code}); give the one it was started with",
        )  # fmt: skip
    if not reply.is_success:
        return CheckLine(
            "admin", FAIL, f"GET /admin/faults answered HTTP {reply.status_code} with the admin "
            f"token from {source}; server faults and the export need the admin API (README, API)",
        )  # fmt: skip
    return CheckLine(
        "admin", PASS, f"GET /admin/faults answered {reply.status_code} with the admin token "
        f"from {source} ({why})",
    )  # fmt: skip


def upstreams(proxies: Sequence[tuple[str, str]]) -> list[CheckLine]:
    """Every dependency proxy's upstream (``host:port``) accepts a TCP connection."""
    if not proxies:
        return [CheckLine("proxies", SKIP, "the scenario declares no [[proxies]]")]
    lines = []
    for name, upstream in proxies:
        host, _, port = upstream.rpartition(":")
        check = f"proxy {name}"
        if not host or not port.isdigit():
            detail = f"upstream {upstream!r} is not host:port; give it as e.g. 127.0.0.1:5432"
            lines.append(CheckLine(check, FAIL, detail))
            continue
        try:
            with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S):
                pass
        except OSError as error:
            why = error.strerror or type(error).__name__
            detail = (
                f"upstream {upstream} does not accept connections ({why}); start what listens "
                "there, or correct the proxy's upstream"
            )
            lines.append(CheckLine(check, FAIL, detail))
            continue
        lines.append(CheckLine(check, PASS, f"upstream {upstream} accepts connections"))
    return lines


def token_source(args: argparse.Namespace) -> str:
    """Where the admin token came from, as harness.run_options.admin_token finds it."""
    if args.admin_token:
        return "--admin-token"
    if args.admin_token_file:
        return f"--admin-token-file {args.admin_token_file}"
    return "$SIREKAP_ADMIN_TOKEN"


def preflight(
    scenario: Scenario,
    scenario_file: Path,
    url: str,
    *,
    token: str | None,
    source: str,
    server_faults: bool,
    api_class: str | None = None,
    allow_remote: str | None = None,
    watcher: Watcher | None = None,
) -> Preflight:
    """Every check, in order; StartError when the target does not answer at all."""
    url = url.rstrip("/")
    lines = [health(url)]
    lines += device_checks(scenario, scenario_file, url, api_class, allow_remote, watcher)
    lines.append(admin(url, token, source, server_faults))
    lines += upstreams([(proxy.name, proxy.upstream) for proxy in scenario.proxies])
    return Preflight(tuple(lines))


def before_run(
    args: argparse.Namespace, scenario: Scenario, scenario_file: Path, server_faults: bool,
    token: str | None, watcher: Watcher | None = None,
) -> Preflight:  # fmt: skip
    """``run --target``'s preflight (skipped with --no-preflight), each line printed."""
    if args.no_preflight:
        return Preflight(skipped="--no-preflight")
    found = preflight(
        scenario, scenario_file, str(args.target), token=token, source=token_source(args),
        server_faults=server_faults, api_class=args.api_class, allow_remote=args.allow_remote,
        watcher=watcher,
    )  # fmt: skip
    for line in found.lines:
        print(f"preflight: {line}", flush=True)
    return found
