"""``sirekap-loadtest calibrate SCENARIO``: measure what one load-generator process sustains here.

Runs the scenario's request mix (its forms, pages and photo size, or ``--photo-size``) in stages
of rising offered forms per second, each a fresh sweep stage (harness/stage.py) on one Locust
process against the embedded mock in raw mode, so the generator and not a capacity model is what
is measured. Each stage is judged over its steady window: the process kept up when every form due
started within 1 s of its moment (start slip p99) and its CPU stayed below
``CPU_CEILING`` of one core; the target kept up when it answered without errors. The ramp
multiplies the rate by ``--factor`` until the process falls behind, then bisects ``--refine``
times between the last stage that kept up and the first that did not.

Writes ``--out`` (runs/generator.json by default; rundir/generator_capacity.py), which
``validate``, ``plan`` and ``run`` read to say how many generator processes a scenario needs, and
keeps the stages' run folders under ``runs/<UTC time>-calibrate-<scenario>/``. Measure on the
host (and with the Python) the workers will run on: a measurement is of one host.

Exit codes: 0 measured and written; 2 usage or scenario error; 3 a part would not start; 4 no
stage kept up, or interrupted before one did (nothing written).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import os
import platform
import socket
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.generator_sizing import sizing
from harness.reaper import Reaper
from harness.stage import MAX_STAGE_S, StagePlan, StageRunner, requests_per_tps
from reports.knee import MAX_SLIP_S
from rundir import exits, names
from rundir.exits import UsageError
from rundir.files import read_json, read_jsonl, write_json
from rundir.generator_capacity import (
    CPU_CEILING,
    DEFAULT_PATH,
    GeneratorCapacity,
    Machine,
    write_capacity,
)
from rundir.layout import RunDir
from scenarios import (
    Scenario,
    ScenarioError,
    build_population,
    load_scenario,
    loads_scenario,
    parse_size,
    scenario_from_dict,
)

TARGET_ERRORS = 0.01  # a stage whose requests failed more than this: the target was the limit
CALIBRATION_FILE = "calibration.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest calibrate",
        description="Measure what one load-generator process sustains on this host.",
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="whose request mix to send")
    parser.add_argument("--photo-size", metavar="SIZE", help="page photo size (e.g. 1.2MB)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"file ({DEFAULT_PATH})")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="stage folders (runs/)")
    parser.add_argument("--stage", type=int, default=20, help="real seconds per stage (20)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of a stage not judged (5)")
    parser.add_argument("--start-forms", type=float, default=2.0, help="first stage's forms/s (2)")
    parser.add_argument("--factor", type=float, default=1.6, help="ramp factor per stage (1.6)")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps at the limit (2)")
    parser.add_argument("--max-stages", type=int, default=12, help="stages at most (12)")
    return parser


@dataclass(frozen=True)
class Measured:
    """One calibration stage over its steady window."""

    offered_forms_per_s: float
    forms_due: int
    forms_on_time: int
    forms_per_s: float  # started on time, per second
    requests_per_s: float
    bytes_per_s: float
    slip_p99_s: float | None
    cpu_share: float | None  # CPU seconds of the process per second of the stage
    cpu_s_per_request: float | None
    error_ratio: float
    folder: str

    @property
    def generator_kept_up(self) -> bool:
        return (
            self.forms_due > 0
            and self.forms_on_time == self.forms_due
            and (self.slip_p99_s or 0.0) <= MAX_SLIP_S
            and self.cpu_share is not None
            and self.cpu_share < CPU_CEILING
        )

    @property
    def target_kept_up(self) -> bool:
        return self.error_ratio <= TARGET_ERRORS

    def verdict(self) -> str:
        if not self.generator_kept_up:
            return "the process fell behind"
        return "kept up" if self.target_kept_up else "the target failed"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "generator_kept_up": self.generator_kept_up,
                "target_kept_up": self.target_kept_up}  # fmt: skip


def _kept(stage: Measured) -> bool:
    return stage.generator_kept_up and stage.target_kept_up


def _checked(args: argparse.Namespace) -> Scenario:
    """The scenario with the calibration's target (raw mock) and photo size; UsageError."""
    if not 1 <= args.stage <= MAX_STAGE_S or not 0 <= args.warmup < args.stage:
        raise UsageError(
            f"--stage {args.stage} --warmup {args.warmup}: a stage lasts 1 to {MAX_STAGE_S} s "
            "and its warm-up is shorter than it"
        )
    if args.start_forms <= 0 or args.factor <= 1 or args.max_stages < 1 or args.refine < 0:
        raise UsageError(
            "--start-forms must be > 0, --factor > 1, --max-stages >= 1 and --refine >= 0"
        )
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["target"] = {"mock": {"mode": "raw"}}  # the generator is measured, not a model
    if args.photo_size is not None:
        try:
            parse_size(args.photo_size)
        except ValueError as error:
            raise UsageError(f"--photo-size {args.photo_size!r}: {error}") from None
        data["population"]["photo_size"] = {"median": args.photo_size, "p95": args.photo_size}
    try:
        return scenario_from_dict(data, str(args.scenario))
    except ScenarioError as error:
        raise UsageError(f"--photo-size {args.photo_size}: {error}") from None


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


