"""Benchmark: the run-to-run noise of ``compare``'s figures, against its default tolerances.

Runs one scenario N times with the same seed on this machine (default: the smoke scenario,
5 runs), then compares every ordered pair of them with the default tolerances. For each figure
it prints the median and the largest ``|delta| / allowed`` over the pairs (1.0 is the edge of
"unchanged") and how many pairs it was measured in. Target: no pair regressed (two runs of the
same seed stay inside the defaults), which is what the README's table of defaults promises.
``--plans N`` does the same for capacity plans (default: plan_check_2024 with 8 s stages and 3
sweeps, about 4 minutes a plan): the knee and the instances per deadline.

Usage: python bench/bench_compare_noise.py [--runs N | --plans N] [--scenario FILE] [--keep DIR]
       python bench/bench_compare_noise.py --existing DIR   (runs or plans already made)
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

from reports.compare import NOT_MEASURED, REGRESSED, Comparison, Side, compare
from reports.compare_plan import PlanSide, compare_plans, is_plan, measure_plan
from reports.figures import measure_run

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 600
PLAN_SCENARIO = REPO / "scenarios" / "plan_check_2024.toml"
PLAN_OPTIONS = ("--repeat", "3", "--stage", "8", "--warmup", "2", "--start-rps", "20")
PLAN_TIMEOUT_S = 1200


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


def make_plans(scenario: Path, count: int, out: Path) -> list[Path]:
    """``count`` real plans of ``scenario`` (each bounded by PLAN_TIMEOUT_S), oldest first."""
    for number in range(1, count + 1):
        print(f"plan {number}/{count} of {scenario.name} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "harness.cli", "plan", str(scenario), *PLAN_OPTIONS,
             "--out", str(out)],
            cwd=REPO, check=False, capture_output=True, timeout=PLAN_TIMEOUT_S,
        )  # fmt: skip
    return sorted(p for p in out.iterdir() if is_plan(p))


def sides(paths: list[Path]) -> list[tuple[str, Side | PlanSide]]:
    """Each run or plan as one side, named by its folder."""
    if paths and is_plan(paths[0]):
        return [(p.name, PlanSide((measure_plan(p),))) for p in paths]
    return [(p.name, Side((measure_run(p),))) for p in paths]


def _compare(
    base: Side | PlanSide, new: Side | PlanSide
) -> Comparison[Side] | Comparison[PlanSide]:
    if isinstance(base, PlanSide) and isinstance(new, PlanSide):
        return compare_plans(base, new)
    assert isinstance(base, Side) and isinstance(new, Side)
    return compare(base, new)


def noise(paths: list[Path]) -> bool:
    """Print the table; True when no ordered pair of runs (or plans) regressed."""
    measured = sides(paths)
    if len(measured) < 2:
        print(f"FAIL: {len(measured)} runs or plans were made; a pair is needed")
        return False
    ratios: dict[str, list[float]] = {}
    tolerance: dict[str, str] = {}
    regressed: list[str] = []
    for (name_a, a), (name_b, b) in itertools.permutations(measured, 2):
        comparison = _compare(a, b)
        if comparison.unfair:
            print(f"{name_a} vs {name_b}: {comparison.reason}")
            return False
        for c in comparison.figures:
            if c.verdict == NOT_MEASURED or c.delta is None:
                continue
            tolerance.setdefault(c.key, c.tolerance.split(";")[0])
            edge = abs(c.delta) / c.allowed if c.allowed else (0.0 if not c.delta else 99.0)
            ratios.setdefault(c.key, []).append(edge)
            if c.verdict == REGRESSED:
                regressed.append(f"{c.key} ({name_a} -> {name_b})")
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
    print(f"PASS: {len(measured)} of one seed, every ordered pair inside the defaults")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the scenario (5)")
    parser.add_argument("--plans", type=int, help="plans of the scenario instead of runs")
    parser.add_argument("--scenario", type=Path, help="smoke.toml, or plan_check_2024 for plans")
    parser.add_argument("--keep", type=Path, help="keep the runs here (else a temporary folder)")
    parser.add_argument("--existing", type=Path, help="compare the runs already in this folder")
    args = parser.parse_args()
    if args.existing:
        found = sorted(
            p for p in args.existing.iterdir() if (p / "run.json").exists() or is_plan(p)
        )
        return 0 if noise(found) else 1
    with tempfile.TemporaryDirectory(prefix="compare-noise-") as temporary:
        out = args.keep or Path(temporary)
        out.mkdir(parents=True, exist_ok=True)
        if args.plans:
            made = make_plans(args.scenario or PLAN_SCENARIO, max(2, args.plans), out)
        else:
            made = make_runs(
                args.scenario or REPO / "scenarios" / "smoke.toml", max(2, args.runs), out
            )
        return 0 if noise(made) else 1


if __name__ == "__main__":
    raise SystemExit(main())
