"""Read a run directory into plain data, with nothing running.

The files are listed in README, "The run directory and the report".

Required: ``run.json`` and ``scenario.toml``. Everything else may be missing after a run that
failed early; the analysis then says what it could not do instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.integrity import read_export
from reports.plenary_figures import read_exported_plenary
from rundir import names
from rundir.exits import UsageError
from rundir.files import read_jsonl
from scenarios import Scenario, ScenarioError, load_scenario


class RunDirError(UsageError):
    """Not a usable run directory (exit code 2); the message names the file and what is wrong."""


MAX_SPEEDUP = 1e7  # far beyond any replay: a larger one is a damaged record

# What a file of valid JSON but the wrong shape raises once the analysis reads it.
SHAPE_ERRORS = (
    KeyError, TypeError, AttributeError, ValueError, IndexError, OverflowError,
    ZeroDivisionError, RecursionError,
)  # fmt: skip


def damaged(path: Path, error: BaseException) -> RunDirError:
    """The one-line error of a run (or plan) directory whose files cannot be analysed."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".strip(": ")[:200]
    return RunDirError(f"{path}: a file of it is damaged and cannot be analysed ({text})")


@dataclass
class RunInputs:
    path: Path
    record: dict[str, Any]
    scenario: Scenario
    timeline: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    load_summary: dict[str, Any] | None = None
    server_metrics: list[dict[str, Any]] = field(default_factory=list)
    export: list[dict[str, Any]] | None = None
    plenary: list[dict[str, Any]] = field(default_factory=list)
    exported_plenary: list[dict[str, Any]] | None = None  # the export's "plenary" lines
    balancer: list[dict[str, Any]] = field(default_factory=list)  # a deployment's haproxy.jsonl
    readback: list[dict[str, Any]] | None = None  # the read-back audit's reads (readback.jsonl)
    recap: list[dict[str, Any]] = field(default_factory=list)  # a hindcast's reads (recap.jsonl)
    missing: list[str] = field(default_factory=list)

    @property
    def clock_start(self) -> float:
        """Real UNIX time of simulated offset 0."""
        return float(self.record["clock"]["start"])

    @property
    def speedup(self) -> float:
        return float(self.record["clock"]["speedup"])


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = read_jsonl(path)
    except UnicodeDecodeError:
        raise RunDirError(f"{path}: not UTF-8 text; the file is damaged") from None
    except (ValueError, RecursionError) as error:
        raise RunDirError(str(error).splitlines()[0] or f"{path}: not JSON lines") from None
    for number, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise RunDirError(f"{path}: line {number}: not a JSON object; the file is damaged")
    return lines


def _timeline(path: Path, longest_s: float) -> list[dict[str, Any]]:
    """timeline.jsonl; each line's ``second`` a whole number within the run's longest span."""
    lines = _jsonl(path)
    for number, line in enumerate(lines, 1):
        second = line.get("second")
        if second is None:
            continue
        if not isinstance(second, int) or isinstance(second, bool) or not 0 <= second <= longest_s:
            raise RunDirError(
                f"{path}: line {number}: second {second!r} is not a whole second from 0 to "
                f"{longest_s:.0f} (the scenario's length, twice, and an hour); the file is damaged"
            )
        _finite(path, number, line, counts=COUNTS)
        if line.get("ok", 0) > line.get("count", 0):
            raise RunDirError(f"{path}: line {number}: ok exceeds count; the file is damaged")
    return lines


COUNTS = frozenset({"count", "ok", "started", "acked", "abandoned", "rejected"})


def _finite(path: Path, number: int, line: dict[str, Any], counts: frozenset[str]) -> None:
    """Every number of ``line`` finite, and those named in ``counts`` whole and not negative."""
    for key, value in line.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            if key in counts and value is not None:
                raise RunDirError(f"{path}: line {number}: {key} {value!r} is not a count")
            continue
        if not math.isfinite(value) or (
            key in counts and (not isinstance(value, int) or value < 0)
        ):
            raise RunDirError(
                f"{path}: line {number}: {key} {value!r} is not a "
                f"{'count' if key in counts else 'finite number'}; the file is damaged"
            )


