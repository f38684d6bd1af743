"""``sirekap-loadtest cluster SCENARIO --instances N --out DIR``: a staging-like service.

Starts the deployment (harness.deployment: N mock instances behind HAProxy on one database) that
serves the scenario's TPS, each instance with the scenario's ``[target.mock]`` model, prints the
URL to load, the admin token's file and the registry, and runs until Ctrl-C or SIGTERM, which stop
every part. An instance that dies (a fault of yours: ``kill -9``) is restarted, as a process
supervisor would, and HAProxy takes it out and back in by its health checks; the balancer dying
ends the cluster (a killed command leaves nothing either: its reaper stops what it started). Load it
with ``sirekap-loadtest run SCENARIO --target URL``; the token file stays in DIR, readable by its
owner only.

Exit codes: 0 stopped by a signal; 2 a bad option or scenario; 3 a part would not start or died.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from pathlib import Path

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import ToxiproxyStartError, start_toxiproxy
from harness.children import AdoptedServer, Children
from harness.database import Database
from harness.deployment import Deployment, DeploymentFiles
from harness.reaper import Reaper
from rundir import exits, names
from rundir.exits import StartError, UsageError
from scenarios import (
    Scenario,
    build_population,
    load_scenario,
    write_capacity,
    write_operators,
    write_registry,
)

TOKEN_FILE = "admin-token"
MAX_INSTANCES = 16
RESTART_CHECK_S = 0.5
DB_PROXY = "sirekap-cluster-db"  # the instances' link to their database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest cluster",
        description="Run N mock instances behind HAProxy on one database until Ctrl-C.",
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="whose TPS it serves")
    parser.add_argument("--instances", type=int, default=3, help="mock instances (3)")
    parser.add_argument("--out", type=Path, required=True, help="folder for its files and logs")
    parser.add_argument(
        "--storage",
        choices=("postgres", "sqlite"),
        default="postgres",
        help="a PostgreSQL server behind a Toxiproxy proxy 'db' (default), or one SQLite file",
    )
    return parser


def write_files(scenario: Scenario, out: Path) -> DeploymentFiles:
    """The registry, operators and one instance's capacity model, from the scenario."""
    out.mkdir(parents=True, exist_ok=True)
    population = build_population(scenario)
    files = DeploymentFiles(out / names.REGISTRY, out / names.CAPACITY, out / names.OPERATORS)
    write_registry(population, files.registry)
    assert files.operators is not None
    write_operators(population, files.operators, scenario.plenary.operators_per_kecamatan)
    write_capacity(scenario.target, files.capacity)
    return files


def write_token(out: Path, token: str) -> Path:
    path = out / TOKEN_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return path


def _checked(args: argparse.Namespace) -> Scenario:
    if not 1 <= args.instances <= MAX_INSTANCES:
        raise UsageError(f"--instances must be from 1 to {MAX_INSTANCES}; got {args.instances}")
    scenario = load_scenario(args.scenario)  # ScenarioError: exit 2
    if scenario.target.mock is None:
        raise UsageError(f"{args.scenario}: the scenario has no [target.mock] model to deploy")
    return scenario


def _watch(deployment: Deployment) -> None:
    """Until a signal: dead instances are restarted; the balancer dying is exit 3."""
    while True:
        if not deployment.balancer.child.alive:
            raise StartError(f"haproxy died: {deployment.balancer.child.tail()}")
        for instance in deployment.instances:
            if instance.child.process is not None and not instance.alive:
                code = instance.child.returncode
                print(f"cluster: {instance.name} exited with code {code}; restarting", flush=True)
                instance.restart()
        time.sleep(RESTART_CHECK_S)


def _database(args: argparse.Namespace, children: Children, reaper: Reaper) -> tuple[str, str]:
    """The instances' database (URL or file) and a line saying how to reach it and its link."""
    if args.storage == "sqlite":
        path = args.out / names.MOCK_DB
        return str(path), f"SQLite {path}"
    try:  # TOXIPROXY_URL, toxiproxy-server, else the built-in one
        server = start_toxiproxy(on_spawn=reaper.watch)
    except ToxiproxyStartError as error:
        raise StartError(f"fault layer: {error}") from None
    if server.process is not None:
        children.add(AdoptedServer("toxiproxy", server))
    reaper.proxy(server.url, DB_PROXY)
    database = Database(children, args.out / "postgres", ToxiproxyClient(server.url), DB_PROXY)
    url = database.start()
    return url, (
        f"PostgreSQL through the Toxiproxy proxy '{DB_PROXY}' (Toxiproxy API {server.url}): {url}"
    )


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    scenario = _checked(args)
    files = write_files(scenario, args.out)
    reaper = Reaper(args.out / names.LOGS / "reaper.log")
    children = Children(reaper)
    token = secrets.token_urlsafe(18)
    try:
        db, link = _database(args, children, reaper)
        deployment = Deployment(
            children, args.out, files, instances=args.instances, db=db, admin_token=token
        )
        deployment.start()
        token_file = write_token(args.out, token)
        print(f"cluster: {args.instances} instances behind HAProxy at {deployment.url}")
        print(f"  admin token: {token_file}   registry: {files.registry}")
        print(f"  instances: {', '.join(f'{n} {u}' for n, u in deployment.instance_urls)}")
        print(f"  database: {link}")
        print("  stop with Ctrl-C", flush=True)
        _watch(deployment)
    except KeyboardInterrupt:
        return exits.OK
    finally:
        children.stop_all()
        reaper.done()
    return exits.OK
