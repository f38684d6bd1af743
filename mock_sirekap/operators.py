"""PPK operators: the accounts that run a kecamatan's plenary recap, read from CSV or generated.

CSV header: ``kecamatan_code,operator_id,secret`` (further columns allowed), one row per operator,
one or more per kecamatan. Every kecamatan must hold TPS in the registry; an ``operator_id`` is
unique across the file.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from mock_sirekap.elections import REGION_LEVELS, ascii_digits
from mock_sirekap.registry import Registry, RegistryError

HEADER: tuple[str, ...] = ("kecamatan_code", "operator_id", "secret")
# Region code lengths (KPU public results JSON): a kecamatan (PPK) code has 6 digits.
KECAMATAN_LEN = REGION_LEVELS[2]
SHOWN_CODES = 5


@dataclass(frozen=True, slots=True)
class Operator:
    operator_id: str
    kecamatan_code: str
    secret: str


@dataclass(frozen=True, slots=True)
class Operators:
    by_id: dict[str, Operator]

    def check(self, operator_id: str, kecamatan_code: str, secret: str) -> bool:
        """True when the operator belongs to that kecamatan and the secret is right (constant
        time)."""
        operator = self.by_id.get(operator_id)
        given = secret.encode("utf-8", "surrogatepass")
        if operator is None or operator.kecamatan_code != kecamatan_code:
            hmac.compare_digest(given, given)  # the same work either way
            return False
        return hmac.compare_digest(operator.secret.encode(), given)

    def __len__(self) -> int:
        return len(self.by_id)


NO_OPERATORS = Operators({})


def kecamatan_index(registry: Registry) -> dict[str, tuple[str, ...]]:
    """Every kecamatan of the registry and its TPS codes, sorted."""
    index: dict[str, list[str]] = {}
    for code in sorted(registry.tps):
        index.setdefault(code[:KECAMATAN_LEN], []).append(code)
    return {kecamatan: tuple(codes) for kecamatan, codes in index.items()}


def load_operators(path: Path, registry: Registry) -> Operators:
    """Read an operators CSV; raise RegistryError naming the file, line and what is valid."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read operators: {exc.strerror}") from exc
    known = kecamatan_index(registry)
    by_id: dict[str, Operator] = {}
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(col.strip() for col in header[: len(HEADER)]) != HEADER:
            raise RegistryError(
                f"{path}: line 1: header must start with {','.join(HEADER)}; got "
                f"{','.join(header or []) or 'an empty file'}"
            )
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            operator = _parse_row(f"{path}: line {line_no}", row, known)
            if operator.operator_id in by_id:
                raise RegistryError(
                    f"{path}: line {line_no}: operator_id {operator.operator_id!r} appears twice; "
                    "every operator needs an id of its own"
                )
            by_id[operator.operator_id] = operator
    if not by_id:
        raise RegistryError(f"{path}: the operators file lists no operator")
    return Operators(by_id)


def _parse_row(where: str, row: list[str], known: dict[str, tuple[str, ...]]) -> Operator:
    if len(row) < len(HEADER):
        raise RegistryError(f"{where}: expected {len(HEADER)} columns ({','.join(HEADER)})")
    kecamatan, operator_id, secret = (cell.strip() for cell in row[: len(HEADER)])
    if len(kecamatan) != KECAMATAN_LEN or not ascii_digits(kecamatan):
        raise RegistryError(
            f"{where}: kecamatan_code {kecamatan!r} must be {KECAMATAN_LEN} digits "
            "(provinsi 2 + kab/kota 2 + kecamatan 2)"
        )
    if kecamatan not in known:
        shown = ", ".join(list(known)[:SHOWN_CODES])
        more = f", ... ({len(known)} in all)" if len(known) > SHOWN_CODES else ""
        raise RegistryError(
            f"{where}: kecamatan_code {kecamatan} holds no TPS in the registry; "
            f"valid kecamatan codes: {shown}{more}"
        )
    if not operator_id or not secret:
        raise RegistryError(f"{where}: operator_id and secret must not be empty")
    return Operator(operator_id, kecamatan, secret)


def generate_operators(registry: Registry, seed: int) -> Operators:
    """One operator per kecamatan, ``ppk-<kecamatan>-1``, its secret derived from the seed."""
    by_id = {}
    for kecamatan in kecamatan_index(registry):
        operator_id = f"ppk-{kecamatan}-1"
        secret = hashlib.sha256(f"operator|{seed}|{operator_id}".encode()).hexdigest()[:24]
        by_id[operator_id] = Operator(operator_id, kecamatan, secret)
    return Operators(by_id)


def write_operators(operators: Operators, path: Path) -> None:
    """Write ``operators`` as CSV in the format ``load_operators`` reads."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for operator in operators.by_id.values():
            writer.writerow((operator.kecamatan_code, operator.operator_id, operator.secret))
