"""``sirekap-loadtest validate SCENARIO...``: check scenario files and summarise each.

The scenario checks (every problem as one line: file, field path, what was given, what is valid),
the fault layer's check of each fault window, then a one-screen summary of each valid file on
stdout with every command its command faults will run, and when, and the generator processes it
needs by a ``calibrate`` measurement (``--generator FILE``, else runs/generator.json when it
exists); ``--registry FILE`` also writes the device registry the mock loads. Exit 0 when every
file is valid; 2 on a usage error, an invalid file or a bad ``--generator`` file (one line per
problem on stderr).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from harness.command_faults import command_plan
from harness.faultplan import FaultPlanError, fault_timeline
from harness.generator_sizing import add_generator_option, load_generator, sizing
from harness.hindcast_fit import with_fit
from rundir import exits
from rundir.exits import UsageError
from scenarios import (
    Scenario,
    ScenarioError,
    arrival_schedule,
    build_population,
    load_scenario,
    read_scenario_text,
    summarize,
    write_registry,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest validate",
        description="Check scenario files; print a one-screen summary of each, or its errors.",
    )
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="a scenario .toml file")
    parser.add_argument(
        "--registry",
        metavar="FILE",
        type=Path,
        help="also write the device registry CSV the mock loads (one scenario only)",
    )
    add_generator_option(parser)
    return parser


def _checked(path: str) -> Scenario | None:
    """The scenario at ``path`` once its fields and its fault windows are valid; else None, each
    problem printed (a file whose faults cannot be applied is not summarised as valid)."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        return None
    try:
        fault_timeline(scenario)
    except FaultPlanError as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        return None
    if scenario.hindcast is not None and scenario.hindcast.fit and not scenario.hindcast.fitted:
        try:  # the fit `run` makes first: a field it cannot fit is a scenario error now
            _, fitted = with_fit(tomllib.loads(read_scenario_text(path)), path)
        except UsageError as error:
            print(error, file=sys.stderr)
            return None
        if fitted:
            print(fitted)
    return scenario


def _write_registry(scenario: Scenario, path: Path) -> bool:
    try:
        rows = write_registry(build_population(scenario), path)
    except OSError as exc:
        print(f"{path}: cannot write: {exc.strerror}", file=sys.stderr)
        return False
    print(f"registry    {rows:,} devices written to {path}")
    return True


def main(argv: list[str]) -> int:
    """Validate each scenario named in ``argv``; see the module doc for exit codes."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return exc.code if isinstance(exc.code, int) else exits.USAGE
    if args.registry is not None and len(args.scenarios) != 1:
        print("sirekap-loadtest validate: --registry takes exactly one SCENARIO", file=sys.stderr)
        return exits.USAGE
    try:
        capacity = load_generator(args.generator)
    except UsageError as error:
        print(f"sirekap-loadtest validate: {error}", file=sys.stderr)
        return exits.USAGE
    status = exits.OK
    for index, path in enumerate(args.scenarios):
        scenario = _checked(path)
        if scenario is None:
            status = exits.USAGE
            continue
        population = build_population(scenario)
        schedule = arrival_schedule(scenario, population)
        if index:
            print()
        print(summarize(scenario, population, schedule))
        for line in command_plan(scenario, fault_timeline(scenario)):  # what `run` will run
            print(line)
        sized = sizing(scenario, capacity, (population, schedule))
        for number, line in enumerate(sized.lines(scenario)):
            print(f"{'generator' if number == 0 else '':<11} {line}")
        print("valid")
        if args.registry is not None and not _write_registry(scenario, args.registry):
            return exits.USAGE
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