def measure(folder: Path, offered: float, window: tuple[int, int]) -> Measured:
    """A calibration stage's figures from its run folder (load summary, ledger, timeline).

    The process's CPU share is all the CPU it used from go to its final report over the stage's
    length: its start and drain count as if inside the stage, which errs on the safe side."""
    summary = read_json(folder / names.LOAD_SUMMARY) or {}
    ledger = read_jsonl(folder / names.LEDGER)
    start = float(summary["clock"]["start"])
    first, last = window
    span = float(last - first)
    due = [line for line in ledger if start + first <= float(line["due_at"]) < start + last]
    on_time = [
        line for line in due
        if line["start_slip_s"] is not None and float(line["start_slip_s"]) <= MAX_SLIP_S
    ]  # fmt: skip
    population = build_population(loads_scenario((folder / names.SCENARIO).read_text()))
    sizes = {
        (tps.code, election): sum(pages)
        for tps in population
        for election, pages in tps.pages.items()
    }
    sent = sum(sizes[line["tps_code"], line["election"]] for line in on_time)
    requests = summary["requests"]["total"]
    in_window = sum(
        int(line["count"])
        for line in read_jsonl(folder / names.TIMELINE)
        if line.get("kind") == "requests" and first <= int(line["second"]) < last
    )
    worker = (summary["generator"]["workers"] or [{}])[0]
    cpu = worker.get("cpu_s")
    count = int(requests["count"])
    failed = count - int(requests["ok"])
    return Measured(
        offered_forms_per_s=offered,
        forms_due=len(due),
        forms_on_time=len(on_time),
        forms_per_s=len(on_time) / span,
        requests_per_s=in_window / span,
        bytes_per_s=sent / span,
        slip_p99_s=(summary.get("start_slip_s") or {}).get("p99"),
        cpu_share=cpu / last if cpu is not None else None,
        cpu_s_per_request=cpu / count if cpu is not None and count else None,
        error_ratio=failed / count if count else 0.0,
        folder=str(folder),
    )


