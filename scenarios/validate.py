"""``sirekap-loadtest validate SCENARIO...``: check scenario files and summarise each.

Exit 0 when every file is valid (a one-screen summary each on stdout); 2 on a usage error or an
invalid file (one line per problem on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scenarios.arrival import arrival_schedule
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario
from scenarios.population import build_population
from scenarios.registry import write_registry
from scenarios.summary import summarize

EXIT_OK = 0
EXIT_INVALID = 2


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
    return parser


def main(argv: list[str]) -> int:
    """Validate each scenario named in ``argv``; see the module doc for exit codes."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    if args.registry is not None and len(args.scenarios) != 1:
        print("sirekap-loadtest validate: --registry takes exactly one SCENARIO", file=sys.stderr)
        return EXIT_INVALID
    status = EXIT_OK
    for index, path in enumerate(args.scenarios):
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            for issue in error.issues:
                print(issue, file=sys.stderr)
            status = EXIT_INVALID
            continue
        population = build_population(scenario)
        if index:
            print()
        print(summarize(scenario, population, arrival_schedule(scenario, population)))
        print("valid")
        if args.registry is not None:
            try:
                rows = write_registry(population, args.registry)
            except OSError as exc:
                print(f"{args.registry}: cannot write: {exc.strerror}", file=sys.stderr)
                return EXIT_INVALID
            print(f"registry    {rows:,} devices written to {args.registry}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
