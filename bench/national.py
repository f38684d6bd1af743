"""Benchmark: scenarios/national_sample_2024.toml to its end on this machine (about 11 minutes).

Load factor 1: a sample of the country's TPS with 1.2 MB photos replaying election night in real
time's proportions. Targets: the run reaches its end and is not inconclusive (the generator kept
the arrival schedule: no CPU warning that made it so, start slip within its bound), and the
record keeps the generator's and the target's CPU shares (printed). Run once: ``make
bench-national`` (not part of ``make bench``: too long to repeat).

Usage: python bench/national.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _targets import Target, report

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "national_sample_2024.toml"
TIMEOUT_S = 30 * 60
INCONCLUSIVE, INFRASTRUCTURE = 4, 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the run here (else a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-national-") as temporary:
        out = args.keep or Path(temporary)
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(SCENARIO), "--plain",
             "--metrics-port", "off", "--out", str(out)],
            cwd=ROOT, check=False, timeout=TIMEOUT_S, capture_output=True, text=True,
        )  # fmt: skip
        print("\n".join(done.stdout.splitlines()[-25:]))
        runs = sorted(p for p in out.iterdir() if (p / "run.json").exists())
        if not runs:
            print(done.stderr[-2000:])
            return 1
        record = json.loads((runs[-1] / "run.json").read_text())
        summary = json.loads((runs[-1] / "load_summary.json").read_text())
    generator = summary.get("generator") or {}
    slip = (summary.get("start_slip_s") or {}).get("p99")
    cpu = (record.get("parts") or {}).get("cpu") or {}
    parts = cpu.get("parts") or {}
    print(f"\nexit code {done.returncode}; CPU warnings {generator.get('cpu_warnings') or 'none'}")
    for name, part in sorted(parts.items()):
        print(
            f"  {name:<10} {part['of_a_core']:.2f} of a core on average "
            f"({part['of_the_host']:.0%} of the host), {part['peak_of_a_core']:.2f} at its peak"
        )
    return report([
        Target("ran to its end (1 = yes)", float(record.get("status") == "completed"), ">=", 1),
        Target("inconclusive or failed (1 = yes)",
               float(done.returncode in {INCONCLUSIVE, INFRASTRUCTURE}), "<=", 0),
        Target("start slip p99 (s)", slip if slip is not None else 1e9, "<", 1.0),
        Target("CPU shares recorded (parts)", float(len(parts)), ">=", 2),
    ])  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
