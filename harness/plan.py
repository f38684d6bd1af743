"""``sirekap-loadtest plan SCENARIO``: find the knee of the target, size election night.

Sweeps the offered load against the target (the embedded mock with the scenario's capacity
model, or ``--target``) in stages, ``--repeat`` times; the knee is the highest offered load at
which the scenario's endpoint SLOs still hold (median and spread over the sweeps). From the knee
and the scenario's population and arrival curves it sizes election night (reports/plan.py) and
writes ``runs/<UTC time>-plan-<scenario>/`` with ``sweep.json`` (every stage measured),
``report/`` (report.html, summary.md, summary.json, junit.xml, charts) and the stages' own run
folders. ``--sweep FILE`` plans from a saved sweep.json without measuring again. ``--verify``
then replays the scenario against the deployment at the recommended count and one fewer
(harness/plan_check.py) and reports predicted against measured completion (reports/plan_check.py).

Exit codes: 0 every ``plan.*`` SLO met, 1 one breached, 2 usage or scenario error, 3 a part
would not start (a sweep stage or a replay), 4 inconclusive (interrupted, or a breach with a knee
known only as a lower bound).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.generator_sizing import add_generator_option, load_generator, sizing
from harness.plan_check import verify
from harness.reaper import Reaper
from harness.stage import (
    MAX_STAGE_S,
    StagePlan,
    StageRunner,
    desas_needed,
    write_pool,
)
from harness.sweep import SweepSettings, next_start, run_sweep
from harness.target import check_remote
from reports.knee import KEEP_UP_CHECK, Stage, knee_of, stage_slos
from reports.plan import Plan, asked_deadlines, modelled_rps, plan
from reports.plan_check import PlanCheck, replay_model
from reports.plan_check_view import summary_lines
from reports.plan_report import plan_results, plan_verdict, write_plan_report
from rundir import exits, names
from rundir.exits import StartError, UsageError
from rundir.files import read_json
from rundir.generator_capacity import GeneratorCapacity
from rundir.layout import RunDir
from scenarios import (
    Scenario,
    ScenarioError,
    check_target,
    format_duration,
    loads_scenario,
    read_scenario_text,
    requests_per_tps,
)
from scenarios.workload.generator_need import generator_need, stage_demand

SWEEP_FILE = names.SWEEP


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sirekap-loadtest plan",
        description="Find the target's knee with a load sweep and size election night from it.",
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="a scenario .toml file")
    parser.add_argument("--target", metavar="URL", help="a running service instead of the mock")
    parser.add_argument("--allow-remote", metavar="HOST", help="allow a non-loopback --target")
    parser.add_argument("--repeat", type=int, default=3, help="sweeps to run (median; default 3)")
    parser.add_argument("--stage", type=int, default=30, help="real seconds per stage (30)")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of a stage not measured")
    parser.add_argument("--start-rps", type=float, help="first stage's offered requests/s")
    parser.add_argument("--max-rps", type=float, help="highest offered requests/s")
    parser.add_argument("--factor", type=float, default=1.5, help="ramp factor per stage (1.5)")
    parser.add_argument("--refine", type=int, default=3, help="bisection steps at the knee (3)")
    parser.add_argument("--max-stages", type=int, default=14, help="stages per sweep at most")
    parser.add_argument("--workers", type=int, default=1, help="Locust worker processes")
    parser.add_argument("--out", type=Path, default=Path("runs"), help="runs folder (runs/)")
    parser.add_argument("--sweep", type=Path, metavar="FILE", help="plan from a saved sweep.json")
    parser.add_argument(
        "--verify", action="store_true",
        help="then replay the scenario against the deployment at the recommended count and one "
        "fewer, and report predicted against measured completion at the deadlines",
    )  # fmt: skip
    parser.add_argument(
        "--registry-out", type=Path, metavar="FILE",
        help="write the registry of the TPS the sweep would send (load it into a --target), exit",
    )  # fmt: skip
    add_generator_option(parser)
    return parser


def settings_from(args: argparse.Namespace, scenario: Scenario) -> SweepSettings:
    hint = modelled_rps(scenario)
    top = args.max_rps if args.max_rps is not None else (4 * hint if hint else 2000.0)
    start = args.start_rps if args.start_rps is not None else (0.4 * hint if hint else 5.0)
    if args.start_rps is None:
        start = min(start, top)  # a default start never overrides the user's ceiling
    elif args.max_rps is None:
        top = max(top, start)
    if args.stage > MAX_STAGE_S:
        raise UsageError(f"--stage must be at most {MAX_STAGE_S} seconds; got {args.stage}")
    settings = SweepSettings(
        start_rps=start, max_rps=top, factor=args.factor, refine=args.refine,
        max_stages=args.max_stages, stage_s=args.stage, warmup_s=args.warmup, repeat=args.repeat,
    )  # fmt: skip
    try:
        settings.check()
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    return settings


def load_sweep(path: Path) -> tuple[list[Stage], float, dict[str, Any]]:
    """Stages, requests per TPS and the whole document of a saved sweep.json; UsageError."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        stages = [Stage.from_json(stage) for stage in document["stages"]]
        per_tps = float(document["requests_per_tps"])
        if not stages:
            raise ValueError("it holds no stage: the sweep measured nothing")
    except OSError as error:
        raise UsageError(f"--sweep {path}: cannot read: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"--sweep {path}: not a sweep file ({error!s}); give the sweep.json a plan wrote"
        ) from None
    return stages, per_tps, document


