"""The hindcast's fluid model: the national curve a scenario predicts, and the fit on election day.

The model is `plan`'s (reports.sizing): TPS become ready on the scenario's arrival curves, the
service takes them in at ``instances x`` the mock's modelled rate (reports.plan.modelled_rps),
divided by the load factor (a replay at factor 0.5 offers half the nation's rate to the same
server), and less while a fault window holds. The share it gives is of all TPS, as the published
curve's is.

The fit moves only the ``[[hindcast.fit]]`` fields, each within its range, to bring the model
closest (least squares, in percentage points) to the published shares at the ``fit_on`` moments,
which the schema keeps to election day: the later moments are never seen by the fit. The search
is a grid per field, in turns (coordinate descent), then a finer grid around the best: the same
scenario always gives the same values. A field the moments cannot tell apart is refused, never
given an arbitrary end of its range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from reports.plan import (
    answers_at,
    asked_deadlines,
    demand_of,
    fault_windows,
    modelled_rps,
    workload,
)
from reports.sizing import Sizing, fault_factor, simulate
from scenarios import (
    PUBLISHED_ZONE,
    Scenario,
    ScenarioError,
    build_population,
    load_factor,
    parse_time_spec,
    requests_per_tps,
    scenario_from_dict,
)

GRID: Final = 41  # values per field in each coarse turn
FINE: Final = 21  # values in the last turn, across one coarse step either side of the best
TURNS: Final = 3
STEP_S: Final = 60.0


@dataclass(frozen=True)
class Moment:
    """A published moment: its text (WIB), simulated seconds from the start, published share."""

    text: str
    seconds: float
    published: float
    fitted: bool


def moments(scenario: Scenario) -> list[Moment]:
    spec = scenario.hindcast
    if spec is None:
        return []
    clock = scenario.clock
    return [
        Moment(text, clock.offset(parse_time_spec(text), PUBLISHED_ZONE), share, fitted)
        for text, share, fitted in spec.moments()
    ]


class FluidModel:
    """The scenario's national curve under the fluid model; None-free: needs the mock's model."""

    def __init__(self, scenario: Scenario) -> None:
        rate = modelled_rps(scenario)
        if rate is None:
            raise ValueError(
                "a hindcast needs the mock's capacity model ([target.mock] mode = 'model'): its "
                "fluid model takes TPS in at the modelled rate"
            )
        # the replay's demand is the nation's times the load factor, its capacity real: the
        # model takes the nation in at the rate that matches the replay (the same at factor 1)
        self.rate = rate / load_factor(scenario).factor
        population = build_population(scenario)
        self.sampled = len(population.tps)  # TPS in the run: what the target's recap counts
        self.work = workload(scenario, requests_per_tps(scenario), population)
        mock = scenario.target.mock
        self.instances = mock.instances if mock is not None else 1

    def sizing(
        self, scenario: Scenario, *, faults: bool = True, instances: int | None = None,
        horizon: float | None = None,
    ) -> Sizing:  # fmt: skip
        end = scenario.clock.duration if horizon is None else horizon
        demand = demand_of(scenario, self.work, horizon=end + STEP_S)
        factor = fault_factor(fault_windows(scenario)) if faults else (lambda _: 1.0)
        return simulate(demand, instances or self.instances, self.rate, factor)

    def share(self, sizing: Sizing, seconds: float) -> float:
        """The share of all TPS taken in by ``seconds``."""
        return sizing.taken_in_by(seconds) / self.work.total_tps

    def recommended(self, scenario: Scenario) -> tuple[int | None, list[tuple[str, str]]]:
        """The instances `plan` recommends for the scenario's plan deadlines (with and without
        its faults, the larger), at the modelled rate; the deadlines asked."""
        asked = asked_deadlines(list(scenario.slo.parsed)) or [
            (scenario.hindcast.counterfactual_share if scenario.hindcast else "99%", "D0 24:00")
        ]
        demand = demand_of(scenario, self.work)
        answers = answers_at(scenario, self.work, demand, self.rate, asked)
        needed = [n for a in answers for n in (a.instances, a.instances_with_faults) if n]
        return (max(needed) if needed else None), asked


@dataclass(frozen=True)
class Fit:
    values: dict[str, float]  # field -> fitted value
    ranges: dict[str, tuple[float, float]]
    on: tuple[str, ...]  # the moments fitted on
    residuals: dict[str, float]  # moment -> model minus published, percentage points

    def to_json(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "on": list(self.on),
            "model_residuals_pp": self.residuals,
        }


def fit(data: Mapping[str, Any], source: str = "<scenario>") -> Fit | None:
    """Fit the scenario's ``[[hindcast.fit]]`` fields (``data``: the parsed TOML, no
    ``[hindcast.fitted]``); None when there is nothing to fit. ScenarioError from a value the
    schema refuses; ValueError when a range goes beyond its field's values or the moments
    cannot tell a field's values apart."""
    base = scenario_from_dict(data, source)
    spec = base.hindcast
    if spec is None or not spec.fit:
        return None
    model = FluidModel(base)
    targets = [m for m in moments(base) if m.fitted]
    horizon = max(m.seconds for m in targets)

    def make(values: Mapping[str, float]) -> Scenario:
        raw = {**data, "hindcast": {**dict(data.get("hindcast") or {}), "fitted": dict(values)}}
        return scenario_from_dict(raw, source)

    def residuals(values: Mapping[str, float]) -> dict[str, float]:
        scenario = make(values)
        sizing = model.sizing(scenario, horizon=horizon)
        return {m.text: 100 * (model.share(sizing, m.seconds) - m.published) for m in targets}

    def loss(values: Mapping[str, float]) -> float:
        return sum(r * r for r in residuals(values).values())

    knobs = {k.field: (k.low, k.high) for k in spec.fit}
    values = {name: (low + high) / 2 for name, (low, high) in knobs.items()}
    for name, (low, high) in knobs.items():
        for end in (low, high):
            try:
                make({**values, name: end})
            except ScenarioError as error:
                raise ValueError(
                    f"[[hindcast.fit]] {name}: the range [{low:g}, {high:g}] goes beyond what "
                    f"the field allows: {error.issues[0].path}: {error.issues[0].message}"
                ) from None
    flat: set[str] = set()
    for turn in range(TURNS):
        for name, (low, high) in knobs.items():
            values[name], spread = _best(loss, values, name, _grid(low, high, GRID))
            if turn == TURNS - 1 and spread < 1e-9:
                flat.add(name)
    if flat:
        raise ValueError(
            f"the moments {', '.join(m.text for m in targets)} cannot tell values of "
            f"{', '.join(sorted(flat))} apart over its range: set it from a fact or an estimate "
            "instead of fitting it"
        )
    for name, (low, high) in knobs.items():
        step = (high - low) / (GRID - 1)
        around = _grid(max(low, values[name] - step), min(high, values[name] + step), FINE)
        values[name], _ = _best(loss, values, name, around)
    values = {name: round(value, 6) for name, value in values.items()}
    return Fit(values, knobs, tuple(m.text for m in targets), residuals(values))


def _grid(low: float, high: float, count: int) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _best(
    loss: Callable[[Mapping[str, float]], float], values: dict[str, float], name: str,
    candidates: list[float],
) -> tuple[float, float]:  # fmt: skip
    """The candidate for ``name`` with the least loss (the first of equals), and the spread of
    the losses over the candidates (0: the moments cannot tell the values apart)."""
    scored = [(loss({**values, name: value}), value) for value in candidates]
    best = min(scored, key=lambda pair: pair[0])
    losses = [score for score, _ in scored]
    return best[1], max(losses) - min(losses)
