"""Benchmark: the Locust load generator (locustfiles/sirekap.py), efficiency and scale (issue 4).

Efficiency: the device user's requests/s in one generator process against the raw-mode mock,
against a minimal FastHttpUser locustfile (bench/_locust_minimal.py) sending the same requests
(log in, three 20 kB pages, the result, a read-back) to the same mock, 64 users each, in
alternating rounds on fresh databases; targets: the median rate ratio >= 85%, and the ratio of
requests per CPU-second (the generator's own cost, what sizes a cluster of generators; on this
2-core machine the mock often limits the rate) >= 85%.

Scale: one run of 10,000 TPS on this machine, at least 2,000 of them uploading at the same moment
(a form is in progress from its start to its receipt), keeping the arrival schedule: start slip
p99 < 1 s, every form acknowledged, the run not inconclusive. Memory: the run's peak RSS over
its forms in progress at the peak is at most 1.2x the minimal FastHttpUser's peak RSS per user
with as many users (the kernel's high-water mark of each Locust process).

Usage: python bench/bench_generator.py [--rounds N] [--seconds S] [--only efficiency|scale]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _profile
from _locust_bench import (
    DEVICE_LOCUSTFILE,
    LOCUST,
    MINIMAL_LOCUSTFILE,
    ROOT,
    Measured,
    Mock,
    run_measured,
    scenario_text,
    write_work,
)
from _targets import Target, report

from scenarios import build_population, loads_scenario, write_registry

USERS = 64
TARGET_RATIO = 0.85  # requests/s of the device user against a minimal FastHttpUser
TARGET_CPU_RATIO = 0.85  # requests per CPU-second: what sizes a cluster of generators
SCALE_TPS = 10_000
SCALE_CONCURRENT = 2_000
MAX_SLIP = 1.0
MAX_MEMORY_RATIO = 1.2  # the device's memory per form in progress / the minimal's per user
MEMORY_SECONDS = 20


def prepare(workdir: Path, text: str) -> tuple[Path, Path, object]:
    """Scenario file, the mock's registry, and the population."""
    scenario = loads_scenario(text)
    population = build_population(scenario)
    path = workdir / f"{scenario.name}.toml"
    path.write_text(text)
    registry = workdir / f"{scenario.name}-registry.csv"
    write_registry(population, registry)
    return path, registry, population


def efficiency(workdir: Path, rounds: int, seconds: int) -> list[Target]:
    speedup = 60
    text = scenario_text(
        "bench_efficiency", desa=10, tps_per_desa=999, duration=f"{seconds * speedup}s",
        speedup=speedup, arrival='[["17:00", 0.0], ["17:01", 1.0]]',
        page_span='{ median = "1ms", p95 = "1ms" }', think_time='"0s"',
    )  # fmt: skip
    scenario, registry, population = prepare(workdir, text)
    work = workdir / "minimal-work.json"
    write_work(population, work, photo_size=20_000)
    results: dict[str, list[Measured]] = {"device": [], "minimal": []}
    print(f"== efficiency: {USERS} users, one generator process, {seconds} s per run, raw mock")
    for index in range(rounds):
        for kind in ("device", "minimal") if index % 2 == 0 else ("minimal", "device"):
            with Mock(registry, workdir) as mock:
                if kind == "device":
                    args = device_args(scenario, mock.url, workdir / f"run-{index}")
                    measured, _ = run_measured(args, mock.url)
                else:
                    args = ["-f", str(MINIMAL_LOCUSTFILE), "--host", mock.url, "-u", str(USERS),
                            "-r", str(USERS), "-t", f"{seconds}s"]  # fmt: skip
                    measured, _ = run_measured(args, mock.url, env={"BENCH_WORK": str(work)})
            results[kind].append(measured)
            print(
                f"round {index + 1} {kind:<7}: {measured.rate:7.0f} req/s, generator CPU "
                f"{measured.cpu:4.0%}, {measured.per_cpu_second:6.0f} req per CPU-second"
            )
    device = statistics.median(m.rate for m in results["device"])
    minimal = statistics.median(m.rate for m in results["minimal"])
    device_cpu = statistics.median(m.per_cpu_second for m in results["device"])
    minimal_cpu = statistics.median(m.per_cpu_second for m in results["minimal"])
    ratio = device / minimal
    print(f"median rate: device {device:.0f} req/s, minimal {minimal:.0f} req/s")
    print(
        f"median requests per CPU-second: device {device_cpu:.0f}, minimal {minimal_cpu:.0f} "
        f"(ratio {device_cpu / minimal_cpu:.0%})"
    )
    targets = [
        Target("device / minimal requests/s", ratio, ">=", TARGET_RATIO),
        Target("device / minimal requests per CPU-second", device_cpu / minimal_cpu, ">=",
               TARGET_CPU_RATIO),
    ]  # fmt: skip
    if _profile.wanted() and not all(t.held for t in targets):
        profile_device(scenario, registry, workdir)
    return targets


def device_args(scenario: Path, url: str, run_dir: Path) -> list[str]:
    return ["-f", str(DEVICE_LOCUSTFILE), "--scenario", str(scenario), "--host", url,
            "--run-dir", str(run_dir), "--max-users", str(USERS), "--drain", "0"]  # fmt: skip