class Planner:
    """One plan: the sweep (or a saved one), the sizing, the report."""

    def __init__(self, args: argparse.Namespace, scenario: Scenario, text: str) -> None:
        self.args, self.scenario = args, scenario
        self.dir = RunDir.create(args.out, f"plan-{scenario.name}")
        self.dir.scenario.write_text(text, encoding="utf-8")
        self.slos = stage_slos(scenario.slo.parsed)
        self.sweep: dict[str, Any] = {
            "scenario": scenario.name,
            "requests_per_tps": requests_per_tps(scenario),
            "target": args.target or "mock",
            "stage_slos": [slo.expression for slo in self.slos],
            "status": "running",
            "stages": [],
        }
        self.started = time.time()

    def size_generator(
        self, capacity: GeneratorCapacity | None, settings: SweepSettings | None
    ) -> None:
        """Say the generator processes election night needs, and whether the sweep's own
        ``--workers`` can offer its highest stages (by a calibrate measurement); keep both."""
        need = sizing(self.scenario, capacity)
        lines = need.lines(self.scenario)
        print(f"generator: election night {lines[0]}", flush=True)
        for line in lines[1:]:
            print(f"  {line}", flush=True)
        self.sweep["generator"] = need.record()
        if capacity is None or settings is None:
            return  # nothing measured, or a plan from a saved sweep: no load sent
        top = generator_need(stage_demand(self.scenario, settings.max_rps), capacity)
        if top.processes > self.args.workers:
            line = (
                f"--workers {self.args.workers} may not offer the sweep's highest stages: at "
                f"--max-rps {settings.max_rps:,.0f} requests/s a stage {top.needs()}; a stage "
                "past what they sustain shows it in its start slip and is judged "
                "generator-limited, not the target's knee"
            )
            self.sweep["generator"]["sweep"] = line
            print(f"generator: {line}", flush=True)

    def save(self) -> None:
        path = self.dir.path / SWEEP_FILE
        path.write_text(json.dumps(self.sweep, indent=1, allow_nan=False) + "\n", encoding="utf-8")

    def measure(self, settings: SweepSettings) -> list[Stage]:
        """Every sweep; Ctrl-C or a failing part ends it, keeping what was measured."""
        self.sweep["settings"] = settings.to_json()
        reaper = Reaper(self.dir.path / "reaper.log")
        reaper.record(self.dir.path / SWEEP_FILE)
        runner = StageRunner(
            self.scenario, self.dir.path, self.slos, target=self.args.target,
            allow_remote=self.args.allow_remote, workers=self.args.workers, watcher=reaper,
        )  # fmt: skip
        stages: list[Stage] = []

        def run_stage(repeat: int, index: int, rate: float) -> Stage:
            print(
                f"[sweep {repeat + 1}/{settings.repeat}, stage {index + 1} of at most "
                f"{settings.max_stages}] offering {rate:.1f} req/s for {settings.stage_s} s",
                flush=True,
            )
            stage_plan = StagePlan(repeat, index, rate, settings.stage_s, settings.warmup_s)
            stage = runner.run(stage_plan)
            stages.append(stage)
            self.sweep["stages"].append(stage.to_json())
            self.save()
            self._print_stage(stage)
            return stage

        try:
            if self.args.target:
                check_remote(self.args.target)
            for repeat in range(settings.repeat):
                start = settings.start_rps if repeat == 0 else next_start(settings, stages)
                run_sweep(settings, repeat, run_stage, start)
            self.sweep["status"] = "completed"
        except KeyboardInterrupt:
            self.sweep["status"] = "interrupted"
        except Exception as error:  # a part failed: keep what was measured, exit 3
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.sweep["status"], self.sweep["error"] = "failed", text
        finally:
            reaper.done()
        self.save()
        return stages

    def _print_stage(self, stage: Stage) -> None:
        verdict = (
            "generator-limited" if stage.generator_limited else "pass" if stage.passed else "FAIL"
        )
        p95 = "-" if stage.p95_s is None else f"{stage.p95_s * 1000:.0f} ms"
        errors = "-" if stage.error_ratio is None else f"{stage.error_ratio:.1%}"
        shed = "-" if stage.shed_ratio is None else f"{stage.shed_ratio:.1%}"
        elapsed = format_duration(round(time.time() - self.started))
        print(
            f"    goodput {stage.goodput_rps:.1f} req/s, p95 {p95}, errors {errors} "
            f"(503 {shed}) -> {verdict}  [{elapsed}]",
            flush=True,
        )

    def finish(self, stages: list[Stage], per_tps: float) -> int:
        knee = knee_of(stages)
        slos = list(self.scenario.slo.parsed)
        result = plan(self.scenario, knee, per_tps, asked_deadlines(slos))
        self._print_plan(result)
        check = self._verify(result, per_tps) if self.args.verify else None
        results = plan_results(result, slos, check)
        verdict = plan_verdict(result, results)
        write_plan_report(result, stages, results, verdict, self.dir.report, self.scenario, check)
        for r in results:
            print(f"  {r.slo.expression}: {r.shown_value} (needs {r.shown_threshold}) {r.mark}")
        code = verdict.exit_code
        if check is not None:
            for line in summary_lines(check):
                print(line)
        if self.sweep["status"] in {"interrupted", "failed"}:
            why = self.sweep.get("error") or "interrupted"
            print(f"sweep {self.sweep['status']}: {why}; the plan uses the stages measured")
            code = exits.INFRASTRUCTURE if self.sweep["status"] == "failed" else exits.INCONCLUSIVE
        print(f"\n{verdict.name.upper()} (exit code {code}): {verdict.reason}")
        print(f"report: {self.dir.report / 'report.html'}")
        return code

    def _verify(self, result: Plan, per_tps: float) -> PlanCheck | None:
        """The replays of ``--verify``; a failed or interrupted one ends the sweep's status so."""
        if result.knee_rps is None or self.sweep["status"] in {"interrupted", "failed"}:
            print("no replay: the plan has no knee to check", flush=True)
            return None
        model = replay_model(self.scenario, result.knee_rps, per_tps)
        try:
            return verify(result, model, self.dir.path, self.dir.scenario)
        except KeyboardInterrupt:
            self.sweep["status"] = "interrupted"
        except StartError as error:
            self.sweep["status"], self.sweep["error"] = "failed", str(error)
        self.save()
        path = self.dir.path / names.PLAN_CHECK
        saved = read_json(path)
        return PlanCheck.from_json(saved) if saved else None

    def _print_plan(self, result: Plan) -> None:
        knee = result.knee
        print()
        if knee.median_rps is None:
            print("knee: none (no stage met the SLOs)")
        else:
            spread = "" if knee.spread is None else f", spread {knee.spread:.0%}"
            print(
                f"knee: {knee.median_rps:.1f} req/s per instance (median of {len(knee.sweeps)} "
                f"sweeps, {knee.low_rps:.1f}..{knee.high_rps:.1f}{spread})"
            )
        for note in result.notes:
            print(f"  note: {note}")
        for answer in result.answers:
            due = answer.deadline
            plain = answer.instances if answer.instances is not None else "none suffices"
            faulty = answer.instances_with_faults
            shown = faulty if faulty is not None else "none suffices"
            print(
                f"instances for {due.share:.0%} of the TPS ready by {due.text} local: {plain}; "
                f"through the scenario's faults: {shown}"
            )


