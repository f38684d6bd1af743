"""``sirekap-loadtest validate``: the scenario checks, plus the fault layer's check of each fault.

Exit 0 when every file is valid; 2 otherwise, one line per problem on stderr.
"""

from __future__ import annotations

import sys

from harness.faultplan import FaultPlanError, fault_timeline
from scenarios import validate as scenario_validate
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario

EXIT_INVALID = 2


def main(argv: list[str]) -> int:
    """Fault windows first: a file whose faults cannot be applied is not summarised as valid."""
    kept, status = [], 0
    for arg in argv:
        if arg.endswith(".toml"):
            try:
                fault_timeline(load_scenario(arg))
            except ScenarioError:
                pass  # the scenario checks below report it, one line per problem
            except FaultPlanError as error:
                for line in error.lines:
                    print(line, file=sys.stderr)
                status = EXIT_INVALID
                continue
        kept.append(arg)
    if not any(arg.endswith(".toml") for arg in kept) and status:
        return status
    return max(status, scenario_validate.main(kept))
