"""A load sweep: stages of rising offered load until the SLOs break, then bisection to the knee.

One sweep ramps the offered request rate by ``factor`` from ``start_rps`` until a stage fails
its SLOs (or ``max_rps`` is reached): that failure is "clearly past the knee", and the sweep
stops climbing. It then bisects (geometrically) between the highest passing and the lowest
failing rate ``refine`` times, so the knee is known to within ``factor ** (1 / 2 ** refine)``.
If the very first stage fails, it steps down instead. A generator-limited stage ends the sweep:
more load cannot be offered from this machine. Later repeats start below the knee found so far,
which saves the climb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

from reports.knee import Stage, sweep_knee

StageFn = Callable[[int, int, float], Stage]  # (repeat, index, offered rps) -> measured stage


@dataclass(frozen=True)
class SweepSettings:
    start_rps: float
    max_rps: float
    factor: float = 1.5
    refine: int = 3
    max_stages: int = 14
    stage_s: int = 30
    warmup_s: int = 10
    repeat: int = 3

    def check(self) -> None:
        """ValueError naming the option and what is valid."""
        if not self.start_rps > 0:
            raise ValueError(f"--start-rps must be > 0; got {self.start_rps:g}")
        if not self.max_rps >= self.start_rps:
            raise ValueError(
                f"--max-rps must be >= --start-rps ({self.start_rps:g}); got {self.max_rps:g}"
            )
        if not self.factor > 1:
            raise ValueError(f"--factor must be > 1, like 1.5; got {self.factor:g}")
        if not 0 <= self.refine <= 6:
            raise ValueError(f"--refine must be 0 to 6 bisection steps; got {self.refine}")
        if not 2 <= self.max_stages <= 50:
            raise ValueError(f"--max-stages must be 2 to 50; got {self.max_stages}")
        if not 1 <= self.warmup_s < self.stage_s:
            raise ValueError(
                f"--warmup must be at least 1 s and shorter than --stage ({self.stage_s} s); "
                f"got {self.warmup_s} s"
            )
        if not 1 <= self.repeat <= 20:
            raise ValueError(f"--repeat must be 1 to 20; got {self.repeat}")

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def run_sweep(
    settings: SweepSettings, repeat: int, run_stage: StageFn, start: float
) -> list[Stage]:
    """One sweep (stages in the order run), starting at ``start`` req/s."""
    stages: list[Stage] = []

    def stage(rate: float) -> Stage:
        measured = run_stage(repeat, len(stages), rate)
        stages.append(measured)
        return measured

    def room() -> bool:
        return len(stages) < settings.max_stages

    rate = start
    first = stage(rate)
    if first.generator_limited:
        return stages
    if first.failed:  # the knee is below the start: step down until a stage passes
        while room() and rate > settings.start_rps / settings.factor**6:
            rate /= settings.factor
            if not stage(rate).failed:
                break
    else:
        while room() and rate < settings.max_rps:
            rate = min(rate * settings.factor, settings.max_rps)
            measured = stage(rate)
            if measured.failed or measured.generator_limited:
                break
    for _ in range(settings.refine):
        knee = sweep_knee(stages, repeat)
        if knee.rps is None or knee.first_failing_rps is None or not room():
            break
        if any(s.generator_limited for s in stages):
            break
        stage(math.sqrt(knee.rps * knee.first_failing_rps))
    return stages


def next_start(settings: SweepSettings, stages: list[Stage]) -> float:
    """Where the next repeat starts: a step and a half below the knee found so far."""
    knees = [sweep_knee([s for s in stages if s.repeat == r], r).rps for r in _repeats(stages)]
    found = [k for k in knees if k is not None]
    if not found:
        return settings.start_rps
    return float(min(found) / settings.factor**1.5)


def _repeats(stages: list[Stage]) -> list[int]:
    return sorted({s.repeat for s in stages})