def prepare(args: argparse.Namespace) -> tuple[Scenario, str]:
    try:
        text = read_scenario_text(args.scenario)
        scenario = loads_scenario(text, str(args.scenario))
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    if args.target and args.verify:
        raise UsageError(
            "--verify replays the scenario against the embedded deployment it sizes; it cannot "
            "change a --target's instance count: run it without --target"
        )
    if args.target:
        check_target(args.target, args.allow_remote)  # UnsafeTarget: exit 2 at the CLI
    elif scenario.target.url:
        raise UsageError(
            f"{args.scenario}: target.url is set; pass it as --target (with --allow-remote "
            "HOST for a remote one) so the sweep knows where load may go"
        )
    return scenario, text


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    scenario, text = prepare(args)  # UsageError: harness.cli says it and exits 2
    saved = load_sweep(args.sweep) if args.sweep else None
    settings = None if saved else settings_from(args, scenario)
    if args.registry_out:
        assert settings is not None
        most = settings.max_rps * settings.stage_s / requests_per_tps(scenario)
        desas = desas_needed(most, settings.max_stages * settings.repeat)
        written = write_pool(scenario, desas, args.registry_out)
        print(
            f"wrote {written:,} TPS (the most a sweep with these options sends) to "
            f"{args.registry_out}; load them into the target, then run plan with --target"
        )
        return 0
    capacity = load_generator(args.generator, args.out)  # a bad file: exit 2, no folder made
    planner = Planner(args, scenario, text)
    print(f"plan directory: {planner.dir.path}", flush=True)
    planner.size_generator(capacity, settings)
    if saved is not None:
        stages, per_tps, document = saved
        planner.sweep.update(document, source=str(args.sweep))
        planner.save()
        return planner.finish(stages, per_tps)
    assert settings is not None
    judged = ", ".join([KEEP_UP_CHECK, *(slo.expression for slo in planner.slos)])
    print(
        f"sweep: {settings.repeat} x from {settings.start_rps:.1f} req/s (x{settings.factor:g} "
        f"per stage up to {settings.max_rps:.1f}), {settings.stage_s} s stages "
        f"({settings.warmup_s} s warm-up), judged by: {judged}",
        flush=True,
    )
    stages = planner.measure(settings)
    return planner.finish(stages, requests_per_tps(scenario))
