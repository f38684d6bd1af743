"""The device registry the mock loads (``--registry FILE``).

CSV, UTF-8, header ``tps_code,dpt,device_id,secret,tz``: one row per device, two devices per TPS
(domain.md: 1,640,322 Sirekap accounts, two KPPS devices per TPS), in TPS-code order. The mock
reads the first four columns; further columns are informative.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scenarios.population import Population

REGISTRY_COLUMNS: Final = ("tps_code", "dpt", "device_id", "secret", "tz")


@dataclass(frozen=True, slots=True)
class RegistryRow:
    tps_code: str
    dpt: int
    device_id: str
    secret: str
    tz: str


def registry_rows(population: Population) -> Iterator[RegistryRow]:
    """One row per device of every TPS in the population."""
    for tps in population.tps:
        for device in tps.devices:
            yield RegistryRow(tps.code, tps.dpt, device.device_id, device.secret, tps.zone)


def write_registry(population: Population, path: str | Path) -> int:
    """Write the registry CSV to ``path``; returns the number of device rows."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REGISTRY_COLUMNS)
        for row in registry_rows(population):
            writer.writerow((row.tps_code, row.dpt, row.device_id, row.secret, row.tz))
            count += 1
    return count


def read_registry(path: str | Path) -> list[RegistryRow]:
    """Read a registry written by :func:`write_registry` (for checks and tools)."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return [
            RegistryRow(
                row["tps_code"], int(row["dpt"]), row["device_id"], row["secret"], row["tz"]
            )
            for row in csv.DictReader(handle)
        ]
