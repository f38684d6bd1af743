"""A hindcast's figures: the replay's national recap against the published curve, and the
counterfactual.

The replay's share at a published moment is read from ``recap.jsonl`` (harness.recap_poll): the
target's national recap, ``progres`` over ``total``, linear between the two reads either side of
the moment. A moment the reads do not bracket closely (the recap unanswered, or the moment past
the run) is not measured, never guessed. A residual is the replay's share minus the published
one, in percentage points; a moment is *fitted* when the fit saw it (``fit_on``), else *held out*.

The counterfactual curves come from the fluid model behind `plan` (reports.hindcast_model) with
the same fitted scenario: 2024's night as modelled (shown beside the measured replay, so the
model's own error is in view), the same night with no fault window, and with no fault window at
the instance count `plan` recommends for its deadlines.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from reports.completion import Completion
from reports.hindcast_model import FluidModel, Moment, moments
from reports.sizing import Sizing
from scenarios import PUBLISHED_ZONE, Scenario, Slo, parse_time_spec

PAST_THE_RUN: Final = "past the run's end"
BEFORE_THE_RUN: Final = "before the run's start"
DAY: Final = 86_400.0
# run.json options: who fitted [hindcast.fitted] (harness.hindcast_fit)
FITTED_BY: Final = "hindcast_fitted_by"
FITTED_BY_HARNESS: Final = "the harness, before the run"
AS_RUN: Final = "2024's night, modelled"
CALM: Final = "no attack, as built"
IDLE_SHARE: Final = 0.01  # a backlog of at most this share of the ready TPS: the service idles
# A moment is measured when reads lie within this many poll intervals on both sides of it.
BRACKET_POLLS: Final = 3.0
CURVE_POINTS: Final = 400


@dataclass(frozen=True)
class Row:
    moment: str  # as published, WIB ("+1d 12:00")
    local: str  # "2024-02-15 12:00 WIB"
    seconds: float  # simulated seconds from the start
    published: float
    fitted: bool
    replay: float | None  # the replay's national share (None: not measured)
    why: str  # why not measured ("" when measured)
    modelled: float  # the fluid model's share for 2024's night
    backlog: int | None  # TPS ready but not acknowledged in the replay then
    ready: int | None  # TPS ready in the replay by then
    held: bool  # read from the recap after the load (the load had ended, nothing left to change)
    counterfactual: dict[str, float]  # the modelled counterfactuals' shares (label -> share)

    @property
    def residual_pp(self) -> float | None:
        return None if self.replay is None else 100 * (self.replay - self.published)

    def as_dict(self) -> dict[str, Any]:
        return {
            "moment": self.moment, "local": self.local, "seconds": self.seconds,
            "published": self.published, "fitted": self.fitted, "replay": self.replay,
            "residual_pp": self.residual_pp, "why": self.why or None,
            "modelled": self.modelled, "backlog": self.backlog, "ready": self.ready,
            "held_from_the_end": self.held, "counterfactual": self.counterfactual,
        }  # fmt: skip


@dataclass(frozen=True)
class Hindcast:
    rows: list[Row]
    tolerance_pp: float
    fitted: dict[str, float]  # field -> value (the scenario as run)
    fit_ranges: dict[str, tuple[float, float]]
    fit_on: list[str]
    parameters: list[dict[str, str]]  # name, value, basis, source
    replay: list[tuple[float, float]]  # (simulated s, share) of each answered read
    reads: int
    unanswered: int
    curves: dict[str, list[tuple[float, float]]]  # label -> modelled (simulated s, share)
    recommended: int | None
    deadlines: list[tuple[str, str]]  # the plan deadlines the recommendation is for
    deadline: str  # the counterfactual's moment, WIB
    deadline_s: float
    at_deadline: dict[str, float | None]  # "replay", "no attack", "no attack, N instances"
    sentence: str
    notes: list[str] = field(default_factory=list)
    fitted_by: str = ""  # FITTED_BY_HARNESS, "the scenario file", or "" (nothing fitted)

    def max_residual(self, fitted: bool) -> float | None:
        found = [
            abs(r.residual_pp)
            for r in self.rows
            if r.fitted is fitted and r.residual_pp is not None
        ]
        return max(found) if found else None

    def counterfactual_labels(self) -> list[str]:
        return [label for label in self.curves if label != AS_RUN]

    def row(self, moment: str) -> Row | None:
        return next((r for r in self.rows if r.moment == moment), None)

    def figure_keys(self) -> list[str]:
        """The figures `compare` and `history` hold later hindcasts to: the share at each
        moment inside the run, and the largest residuals."""
        inside = [r.moment for r in self.rows if r.why not in {PAST_THE_RUN, BEFORE_THE_RUN}]
        return [
            *(f"hindcast.share({m!r})" for m in inside),
            "hindcast.max_residual_fitted",
            "hindcast.max_residual_held_out",
        ]

    def held_out_within(self) -> bool | None:
        worst = self.max_residual(False)
        return None if worst is None else worst <= self.tolerance_pp

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.as_dict() for r in self.rows],
            "tolerance_pp": self.tolerance_pp,
            "fitted": self.fitted,
            "fit_ranges": {k: list(v) for k, v in self.fit_ranges.items()},
            "fit_on": self.fit_on,
            "fitted_by": self.fitted_by or None,
            "parameters": self.parameters,
            "max_residual_fitted_pp": self.max_residual(True),
            "max_residual_held_out_pp": self.max_residual(False),
            "held_out_within_tolerance": self.held_out_within(),
            "reads": self.reads,
            "unanswered": self.unanswered,
            "recommended_instances": self.recommended,
            "plan_deadlines": [list(d) for d in self.deadlines],
            "counterfactual_deadline": self.deadline,
            "at_deadline": self.at_deadline,
            "sentence": self.sentence,
            "notes": self.notes,
        }


def replay_share(
    reads: list[tuple[float, float]], seconds: float, gap: float, near: float = 0.0,
    local: Callable[[float], str] = lambda s: f"{s:.0f} s",
) -> tuple[float | None, str]:  # fmt: skip
    """The share at ``seconds`` from (simulated s, share) reads in time order: linear between the
    two either side when both lie within ``gap`` of it, or a read's own within ``near`` of it;
    else None and why. Never beyond the reads: what the recap said after its last answer was not
    read."""
    if not reads:
        return None, "the national recap never answered"
    times = [t for t, _ in reads]
    i = bisect.bisect_left(times, seconds)
    nearest = min((j for j in (i - 1, i) if 0 <= j < len(times)),
                  key=lambda j: abs(times[j] - seconds))  # fmt: skip
    if abs(times[nearest] - seconds) <= near:
        return reads[nearest][1], ""
    if i == len(times):
        return None, f"no read after it: the recap's last answer was at {local(times[-1])}"
    if i == 0:
        return None, f"no read before it: the recap's first answer was at {local(times[0])}"
    (t0, s0), (t1, s1) = reads[i - 1], reads[i]
    if seconds - t0 > gap or t1 - seconds > gap:
        return None, f"the recap did not answer from {local(t0)} to {local(t1)}"
    return s0 + (s1 - s0) * (seconds - t0) / (t1 - t0), ""


@dataclass(frozen=True)
class Reads:
    """The recap's reads: the answered ones (simulated s, share, in time order) and what the
    rest were."""

    answered: list[tuple[float, float]]
    unanswered: int  # the target did not answer (an error, a timeout)
    impossible: list[str]  # answered with what cannot be: the first few, each saying why
    impossible_count: int
    falls: int  # answered reads with fewer TPS with data than the read before


def answered_reads(
    lines: list[dict[str, Any]], tps: int | None = None, span: tuple[float, float] | None = None
) -> Reads:
    """Sort the reads of ``recap.jsonl``: a read answered with counts that cannot be (more TPS
    with data than in all, a total other than the run's ``tps``, a moment outside ``span``) is
    impossible, not a measurement."""
    reads: list[tuple[float, float]] = []
    impossible: list[str] = []
    unanswered = count = 0
    for number, line in enumerate(lines, 1):
        if line.get("ok") is not True:
            unanswered += 1
            continue
        total, done, sim = line.get("total"), line.get("progres"), line.get("sim")
        why = _impossible(total, done, sim, tps, span)
        if why:
            count += 1
            if len(impossible) < 3:
                impossible.append(f"read {number}: {why}")
            continue
        reads.append((float(sim), done / total))  # type: ignore[arg-type, operator]
    reads.sort()
    falls = sum(1 for (_, a), (_, b) in itertools.pairwise(reads) if b < a)
    return Reads(reads, unanswered, impossible, count, falls)


def _count(value: int) -> str:
    text = str(value)
    return text if len(text) <= 15 else f"{text[:6]}... ({len(text)} digits)"


def _impossible(
    total: object, done: object, sim: object, tps: int | None, span: tuple[float, float] | None
) -> str:
    if type(total) is not int or type(done) is not int:
        return "its total and progres are not whole numbers"
    if not 0 <= done <= total or total <= 0:
        return f"{_count(done)} TPS with data of {_count(total)}"
    if tps is not None and total != tps:
        return f"a total of {_count(total)} TPS where the run has {tps}"
    if isinstance(sim, bool) or not isinstance(sim, int | float) or not math.isfinite(sim):
        return "no simulated moment"
    if span is not None and not span[0] <= sim <= span[1]:
        return "a simulated moment far outside the run"
    return ""


def measure_hindcast(
    scenario: Scenario, recap: list[dict[str, Any]], completion: Completion | None,
    notes: list[str], options: dict[str, Any] | None = None,
) -> Hindcast | None:  # fmt: skip
    """:func:`analyse_hindcast`, or None with a note in ``notes`` when it cannot be made."""
    try:
        return analyse_hindcast(scenario, recap, completion, options)
    except ValueError as error:
        notes.append(f"no hindcast: {error}")
        return None


def hindcast_value(found: Hindcast | None, slo: Slo) -> float | None:
    """The value of a ``hindcast.*`` SLO (residuals in percentage points, absolute)."""
    if found is None:
        return None
    if slo.metric in {"max_residual_fitted", "max_residual_held_out"}:
        return found.max_residual(slo.metric == "max_residual_fitted")
    row = found.row(slo.args[0]) if slo.args else None
    if row is None or row.replay is None:
        return None
    residual = row.residual_pp
    return row.replay if slo.metric == "share" else (None if residual is None else abs(residual))


def hindcast_reason(found: Hindcast | None, slo: Slo) -> str:
    """Why a ``hindcast.*`` SLO was not measured."""
    if found is None:
        return "the run has no hindcast (no [hindcast], or its model could not be made)"
    if slo.args:
        row = found.row(slo.args[0])
        return f"{slo.args[0]}: {row.why}" if row is not None else "no such published moment"
    kind = "fitted" if slo.metric == "max_residual_fitted" else "held-out"
    return f"no {kind} moment was measured (the recap did not answer, or they lie past the run)"


def analyse_hindcast(
    scenario: Scenario, recap: list[dict[str, Any]], completion: Completion | None,
    options: dict[str, Any] | None = None,
) -> Hindcast | None:  # fmt: skip
    """The hindcast of a run of ``scenario`` (``options``: the run record's); None when the
    scenario has no ``[hindcast]``."""
    spec = scenario.hindcast
    if spec is None:
        return None
    options = options or {}
    clock = scenario.clock
    model = FluidModel(scenario)
    read = answered_reads(recap, model.sampled, (-clock.duration, 2 * clock.duration + DAY))
    per_poll = spec.poll_every * clock.speedup  # simulated seconds between reads
    reader = Reader(read.answered, BRACKET_POLLS * per_poll, per_poll / 2, settled_by(completion),
                    clock.duration, clock.local)  # fmt: skip
    deadline_s = clock.offset(parse_time_spec(spec.counterfactual_deadline), PUBLISHED_ZONE)
    horizon = max(clock.duration, deadline_s, *(m.seconds for m in moments(scenario)))
    recommended, asked = model.recommended(scenario)
    sizings = {
        AS_RUN: model.sizing(scenario, horizon=horizon),
        CALM: model.sizing(scenario, faults=False, horizon=horizon),
    }
    notes: list[str] = []
    if recommended is None:
        notes.append("plan recommends no instance count for its deadlines (none meets them)")
    elif recommended != model.instances:
        label = f"no attack, {recommended} instance{'s' if recommended != 1 else ''}"
        sizings[label] = model.sizing(
            scenario, faults=False, instances=recommended, horizon=horizon
        )
    rows = [_row(scenario, m, reader, model, sizings, completion) for m in moments(scenario)]
    replay_at, why = reader.share(deadline_s)
    at = {"replay": replay_at, **{k: model.share(v, deadline_s) for k, v in sizings.items()}}
    notes += _read_notes(read, len(recap), rows)
    notes += _provenance(spec.fitted, options)
    notes += _misses(rows, spec.tolerance_pp)
    planned = next((k for k in sizings if k not in {AS_RUN, CALM}), CALM)
    sentence = _sentence(spec.counterfactual_deadline, recommended, at, planned, why)
    return Hindcast(
        rows=rows, tolerance_pp=spec.tolerance_pp, fitted=dict(spec.fitted),
        fit_ranges={k.field: (k.low, k.high) for k in spec.fit}, fit_on=list(spec.fit_on),
        parameters=[p.model_dump() for p in spec.parameters], replay=read.answered,
        reads=len(recap), unanswered=read.unanswered,
        curves={k: _curve(model, v, horizon) for k, v in sizings.items()},
        recommended=recommended, deadlines=asked, deadline=spec.counterfactual_deadline,
        deadline_s=deadline_s, at_deadline=at, sentence=sentence, notes=notes,
        fitted_by=str(options.get(FITTED_BY) or ("the scenario file" if spec.fitted else "")),
    )  # fmt: skip


def _read_notes(read: Reads, lines: int, rows: list[Row]) -> list[str]:
    notes = []
    if read.unanswered:
        notes.append(f"{read.unanswered} of {lines} reads of the national recap went unanswered")
    if read.impossible_count:
        notes.append(
            f"{read.impossible_count} of {lines} reads were answered with what cannot be, and "
            f"are not measurements ({'; '.join(read.impossible)})"
        )
    if read.falls:
        notes.append(
            f"the recap's TPS with data fell {read.falls} time(s) from one read to the next: the "
            "target withdrew data, or the recap is not cumulative"
        )
    if any(r.held for r in rows):
        notes.append(
            "a moment after the load's end is read from the recap after the load: every form "
            "had its outcome, so nothing more could change it before the scenario's end"
        )
    return notes


def _provenance(fitted: dict[str, float], options: dict[str, Any]) -> list[str]:
    notes = []
    if fitted and options.get(FITTED_BY) != FITTED_BY_HARNESS:
        notes.append(
            "the fitted values came with the scenario file ([hindcast.fitted]), not from this "
            "run's fit: whether they were fitted on election day only is the file's claim"
        )
    overridden = [f"--{k}" for k in ("speedup", "instances") if options.get(k) is not None]
    if overridden:
        notes.append(
            f"run with {' and '.join(overridden)}: the replay is not the scenario's night as "
            "written (its load factor or its capacity differ), while the fit is the scenario's "
            "as written; the model columns follow the run"
        )
    return notes


def settled_by(completion: Completion | None) -> float | None:
    """The simulated second by which every form of the run had its outcome (None: unknown)."""
    if completion is None or completion.unacknowledged > len(completion.gave_up):
        return None
    events = [*completion.ready[-1:], *completion.acked[-1:], *completion.gave_up[-1:]]
    return max(events, default=0.0)


@dataclass(frozen=True)
class Reader:
    """The replay's share at a moment, from the answered reads."""

    reads: list[tuple[float, float]]
    gap: float  # simulated seconds a read may lie from the moment
    near: float  # a read this close to the moment is its share
    settled: float | None  # every form had its outcome by then
    end: float  # the scenario's end (simulated seconds)
    local: Callable[[float], str]  # simulated seconds -> local time, for the reasons

    def share(self, seconds: float) -> tuple[float | None, str]:
        return replay_share(self.reads, seconds, self.gap, self.near, self.local)

    def held(self, seconds: float) -> float | None:
        """The recap after the load, for a moment between it and the scenario's end, when every
        form had its outcome before that read."""
        if not self.reads or self.settled is None:
            return None
        last_t, last = self.reads[-1]
        return last if self.settled <= last_t < seconds <= self.end else None


def _row(
    scenario: Scenario, moment: Moment, reader: Reader, model: FluidModel,
    sizings: dict[str, Sizing], completion: Completion | None,
) -> Row:  # fmt: skip
    inside = 0 <= moment.seconds <= scenario.clock.duration
    outside = PAST_THE_RUN if moment.seconds > 0 else BEFORE_THE_RUN
    share, why = reader.share(moment.seconds) if inside else (None, outside)
    held = reader.held(moment.seconds) if share is None and inside else None
    if held is not None:
        share, why = held, ""
    backlog = completion.backlog(moment.seconds) if completion is not None and inside else None
    ready = completion.ready_by(moment.seconds) if completion is not None and inside else None
    local = scenario.clock.local(moment.seconds).rsplit(" ", 1)[0]
    shares = {label: model.share(sizing, moment.seconds) for label, sizing in sizings.items()}
    return Row(
        moment.text, f"{local} {PUBLISHED_ZONE}", moment.seconds, moment.published,
        moment.fitted, share, why, shares.pop(AS_RUN), backlog, ready, held is not None, shares,
    )  # fmt: skip


def _curve(model: FluidModel, sizing: Sizing, horizon: float) -> list[tuple[float, float]]:
    step = max(sizing.step, horizon / CURVE_POINTS)
    count = int(horizon // step) + 1
    return [(i * step, model.share(sizing, i * step)) for i in range(count)]


def _sentence(
    deadline: str, recommended: int | None, at: dict[str, float | None], label: str, why: str
) -> str:
    """The counterfactual in one sentence: the model against the model (like with like), and
    what the replay measured."""
    modelled, replay, planned = at.get(AS_RUN), at.get("replay"), at.get(label)
    measured = f"the replay measured {pct(replay)}" if replay is not None else (
        f"the replay's share is not measured: {why}"
    )  # fmt: skip
    count = f"{recommended} instance{'s' if recommended != 1 else ''}"
    if recommended is None:
        who = "With no attack"
    elif label == CALM:
        who = f"With no attack (at the {count} plan recommends, which it has)"
    else:
        who = f"With {count} and no attack"
    return (
        f"{who}, the model takes in {pct(planned)} of all TPS by {deadline} WIB on election day, "
        f"instead of {pct(modelled)} for 2024's night as modelled ({measured})."
    )


def pct(value: float | None) -> str:
    """A share as the hindcast shows it: one decimal of a percent, '-' when not measured."""
    return "-" if value is None else f"{100 * value:.1f}%"


def _misses(rows: list[Row], tolerance: float) -> list[str]:
    """Why held-out moments lie beyond the tolerance, as the replay measured it: an idle service
    (every TPS that was ready was in) puts the gap in when TPS became ready, not in capacity."""
    missed = [
        r for r in rows if not r.fitted and r.residual_pp is not None
        and abs(r.residual_pp) > tolerance
    ]  # fmt: skip
    if not missed:
        return []
    shown = ", ".join(f"{r.moment} ({r.residual_pp:+.1f} pp)" for r in missed)
    lines = [f"held out and beyond ±{tolerance:g} pp: {shown}"]
    idle = [r for r in missed if _idle(r)]
    if idle:
        lines.append(
            f"at {', '.join(r.moment for r in idle)} the replay had taken in (almost) every TPS "
            f"that was ready (a backlog of at most {IDLE_SHARE:.0%} of them): the replay's "
            "service stood idle, so under this model's capacity the gap must come from when TPS "
            "were ready or able to upload (the arrival curve, which no election-day moment can "
            "tell) or from a limit the model lacks"
        )
    pace = _pace(rows)
    if pace is not None:
        lines.append(pace)
    busy = [r for r in missed if r.backlog and not _idle(r)]
    if busy:
        lines.append(
            f"at {', '.join(f'{r.moment} ({r.backlog} TPS waiting)' for r in busy)} the replay "
            "still had a backlog: its capacity or the faults hold it there"
        )
    return lines


def _idle(row: Row) -> bool:
    return row.backlog is not None and row.backlog <= IDLE_SHARE * max(1, row.ready or 0)


def _pace(rows: list[Row]) -> str | None:
    """How fast the published share and the replay's rose over the held-out moments measured."""
    measured = [r for r in rows if not r.fitted and r.replay is not None]
    if len(measured) < 2:
        return None
    first, last = measured[0], measured[-1]
    days = (last.seconds - first.seconds) / 86_400
    published = 100 * (last.published - first.published) / days
    replay = 100 * (last.replay - first.replay) / days  # type: ignore[operator]
    return (
        f"from {first.moment} to {last.moment} WIB the published share rose {published:.1f} pp a "
        f"day, the replay's {replay:.1f} pp a day"
    )
