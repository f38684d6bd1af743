"""``python -m locustfiles.preflight``: does the target offer what a scenario's devices need?

    python -m locustfiles.preflight --scenario FILE --host URL [--api-class MODULE:CLASS]
        [--allow-remote HOST]

Run by ``sirekap-loadtest check``, and by ``run --target`` before any load, as a child process:
the harness does not import the load generator. The checks (``locustfiles.preflight_checks``)
speak through the devices' own API class, so an adapter is checked too, over the standard
library's HTTP client (no Locust, no gevent here). One JSON object per check on stdout,
``{"check": NAME, "status": "pass"|"fail"|"skip", "detail": TEXT}``.

Exit codes: 0 every check passed, 1 one failed, 2 a bad option or scenario.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from locustfiles.api import Timeouts
from locustfiles.jobs import build_plan
from locustfiles.options import DEFAULT_API, api_class_from
from locustfiles.plain_transport import PlainTransport
from locustfiles.preflight_checks import FAIL, Preflight, choose_job
from rundir import exits
from scenarios import ScenarioError, UnsafeTarget, check_target

USER_AGENT = "sirekap-loadtest-preflight"  # the preflight's requests, told apart in a server's log


def _fail(message: str) -> int:
    print(f"locustfiles.preflight: {message}", file=sys.stderr)
    return exits.USAGE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m locustfiles.preflight")
    parser.add_argument("--scenario", required=True, metavar="FILE", help="scenario TOML file")
    parser.add_argument("--host", required=True, metavar="URL", help="the target")
    parser.add_argument("--api-class", default=DEFAULT_API, metavar="MODULE:CLASS")
    parser.add_argument("--allow-remote", metavar="HOST", help="allow this non-loopback host")
    args = parser.parse_args(argv)
    try:
        check_target(args.host, args.allow_remote, flag="--host")
        api_class = api_class_from(args.api_class)
    except UnsafeTarget as error:
        return _fail(str(error))
    except ValueError as error:
        return _fail(f"--api-class: {error}")
    try:
        plan = build_plan(Path(args.scenario).read_text(encoding="utf-8"), args.scenario)
        job = choose_job(plan)
    except (OSError, UnicodeDecodeError) as error:
        return _fail(f"--scenario: cannot read {args.scenario}: {error}")
    except (ScenarioError, ValueError) as error:
        return _fail(str(error))
    spec = plan.scenario.client.timeouts
    transport = PlainTransport(args.host, USER_AGENT)
    api = api_class(transport, Timeouts(spec.session, spec.page, spec.result, spec.read))
    lines = Preflight(plan, job, api, transport, args.api_class == DEFAULT_API).run()
    for line in lines:
        print(line.as_json(), flush=True)
    failed = any(line.status == FAIL for line in lines)
    return exits.BREACHED if failed else exits.OK  # 1: a check failed


if __name__ == "__main__":
    sys.exit(main())
