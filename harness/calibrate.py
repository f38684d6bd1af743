"""``sirekap-loadtest calibrate SCENARIO``: measure what one load-generator process sustains here.

Runs the scenario's request mix (its forms, pages and photo size, or ``--photo-size``) in stages
of rising offered forms per second, in whole TPS, each a fresh sweep stage (harness/stage.py) on
one Locust process against the embedded mock in raw mode, so the generator and not a capacity
model is what is measured. Each stage is judged over its steady window (after ``--warmup``): the
process kept up when every form due there started within 1 s of its moment and its CPU (sampled
each second) stayed below ``CPU_CEILING`` of one core; the target kept up when it passed the
sweep's stage checks (goodput at least 95% of the offered requests, at most 1% failed). The ramp
multiplies the rate by ``--factor`` until a stage is not kept up with, then, when it was the
process that fell behind, bisects ``--refine`` more stages between the last stage kept up with
and the first that was not.

Writes ``--out`` (``generator.json`` in ``--runs`` by default; rundir/generator_capacity.py),
which ``validate``, ``plan`` and ``run`` read to say how many generator processes a scenario
needs, and keeps the stages' run folders under ``<runs>/<UTC time>-calibrate-<scenario>/``.
Measure on the host (and with the Python) the workers will run on: a measurement is of one host.

Exit codes: 0 measured and written (a lower bound when the ramp ended before the process, which
it says); 2 usage or scenario error; 3 a part would not start; 4 no stage kept up with, or
interrupted (nothing written).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import math
import os
import platform
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.generator_sizing import sizing
from harness.reaper import Reaper
from harness.stage import MAX_STAGE_S, StagePlan, StageRunner
from reports.knee import MAX_SLIP_S, Stage, stage_slos
from rundir import exits, names
from rundir.exits import StartError, UsageError
from rundir.files import read_json, read_jsonl, write_json
from rundir.generator_capacity import (
    CPU_CEILING,
    FILE_NAME,
    GeneratorCapacity,
    Machine,
    write_capacity,
)
from rundir.histogram import nearest_rank
from rundir.layout import RunDir
from scenarios import (
    Scenario,
    ScenarioError,
    build_population,
    format_duration,
    load_scenario,
    loads_scenario,
    parse_size,
    requests_per_form,
    scenario_from_dict,
)

PROG = "sirekap-loadtest calibrate"
CALIBRATION_FILE = "calibration.json"
MAX_STAGE_FORMS = 200_000  # far beyond one process; bounds a stage's TPS codes and memory
MIN_WINDOW_S = 5  # a stage's steady window: fewer seconds hold too few forms to judge


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Measure what one load-generator process sustains on this host.",
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="whose request mix to send")
    parser.add_argument("--photo-size", metavar="SIZE", help="page photo size (e.g. 1.2MB)")
    parser.add_argument(
        "--out", type=Path, help=f"the measurement file ({FILE_NAME} in the --runs folder)"
    )
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="stage folders (runs/)")
    parser.add_argument("--stage", type=int, default=20, help="real seconds per stage (20)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of a stage not judged (5)")
    parser.add_argument("--start-forms", type=float, default=2.0, help="first stage's forms/s (2)")
    parser.add_argument("--factor", type=float, default=1.6, help="ramp factor per stage (1.6)")
    parser.add_argument("--max-stages", type=int, default=12, help="ramp stages at most (12)")
    parser.add_argument("--refine", type=int, default=2, help="bisection stages after the ramp (2)")
    return parser


# a stage's verdicts: the process kept up, or why not (the first that applies)
KEPT_UP = "kept up"
LATE = "the process fell behind (forms started late)"
BUSY = f"the process used more than {CPU_CEILING:.0%} of a core"
TARGET = "the target fell behind"
EMPTY = "no form was due in the steady window (a higher rate is tried)"


@dataclass(frozen=True)
class Measured:
    """One calibration stage over its steady window."""

    offered_forms_per_s: float
    forms_due: int
    forms_on_time: int
    forms_per_s: float  # started on time, per second
    requests_per_s: float
    bytes_per_s: float  # photo bytes of the pages acknowledged, per second
    slip_p99_s: float | None  # of the forms due in the window
    cpu_share: float  # CPU seconds of the process per second of the window
    cpu_s_per_request: float | None
    target_failed: tuple[str, ...]  # the stage checks the target did not pass
    folder: str

    @property
    def verdict(self) -> str:
        if self.forms_due == 0:
            return EMPTY
        if self.forms_on_time < self.forms_due:
            return LATE
        if self.cpu_share >= CPU_CEILING:
            return BUSY
        return f"{TARGET} ({', '.join(self.target_failed)})" if self.target_failed else KEPT_UP

    @property
    def generator_kept_up(self) -> bool:
        return self.verdict not in (LATE, BUSY)

    @property
    def kept_up(self) -> bool:
        return self.verdict == KEPT_UP

    @property
    def target_fell_behind(self) -> bool:
        return self.verdict.startswith(TARGET)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "verdict": self.verdict}


def _checked(args: argparse.Namespace) -> tuple[Scenario, Scenario]:
    """The scenario, and the one calibrated: with the raw mock as target and ``--photo-size``;
    UsageError naming what is wrong."""
    if not 1 <= args.stage <= MAX_STAGE_S or not 0 <= args.warmup <= args.stage - MIN_WINDOW_S:
        raise UsageError(
            f"--stage {args.stage} --warmup {args.warmup}: a stage lasts up to {MAX_STAGE_S} s "
            f"and is judged over at least {MIN_WINDOW_S} s after its warm-up"
        )
    for option, value, valid in (
        ("--start-forms", args.start_forms, args.start_forms > 0),
        ("--factor", args.factor, args.factor > 1),
        ("--max-stages", args.max_stages, args.max_stages >= 1),
        ("--refine", args.refine, args.refine >= 0),
    ):
        if not (valid and math.isfinite(value)):
            bound = {"--start-forms": "> 0", "--factor": "> 1", "--max-stages": ">= 1"}
            raise UsageError(f"{option} must be {bound.get(option, '>= 0')}; got {value:g}")
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["target"] = {"mock": {"mode": "raw"}}  # the generator is measured, not a model
    if args.photo_size is not None:
        try:
            size = parse_size(args.photo_size)
        except ValueError as error:
            raise UsageError(f"--photo-size {args.photo_size!r}: {error}") from None
        if size < 1:
            raise UsageError(f"--photo-size {args.photo_size!r}: a photo has at least 1 byte")
        data["population"]["photo_size"] = {"median": args.photo_size, "p95": args.photo_size}
    try:
        calibrated = scenario_from_dict(data, str(args.scenario))
    except ScenarioError as error:  # a photo size the scenario's own bounds refuse
        issue = str(error).splitlines()[0]
        raise UsageError(f"--photo-size {args.photo_size!r}: {issue}") from None
    forms_per_tps = len(calibrated.client.elections) * calibrated.client.devices_per_tps
    top = args.start_forms * args.factor ** (args.max_stages - 1)
    if top * args.stage > MAX_STAGE_FORMS:
        raise UsageError(
            f"--start-forms {args.start_forms:g} --factor {args.factor:g} --max-stages "
            f"{args.max_stages} --stage {args.stage}: the last stage would send "
            f"{top * args.stage:,.0f} forms, more than the {MAX_STAGE_FORMS:,} a stage may "
            f"({MAX_STAGE_FORMS // forms_per_tps:,} TPS of {forms_per_tps} form(s))"
        )
    if args.out is None:
        args.out = args.runs / FILE_NAME
    if args.out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; it names the measurement file to write")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.out.parent, prefix=".calibrate-"):
            pass  # the file can be written there: found now, not after the stages
    except OSError as error:
        raise UsageError(f"--out {args.out}: cannot write there: {error.strerror}") from None
    return scenario, calibrated


def _machine() -> Machine:
    cpu = platform.processor() or platform.machine()
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return Machine(
        host=socket.gethostname(),
        cpu=cpu,
        cores=os.cpu_count() or 1,
        python=platform.python_version(),
        locust=importlib.metadata.version("locust"),
    )


def window_cpu(samples: list[list[float]], window: tuple[int, int]) -> float | None:
    """CPU seconds per second between the first sample at or after the window's start and the
    last at or before its end (``cpu_by_second``: [real s since the clock start, CPU s])."""
    first, last = window
    inside = [(float(at), float(cpu)) for at, cpu in samples if first <= at <= last + 0.5]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def measure(stage: Stage, folder: Path, offered: float, window: tuple[int, int]) -> Measured:
    """A calibration stage's figures from its run folder; StartError when a file is missing."""
    try:
        summary = read_json(folder / names.LOAD_SUMMARY)
        if summary is None:
            raise ValueError(f"{folder / names.LOAD_SUMMARY}: missing or not JSON")
        ledger = read_jsonl(folder / names.LEDGER)
        timeline = read_jsonl(folder / names.TIMELINE)
        scenario = loads_scenario((folder / names.SCENARIO).read_text(encoding="utf-8"))
        start = float(summary["clock"]["start"])
        workers = summary["generator"]["workers"]
    except (OSError, ValueError, KeyError, ScenarioError) as error:
        why = f"the generator's files cannot be read: {error}"
        raise StartError(f"stage in {folder}: {why}") from None
    first, last = window
    span = float(last - first)
    due = [line for line in ledger if start + first <= float(line["due_at"]) < start + last]
    slips = sorted(float(line["start_slip_s"]) for line in due if line["start_slip_s"] is not None)
    on_time = [slip for slip in slips if slip <= MAX_SLIP_S]
    population = build_population(scenario)
    sizes = [size for tps in population for pages in tps.pages.values() for size in pages]
    in_window = [
        line for line in timeline
        if line.get("kind") == "requests" and first <= int(line["second"]) < last
    ]  # fmt: skip
    pages_ok = sum(int(line["ok"]) for line in in_window if line["endpoint"] == "page")
    cpu = window_cpu(workers[0].get("cpu_by_second") or [], window) if workers else None
    if cpu is None:
        raise StartError(f"stage in {folder}: the generator process reported no CPU time")
    count = int(summary["requests"]["total"]["count"])
    total_cpu = workers[0].get("cpu_s")
    return Measured(
        offered_forms_per_s=offered,
        forms_due=len(due),
        forms_on_time=len(on_time),
        forms_per_s=len(on_time) / span,
        requests_per_s=sum(int(line["count"]) for line in in_window) / span,
        bytes_per_s=pages_ok * (sum(sizes) / len(sizes)) / span,
        slip_p99_s=nearest_rank(slips, 0.99),
        cpu_share=cpu,
        cpu_s_per_request=total_cpu / count if total_cpu is not None and count else None,
        target_failed=tuple(check.expression for check in stage.checks if not check.passed),
        folder=str(folder),
    )


