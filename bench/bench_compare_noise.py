"""Benchmark: the run-to-run noise of ``compare``'s figures, against its default tolerances.

Runs one scenario N times with the same seed on this machine (default: the smoke scenario,
5 runs), then compares every ordered pair of them with the default tolerances. For each figure
it prints the median and the largest ``|delta| / allowed`` over the pairs (1.0 is the edge of
"unchanged") and how many pairs it was measured in. Target: no pair regressed (two runs of the
same seed stay inside the defaults), which is what the README's table of defaults promises.

Usage: python bench/bench_compare_noise.py [--runs N] [--scenario FILE] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.compare import NOT_MEASURED, REGRESSED, Side, compare
from reports.figures import measure_run

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 600


def make_runs(scenario: Path, count: int, out: Path) -> list[Path]:
    """``count`` real runs of ``scenario`` (each bounded by RUN_TIMEOUT_S), oldest first."""
    for number in range(1, count + 1):
        print(f"run {number}/{count} of {scenario.name} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(scenario), "--plain",
             "--metrics-port", "off", "--out", str(out)],
            cwd=REPO, check=False, capture_output=True, timeout=RUN_TIMEOUT_S,
        )  # fmt: skip
    return sorted(p for p in out.iterdir() if (p / "run.json").exists())


def noise(runs: list[Path]) -> bool:
    """Print the table; True when no ordered pair of runs regressed."""
    measured = [measure_run(path) for path in runs]
    ratios: dict[str, list[float]] = {}
    tolerance: dict[str, str] = {}
    regressed: list[str] = []
    for a, b in itertools.permutations(measured, 2):
        comparison = compare(Side((a,)), Side((b,)))
        if comparison.unfair:
            print(f"{a.path.name} vs {b.path.name}: {comparison.reason}")
            return False
        for c in comparison.figures:
            if c.verdict == NOT_MEASURED or c.delta is None:
                continue
            tolerance.setdefault(c.key, c.tolerance.split(";")[0])
            edge = abs(c.delta) / c.allowed if c.allowed else (0.0 if not c.delta else 99.0)
            ratios.setdefault(c.key, []).append(edge)
            if c.verdict == REGRESSED:
                regressed.append(f"{c.key} ({a.path.name} -> {b.path.name})")
    print(f"\n{'figure':<48} {'pairs':>5} {'median':>7} {'max':>7}  tolerance")
    for key, found in ratios.items():
        print(
            f"{key:<48} {len(found):>5} {statistics.median(found):>7.2f} {max(found):>7.2f}"
            f"  {tolerance[key]}"
        )
    worst = max((max(v), k) for k, v in ratios.items())
    print(f"\nlargest |delta|/allowed: {worst[0]:.2f} ({worst[1]}); 1.0 is the tolerance's edge")
    if regressed:
        print("FAIL: same-seed pairs regressed: " + ", ".join(regressed))
        return False
    print(f"PASS: {len(measured)} runs of one seed, every ordered pair inside the defaults")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the scenario (5)")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "smoke.toml")
    parser.add_argument("--keep", type=Path, help="keep the runs here (else a temporary folder)")
    parser.add_argument("--existing", type=Path, help="compare the runs already in this folder")
    args = parser.parse_args()
    if args.existing:
        found = sorted(p for p in args.existing.iterdir() if (p / "run.json").exists())
        return 0 if noise(found) else 1
    with tempfile.TemporaryDirectory(prefix="compare-noise-") as temporary:
        out = args.keep or Path(temporary)
        out.mkdir(parents=True, exist_ok=True)
        return 0 if noise(make_runs(args.scenario, max(2, args.runs), out)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
