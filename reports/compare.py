"""Compare a run with a baseline, figure by figure: improved, unchanged or regressed.

A side is one run directory, or several repeated runs of the same settings (a folder of them):
its value of a figure is the median over its runs. Run-to-run noise is larger than the
histograms' 1% quantisation, so a move counts only beyond the figure's tolerance (the defaults
below, measured by bench/compare_noise.py and documented in the README; a scenario's
``[compare]`` and ``--tolerance`` override them) and beyond the spread of either side's repeated
runs, and beyond the sampling noise of an error ratio or a rate (``NOISE_Z`` standard errors
of the difference, from the requests behind each: a few failures of thirty requests are not a
change). Two runs compare only when the scenario, seed, load factor and run length match and both
can be trusted; otherwise the comparison is "not comparable" and says why (exit code 4).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from reports.build import untrusted_reasons
from reports.figures import Figure, MeasuredRun
from rundir import exits, names
from scenarios import Scenario, load_factor
from scenarios.schema.compare import Tolerance, canonical_key, is_glob, tolerance_for

IMPROVED, UNCHANGED, REGRESSED = "improved", "unchanged", "regressed"
DIFFERS, NOT_MEASURED = "differs", "not measured"  # differs: a figure no way of which is better

# the defaults: a move within them is noise (README, "Comparing runs"; bench/compare_noise.py)
LATENCY = Tolerance(relative=0.25, absolute=0.020, text="25% or 20ms")
LATENCY_EXTREME = Tolerance(relative=0.50, absolute=0.050, text="50% or 50ms")  # max, mean
ERROR_RATIO = Tolerance(absolute=0.02, text="2pt")
RATE = Tolerance(relative=0.10, text="10%")
SIM_DURATION = Tolerance(relative=0.50, real_s=3.0, text="50% or 3 real s")
BACKLOG = Tolerance(relative=0.25, absolute=2, text="25% or 2")
AMPLIFICATION = Tolerance(relative=1.0, absolute=1.0, text="100% or 1")  # a max of ratios
COMPLETION = Tolerance(absolute=0.01, text="1pt")
PER_DAY = Tolerance(relative=0.05, text="5%")
COUNT = Tolerance(relative=0.05, absolute=1, text="5% or 1")
SLIP = Tolerance(relative=0.50, absolute=0.25, text="50% or 250ms")
KNEE = Tolerance(relative=0.10, text="10%")  # a plan's knee: bisection steps of 5% by default
INSTANCES = Tolerance(relative=0.10, text="10%")  # a plan's instance counts follow its knee
RESIDUAL = Tolerance(absolute=2.0, text="2pp")  # a hindcast's residuals, percentage points
EXACT = Tolerance(text="exact")  # what must not move at all: integrity, misreads undetected
NOISE_Z = 3.0  # standard errors of a difference that sampling alone can make


def default_tolerance(figure: Figure) -> Tolerance:
    scope, metric = figure.scope, figure.metric
    if scope in {"integrity", "quality"} and metric != "acknowledged":
        return EXACT
    if scope == "hindcast" and metric.startswith("max_residual"):
        return RESIDUAL
    if scope == "plan" and figure.kind != "ratio":
        return KNEE if metric == "knee_rps" else INSTANCES
    if metric in {"p50", "p90", "p95", "p99", "p999"}:
        return LATENCY
    if metric in {"max", "mean"}:
        return LATENCY_EXTREME
    if metric in {"error_ratio", "success_ratio"}:
        return ERROR_RATIO
    if metric in {"rate", "requests", "failures"}:
        return RATE
    if figure.simulated:
        return SIM_DURATION
    if metric in {"backlog_peak", "max_backlog", "abandoned", "outages", "discrepancies"}:
        return BACKLOG
    if metric.endswith("retry_amplification"):
        return AMPLIFICATION
    if figure.kind == "ratio":
        return COMPLETION
    if metric in {"tps_per_day", "tps_per_hour"}:
        return PER_DAY
    if metric == "slip_p99":
        return SLIP
    return COUNT


class Sided(Protocol):
    """What a comparison reads of one side: runs (:class:`Side`) or plans."""

    @property
    def label(self) -> str: ...
    @property
    def paths(self) -> list[Path]: ...
    @property
    def scenario_name(self) -> str: ...
    @property
    def speedup(self) -> float: ...
    @property
    def repeats(self) -> str: ...  # what its spread is over: "repeated runs", "sweeps"
    def value(self, key: str) -> float | None: ...
    def spread(self, key: str) -> float: ...
    def requests(self, key: str) -> int | None: ...
    def why_not(self, key: str) -> str: ...


S = TypeVar("S", bound=Sided)


class Measured(Protocol):
    """A saved run or plan as a side holds it: where it is and its figures."""

    @property
    def path(self) -> Path: ...
    @property
    def figures(self) -> dict[str, Figure]: ...


def side_label(items: Sequence[Measured]) -> str:
    """A side's name: its first folder, and how many more."""
    first = items[0].path.name
    return first if len(items) == 1 else f"{first} and {len(items) - 1} more"