class Calibration:
    """The ramp, then the bisection; every stage kept in calibration.json as it is measured."""

    def __init__(self, args: argparse.Namespace, scenario: Scenario) -> None:
        self.args, self.scenario = args, scenario
        self.dir = RunDir.create(args.runs, f"calibrate-{scenario.name}")
        self.requests_per_form = requests_per_form(scenario)
        self.forms_per_tps = len(scenario.client.elections) * scenario.client.devices_per_tps
        self.stages: list[Measured] = []
        self.started = time.monotonic()
        self.interrupted = False

    def run(self) -> None:
        """Stages until the process falls behind (then bisect), the target fails, or the ramp
        runs out; Ctrl-C ends it, keeping what was measured."""
        args = self.args
        reaper = Reaper(self.dir.path / "reaper.log")
        runner = StageRunner(
            self.scenario, self.dir.path, stage_slos(()), target=None, allow_remote=None,
            workers=1, watcher=reaper,
        )  # fmt: skip
        try:
            rate = args.start_forms
            for _ in range(args.max_stages):
                stage = self._stage(runner, rate)
                if not stage.kept_up and stage.verdict != EMPTY:
                    break
                rate *= args.factor
            for _ in range(args.refine):
                low, high = self._bounds()
                if low is None or high is None:
                    break
                self._stage(runner, (low + high) / 2)
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            reaper.done()

    def _bounds(self) -> tuple[float | None, float | None]:
        """The highest offered rate kept up with, and the lowest above it the process did not
        keep up with (None, None: nothing to bisect)."""
        kept = [s.offered_forms_per_s for s in self.stages if s.kept_up]
        behind = [s.offered_forms_per_s for s in self.stages if not s.generator_kept_up]
        target_failed = any(s.target_fell_behind for s in self.stages)
        if not kept or not behind or target_failed:
            return None, None  # nothing kept up, the process never fell behind, or the target did
        low = max(kept)
        return low, min((rate for rate in behind if rate > low), default=None)

    def _stage(self, runner: StageRunner, forms_per_s: float) -> Measured:
        """One stage at ``forms_per_s`` in whole TPS (rounded up): the rate said and judged is
        the one sent."""
        args, index = self.args, len(self.stages)
        plan = StagePlan(0, index, forms_per_s * self.requests_per_form, args.stage, args.warmup)
        tps = runner.tps_of(plan)
        offered = tps * self.forms_per_tps / args.stage
        print(
            f"[stage {index + 1}] offering {offered:.2f} forms/s ({tps} TPS of "
            f"{self.forms_per_tps} form(s), {offered * self.requests_per_form:.1f} requests/s) "
            f"for {args.stage} s",
            flush=True,
        )
        measured = runner.run(plan)
        stage = measure(measured, runner.folder_of(plan), offered, (args.warmup, args.stage))
        self.stages.append(stage)
        self._save()
        per_request = (
            "-" if stage.cpu_s_per_request is None else f"{stage.cpu_s_per_request * 1e3:.2f} ms"
        )
        slip = "-" if stage.slip_p99_s is None else f"{stage.slip_p99_s:.3f} s"
        print(
            f"    {stage.forms_on_time} of {stage.forms_due} forms on time ({stage.forms_per_s:.2f}"
            f"/s), {stage.requests_per_s:.1f} requests/s, {stage.bytes_per_s / 1e6:.1f} MB/s, "
            f"slip p99 {slip}, CPU {stage.cpu_share:.0%} of a core ({per_request} a request) "
            f"-> {stage.verdict}  [{format_duration(round(time.monotonic() - self.started))}]",
            flush=True,
        )
        return stage

    def _save(self) -> None:
        write_json(
            self.dir.path / CALIBRATION_FILE,
            {"scenario": self.scenario.name, "stages": [s.to_json() for s in self.stages]},
        )

    def result(self) -> GeneratorCapacity | None:
        """The highest stage kept up with; None when none was (or the calibration was cut)."""
        kept = [s for s in self.stages if s.kept_up]
        if not kept or self.interrupted:
            return None
        best = max(kept, key=lambda s: s.forms_per_s)
        if any(not s.generator_kept_up for s in self.stages):
            limited = "generator"
        elif any(s.target_fell_behind for s in self.stages):
            limited = "target"
        else:
            limited = "stages"
        costs = [s.cpu_s_per_request for s in kept if s.cpu_s_per_request is not None]
        return GeneratorCapacity(
            measured_utc=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=_machine(),
            scenario=self.scenario.name,
            photo_bytes=int(self.scenario.population.photo_size.median),
            requests_per_form=round(self.requests_per_form, 3),
            forms_per_s=round(best.forms_per_s, 3),
            requests_per_s=round(best.requests_per_s, 2),
            bytes_per_s=round(best.bytes_per_s),
            cpu_s_per_request=round(statistics.median(costs), 6) if costs else None,
            limited_by=limited,
            stages=tuple(s.to_json() for s in self.stages),
        )

    def nothing_line(self) -> str:
        """Why nothing is written (no stage kept up, or interrupted)."""
        where = f"nothing written; the stages are in {self.dir.path}"
        if self.interrupted:
            return f"{PROG}: interrupted after {len(self.stages)} stage(s): {where}"
        judged = [s.verdict for s in self.stages if s.verdict != EMPTY]
        if not judged:
            return (
                f"{PROG}: no stage had a form due in its steady window (raise --start-forms or "
                f"--stage); {where}"
            )
        hint = " (try a lower --start-forms)" if judged[0] in (LATE, BUSY) else ""
        return f"{PROG}: the first stage judged was not kept up with: {judged[0]}{hint}; {where}"