def _ledger(path: Path) -> list[dict[str, Any]]:
    """ledger.jsonl: each line an object whose numbers are finite."""
    lines = _jsonl(path)
    for number, line in enumerate(lines, 1):
        _finite(path, number, line, counts=frozenset())
    return lines


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RunDirError(f"{path}: not JSON ({error}); the file is damaged") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a JSON object; the file is damaged")
    return data


# run.json keys the reports read, and the JSON type each must have
RECORD_TYPES: dict[str, type | tuple[type, ...]] = {
    "clock": dict, "faults": list, "parts": dict, "target": dict, "options": dict,
    "toxiproxy": dict, "status": str, "error": str, "aborted": str, "ended_early": str,
}  # fmt: skip


def checked_record(data: Any, path: Path) -> dict[str, Any]:
    """The run record, once its shape is one the reports can read; RunDirError naming the key."""
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a JSON object; the run record is damaged")
    for key, kind in RECORD_TYPES.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise RunDirError(f"{path}: {key!r} has the wrong type; the run record is damaged")
    speedup = (data.get("clock") or {}).get("speedup")
    if (
        not isinstance(speedup, int | float)
        or isinstance(speedup, bool)
        or not math.isfinite(speedup)
        or not 0 < speedup <= MAX_SPEEDUP
    ):
        raise RunDirError(
            f"{path}: clock.speedup missing or not a number from 0 to {MAX_SPEEDUP:g}; "
            "damaged record"
        )
    if not all(isinstance(event, dict) for event in data.get("faults") or []):
        raise RunDirError(f"{path}: 'faults' holds something other than events; damaged record")
    return data


def read_run(path: Path) -> RunInputs:
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory; give a run directory such as runs/<id>")
    record_path = path / names.RECORD
    try:
        record = checked_record(json.loads(record_path.read_text(encoding="utf-8")), record_path)
    except FileNotFoundError:
        raise RunDirError(f"{record_path}: missing; {path} is not a run directory") from None
    except UnicodeDecodeError:
        raise RunDirError(f"{record_path}: not UTF-8 text; the run record is damaged") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{record_path}: not JSON ({exc})") from None
    except RecursionError:
        raise RunDirError(f"{record_path}: nested too deep to be a run record; damaged") from None
    try:
        scenario = load_scenario(path / names.SCENARIO)
    except ScenarioError as error:
        raise RunDirError(str(error).splitlines()[0]) from None
    inputs = RunInputs(path, record, scenario)
    if (path / names.HAPROXY).exists():
        inputs.balancer = _jsonl(path / names.HAPROXY)
    if (path / names.READBACK).exists():
        inputs.readback = _jsonl(path / names.READBACK)
    if (path / names.RECAP).exists():
        inputs.recap = _jsonl(path / names.RECAP)
    for name in names.INPUTS:
        file = path / name
        if not file.exists():
            if name == names.EXPORT and inputs.readback is not None:
                continue  # audited by reading back instead
            if name != names.PLENARY or scenario.plenary.enabled:
                inputs.missing.append(name)
        elif name == names.PLENARY:
            inputs.plenary = _jsonl(file)
        elif name == names.TIMELINE:
            inputs.timeline = _timeline(file, 2 * scenario.clock.real_duration + 3600)
        elif name == names.LEDGER:
            inputs.ledger = _ledger(file)
        elif name == names.LOAD_SUMMARY:
            inputs.load_summary = _json_object(file)
        elif name == names.SERVER_METRICS:
            inputs.server_metrics = _jsonl(file)
        elif (record.get("parts") or {}).get("export_error"):
            inputs.missing.append(f"{name} (the export failed: {record['parts']['export_error']})")
        else:
            try:
                inputs.export = read_export(file)
                inputs.exported_plenary = read_exported_plenary(file)
            except ValueError as exc:
                raise RunDirError(f"{file}: not NDJSON ({exc})") from None
    return inputs