def first_missing(items: Sequence[Measured], key: str) -> str:
    """Why figure ``key`` is not measured on a side: the first item without it; "" if none."""
    for item in items:
        found = item.figures.get(key)
        if found is None:
            return f"{item.path.name} has no such figure"
        if found.value is None:
            return f"{item.path.name}: {found.why}"
    return ""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: one run, or repeated runs of the same settings."""

    runs: tuple[MeasuredRun, ...]

    @property
    def paths(self) -> list[Path]:
        return [run.path for run in self.runs]

    @property
    def scenario_name(self) -> str:
        return self.first.inputs.scenario.name

    @property
    def repeats(self) -> str:
        return "repeated runs"

    @property
    def first(self) -> MeasuredRun:
        return self.runs[0]

    @property
    def label(self) -> str:
        return side_label(self.runs)

    def values(self, key: str) -> list[float] | None:
        """The figure in every run; None when a run lacks it (with the first reason)."""
        found = [run.figures.get(key) for run in self.runs]
        if any(f is None or f.value is None for f in found):
            return None
        return [f.value for f in found if f is not None and f.value is not None]

    def value(self, key: str) -> float | None:
        values = self.values(key)
        if values is None:
            return None
        if any(math.isinf(v) for v in values):
            return math.inf if sum(map(math.isinf, values)) * 2 > len(values) else max(values)
        return statistics.median(values)

    def spread(self, key: str) -> float:
        values = [v for v in self.values(key) or () if math.isfinite(v)]
        return max(values) - min(values) if len(values) > 1 else 0.0

    def requests(self, key: str) -> int | None:
        """The requests behind an endpoint's figure (the median over the runs)."""
        found = [f.n for run in self.runs if (f := run.figures.get(key)) is not None]
        counts = [n for n in found if n]
        return int(statistics.median(counts)) if counts else None

    def why_not(self, key: str) -> str:
        return first_missing(self.runs, key)

    @property
    def speedup(self) -> float:
        return self.first.inputs.speedup


