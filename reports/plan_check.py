"""A plan checked against the deployment: predicted and measured completion at the deadlines.

``plan --verify`` replays the scenario against the embedded deployment at the instance count the
plan recommends and at one fewer (harness/plan_check.py runs them); this module says what the
plan's fluid model (reports/sizing.py) predicts for each replay and what the replay measured.

Like with like. The sweep measures one instance in real time: the knee ``k`` is requests per real
second. A replay runs at load factor ``sample x speedup``: its population is the sampled TPS and a
simulated second lasts ``1/speedup`` real seconds, so one instance of the replay serves ``k /
speedup`` requests per simulated second of the sampled population. The prediction is the plan's
fluid model run on exactly that (the replay's own TPS count, its arrival curves and fault
windows, ``k / speedup`` an instance), and an instance of the replay stands for ``1 / load factor``
instances of election night: at load factor 1 the two counts are the same.

Measured, from the replay's ledger: a TPS is ready when its first form is; it is taken in when
every form of every device of it is acknowledged, at the last acknowledgement (the model counts
every request of a TPS served, see ``requests_per_tps``). At each deadline (a zone's local
time), the share is the TPS taken in by then over those ready by then, of the whole population,
as ``plan.instances_for`` judges it. The two should agree within ``AGREEMENT_PP`` percentage
points; where they do not, :func:`disagreement` says why from what the replay measured.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from reports.knee import SHED_KIND
from reports.plan import Plan, asked_deadlines, deadline, fault_windows
from reports.sizing import Demand, Sizing, fault_factor, instances_for, simulate
from reports.verdict import Unmeasured
from rundir import ledger as ledger_format
from scenarios import (
    Scenario,
    Slo,
    Zone,
    build_population,
    curve_seconds,
    format_duration,
    load_factor,
    plan_args,
)

AGREEMENT_PP: Final = 5.0
STEP_S: Final = 60.0  # simulated seconds per step of the replay's model (as the plan's)
CURVE_POINTS: Final = 120  # points of each curve kept for the chart


@dataclass(frozen=True)
class ReplayModel:
    """The plan's fluid model of one replay of the scenario."""

    demand: Demand  # the replay's own TPS, in simulated seconds
    rate_per_instance: float  # requests per simulated second one instance serves (knee/speedup)
    load_factor: float
    speedup: float
    deadlines: tuple[tuple[str, float, str, float], ...]  # (text, share, zone, simulated s)
    windows: tuple[tuple[float, float, str, str, dict[str, Any]], ...]
    retry_after: float = 0.0  # real seconds a 503 asks a device to wait (0: no capacity model)

    def predict(self, instances: int) -> Sizing:
        return simulate(self.demand, instances, self.rate_per_instance, fault_factor(self.windows))

    def fewest(self) -> int | None:
        """The fewest replay instances meeting every asked deadline (with the fault windows)."""
        needed = []
        for text, share in dict.fromkeys((d[0], d[1]) for d in self.deadlines):
            moments = [d[3] for d in self.deadlines if (d[0], d[1]) == (text, share)]
            count = instances_for(
                self.demand, self.rate_per_instance, share, moments, fault_factor(self.windows)
            )
            if count is None:
                return None
            needed.append(count)
        return max(needed, default=None)


