"""One stage of a load sweep: a constant offered request rate against the target, measured.

A stage is a scenario of its own, derived from the user's: the same request mix (elections,
pages per form, photo sizes, devices per TPS, timeouts) and the same target (the mock with its
capacity model, or ``--target``), but TPS that arrive evenly over the stage, send their pages back
to back and never retry (a retry would add load the stage did not offer). It runs on the real
Locust locustfile, like a run; against the mock, each stage gets a fresh mock (a clean database
and queue). Its TPS are fresh too (desa codes counted up over the whole sweep), so a remote
service never sees the same TPS twice.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from faults.toxiproxy.launcher import free_loopback_port
from harness.children import Child, Children, StartError, Watcher
from harness.locust import locust_args
from harness.target import MockTarget
from reports.knee import Stage, measure_stage
from rundir import names, timing
from scenarios import (
    Scenario,
    Slo,
    build_population,
    loads_scenario,
    requests_per_tps,
    write_capacity,
    write_registry,
)

# A stage runs at 60 simulated seconds per real second, so its arrival curve can be written in
# whole minutes of a simulated day: a stage of N real seconds is N simulated minutes from 13:00.
SPEEDUP = 60
START_MINUTE = 13 * 60
MAX_STAGE_S = 600  # 13:00 + 600 minutes stays within the simulated day
TPS_PER_DESA = 500  # at most 999 (3-digit TPS numbers)
FIRST_DESA, LAST_DESA = 1001, 9999  # 4-digit desa numbers under the synthetic kecamatan
POOL_LIMIT = (LAST_DESA - FIRST_DESA + 1) * TPS_PER_DESA
AUTH_REFUSALS = frozenset({"4xx:401", "4xx:403", "4xx:404"})
SYNTHETIC_KECAMATAN = "317101"  # a WIB kecamatan code (DKI Jakarta, 31); stages run on WIB


def write_pool(scenario: Scenario, desas: int, path: Path) -> int:
    """The registry of the TPS of the first ``desas`` synthetic desa a sweep of ``scenario`` sends
    (each stage starts a new desa and takes a prefix of its TPS, with these credentials), so a
    ``--target`` can be loaded with them before the sweep. Returns the TPS written."""
    tps = min(max(1, desas), LAST_DESA - FIRST_DESA + 1) * TPS_PER_DESA
    seed = scenario.population.seed
    text = stage_text(scenario, tps=tps, stage_s=1, first_desa=FIRST_DESA, seed=seed)
    write_registry(build_population(loads_scenario(text, str(path))), path)
    return tps


def desas_needed(settings_tps_per_stage: float, stages: int) -> int:
    """Desa a sweep of ``stages`` stages of at most ``settings_tps_per_stage`` TPS uses at most."""
    return stages * max(1, math.ceil(settings_tps_per_stage / TPS_PER_DESA))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def stage_text(scenario: Scenario, *, tps: int, stage_s: int, first_desa: int, seed: int) -> str:
    """The TOML of a stage: ``tps`` TPS arriving evenly over ``stage_s`` real seconds."""
    if not 1 <= stage_s <= MAX_STAGE_S:
        raise ValueError(f"a stage lasts 1 to {MAX_STAGE_S} s; got {stage_s}")
    dumped = scenario.model_dump(mode="json")
    regions = []
    left, desa = tps, first_desa
    while left > 0:
        count = min(TPS_PER_DESA, left)
        regions.append({"code": f"{SYNTHETIC_KECAMATAN}{desa:04d}", "tps": count, "zone": "WIB"})
        left, desa = left - count, desa + 1
    end = START_MINUTE + stage_s
    population = dumped["population"]
    client = dumped["client"]
    client["retry"] = {"policy": "none"}
    client["think_time"] = ["0s", "0s"]
    document = {
        "name": f"{scenario.name}-stage",
        "description": f"sweep stage of {scenario.name}: {tps} TPS evenly over {stage_s} s",
        "clock": {
            "start": "2024-02-14 13:00",
            "zone": "WIB",
            "duration": f"{stage_s * SPEEDUP}s",
            "speedup": SPEEDUP,
        },
        "population": {
            "scale": "regions",
            "seed": seed,
            "regions": regions,
            "forms": population["forms"],
            "dpt": population["dpt"],
            "photo_size": population["photo_size"],
        },
        "arrival": {
            "curve": [["13:00", 0.0], [f"{end // 60:02d}:{end % 60:02d}", 1.0]],
            "page_span": {"median": "1s", "p95": "2s"},  # simulated: back to back
            "form_gap": "0s",
            "offline_fraction": 0.0,
        },
        "client": client,
        "target": dumped["target"],
    }
    return tomli_w.dumps(_drop_none(document))


@dataclass(frozen=True)
class StagePlan:
    repeat: int
    index: int
    offered_rps: float
    stage_s: int
    warmup_s: int


class StageRunner:
    """Runs stages one after another into ``folder``/stages/; keeps count of the desa used."""

    def __init__(
        self,
        scenario: Scenario,
        folder: Path,
        slos: Sequence[Slo],
        *,
        target: str | None,
        allow_remote: str | None,
        workers: int = 1,
        watcher: Watcher | None = None,
    ) -> None:
        self.watcher = watcher  # the sweep's reaper: a killed plan leaves no stage running
        self.scenario = scenario
        self.folder = folder
        self.slos = tuple(slos)
        self.target = target
        self.allow_remote = allow_remote
        self.workers = workers
        self.per_tps = requests_per_tps(scenario)
        self.next_desa = FIRST_DESA

    def run(self, plan: StagePlan) -> Stage:
        """Run one stage to its end and measure it; StartError when a part fails."""
        tps = self.tps_of(plan)
        folder = self.folder_of(plan)
        folder.mkdir(parents=True, exist_ok=True)
        text = stage_text(
            self.scenario, tps=tps, stage_s=plan.stage_s, first_desa=self.next_desa,
            seed=self.scenario.population.seed,
        )  # fmt: skip
        first_desa = self.next_desa
        self.next_desa += math.ceil(tps / TPS_PER_DESA)
        if self.next_desa > LAST_DESA:
            raise StartError(
                f"the sweep used up its {POOL_LIMIT:,} TPS codes; use shorter --stage or fewer "
                "--max-stages"
            )
        (folder / names.SCENARIO).write_text(text, encoding="utf-8")
        stage_scenario = loads_scenario(text, str(folder / names.SCENARIO))
        children = Children(self.watcher)
        try:
            url = self._target(stage_scenario, folder, children)
            clock_start = time.time() + timing.stage_lead(self.workers)
            locust = self._locust(folder, url, clock_start, children)
            deadline = clock_start + plan.stage_s + timing.STAGE_DRAIN_S + timing.END_MARGIN_S
            while locust.alive:
                if time.time() > deadline:
                    raise StartError(
                        f"Locust did not finish within {timing.END_MARGIN_S:g} s of the stage's end"
                    )
                time.sleep(0.2)
        finally:
            children.stop_all()
        if locust.returncode != 0 and not (self.target and self._refused_every_device(folder)):
            raise StartError(f"Locust exited with code {locust.returncode}: {locust.tail()}")
        stage = self._measure(folder, plan)
        refusals = set(stage.failures) & AUTH_REFUSALS
        if self.target and stage.goodput_rps == 0 and refusals == set(stage.failures) != set():
            raise StartError(
                f"the target refused every device of the stage ({', '.join(sorted(refusals))}): "
                f"it does not know the sweep's TPS (desa {SYNTHETIC_KECAMATAN}{first_desa:04d} "
                f"on, in {folder / 'registry.csv'}); load them first: "
                "`sirekap-loadtest plan SCENARIO --registry-out pool.csv`"
            )
        return stage

    def tps_of(self, plan: StagePlan) -> int:
        """The TPS a stage sends: its offered requests in whole TPS, rounded up."""
        return max(1, math.ceil(plan.offered_rps * plan.stage_s / self.per_tps - 1e-9))

    def folder_of(self, plan: StagePlan) -> Path:
        """The run folder of stage ``plan``."""
        return self.folder / names.STAGES / f"r{plan.repeat}-s{plan.index:02d}"

    @staticmethod
    def _refused_every_device(folder: Path) -> bool:
        """Locust's exit 3 for a target that refused every device: the sweep words it itself."""
        try:
            summary = json.loads((folder / names.LOAD_SUMMARY).read_text())
        except (OSError, ValueError):
            return False
        return bool((summary.get("refused") or {}).get("every_device"))

    def _target(self, scenario: Scenario, folder: Path, children: Children) -> str:
        write_registry(build_population(scenario), folder / names.REGISTRY)
        if self.target:
            return self.target.rstrip("/")
        write_capacity(scenario.target, folder / names.CAPACITY)
        mock = MockTarget(
            children, port=free_loopback_port(), db=folder / names.MOCK_DB,
            registry=folder / names.REGISTRY, capacity=folder / names.CAPACITY, logs=folder,
        )  # fmt: skip
        mock.start()
        return mock.url

    def _locust(self, folder: Path, url: str, clock_start: float, children: Children) -> Child:
        args = locust_args(
            folder / names.SCENARIO, folder, clock_start=clock_start,
            drain=timing.STAGE_DRAIN_S, host=url, workers=self.workers,
            allow_remote=self.allow_remote,
        )  # fmt: skip
        args += ["--read-back", "0"]
        child = children.add(Child("locust", args, folder / "locust.log"))
        child.start()
        return child

    def _measure(self, folder: Path, plan: StagePlan) -> Stage:
        timeline = _jsonl(folder / names.TIMELINE)
        summary_path = folder / names.LOAD_SUMMARY
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        slip = (summary.get("start_slip_s") or {}).get("p99")
        return measure_stage(
            timeline, self.slos, repeat=plan.repeat, index=plan.index,
            offered_rps=plan.offered_rps, window=(plan.warmup_s, plan.stage_s),
            slip_p99_s=slip,
        )  # fmt: skip


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise StartError(f"{path} is missing: the stage's load generator wrote no timeline")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