@dataclass(frozen=True)
class Compared:
    figure: Figure  # the new side's (kind, better, name)
    base: float | None
    new: float | None
    allowed: float  # the move that is still unchanged, in the figure's unit
    tolerance: str  # as written, with where it came from
    verdict: str
    why: str = ""  # not measured: why
    slo: bool = False  # the figure is an SLO's metric

    @property
    def key(self) -> str:
        return self.figure.key

    @property
    def delta(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        if math.isinf(self.base) or math.isinf(self.new):
            return 0.0 if self.base == self.new else math.copysign(math.inf, self.new - self.base)
        return self.new - self.base

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or not self.base or math.isinf(delta):
            return None
        return delta / abs(self.base)


def sampling_noise(metric: str, base: float, new: float, n_base: int, n_new: int) -> float:
    """The move of an error ratio or a rate that chance alone makes with ``NOISE_Z`` standard
    errors: binomial for a ratio (the two runs' failures pooled), Poisson for a rate (its
    count); 0 for any other figure."""
    if n_base < 1 or n_new < 1:
        return 0.0
    spread = 1 / n_base + 1 / n_new
    if metric in {"error_ratio", "success_ratio"}:
        pooled = (base * n_base + new * n_new) / (n_base + n_new)
        return NOISE_Z * math.sqrt(max(0.0, pooled * (1 - pooled)) * spread)
    if metric == "rate":
        return NOISE_Z * math.sqrt(spread) * abs(base)
    return 0.0


def judge(figure: Figure, base: float | None, new: float | None, allowed: float) -> str:
    if base is None or new is None:
        return NOT_MEASURED
    if base == new:
        return UNCHANGED
    if math.isinf(base) or math.isinf(new):  # "never": a window that did not recover
        worse = math.isinf(new) if figure.better == "lower" else math.isinf(base)
    else:
        if abs(new - base) <= allowed:
            return UNCHANGED
        worse = new > base if figure.better == "lower" else new < base
    if figure.better == "either":
        return DIFFERS
    return REGRESSED if worse else IMPROVED


@dataclass(frozen=True)
class Comparison(Generic[S]):
    base: S
    new: S
    figures: list[Compared]
    unfair: list[str] = field(default_factory=list)  # why the two cannot be compared
    differences: list[str] = field(default_factory=list)  # what differs, compared anyway
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[Compared]:
        return [c for c in self.figures if c.verdict == REGRESSED]

    @property
    def measured(self) -> list[Compared]:
        return [c for c in self.figures if c.verdict != NOT_MEASURED]

    @property
    def verdict(self) -> str:
        if self.unfair or not self.measured:
            return "not comparable"
        return "regressed" if self.regressed else "no regression"

    @property
    def exit_code(self) -> int:
        return {"regressed": exits.BREACHED, "no regression": exits.OK}.get(
            self.verdict, exits.INCONCLUSIVE
        )

    @property
    def reason(self) -> str:
        if self.unfair:
            return "; ".join(self.unfair)
        if not self.measured:
            return "no figure was measured in both"
        counts = {v: sum(c.verdict == v for c in self.figures) for v in (IMPROVED, UNCHANGED)}
        tail = f"{counts[UNCHANGED]} unchanged, {counts[IMPROVED]} improved"
        missing = len(self.figures) - len(self.measured)
        tail += f", {missing} not measured" if missing else ""
        if self.regressed:
            shown = ", ".join(c.key for c in self.regressed[:6])
            more = f" and {len(self.regressed) - 6} more" if len(self.regressed) > 6 else ""
            return f"{len(self.regressed)} regressed ({shown}{more}); {tail}"
        return tail


def settings(scenario: Scenario) -> dict[str, object]:
    """What two runs' scenarios must share to compare, by name as a reason shows it."""
    return {
        "scenario": scenario.name,
        "seed": scenario.population.seed,
        "load factor": round(load_factor(scenario).factor, 6),
        "speedup": scenario.clock.speedup,
        "simulated length": scenario.clock.duration,
    }


def _setting(run: MeasuredRun) -> dict[str, object]:
    tps = len({line.get("tps_code") for line in run.inputs.ledger})
    return {**settings(run.inputs.scenario), "TPS": tps}


def unfair(runs: Sequence[tuple[str, MeasuredRun]]) -> list[str]:
    """Why the runs (labelled, the base first) cannot be compared; empty when they can."""
    reasons: list[str] = []
    (first_label, first), rest = runs[0], runs[1:]
    want = _setting(first)
    for label, run in rest:
        got = _setting(run)
        reasons += [
            f"{name} differs ({first_label} {want[name]!r}, {label} {got[name]!r})"
            for name in want
            if got[name] != want[name]
        ]
    for label, run in runs:
        trust = untrusted_reasons(run.inputs)
        error = run.inputs.record.get("error")
        lacking: list[str] = [
            name for name in (names.TIMELINE, names.LEDGER) if name in run.inputs.missing
        ]
        if not run.inputs.timeline and names.TIMELINE not in lacking:
            lacking.append(f"{names.TIMELINE} lines")
        if error:
            reasons.append(f"{label} failed ({error})")
        elif lacking:
            reasons.append(f"{label} lacks {' and '.join(lacking)}: nothing of it can be judged")
        elif trust:
            reasons.append(f"{label} cannot be trusted ({trust})")
    return list(dict.fromkeys(reasons))


def differences(base: MeasuredRun, new: MeasuredRun) -> list[str]:
    """What differs between two comparable runs and may explain a change."""

    def windows(run: MeasuredRun) -> list[str]:
        clock = run.inputs.scenario.clock
        return [
            f"{f.name!r} ({f.layer} {f.kind} {clock.local(f.start)}-{clock.local(f.end)})"
            for f in run.inputs.scenario.timeline
        ]

    found = []
    a, b = windows(base), windows(new)
    if a != b:
        only_a, only_b = [w for w in a if w not in b], [w for w in b if w not in a]
        found.append(
            "fault windows differ: "
            + "; ".join(
                part
                for part in (
                    f"only the base has {', '.join(only_a)}" if only_a else "",
                    f"only the new run has {', '.join(only_b)}" if only_b else "",
                )
                if part
            )
        )
    slos_a = [s.expression for s in base.inputs.scenario.slo.parsed]
    slos_b = [s.expression for s in new.inputs.scenario.slo.parsed]
    if slos_a != slos_b:
        found.append("the SLOs differ (each run's own SLOs are shown)")
    target_a = (base.inputs.record.get("target") or {}).get("url")
    target_b = (new.inputs.record.get("target") or {}).get("url")
    kinds = [(r.inputs.record.get("target") or {}).get("kind") for r in (base, new)]
    if kinds[0] != kinds[1] or (kinds[0] != "mock" and target_a != target_b):
        found.append(f"the targets differ ({target_a} vs {target_b})")
    versions = [(r.inputs.record.get("versions") or {}) for r in (base, new)]
    changed = [k for k in versions[1] if k in versions[0] and versions[0][k] != versions[1][k]]
    if changed:
        found.append("versions differ: " + ", ".join(changed))
    return found


def compare(
    base: Side, new: Side, given: Mapping[str, str] = {}, *, command_line: Mapping[str, str] = {}
) -> Comparison[Side]:
    """Compare ``new`` with ``base``. Tolerances: the defaults, then ``given`` (the new run's
    ``[compare]``), then ``command_line`` (``--tolerance``); a later source wins."""
    labelled = [("the base", run) for run in base.runs] + [("the new run", r) for r in new.runs]
    if len(base.runs) > 1 or len(new.runs) > 1:
        labelled = [(f"{side} {r.path.name}", r) for side, r in labelled]
    reasons = unfair(labelled)
    slo_keys = {slo.key for slo in new.first.inputs.scenario.slo.parsed}
    keys = list(dict.fromkeys([*base.first.figures, *new.first.figures]))
    figures = []
    for key in keys:
        figure = new.first.figures.get(key) or base.first.figures[key]
        figures.append(judged(figure, base, new, given, command_line, key in slo_keys))
    notes = unused_tolerances(keys, given, command_line)
    base_given = base.first.inputs.scenario.compare
    if base_given != dict(given):
        notes.append("the base's [compare] tolerances differ; the new run's are used")
    return Comparison(base, new, figures, reasons, differences(base.first, new.first), notes)


def unused_tolerances(
    keys: Sequence[str], given: Mapping[str, str], command_line: Mapping[str, str]
) -> list[str]:
    """A note for each tolerance named exactly (no glob) that no compared figure has: a window
    of another name, a figure of the other kind of comparison."""
    notes = []
    for origin, table in (("[compare]", given), ("--tolerance", command_line)):
        for written in table:
            if not is_glob(written) and canonical_key(written) not in keys:
                notes.append(f"{origin} {written!r} names no figure compared here: not used")
    return notes


def judged(
    figure: Figure,
    base: Sided,
    new: Sided,
    given: Mapping[str, str],
    command_line: Mapping[str, str],
    slo: bool,
) -> Compared:
    """``figure`` compared between the sides: its tolerance (the default, the scenario's, the
    command line's), widened by the sides' spread and by sampling noise, and the verdict."""
    key = figure.key
    tolerance, source = default_tolerance(figure), "default"
    for origin, table in (("scenario", given), ("--tolerance", command_line)):
        found = tolerance_for(key, figure.kind, figure.metric, dict(table))
        if found is not None:
            tolerance, source = found[0], f"{origin} {found[1]}"
    a, b = base.value(key), new.value(key)
    allowed = tolerance.allowed(a if a is not None else 0.0, new.speedup if figure.simulated else 1)
    spread = max(base.spread(key), new.spread(key))
    shown = f"{tolerance.text} ({source})"
    if spread > allowed:
        allowed, shown = spread, f"{shown}; the {new.repeats}' spread is wider"
    n_a, n_b = base.requests(key), new.requests(key)
    if a is not None and b is not None and n_a and n_b and math.isfinite(a + b):
        noise = sampling_noise(figure.metric, a, b, n_a, n_b)
        if noise > allowed:
            allowed, shown = noise, f"{shown}; chance in {n_a} and {n_b} requests is wider"
    why = base.why_not(key) or new.why_not(key)
    return Compared(figure, a, b, allowed, shown, judge(figure, a, b, allowed), why, slo)


def side_of(runs: Sequence[MeasuredRun]) -> Side:
    return Side(tuple(runs))


def run_folders(path: Path) -> list[Path]:
    """``path`` if it is a run directory, else the run directories directly inside it (repeated
    runs, oldest first by name)."""
    if _holds_record(path):
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if _holds_record(p))


def _holds_record(path: Path) -> bool:
    try:
        return (path / names.RECORD).exists()
    except OSError:  # an unreadable folder: read_run says so when it is the one asked for
        return False
