"""``sirekap-loadtest check SCENARIO --target URL``: the preflight on its own (harness.preflight).

Before any load, with a handful of requests: the target answers its health check, a device of
the scenario's registry logs in, a page PUT is idempotent by its hash, a result PUT honours its
Idempotency-Key and the ballot rules, the read is in KPU's shape, the admin API takes the token
(needed for server faults), and every dependency proxy's upstream accepts connections. One line
per check. Exit codes: 0 every check passed, 1 a check failed, 2 a usage or scenario error, 3 the
target does not answer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.faultplan import fault_timeline
from harness.preflight import preflight, token_source
from harness.run_options import ADMIN_TOKEN_VARIABLE, admin_token
from rundir import exits
from scenarios import check_target, load_scenario


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest check",
        description="Check, before any load, that a target offers what a scenario needs.",
    )
    add = parser.add_argument
    add("scenario", type=Path, metavar="SCENARIO", help="a scenario .toml file")
    add("--target", required=True, metavar="URL", help="the service to check")
    add("--allow-remote", metavar="HOST", help="allow a non-loopback --target")
    add(
        "--admin-token", metavar="T",
        help=f"the target's admin token; visible in ps: prefer --admin-token-file or "
        f"${ADMIN_TOKEN_VARIABLE}",
    )  # fmt: skip
    add("--admin-token-file", type=Path, metavar="FILE", help="read the admin token from FILE")
    add(
        "--api-class", metavar="MODULE:CLASS",
        help="the devices' API client, for a service with another API "
        "(default locustfiles.api:SirekapApi)",
    )  # fmt: skip
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    scenario = load_scenario(args.scenario)  # ScenarioError: exit 2 at the CLI
    server_faults = "server" in fault_timeline(scenario).layers
    check_target(args.target, args.allow_remote)  # UnsafeTarget: exit 2
    token = admin_token(args)
    found = preflight(
        scenario, args.scenario, args.target, token=token, source=token_source(args),
        server_faults=server_faults, api_class=args.api_class, allow_remote=args.allow_remote,
    )  # fmt: skip
    for line in found.lines:
        print(line, flush=True)
    counts = {
        status: sum(line.status == status for line in found.lines)
        for status in ("pass", "fail", "skip")
    }
    print(
        f"check: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped "
        f"against {args.target.rstrip('/')}"
    )
    return exits.BREACHED if found.failed else exits.OK  # 1: a check failed
