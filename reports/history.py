"""The history of a scenario: its saved runs, oldest first, each with its key figures.

A folder is searched for run directories (a folder holding ``run.json``) at any depth; the search
does not look inside a run directory, a plan directory (``sweep.json``: its stages are a plan's
load steps, not runs of the scenario) or a hidden folder. Each run is read from its directory
alone: the scenario's name, status, start time and exit code from ``run.json``; its figures from
``report/summary.json`` (``figures``), or, for a run without a report, by analysing the run
directory again (reports.figures.measure_run). Runs are ordered by their start time and grouped
by scenario name.

A run is in the trend when its status is "completed" and its figures could be read. Any other
run (interrupted, failed, still "running", a damaged ``run.json`` or ``summary.json``) is listed
with its status and why, and left out of the trend.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reports.build import untrusted_reasons
from reports.compare import settings
from reports.figures import Figure, measure_run, show_value
from reports.inputs import SHAPE_ERRORS
from reports.measurable import resolve
from reports.verdict import evaluate, verdict
from rundir import names
from rundir.exits import LoadtestError, UsageError
from rundir.files import read_json
from scenarios import ScenarioError, load_scenario

COMPLETED = "completed"
DAMAGED = "damaged"  # run.json unreadable: not even the status is known
OTHER_SETTINGS = "settings differ from the latest run's: "  # a problem that is no damage
SUMMARY = f"{names.REPORT}/summary.json"
# the default key figures: globs over a run's figure keys, in the order a table shows them
DEFAULT_FIGURES = (
    "upload.p50",
    "upload.p95",
    "upload.p99",
    "all.error_ratio",
    "completion.final",
    "throughput.tps_per_day",
    "recovery.time_to_recover(*)",
)
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


class HistoryError(UsageError):
    """A bad argument of ``history`` (exit code 2): the message says what is valid."""


@dataclass(frozen=True)
class HistoryRun:
    """One saved run as the history shows it."""

    path: Path
    run_id: str
    scenario: str
    started: dt.datetime | None  # UTC; None when neither run.json nor the folder's name says
    status: str  # run.json's status, or "damaged"
    exit_code: int | None
    verdict: str  # passed | breached | inconclusive | error, or "" when not known
    breached: tuple[str, ...] = ()  # the SLOs the run breached (their expressions)
    baseline: str = ""  # the verdict of its --baseline comparison, when it had one
    figures: Mapping[str, Figure] = field(default_factory=dict)
    source: str = ""  # where the figures came from: summary.json, or the run analysed again
    problem: str = ""  # why the run is left out of the trend ("" when it is in)

    @property
    def in_trend(self) -> bool:
        return not self.problem

    @property
    def failed_slos(self) -> bool:
        return bool(self.breached) or self.verdict == "breached"

    @property
    def order(self) -> tuple[dt.datetime, str]:
        return (self.started or _EPOCH, self.path.name)


def find_runs(folder: Path) -> list[Path]:
    """``folder`` if it is a run directory, else every run directory beneath it (module doc);
    a folder that cannot be read is listed too (it is then shown as damaged, never dropped)."""
    if _has(folder, names.RECORD):
        return [folder]
    found: list[Path] = []

    def unreadable(error: OSError) -> None:
        if error.filename and Path(error.filename) != folder:
            found.append(Path(error.filename))

    for top, dirs, _ in os.walk(folder, onerror=unreadable):
        here = Path(top)
        if here != folder and (_has(here, names.RECORD) or _has(here, names.SWEEP)):
            dirs.clear()
            if _has(here, names.RECORD) and not _has(here, names.SWEEP):
                found.append(here)
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return found


def _has(folder: Path, name: str) -> bool:
    try:
        return (folder / name).exists()
    except OSError:
        return False


def _moment(text: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(text))
        return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        return None


def _from_folder(path: Path) -> tuple[dt.datetime | None, str]:
    """The start time and scenario a run folder's name (``<UTC time>-<scenario>``) gives."""
    stamp, _, scenario = path.name.partition("-")
    try:
        moment = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None, ""
    return moment, scenario


def _summary_figures(summary: dict[str, Any]) -> dict[str, Figure]:
    """summary.json's figures; ValueError when they are not figures."""
    given = summary["figures"]
    if not isinstance(given, dict):
        raise ValueError("'figures' is not an object")
    try:
        found = {str(key): Figure.from_dict(str(key), data) for key, data in given.items()}
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"a figure is damaged ({type(error).__name__}: {error})") from None
    for key, figure in found.items():
        if figure.value is not None and math.isnan(figure.value):
            raise ValueError(f"figure {key!r} is NaN")
    return found


