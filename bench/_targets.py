"""A benchmark's targets: each a measured figure against its bound, printed as one table.

Every ``bench_*.py`` ends by handing its targets to :func:`report`, which prints the table and,
when ``BENCH_RESULTS`` names a file, writes them there as JSON, so ``bench/repeat.py`` can run a
benchmark several times and judge each target on the median of its repeats.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "BENCH_RESULTS"
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    op: str  # ">=", "<=" or "<"
    bound: float

    @property
    def held(self) -> bool:
        return OPERATORS[self.op](self.value, self.bound)

    @property
    def need(self) -> str:
        return f"{self.op} {self.bound:g}"


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Left-aligned first column, the rest right-aligned, the last left-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i]) for i, cell in enumerate(row[1:-1], 1)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def report(targets: Sequence[Target]) -> int:
    """Print the targets; write them to ``$BENCH_RESULTS`` when set; 0 when every one holds."""
    rows = [(t.name, f"{t.value:.3g}", t.need, "PASS" if t.held else "FAIL") for t in targets]
    print("\n" + "\n".join(table(rows, ("target", "value", "needs", "verdict"))))
    destination = os.environ.get(RESULTS_ENV)
    if destination:
        Path(destination).write_text(json.dumps([asdict(t) for t in targets]) + "\n")
    return 0 if all(t.held for t in targets) else 1