def replay_model(scenario: Scenario, knee_rps: float, requests_per_tps: float) -> ReplayModel:
    """The fluid model of the scenario's replay with instances of ``knee_rps`` real req/s."""
    population = build_population(scenario)
    zones: dict[Zone, int] = defaultdict(int)
    for tps in population:
        zones[tps.zone] += 1
    total = sum(zones.values()) or 1
    curves = {zone: curve_seconds(scenario, zone) for zone in zones}
    horizon = scenario.clock.duration + 3_600.0
    demand = Demand.from_curves(
        curves, {zone: count / total for zone, count in zones.items()}, total, requests_per_tps,
        0.0, horizon=horizon, step=STEP_S,
    )  # fmt: skip
    deadlines = []
    for share_text, when in asked_deadlines(list(scenario.slo.parsed)):
        due = deadline(scenario, share_text, when, sorted(zones))
        deadlines += [(when, due.share, zone, due.seconds[zone]) for zone in sorted(zones)]
    speedup = scenario.clock.speedup
    mock = scenario.target.mock
    return ReplayModel(
        demand=demand, rate_per_instance=knee_rps / speedup,
        load_factor=load_factor(scenario).factor, speedup=speedup,
        deadlines=tuple(deadlines), windows=tuple(fault_windows(scenario)),
        retry_after=0.0 if mock is None else mock.retry_after,
    )  # fmt: skip


def replay_counts(model: ReplayModel) -> list[int]:
    """The counts to replay: the fewest that meet the deadlines, and one fewer (if any)."""
    fewest = model.fewest()
    if fewest is None:
        return []
    return [fewest, fewest - 1] if fewest > 1 else [fewest]


@dataclass(frozen=True)
class TakenIn:
    """Per TPS of a replay: when it was ready and when it was taken in (None: never)."""

    ready: tuple[float, ...]
    taken: tuple[float | None, ...]
    attempts: int  # upload requests sent (sessions, pages, results, every attempt)
    refused: int  # of them, 503s
    abandoned: int  # forms a device gave up
    own_real: tuple[float, ...] = ()  # real seconds from a TPS's first request to its last ack
    peak_in_progress: int = 0  # the most forms being uploaded at once
    failed: tuple[tuple[str, int], ...] = ()  # failed attempts by kind, 503s apart, most first

    def ready_by(self, t: float) -> int:
        return sum(1 for r in self.ready if r <= t)

    def taken_by(self, t: float) -> int:
        return sum(1 for x in self.taken if x is not None and x <= t)

    def share_at(self, t: float) -> float | None:
        ready = self.ready_by(t)
        return self.taken_by(t) / ready if ready else None


def _peak(spans: Iterable[tuple[float, float]]) -> int:
    events = sorted(e for start, end in spans for e in ((start, 1), (end, -1)))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def taken_in(ledger: Iterable[Mapping[str, Any]]) -> TakenIn:
    """The TPS of a replay's ledger lines (one per TPS, form and device)."""
    ready: dict[str, float] = {}
    taken: dict[str, float | None] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    spans = []
    attempts = abandoned = 0
    failures: Counter[str] = Counter()
    for line in ledger:
        code = line["tps_code"]
        ready[code] = min(ready.get(code, line["ready_s"]), line["ready_s"])
        acked = line["final_outcome"] == ledger_format.ACKED and line.get("acked_s") is not None
        if line["final_outcome"] == ledger_format.ABANDONED:
            abandoned += 1
        before = taken.get(code, 0.0)
        taken[code] = None if before is None or not acked else max(before, line["acked_s"])
        started, ended = line.get("started_at"), line.get("ended_at")
        if started is not None:
            first[code] = min(first.get(code, started), started)
            if ended is not None:
                spans.append((started, ended))
        if acked and line.get("acked_at") is not None:
            last[code] = max(last.get(code, line["acked_at"]), line["acked_at"])
        counts = line.get("attempts") or {}
        attempts += sum(v for key, v in counts.items() if key != "read" and isinstance(v, int))
        attempts += sum(counts.get("pages") or [])
        failures.update({k: int(v) for k, v in (line.get("failures") or {}).items()})
    refused = failures.pop(SHED_KIND, 0)
    codes = sorted(ready)
    own = tuple(
        last[c] - first[c] for c in codes if taken[c] is not None and c in first and c in last
    )
    return TakenIn(
        tuple(ready[c] for c in codes), tuple(taken[c] for c in codes), attempts, refused,
        abandoned, own, _peak(spans), tuple(failures.most_common()),
    )  # fmt: skip