def _measured(path: Path) -> tuple[dict[str, Figure], tuple[str, ...], str]:
    """A run without a report, analysed again: its figures, breached SLOs and verdict."""
    run = measure_run(path)
    slos = [slo for slo in run.inputs.scenario.slo.parsed if slo.scope != "plan"]
    results = evaluate(slos, lambda slo: resolve(run.facts, run.inputs, slo))
    outcome = verdict(results, untrusted_reasons(run.inputs))
    return run.figures, tuple(r.slo.expression for r in results if r.breached), outcome.name


def _reported(run: HistoryRun, summary: dict[str, Any]) -> HistoryRun:
    """``run`` with what its summary.json says: the final exit code, the verdict, the SLOs
    breached and the verdict of its --baseline comparison."""
    code, given, baseline = summary.get("exit_code"), summary.get("slos"), summary.get("baseline")
    slos: list[Any] = given if isinstance(given, list) else []
    return replace(
        run,
        exit_code=code if isinstance(code, int) else run.exit_code,
        verdict=str(summary.get("verdict") or ""),
        breached=tuple(
            str(s.get("expression")) for s in slos
            if isinstance(s, dict) and s.get("status") == "breached"
        ),
        baseline=str(baseline.get("verdict") or "") if isinstance(baseline, dict) else "",
    )  # fmt: skip


def read_history_run(path: Path) -> HistoryRun:
    """One run, never an error: what cannot be read becomes the run's ``problem``."""
    try:
        return _read_history_run(path)
    except (*SHAPE_ERRORS, OSError, LoadtestError) as error:
        started, scenario = _from_folder(path)
        return HistoryRun(
            path, path.name, scenario or "?", started, DAMAGED, None, "",
            problem=f"cannot be read: {_first_line(error)}",
        )  # fmt: skip


def _read_history_run(path: Path) -> HistoryRun:
    started, scenario = _from_folder(path)
    record = read_json(path / names.RECORD)
    if record is None:
        return HistoryRun(
            path, path.name, scenario or "?", started, DAMAGED, None, "",
            problem=f"{names.RECORD} is not readable JSON",
        )  # fmt: skip
    named = record.get("scenario")
    scenario = (str(named.get("name") or "") if isinstance(named, dict) else "") or scenario or "?"
    started = _moment(record.get("started_utc")) or started
    status = str(record.get("status") or "unknown")
    code = record.get("exit_code")
    base = HistoryRun(
        path, str(record.get("run_id") or path.name), scenario, started, status,
        code if isinstance(code, int) else None, "",
    )  # fmt: skip
    summary = read_json(path / SUMMARY)
    if summary is None and (path / SUMMARY).exists():
        return replace(base, problem=f"{SUMMARY} is not readable JSON")
    if summary is not None:
        base = _reported(base, summary)
    if status != COMPLETED:
        why = record.get("error") or record.get("ended_early") or record.get("aborted")
        return replace(base, problem=f"status {status}" + (f": {why}" if why else ""))
    if summary is not None and "figures" in summary:
        try:
            return replace(base, figures=_summary_figures(summary), source=SUMMARY)
        except ValueError as error:
            return replace(base, problem=f"{SUMMARY}: {error}")
    try:
        figures, breached, outcome = _measured(path)
    except (*SHAPE_ERRORS, LoadtestError, OSError) as error:
        return replace(base, problem=f"cannot be analysed again: {_first_line(error)}")
    if summary is not None:  # a report without figures: its verdict stands
        return replace(base, figures=figures, source="the run directory, analysed again")
    return replace(
        base, figures=figures, breached=breached, verdict=outcome,
        source="the run directory, analysed again (no report)",
    )  # fmt: skip


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def read_runs(folder: Path) -> list[HistoryRun]:
    """Every run beneath ``folder``, oldest first."""
    return sorted((read_history_run(path) for path in find_runs(folder)), key=lambda r: r.order)


def by_scenario(runs: Sequence[HistoryRun]) -> dict[str, list[HistoryRun]]:
    """The runs grouped by scenario name (names sorted), each group oldest first."""
    groups: dict[str, list[HistoryRun]] = {}
    for run in sorted(runs, key=lambda r: r.order):
        groups.setdefault(run.scenario, []).append(run)
    return dict(sorted(groups.items()))


def _counted(groups: Mapping[str, Sequence[HistoryRun]]) -> str:
    return ", ".join(
        f"{name} ({len(runs)} run{'s' if len(runs) != 1 else ''})" for name, runs in groups.items()
    )


def choose(runs: Sequence[HistoryRun], scenario: str | None, folder: Path) -> list[HistoryRun]:
    """The runs of ``scenario`` (or of the only scenario there is); HistoryError otherwise."""
    groups = by_scenario(runs)
    if not groups:
        what = (
            "does not exist" if not folder.exists() else f"holds no run directory ({names.RECORD})"
        )
        raise HistoryError(
            f"{folder}: {what}; give the folder runs are saved in (run --out, default runs/)"
        )
    if scenario is None:
        if len(groups) == 1:
            return next(iter(groups.values()))
        raise HistoryError(
            f"{folder} holds runs of {len(groups)} scenarios: {_counted(groups)}; choose one with "
            "--scenario NAME"
        )
    if scenario not in groups:
        raise HistoryError(
            f"--scenario {scenario!r}: no run of it in {folder}; scenarios found: "
            + _counted(groups)
        )
    return groups[scenario]


