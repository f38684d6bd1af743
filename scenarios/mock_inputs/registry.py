"""The device registry and the PPK operators the mock loads (``--registry``, ``--operators``).

``registry.csv``: UTF-8, header ``tps_code,dpt,device_id,secret,tz``: one row per device, two
devices per TPS (1,640,322 Sirekap accounts, two KPPS devices per TPS: kompas.tv, article
484912), in TPS-code order. The mock reads the first four columns; further columns are informative.

``operators.csv``: UTF-8, header ``kecamatan_code,operator_id,secret,tps``: one row per PPK
operator, ``per_kecamatan`` of them for every kecamatan with TPS in the population, in code
order; ``operator_id`` is ``ppk-<kecamatan>-<n>`` and the secret is deterministic from the
population seed (like a device's). The mock reads the first three columns; ``tps`` (the
kecamatan's TPS count) is informative.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scenarios.schema.geography import is_code
from scenarios.workload.population import Population, device_secret

REGISTRY_COLUMNS: Final = ("tps_code", "dpt", "device_id", "secret", "tz")
OPERATOR_COLUMNS: Final = ("kecamatan_code", "operator_id", "secret", "tps")


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


@dataclass(frozen=True, slots=True)
class OperatorRow:
    kecamatan_code: str
    operator_id: str
    secret: str


def operator_id(kecamatan_code: str, number: int) -> str:
    """``ppk-<kecamatan>-<n>``, n counting from 1."""
    return f"ppk-{kecamatan_code}-{number}"


def operator_rows(population: Population, per_kecamatan: int = 1) -> Iterator[OperatorRow]:
    """``per_kecamatan`` operators for every kecamatan with TPS in the population."""
    if per_kecamatan < 1:
        raise ValueError(f"per_kecamatan must be at least 1, got {per_kecamatan}")
    for kecamatan in sorted({tps.kecamatan for tps in population.tps}):
        for number in range(1, per_kecamatan + 1):
            identifier = operator_id(kecamatan, number)
            yield OperatorRow(kecamatan, identifier, device_secret(population.seed, identifier))


def write_operators(population: Population, path: str | Path, per_kecamatan: int = 1) -> int:
    """Write the operators CSV to ``path``; returns the number of operator rows."""
    tps_per_kecamatan = Counter(record.kecamatan for record in population.tps)
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OPERATOR_COLUMNS)
        for row in operator_rows(population, per_kecamatan):
            count_there = tps_per_kecamatan[row.kecamatan_code]
            writer.writerow((row.kecamatan_code, row.operator_id, row.secret, count_there))
            count += 1
    return count


def read_operators(path: str | Path) -> list[OperatorRow]:
    """Read an operators CSV; ValueError naming the file, the line and what is valid."""
    rows = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in OPERATOR_COLUMNS[:3] if name not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{path}: line 1: header lacks {', '.join(missing)}; the header must name "
                f"{','.join(OPERATOR_COLUMNS[:3])} (further columns allowed)"
            )
        for row in reader:
            code, identifier, secret = (row[name] or "" for name in OPERATOR_COLUMNS[:3])
            if not is_code(code, "kecamatan"):
                raise ValueError(
                    f"{path}: line {reader.line_num}: kecamatan_code {code!r} must be a "
                    "6-digit kecamatan code like '510305'"
                )
            if not identifier or not secret:
                raise ValueError(
                    f"{path}: line {reader.line_num}: operator_id and secret must not be empty"
                )
            rows.append(OperatorRow(code, identifier, secret))
    return rows