@dataclass(frozen=True)
class AtDeadline:
    deadline: str  # as the SLO writes it: "D0 24:00"
    share: float  # the share asked
    zone: str
    seconds: float  # simulated, from the scenario start
    predicted: float | None  # TPS taken in by then over those ready by then
    measured: float | None  # None: the replay measured nothing by then

    @property
    def gap_pp(self) -> float | None:
        if self.predicted is None or self.measured is None:
            return None
        return 100 * (self.measured - self.predicted)

    @property
    def agrees(self) -> bool | None:
        gap = self.gap_pp
        return None if gap is None else abs(gap) <= AGREEMENT_PP


@dataclass
class Replay:
    """One replay of the check: its run directory, trust, deadlines and curves."""

    instances: int
    run_dir: str
    exit_code: int | None
    trusted: bool
    why_untrusted: str
    deadlines: list[AtDeadline] = field(default_factory=list)
    predicted_curve: list[tuple[float, float]] = field(default_factory=list)  # (sim s, TPS)
    measured_curve: list[tuple[float, float]] = field(default_factory=list)
    ready_curve: list[tuple[float, float]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why prediction and measure differ

    @property
    def measured_all(self) -> bool:
        return self.trusted and all(d.measured is not None for d in self.deadlines)

    def worst(self, deadline_text: str, share: float) -> float | None:
        """The lowest measured share over the zones' deadlines (None: not measured)."""
        values = [
            d.measured for d in self.deadlines if (d.deadline, d.share) == (deadline_text, share)
        ]
        if not values or any(v is None for v in values) or not self.trusted:
            return None
        return min(v for v in values if v is not None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Replay:
        values = dict(data)
        values["deadlines"] = [AtDeadline(**d) for d in values.get("deadlines", [])]
        for key in ("predicted_curve", "measured_curve", "ready_curve"):
            values[key] = [tuple(p) for p in values.get(key, [])]
        return cls(**values)


@dataclass
class PlanCheck:
    """``plan --verify``: the counts replayed and what each replay measured."""

    load_factor: float
    replay_tps: int
    knee_rps: float
    recommended: int | None  # the plan's count for election night (load factor 1)
    replay_recommended: int | None  # the fewest replay instances meeting the deadlines
    replays: list[Replay] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"replays": [r.to_json() for r in self.replays]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanCheck:
        values = dict(data)
        values["replays"] = [Replay.from_json(r) for r in values.get("replays", [])]
        return cls(**values)

    def at_recommended(self) -> Replay | None:
        return next((r for r in self.replays if r.instances == self.replay_recommended), None)


def new_check(plan: Plan, model: ReplayModel) -> PlanCheck:
    check = PlanCheck(
        load_factor=model.load_factor, replay_tps=round(model.demand.ready),
        knee_rps=plan.knee_rps or 0.0, recommended=plan.recommended,
        replay_recommended=model.fewest(),
    )  # fmt: skip
    if abs(model.load_factor - 1) > 0.01 and check.replay_recommended is not None:
        check.notes.append(
            f"the replay runs at load factor {model.load_factor:.3g}: each of its instances "
            f"stands for {1 / model.load_factor:.3g} of election night's, so its "
            f"{check.replay_recommended} instances check the plan's {plan.recommended}"
        )
    return check


def _curve(points: Sequence[float], value: Any) -> list[tuple[float, float]]:
    return [(t, float(value(t))) for t in points]


def judge_replay(
    model: ReplayModel, instances: int, run_dir: str, ledger: Iterable[Mapping[str, Any]],
    exit_code: int | None, why_untrusted: str,
) -> Replay:  # fmt: skip
    """A replay measured against the model's prediction for ``instances``."""
    sizing = model.predict(instances)
    measured = taken_in(ledger)
    replay = Replay(instances, run_dir, exit_code, not why_untrusted, why_untrusted)
    for text, share, zone, seconds in model.deadlines:
        ready = sizing.ready_by(seconds)
        # a share: the model's sums may overshoot 1 by a rounding error
        predicted = min(1.0, sizing.taken_in_by(seconds) / ready) if ready else None
        replay.deadlines.append(
            AtDeadline(text, share, zone, seconds, predicted, measured.share_at(seconds))
        )
    end = max([model.demand.step * len(model.demand.arrivals) - 3_600.0, 1.0])
    times = [end * i / CURVE_POINTS for i in range(CURVE_POINTS + 1)]
    replay.predicted_curve = _curve(times, sizing.taken_in_by)
    replay.measured_curve = _curve(times, measured.taken_by)
    replay.ready_curve = _curve(times, measured.ready_by)
    replay.reasons = disagreement(model, instances, replay, measured)
    return replay


def disagreement(
    model: ReplayModel, instances: int, replay: Replay, measured: TakenIn
) -> list[str]:
    """Why the measured shares differ from the predicted ones by more than AGREEMENT_PP."""
    off = [d for d in replay.deadlines if d.agrees is False]
    if not off:
        return []
    worst = max(off, key=lambda d: abs(d.gap_pp or 0.0))
    gap = worst.gap_pp or 0.0
    reasons = [
        f"at {instances} instances the measured share at {worst.deadline} {worst.zone} is "
        f"{abs(gap):.1f} points {'below' if gap < 0 else 'above'} the prediction"
    ]
    if gap < 0:
        if measured.failed:
            kinds = ", ".join(f"{kind} {count:,}" for kind, count in measured.failed[:4])
            total = sum(count for _, count in measured.failed)
            reasons.append(
                f"{total:,} of {measured.attempts:,} upload requests failed ({kinds}): a failed "
                "upload is retried or given up, where the model serves every request"
            )
        if measured.own_real:
            own = statistics.median(measured.own_real)
            reasons.append(
                f"the deployment shares its capacity among every TPS in progress (up to "
                f"{measured.peak_in_progress:,} forms at once), so each TPS's own requests wait "
                f"their turn: a TPS took a median of {own:.2g} s real from its first request to "
                f"its acknowledgement, {format_duration(own * model.speedup)} simulated at this "
                "speedup (request times are real); the model takes TPS in whole, oldest first"
            )
        if measured.refused:
            wait = (
                f" ({format_duration(model.retry_after)} real, "
                f"{format_duration(model.retry_after * model.speedup)} simulated)"
                if model.retry_after
                else ""
            )
            reasons.append(
                f"{measured.refused:,} of {measured.attempts:,} upload requests were refused "
                f"with 503 (admission control): a refused device waits its Retry-After{wait} "
                "while the model serves a backlog without pause"
            )
        if measured.abandoned:
            reasons.append(
                f"{measured.abandoned:,} forms were given up by their device (retries spent); "
                "the model loses no TPS"
            )
    else:
        reasons.append(
            "the deployment took in more than the knee allows: the knee is the highest load at "
            "which the stage SLOs hold, below what an instance serves flat out when a backlog "
            "waits (latency is not an SLO of the model)"
        )
    return reasons


NOT_VERIFIED: Final = (
    "measured only by `plan --verify`, which replays the scenario against the deployment at "
    "the recommended count"
)


def resolve_replayed(check: PlanCheck | None, slo: Slo) -> float | Unmeasured:
    """``plan.replayed_share(share, deadline)``: the worst zone's measured share at the
    recommended count's replay; not measured without one that can be trusted."""
    if check is None:
        return Unmeasured(NOT_VERIFIED)
    replay = check.at_recommended()
    if replay is None:
        return Unmeasured("; ".join(check.notes) or "no replay ran at the recommended count")
    if not replay.trusted:
        return Unmeasured(f"the replay at {replay.instances} instances: {replay.why_untrusted}")
    value = replay.worst(slo.args[1], plan_args(slo.args[0], slo.args[1])[0])
    if value is None:
        return Unmeasured(f"the replay had no TPS ready by {slo.args[1]}")
    return value