def profile_device(scenario: Path, registry: Path, workdir: Path) -> None:
    """One more device run under cProfile (gevent's greenlets all run on its one thread): the
    top of where the generator's CPU goes."""
    stats = workdir / "device.prof"
    with Mock(registry, workdir) as mock:
        args = device_args(scenario, mock.url, workdir / "run-profiled")
        command = _profile.under_profiler([str(LOCUST), "--headless", "--only-summary", *args],
                                          stats)  # fmt: skip
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=600, check=False)
    print(_profile.top(stats, "the device user, one generator process"))


def peak_in_progress(ledger: list[dict[str, object]]) -> int:
    """Most forms between their start and their receipt at one moment (exact, from the ledger)."""
    events: list[tuple[float, int]] = []
    for line in ledger:
        start, end = line["started_at"], line["acked_at"]
        if isinstance(start, float) and isinstance(end, float):
            events += [(start, 1), (end, -1)]
    events.sort()
    current = best = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def scale(workdir: Path) -> list[Target]:
    # 10,000 TPS counted over 40 simulated minutes (40 s real), each form's pages spread over
    # ~15 simulated minutes (15 s real): about 3,000 forms in progress at the peak.
    text = scenario_text(
        "bench_scale", desa=20, tps_per_desa=SCALE_TPS // 20, duration="75m", speedup=60,
        arrival='[["17:00", 0.0], ["17:40", 1.0]]', page_span='{ median = "15m", p95 = "20m" }',
        think_time='"30s"',
    )  # fmt: skip
    scenario, registry, population = prepare(workdir, text)
    run_dir = workdir / "run-scale"
    print(f"== scale: {SCALE_TPS:,} TPS in one generator process, raw mock")
    with Mock(registry, workdir) as mock:
        args = ["-f", str(DEVICE_LOCUSTFILE), "--scenario", str(scenario), "--host", mock.url,
                "--run-dir", str(run_dir)]  # fmt: skip
        measured, _ = run_measured(args, mock.url, timeout=300)
    summary = json.loads((run_dir / "load_summary.json").read_text())
    ledger = [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text().splitlines()]
    forms, slip = summary["forms"], summary["start_slip_s"]
    concurrent = peak_in_progress(ledger)
    print(
        f"TPS {forms['tps']:,}, forms acked {forms['final']['acked']:,} of {forms['jobs']:,}, "
        f"peak in progress {concurrent:,} (sampled {summary['generator']['in_progress_peak']:,}), "
        f"users {summary['generator']['users_peak']:,}"
    )
    print(
        f"start slip p50 {slip['p50']:.3f} s, p99 {slip['p99']:.3f} s, max {slip['max']:.3f} s; "
        f"{measured.rate:.0f} req/s (steady part), generator CPU {measured.cpu:.0%}; "
        f"CPU warnings {summary['generator']['cpu_warnings'] or 'none'}"
    )
    missing = forms["jobs"] - forms["final"]["acked"]
    per_form = measured.peak_rss / max(concurrent, 1)
    per_user = minimal_memory(workdir, population, registry, concurrent)
    print(
        f"memory: device peak RSS {measured.peak_rss / 2**20:.0f} MiB over {concurrent:,} forms "
        f"in progress = {per_form / 1024:.0f} KiB each; minimal FastHttpUser "
        f"{per_user / 1024:.0f} KiB per user at the same count"
    )
    return [
        Target("scale: memory per form in progress / minimal's per user", per_form / per_user,
               "<=", MAX_MEMORY_RATIO),
        Target("scale: TPS", forms["tps"], ">=", SCALE_TPS),
        Target("scale: forms in progress at once", concurrent, ">=", SCALE_CONCURRENT),
        Target("scale: start slip p99 (s)", slip["p99"] if slip["p99"] is not None else 1e9, "<",
               MAX_SLIP),
        Target("scale: forms not acknowledged", missing, "<=", 0),
        Target("scale: inconclusive (1 = yes)", float(bool(summary["inconclusive"])), "<=", 0),
    ]  # fmt: skip


def minimal_memory(workdir: Path, population: object, registry: Path, users: int) -> float:
    """Bytes of peak RSS per user of the minimal FastHttpUser locustfile running ``users``
    users against the same raw mock, photos of the scale run's size."""
    work = workdir / "memory-work.json"
    write_work(population, work, photo_size=20_000)
    print(f"== memory: the minimal FastHttpUser with {users:,} users, raw mock")
    with Mock(registry, workdir) as mock:
        args = ["-f", str(MINIMAL_LOCUSTFILE), "--host", mock.url, "-u", str(users),
                "-r", str(users), "-t", f"{MEMORY_SECONDS}s"]  # fmt: skip
        measured, _ = run_measured(args, mock.url, env={"BENCH_WORK": str(work)}, timeout=300)
    return measured.peak_rss / max(users, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating efficiency rounds")
    parser.add_argument("--seconds", type=int, default=10, help="real seconds per efficiency run")
    parser.add_argument("--only", choices=("efficiency", "scale"), help="run one part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
        workdir = Path(tmp)
        targets = []
        if args.only in (None, "efficiency"):
            targets += efficiency(workdir, args.rounds, args.seconds)
        if args.only in (None, "scale"):
            targets += scale(workdir)
    return report(targets)


if __name__ == "__main__":
    sys.exit(main())