def figure_keys(runs: Sequence[HistoryRun], wanted: Sequence[str] = ()) -> list[str]:
    """The key figures: ``wanted`` (keys or globs, each must match) or DEFAULT_FIGURES (those the
    runs have), in the order given; HistoryError naming a pattern no run has and the valid keys."""
    available = list(dict.fromkeys(key for run in runs if run.in_trend for key in run.figures))
    keys: list[str] = []
    for pattern in wanted or DEFAULT_FIGURES:
        found = [key for key in available if key == pattern or fnmatch.fnmatchcase(key, pattern)]
        if not found and wanted:
            valid = ", ".join(available) if available else "none (no run in the trend has figures)"
            raise HistoryError(
                f"--figure {pattern!r}: no run of {runs[0].scenario} has such a figure; "
                f"valid (globs allowed): {valid}"
            )
        keys += found
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class Point:
    run: HistoryRun
    index: int  # the run's place in the history, from 1
    figure: Figure | None  # None: the run has no such figure

    @property
    def value(self) -> float | None:
        return None if self.figure is None else self.figure.value

    @property
    def why(self) -> str:
        return "the run has no such figure" if self.figure is None else self.figure.why


@dataclass(frozen=True)
class Trend:
    """One key figure across the runs in the trend, oldest first."""

    key: str
    points: tuple[Point, ...]

    @property
    def figure(self) -> Figure | None:
        """A run's figure of this key (its kind, unit and which way is better)."""
        return next((p.figure for p in self.points if p.figure is not None), None)

    @property
    def measured(self) -> list[Point]:
        return [p for p in self.points if p.value is not None]

    @property
    def why(self) -> str:
        """Why no run measured it (the first reason); "" when one did."""
        if self.measured:
            return ""
        return next((p.why for p in self.points if p.why), "not measured")


@dataclass(frozen=True)
class History:
    folder: Path
    scenario: str
    runs: tuple[HistoryRun, ...]  # every run of the scenario, oldest first
    keys: tuple[str, ...]  # the key figures shown
    dropped: tuple[tuple[str, str], ...] = ()  # default key figures no run measured, and why

    @property
    def in_trend(self) -> list[HistoryRun]:
        return [run for run in self.runs if run.in_trend]

    @property
    def left_out(self) -> list[HistoryRun]:
        return [run for run in self.runs if not run.in_trend]

    def trends(self) -> list[Trend]:
        numbered = [(index, run) for index, run in enumerate(self.runs, 1) if run.in_trend]
        return [
            Trend(key, tuple(Point(run, index, run.figures.get(key)) for index, run in numbered))
            for key in self.keys
        ]


def history(folder: Path, scenario: str | None = None, wanted: Sequence[str] = ()) -> History:
    """The history of ``scenario`` in ``folder`` with the key figures ``wanted`` (or the
    defaults a run in the trend measured); HistoryError on a usage error (module doc)."""
    runs = same_settings(choose(read_runs(folder), scenario, folder))
    found = History(folder, runs[0].scenario, tuple(runs), tuple(figure_keys(runs, wanted)))
    if wanted:  # asked for by name: shown even when no run measured it
        return found
    unmeasured = [(t.key, t.why) for t in found.trends() if not t.measured]
    kept = tuple(key for key in found.keys if key not in dict(unmeasured))
    return replace(found, keys=kept, dropped=tuple(unmeasured))


def same_settings(runs: list[HistoryRun]) -> list[HistoryRun]:
    """The runs, those whose settings (seed, load factor, speedup, length: what ``compare``
    requires) differ from the latest run in the trend left out of it, with the difference."""
    known = {run.path: _settings(run.path) for run in runs if run.in_trend}
    latest = next((run for run in reversed(runs) if known.get(run.path)), None)
    if latest is None:
        return runs
    want = known[latest.path] or {}
    kept = []
    for run in runs:
        got = known.get(run.path)
        differ = [f"{k} {got[k]!r} (latest {want[k]!r})" for k in want if got and got[k] != want[k]]
        why = OTHER_SETTINGS + ", ".join(differ)
        kept.append(replace(run, problem=why) if differ else run)
    return kept


def _settings(path: Path) -> dict[str, object] | None:
    try:
        return settings(load_scenario(path / names.SCENARIO))
    except (ScenarioError, OSError):
        return None


def shown(figure: Figure | None) -> str:
    """A figure's value as a table shows it: "-" when not measured."""
    return "-" if figure is None else show_value(figure, figure.value)
