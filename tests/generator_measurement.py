"""A measurement of one generator process (what ``calibrate`` writes), for tests to vary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rundir.generator_capacity import GeneratorCapacity, Machine, write_capacity

MACHINE = Machine(host="gen-1", cpu="Test CPU", cores=4, python="3.11.9", locust="2.x")


def measurement(**changes: Any) -> GeneratorCapacity:
    """20 forms/s on time at 1.2 MB photos, unless ``changes`` say otherwise."""
    fields: dict[str, Any] = {
        "measured_utc": "2026-12-01 10:00 UTC", "machine": MACHINE, "scenario": "s",
        "photo_bytes": 1_200_000, "requests_per_form": 13.8, "forms_per_s": 20.0,
        "requests_per_s": 276.0, "bytes_per_s": 330e6, "cpu_s_per_request": 0.003,
        "limited_by": "generator", "stages": ({"offered_forms_per_s": 20.0},),
    }  # fmt: skip
    fields.update(changes)
    return GeneratorCapacity(**fields)


def write_measurement(path: Path, **changes: Any) -> Path:
    write_capacity(path, measurement(**changes))
    return path
