"""Generator sizing for ``validate``, ``plan`` and ``run``: the processes a scenario needs.

They read a measurement of one generator process (``sirekap-loadtest calibrate``; the file format
is rundir/generator_capacity.py): the one given with ``--generator FILE``, else
``runs/generator.json`` when it exists. Without one they say how to make it; they never fall
back on a figure of their own.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from rundir.generator_capacity import DEFAULT_PATH, GeneratorCapacity, read_capacity
from rundir.record import GENERATOR_SHORTFALL
from scenarios import Scenario, arrival_schedule, build_population
from scenarios.workload.generator_need import GeneratorNeed, generator_demand, generator_need


def add_generator_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--generator",
        metavar="FILE",
        type=Path,
        help=f"what one generator process sustains, from calibrate (default {DEFAULT_PATH}, "
        "when it exists)",
    )


def load_generator(path: Path | None) -> GeneratorCapacity | None:
    """The measurement named, or the default one when it exists; UsageError for a bad file."""
    if path is None:
        if not DEFAULT_PATH.is_file():
            return None
        path = DEFAULT_PATH
    return read_capacity(path)


@dataclass(frozen=True)
class Sizing:
    need: GeneratorNeed | None  # None: nothing measured

    def lines(self, scenario: Scenario) -> list[str]:
        if self.need is None:
            return [
                f"not measured: `sirekap-loadtest calibrate {scenario.source}` measures what one "
                f"generator process sustains on this host (then read from {DEFAULT_PATH})"
            ]
        return self.need.lines()

    def record(self, processes: int) -> dict[str, object]:
        """What run.json keeps in ``generator``: the count needed, and the warning if short."""
        need = self.need
        if need is None:
            return {}
        found: dict[str, object] = {
            "needed": need.processes, "needed_at_most": need.capacity.lower_bound,
            "measurement": need.capacity.source, "processes": processes,
        }  # fmt: skip
        shortfall = self.shortfall(processes)
        if shortfall is not None:
            found[GENERATOR_SHORTFALL] = shortfall
        return found

    def shortfall(self, processes: int) -> str | None:
        """The warning for a run with ``processes`` generator processes, if too few."""
        need = self.need
        if need is None or processes >= need.processes:
            return None
        return (
            f"generator: this run has {processes} process(es); the scenario {need.needs()} at "
            f"its peak of {need.peak()} (by {need.capacity.source}): expect start slip and an "
            "inconclusive run; add --workers or remote workers (--expect-workers)"
        )


NOT_SIZED = Sizing(None)


def sizing(scenario: Scenario, capacity: GeneratorCapacity | None) -> Sizing:
    """The scenario's need against ``capacity`` (its whole population and schedule are drawn)."""
    if capacity is None:
        return NOT_SIZED
    population = build_population(scenario)
    demand = generator_demand(scenario, population, arrival_schedule(scenario, population))
    return Sizing(generator_need(demand, capacity))