def main(argv: list[str]) -> int:
    """Calibrate; see the module doc for exit codes."""
    args = _parser().parse_args(argv)
    scenario, calibrated = _checked(args)  # UsageError: harness.cli says it and exits 2
    try:
        return _calibrate(args, scenario, calibrated)
    except KeyboardInterrupt:  # outside a stage (at the start, or sizing): nothing written
        print(f"{PROG}: interrupted: nothing written", flush=True)
        return exits.INCONCLUSIVE


def _calibrate(args: argparse.Namespace, scenario: Scenario, calibrated: Scenario) -> int:
    calibration = Calibration(args, calibrated)
    print(f"calibration directory: {calibration.dir.path}", flush=True)
    calibration.run()
    capacity = calibration.result()
    if capacity is None:
        print(calibration.nothing_line(), flush=True)
        return exits.INCONCLUSIVE
    need = sizing(scenario, dataclasses.replace(capacity, source=str(args.out))).lines(scenario)
    try:
        write_capacity(args.out, capacity)
    except OSError as error:
        raise UsageError(f"--out {args.out}: cannot write: {error.strerror}") from None
    print(capacity.describe(), flush=True)
    bound = capacity.bound_line()
    if bound is not None:
        print(bound, flush=True)
    print(f"{scenario.name} {need[0]}", flush=True)
    print(f"wrote {args.out}", flush=True)
    return exits.OK
