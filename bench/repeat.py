"""Run benchmarks several times and judge each target on the median of its repeats.

One noisy round must not flip a verdict: each script runs ``--times`` times in a row (its own
output shown as it goes), writing its targets to a file (bench/_targets.py), and the table at
the end gives every target's value in each repeat, their median and spread (max - min, as a
share of the median), and the verdict of the median. A target whose repeats disagree is marked
"flips". A script that crashes or writes no targets fails. Exit 0 when every median holds.

Usage: python bench/repeat.py [--times N] SCRIPT [SCRIPT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _profile import ENV as PROFILE_ENV
from _targets import RESULTS_ENV, Target, table

TIMEOUT_S = 3600  # one run of one script


def run_once(script: Path, results: Path, profile: bool) -> list[Target] | None:
    env = {**os.environ, RESULTS_ENV: str(results)}
    if not profile:
        env[PROFILE_ENV] = "off"
    try:
        subprocess.run([sys.executable, str(script)], env=env, check=False, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{script}: no end within {TIMEOUT_S} s", flush=True)
        return None
    if not results.exists():
        return None
    return [Target(**item) for item in json.loads(results.read_text())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", type=Path, nargs="+", metavar="SCRIPT")
    parser.add_argument("--times", type=int, default=3, help="runs of each script (3)")
    args = parser.parse_args()
    if not 1 <= args.times <= 10:
        parser.error(f"--times must be 1 to 10; got {args.times}")
    found: dict[str, list[Target]] = {}
    broken: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-repeat-") as folder:
        for script in args.scripts:
            for number in range(1, args.times + 1):
                print(f"\n== {script} ({number}/{args.times})", flush=True)
                # the last run of a script shows the profile of what failed in it
                out = Path(folder) / f"{script.stem}-{number}.json"
                targets = run_once(script, out, profile=number == args.times)
                if targets is None:
                    broken.append(f"{script} (run {number}: no targets written)")
                    continue
                for target in targets:
                    found.setdefault(target.name, []).append(target)
    rows, failed = [], list(broken)
    for name, repeats in found.items():
        values = [t.value for t in repeats]
        middle = statistics.median(values)
        judged = Target(name, middle, repeats[0].op, repeats[0].bound)
        spread = (max(values) - min(values)) / abs(middle) if middle else 0.0
        flips = len({t.held for t in repeats}) > 1
        if not judged.held:
            failed.append(name)
        rows.append((
            name, " ".join(f"{v:.3g}" for v in values), f"{middle:.3g}", f"{spread:.0%}",
            judged.need, ("PASS" if judged.held else "FAIL") + (" (flips)" if flips else ""),
        ))  # fmt: skip
    header = ("target", f"each of {args.times}", "median", "spread", "needs", "verdict")
    print("\n" + "\n".join(table(rows, header)))
    if failed:
        print("targets missed: " + "; ".join(failed))
        return 1
    print(f"every target holds on the median of {args.times} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
