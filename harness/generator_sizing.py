"""Generator sizing for ``validate``, ``plan`` and ``run``: the processes a scenario needs.

They read a measurement of one generator process (``sirekap-loadtest calibrate``; the file format
is rundir/generator_capacity.py): the one given with ``--generator FILE``, else
``generator.json`` in the runs folder (``runs/`` of the current directory, or ``--out``) when it
exists. Without one they say how to make it; they never fall back on a figure of their own.
"""

from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from rundir.generator_capacity import DEFAULT_PATH, FILE_NAME, GeneratorCapacity, read_capacity
from rundir.record import GENERATOR_SHORTFALL
from scenarios import ArrivalSchedule, Population, Scenario, arrival_schedule, build_population
from scenarios.workload.generator_need import (
    DEFAULT_READ_BACK,
    GeneratorNeed,
    generator_demand,
    generator_need,
)


def add_generator_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--generator",
        metavar="FILE",
        type=Path,
        help=f"what one generator process sustains, from calibrate (default: {FILE_NAME} in the "
        "runs folder, when it exists)",
    )


def load_generator(path: Path | None, runs: Path = DEFAULT_PATH.parent) -> GeneratorCapacity | None:
    """The measurement named, or ``runs``/generator.json when it exists; UsageError for a bad
    file."""
    if path is None:
        path = runs / FILE_NAME
        if not path.is_file():
            return None
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
        lines = self.need.lines()
        here, there = socket.gethostname(), self.need.capacity.machine.host
        if here != there:
            lines.append(
                f"measured on {there}, not on this host ({here}): right for workers on hosts "
                f"like {there}"
            )
        return lines

    def record(self, processes: int | None = None) -> dict[str, object]:
        """What run.json (and a plan's sweep.json) keep in ``generator``: the count needed, the
        measurement, and for a run of ``processes`` too few, the warning it started with."""
        need = self.need
        if need is None:
            return {}
        found: dict[str, object] = {
            "needed": need.processes, "needs": need.needs(), "counted_by": list(need.counted_by),
            "measurement": need.capacity.source, "measured": need.capacity.describe(),
        }  # fmt: skip
        if processes is not None:
            found["processes"] = processes
            shortfall = self.shortfall(processes)
            if shortfall is not None:
                found[GENERATOR_SHORTFALL] = shortfall
        return found

    def shortfall(self, processes: int) -> str | None:
        """The warning for a run with ``processes`` generator processes, if too few."""
        need = self.need
        if need is None or processes >= need.processes:
            return None
        sure = not (need.capacity.lower_bound or need.estimate)
        expect = "expect start slip and an inconclusive run" if sure else "start slip may follow"
        spare = max(1, (os.cpu_count() or 1) - 1)  # a core for the harness and the master
        more = (
            f"add --workers (this host has {spare} core(s) to spare) or remote workers "
            "(--expect-workers)" if need.processes <= spare
            else f"more than this host's {spare} spare core(s): add remote workers "
            "(--expect-workers)"
        )  # fmt: skip
        return (
            f"generator: this run has {processes} process(es); the scenario {need.needs()} at "
            f"its peak of {need.peak()} (by {need.capacity.source}): {expect}; {more}"
        )


NOT_SIZED = Sizing(None)


def sizing(
    scenario: Scenario,
    capacity: GeneratorCapacity | None,
    drawn: tuple[Population, ArrivalSchedule] | None = None,
    read_back: float = DEFAULT_READ_BACK,
) -> Sizing:
    """The scenario's need against ``capacity``; its population and schedule are drawn unless
    given (``drawn``), with ``read_back`` of the forms read back by the devices."""
    if capacity is None:
        return NOT_SIZED
    if drawn is None:
        population = build_population(scenario)
        drawn = population, arrival_schedule(scenario, population)
    return Sizing(generator_need(generator_demand(scenario, *drawn, read_back), capacity))
