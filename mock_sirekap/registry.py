"""The TPS the server knows and their devices: read from CSV, or generated from a seed.

CSV header: ``tps_code,dpt,device_id,secret`` (further columns allowed), one row per device.
The 13-digit TPS code holds its region path: provinsi 2, kab/kota 4, kecamatan 6, desa 10 digits.
"""

from __future__ import annotations

import csv
import hmac
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mock_sirekap.elections import REGION_LEVELS, ascii_digits

HEADER: tuple[str, ...] = ("tps_code", "dpt", "device_id", "secret")
# At most 300 voters per TPS (rmol.id, 15 May 2024).
MAX_DPT = 300
# Two KPPS devices per TPS: 1,640,322 Sirekap accounts for ~823k TPS (kompas.tv, article 484912).
DEVICES_PER_TPS = 2


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file, line and what is valid."""


@dataclass(slots=True)
class TpsEntry:
    code: str
    dpt: int
    devices: dict[str, str] = field(default_factory=dict)  # device_id -> secret


@dataclass(slots=True)
class Registry:
    tps: dict[str, TpsEntry]
    device_tps: dict[str, str]  # device_id -> tps_code
    region_tps_count: Counter[str]  # region code prefix (and "0") -> number of TPS

    @classmethod
    def from_entries(cls, entries: list[TpsEntry]) -> Registry:
        tps = {entry.code: entry for entry in entries}
        device_tps = {device: entry.code for entry in entries for device in entry.devices}
        counts: Counter[str] = Counter()
        for code in tps:
            counts["0"] += 1
            for level in REGION_LEVELS[:-1]:
                counts[code[:level]] += 1
        return cls(tps=tps, device_tps=device_tps, region_tps_count=counts)

    def check_device(self, device_id: str, tps_code: str, secret: str) -> bool:
        """True when the device belongs to that TPS and the secret is right (constant time)."""
        entry = self.tps.get(tps_code)
        expected = entry.devices.get(device_id) if entry is not None else None
        given = secret.encode("utf-8", "surrogatepass")
        if expected is None:
            hmac.compare_digest(given, given)  # the same work either way
            return False
        return hmac.compare_digest(expected.encode(), given)

    def children(self, region_code: str, child_len: int) -> list[str]:
        """Codes one level below ``region_code`` that hold at least one TPS, sorted."""
        prefix = "" if region_code == "0" else region_code
        pool = self.tps if child_len == REGION_LEVELS[-1] else self.region_tps_count
        return sorted(code for code in pool if len(code) == child_len and code.startswith(prefix))

    def tps_in(self, region_code: str) -> int:
        if len(region_code) == REGION_LEVELS[-1]:
            return 1 if region_code in self.tps else 0
        return self.region_tps_count.get(region_code, 0)


def load_registry(path: Path) -> Registry:
    """Read a registry CSV; raise RegistryError naming the file, line and what is valid."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read registry: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(col.strip() for col in header[: len(HEADER)]) != HEADER:
            raise RegistryError(
                f"{path}: line 1: header must start with {','.join(HEADER)}; got "
                f"{','.join(header or []) or 'an empty file'}"
            )
        entries: dict[str, TpsEntry] = {}
        seen_devices: set[str] = set()
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            entry_code, dpt, device, secret = _parse_row(path, line_no, row)
            if device in seen_devices:
                raise RegistryError(f"{path}: line {line_no}: device_id {device!r} appears twice")
            seen_devices.add(device)
            entry = entries.setdefault(entry_code, TpsEntry(entry_code, dpt))
            if entry.dpt != dpt:
                raise RegistryError(
                    f"{path}: line {line_no}: TPS {entry_code} has dpt {dpt} here but {entry.dpt} "
                    "on an earlier line; every row of one TPS must give the same dpt"
                )
            entry.devices[device] = secret
    if not entries:
        raise RegistryError(f"{path}: the registry lists no TPS")
    return Registry.from_entries(list(entries.values()))


def _parse_row(path: Path, line_no: int, row: list[str]) -> tuple[str, int, str, str]:
    where = f"{path}: line {line_no}"
    if len(row) < len(HEADER):
        raise RegistryError(f"{where}: expected {len(HEADER)} columns ({','.join(HEADER)})")
    code, dpt_text, device, secret = (cell.strip() for cell in row[: len(HEADER)])
    if len(code) != REGION_LEVELS[-1] or not ascii_digits(code):
        raise RegistryError(f"{where}: tps_code {code!r} must be 13 digits (desa code + TPS no.)")
    if not ascii_digits(dpt_text) or not 1 <= int(dpt_text) <= MAX_DPT:
        raise RegistryError(f"{where}: dpt {dpt_text!r} must be a whole number 1-{MAX_DPT}")
    if not device or not secret:
        raise RegistryError(f"{where}: device_id and secret must not be empty")
    return code, int(dpt_text), device, secret


def generate_registry(n_tps: int, seed: int) -> Registry:
    """A synthetic but well-formed registry of ``n_tps`` TPS, the same for the same seed.

    Region sizes follow the spread of KawalPemilu's public region/TPS list: TPS per desa
    1-21 (p90 21), desa per kecamatan 5-19, kecamatan per kab/kota 5-25, kab/kota per provinsi 6-27.
    """
    if n_tps < 1:
        raise RegistryError(f"--tps must be at least 1; got {n_tps}")
    rng = random.Random(seed)
    entries: list[TpsEntry] = []
    prov, kab, kec, desa = 11, 1, 1, 1
    left = {"desa": rng.randint(5, 19), "kec": rng.randint(5, 25), "kab": rng.randint(6, 27)}
    while len(entries) < n_tps:
        desa_code = f"{prov:02d}{kab:02d}{kec:02d}{1000 + desa:04d}"
        for number in range(1, min(rng.randint(1, 21), n_tps - len(entries)) + 1):
            code = f"{desa_code}{number:03d}"
            entry = TpsEntry(code, rng.randint(150, MAX_DPT))
            for index in range(1, DEVICES_PER_TPS + 1):
                entry.devices[f"{code}-{index}"] = f"{rng.getrandbits(96):024x}"
            entries.append(entry)
        desa += 1
        left["desa"] -= 1
        if left["desa"] == 0:
            desa, kec, left["desa"] = 1, kec + 1, rng.randint(5, 19)
            left["kec"] -= 1
        if left["kec"] == 0:
            kec, kab, left["kec"] = 1, kab + 1, rng.randint(5, 25)
            left["kab"] -= 1
        if left["kab"] == 0:
            kab, prov, left["kab"] = 1, prov + 1, rng.randint(6, 27)
    return Registry.from_entries(entries)


def write_registry(registry: Registry, path: Path) -> None:
    """Write ``registry`` as CSV in the format ``load_registry`` reads."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for entry in registry.tps.values():
            for device, secret in entry.devices.items():
                writer.writerow((entry.code, entry.dpt, device, secret))