class Calibration:
    """The ramp, then the bisection; every stage kept in calibration.json as it is measured."""

    def __init__(self, args: argparse.Namespace, scenario: Scenario) -> None:
        self.args, self.scenario = args, scenario
        self.dir = RunDir.create(args.runs, f"calibrate-{scenario.name}")
        forms = len(scenario.client.elections) * scenario.client.devices_per_tps
        self.requests_per_form = requests_per_tps(scenario) / forms
        self.stages: list[Measured] = []
        self.started = time.monotonic()

    def run(self) -> None:
        """Stages until the process falls behind (then bisect), the target fails, or the count
        runs out; Ctrl-C ends it with what was measured."""
        args = self.args
        reaper = Reaper(self.dir.path / "reaper.log")
        runner = StageRunner(
            self.scenario, self.dir.path, (), target=None, allow_remote=None, workers=1,
            watcher=reaper,
        )  # fmt: skip
        try:
            rate = args.start_forms
            while len(self.stages) < args.max_stages:
                stage = self._stage(runner, rate)
                if not stage.generator_kept_up or not stage.target_kept_up:
                    break
                rate *= args.factor
            low, high = self._bounds()
            for _ in range(args.refine):
                if low is None or high is None or len(self.stages) >= args.max_stages + args.refine:
                    break
                middle = (low + high) / 2
                stage = self._stage(runner, middle)
                if not stage.target_kept_up:
                    break
                low, high = (middle, high) if stage.generator_kept_up else (low, middle)
        finally:
            reaper.done()

    def _bounds(self) -> tuple[float | None, float | None]:
        """The highest offered rate that kept up and the lowest above it that fell behind."""
        kept = [
            s.offered_forms_per_s for s in self.stages if s.generator_kept_up and s.target_kept_up
        ]
        behind = [s.offered_forms_per_s for s in self.stages if not s.generator_kept_up]
        low = max(kept) if kept else None
        high = min((rate for rate in behind if low is None or rate > low), default=None)
        return low, high

    def _stage(self, runner: StageRunner, forms_per_s: float) -> Measured:
        args, index = self.args, len(self.stages)
        print(
            f"[stage {index + 1}] offering {forms_per_s:.2f} forms/s "
            f"({forms_per_s * self.requests_per_form:.1f} requests/s) for {args.stage} s",
            flush=True,
        )
        plan = StagePlan(0, index, forms_per_s * self.requests_per_form, args.stage, args.warmup)
        runner.run(plan)
        stage = measure(runner.folder_of(plan), forms_per_s, (args.warmup, args.stage))
        self.stages.append(stage)
        self._save()
        cpu = "-" if stage.cpu_share is None else f"{stage.cpu_share:.0%}"
        per_request = (
            "-" if stage.cpu_s_per_request is None else f"{stage.cpu_s_per_request * 1e3:.2f} ms"
        )
        slip = "-" if stage.slip_p99_s is None else f"{stage.slip_p99_s:.3f} s"
        print(
            f"    {stage.forms_on_time} of {stage.forms_due} forms on time ({stage.forms_per_s:.2f}"
            f"/s), {stage.requests_per_s:.1f} requests/s, {stage.bytes_per_s / 1e6:.1f} MB/s, "
            f"slip p99 {slip}, CPU {cpu} of a core ({per_request} a request), errors "
            f"{stage.error_ratio:.1%} -> {stage.verdict()}  "
            f"[{round(time.monotonic() - self.started)} s]",
            flush=True,
        )
        return stage

    def _save(self) -> None:
        write_json(
            self.dir.path / CALIBRATION_FILE,
            {"scenario": self.scenario.name, "stages": [s.to_json() for s in self.stages]},
        )

    def result(self) -> GeneratorCapacity | None:
        kept = [s for s in self.stages if _kept(s)]
        if not kept:
            return None
        best = max(kept, key=lambda s: s.forms_per_s)
        if any(not s.generator_kept_up for s in self.stages):
            limited = "generator"
        elif any(not s.target_kept_up for s in self.stages):
            limited = "target"
        else:
            limited = "stages"
        costs = [s.cpu_s_per_request for s in kept if s.cpu_s_per_request is not None]
        return GeneratorCapacity(
            measured_utc=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=_machine(),
            scenario=self.scenario.name,
            photo_bytes=int(self.scenario.population.photo_size.median),
            requests_per_form=self.requests_per_form,
            forms_per_s=round(best.forms_per_s, 3),
            requests_per_s=round(best.requests_per_s, 2),
            bytes_per_s=round(best.bytes_per_s),
            cpu_s_per_request=round(statistics.median(costs), 6) if costs else None,
            limited_by=limited,
            stages=tuple(s.to_json() for s in self.stages),
        )


def main(argv: list[str]) -> int:
    """Calibrate; see the module doc for exit codes."""
    args = _parser().parse_args(argv)
    scenario = _checked(args)  # UsageError: harness.cli says it and exits 2
    calibration = Calibration(args, scenario)
    print(f"calibration directory: {calibration.dir.path}", flush=True)
    interrupted = False
    try:
        calibration.run()
    except KeyboardInterrupt:
        interrupted = True
        print("calibration interrupted: judging the stages measured so far", flush=True)
    capacity = calibration.result()
    if capacity is None:
        why = "interrupted before" if interrupted else "no stage kept up:"
        print(
            f"calibrate: {why} one process kept the schedule at {args.start_forms:g} forms/s; "
            f"nothing written (try a lower --start-forms); stages in {calibration.dir.path}",
            flush=True,
        )
        return exits.INCONCLUSIVE
    write_capacity(args.out, capacity)
    print(capacity.describe(), flush=True)
    bound = capacity.bound_line()
    if bound is not None:
        print(bound, flush=True)
    need = sizing(scenario, dataclasses.replace(capacity, source=str(args.out))).lines(scenario)
    print(f"{scenario.name} {need[0]}", flush=True)
    print(f"wrote {args.out}", flush=True)
    return exits.OK
