"""``generator.json``: what one load-generator process sustains on the host it was measured on.

Written by ``sirekap-loadtest calibrate`` (harness/calibrate.py), read by ``validate``, ``plan`` and
``run`` to say how many generator processes a scenario needs (scenarios/workload/generator_need.py).
The figures are those of the highest calibration stage at which the one process kept the arrival
schedule (start slip p99 within 1 s, every form due started, its CPU below ``CPU_CEILING``):

- ``forms_per_s``: forms started on time per second;
- ``requests_per_s`` and ``bytes_per_s``: what it sent at that rate, at ``photo_bytes`` photos;
- ``cpu_s_per_request``: its CPU seconds per request (median over the stages that kept up).

``limited_by`` says what ended the ramp: ``generator`` (a stage beyond it did not keep up: the
figures are the process's capacity), ``target`` (the target failed first) or ``stages`` (the
ramp ran out of stages); for the last two the figures are only a lower bound of the capacity,
which the sizing says. ``stages`` keeps every stage measured.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rundir.exits import UsageError
from rundir.files import write_json

FORMAT = "sirekap-generator-capacity/1"
FILE_NAME = "generator.json"  # in the runs folder (runs/, or --out / --runs)
DEFAULT_PATH = Path("runs") / FILE_NAME
CPU_CEILING = 0.9  # a process above this share of one core lags its own schedule
# what ended the ramp, in words (``generator``: the process itself)
LIMITS = {
    "generator": "the process fell behind",
    "target": "the target failed before the process did",
    "stages": "the ramp ran out of stages before the process fell behind (calibrate again with "
    "a higher --start-forms or --max-stages)",
}


@dataclass(frozen=True)
class Machine:
    """The host a measurement was made on."""

    host: str
    cpu: str
    cores: int
    python: str
    locust: str


@dataclass(frozen=True)
class GeneratorCapacity:
    measured_utc: str
    machine: Machine
    scenario: str  # the scenario whose request mix was measured
    photo_bytes: int  # median photo size sent
    requests_per_form: float
    forms_per_s: float
    requests_per_s: float
    bytes_per_s: float
    cpu_s_per_request: float | None
    limited_by: str
    stages: tuple[dict[str, Any], ...] = field(default=())
    source: str = ""  # the file it was read from

    @property
    def lower_bound(self) -> bool:
        """True when the ramp ended before this process did: its capacity is at least this."""
        return self.limited_by != "generator"

    def describe(self) -> str:
        """One line: what one process sustains, and where and when it was measured."""
        bound = "at least " if self.lower_bound else ""
        return (
            f"one generator process keeps {bound}{rate(self.forms_per_s)} forms/s on time "
            f"({rate(self.requests_per_s)} requests/s, {rate(self.bytes_per_s / 1e6)} MB/s at "
            f"{self.photo_bytes / 1e6:.3g} MB photos), measured on {self.machine.host} "
            f"({self.machine.cpu}, {self.machine.cores} cores) {self.measured_utc}"
        )

    def bound_line(self) -> str | None:
        """Why the figures are only a lower bound (None: they are the process's capacity)."""
        if not self.lower_bound:
            return None
        return (
            f"{LIMITS[self.limited_by]}: the process may do more than measured, so a count from "
            "it may be more than needed"
        )

    def document(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        return {"format": FORMAT, **data, "stages": list(self.stages)}


MAX_FILE_BYTES = 10_000_000
MAX_TEXT = 200
SMALLEST, LARGEST = 1e-6, 1e12  # a figure outside these was not measured by calibrate


def rate(value: float) -> str:
    """A rate for a line of text: three significant digits, whole numbers from 100 up."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def write_capacity(path: Path, capacity: GeneratorCapacity) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, capacity.document())


def read_capacity(path: Path) -> GeneratorCapacity:
    """The measurement in ``path``; UsageError (one line naming the file and what is wrong)."""
    if not path.exists():
        raise UsageError(f"{path}: cannot read the generator measurement: No such file")
    if not path.is_file():  # a folder, a FIFO, a device: never read (a FIFO would hang)
        raise UsageError(f"{path}: not a file; give the generator.json calibrate wrote")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            size = path.stat().st_size
            raise OSError(
                f"{size:,} bytes is not a generator measurement (at most {MAX_FILE_BYTES:,})"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise UsageError(f"{path}: cannot read the generator measurement: {why}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(
            f"{path}: not JSON ({exc}); `sirekap-loadtest calibrate` writes it"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        given = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UsageError(
            f"{path}: format {given!r} is not a generator measurement ({FORMAT!r}); "
            "`sirekap-loadtest calibrate` writes one"
        )
    fields = _Fields(path, data)
    machine = fields.section("machine")
    capacity = GeneratorCapacity(
        measured_utc=fields.text(data, "measured_utc"),
        machine=Machine(
            host=fields.text(machine, "host", "machine.host"),
            cpu=fields.text(machine, "cpu", "machine.cpu"),
            cores=fields.whole(machine, "cores", "machine.cores"),
            python=fields.text(machine, "python", "machine.python"),
            locust=fields.text(machine, "locust", "machine.locust"),
        ),
        scenario=fields.text(data, "scenario"),
        photo_bytes=fields.whole(data, "photo_bytes"),
        requests_per_form=fields.number(data, "requests_per_form"),
        forms_per_s=fields.number(data, "forms_per_s"),
        requests_per_s=fields.number(data, "requests_per_s"),
        bytes_per_s=fields.number(data, "bytes_per_s"),
        cpu_s_per_request=fields.optional_number(data, "cpu_s_per_request"),
        limited_by=fields.text(data, "limited_by"),
        stages=fields.stages(),
        source=str(path),
    )
    if capacity.limited_by not in LIMITS:
        raise UsageError(
            f"{path}: limited_by {capacity.limited_by!r} is not one of {', '.join(LIMITS)}"
        )
    return capacity


class _Fields:
    """Reads the fields of one measurement file; UsageError naming the field and what is valid."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def _get(self, table: dict[str, Any], key: str, name: str) -> Any:
        if key not in table:
            raise UsageError(f"{self.path}: the generator measurement has no field {name!r}")
        return table[key]

    def section(self, key: str) -> dict[str, Any]:
        value = self._get(self.data, key, key)
        if not isinstance(value, dict):
            raise UsageError(f"{self.path}: {key} must be a table of the host's facts")
        return value

    def text(self, table: dict[str, Any], key: str, name: str | None = None) -> str:
        value = self._get(table, key, name or key)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
            shown = repr(value)[:40]
            raise UsageError(
                f"{self.path}: {name or key} must be text of 1 to {MAX_TEXT} characters; got "
                f"{shown}"
            )
        return value

    def stages(self) -> tuple[dict[str, Any], ...]:
        value = self.data.get("stages") or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise UsageError(f"{self.path}: stages must be a list of the stages measured")
        return tuple(value)

    def number(self, table: dict[str, Any], key: str, name: str | None = None) -> float:
        value = self._get(table, key, name or key)
        valid = not isinstance(value, bool) and isinstance(value, int | float)
        if not (valid and math.isfinite(value) and SMALLEST <= value <= LARGEST):
            shown = name or key
            raise UsageError(
                f"{self.path}: {shown} must be a number from {SMALLEST:g} to {LARGEST:g}; got "
                f"{value!r}"
            )
        return float(value)

    def whole(self, table: dict[str, Any], key: str, name: str | None = None) -> int:
        value = self._get(table, key, name or key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LARGEST:
            shown = name or key
            raise UsageError(
                f"{self.path}: {shown} must be a whole number from 1 to {LARGEST:g}; got {value!r}"
            )
        return value

    def optional_number(self, table: dict[str, Any], key: str) -> float | None:
        """A number > 0, or null (the field is still required)."""
        return None if self._get(table, key, key) is None else self.number(table, key)
