"""Indonesia's regions as far as a scenario needs them: provinces, zones, sizes, code layout.

Region codes (KPU public results JSON): provinsi 2 digits, kab/kota 4, kecamatan 6, desa/kelurahan
10, TPS 13 (the desa code and a 3-digit TPS number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scenarios.schema.units import Zone

# KPU's public results JSON uses 823,236 TPS as its denominator; it is the
# reference for the national load factor.
NATIONAL_TPS: Final = 823_236
# okezone, 2 Jul 2023: 823,220 TPS = 820,161 domestic + 3,059 overseas; generated populations are
# domestic.
DOMESTIC_TPS: Final = 820_161
# okezone, 2 Jul 2023: 204,807,222 voters (DPT) over 823,220 TPS, about 248.8 per TPS.
NATIONAL_DPT: Final = 204_807_222
# rmol.id, 15 May 2024: at most 300 voters per TPS.
MAX_DPT_PER_TPS: Final = 300
# No TPS has more votes than its DPT plus a 2% reserve of ballots (scenarios/FACTS.md).
BALLOT_RESERVE: Final = 0.02
# kompas.tv (article 484912): 1,640,322 Sirekap accounts, two KPPS devices per TPS.
DEVICES_PER_TPS: Final = 2

CODE_LENGTHS: Final = {"provinsi": 2, "kabkota": 4, "kecamatan": 6, "desa": 10, "tps": 13}


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    zone: Zone
    tps: int


# TPS per province. KawalPemilu's public region/TPS list gives the three largest exactly: Jawa Barat
# 140,327, Jawa Timur 120,250, Jawa Tengah 117,197. The other 35 are est.: rough per-province counts
# rescaled so the table sums to the 820,161 domestic TPS (okezone, 2 Jul 2023) and matches the
# list's zone shares (WIB 80.2%, WITA 16.2%, WIT 3.5%). Kalimantan Barat and Tengah are WIB; Bali,
# Nusa Tenggara, the rest of Kalimantan and Sulawesi are WITA; Maluku and Papua are WIT.
_PROVINCE_ROWS: Final[tuple[tuple[str, str, Zone, int], ...]] = (
    ("11", "Aceh", "WIB", 16076),
    ("12", "Sumatera Utara", "WIB", 45961),
    ("13", "Sumatera Barat", "WIB", 17602),
    ("14", "Riau", "WIB", 19402),
    ("15", "Jambi", "WIB", 11181),
    ("16", "Sumatera Selatan", "WIB", 26099),
    ("17", "Bengkulu", "WIB", 6089),
    ("18", "Lampung", "WIB", 25863),
    ("19", "Kepulauan Bangka Belitung", "WIB", 4216),
    ("21", "Kepulauan Riau", "WIB", 5833),
    ("31", "DKI Jakarta", "WIB", 30824),
    ("32", "Jawa Barat", "WIB", 140327),
    ("33", "Jawa Tengah", "WIB", 117197),
    ("34", "DI Yogyakarta", "WIB", 11973),
    ("35", "Jawa Timur", "WIB", 120250),
    ("36", "Banten", "WIB", 33386),
    ("51", "Bali", "WITA", 12461),
    ("52", "Nusa Tenggara Barat", "WITA", 16365),
    ("53", "Nusa Tenggara Timur", "WITA", 16934),
    ("61", "Kalimantan Barat", "WIB", 18043),
    ("62", "Kalimantan Tengah", "WIB", 8106),
    ("63", "Kalimantan Selatan", "WITA", 12868),
    ("64", "Kalimantan Timur", "WITA", 11526),
    ("65", "Kalimantan Utara", "WITA", 2196),
    ("71", "Sulawesi Utara", "WITA", 7822),
    ("72", "Sulawesi Tengah", "WITA", 9278),
    ("73", "Sulawesi Selatan", "WITA", 26629),
    ("74", "Sulawesi Tenggara", "WITA", 9097),
    ("75", "Gorontalo", "WITA", 3627),
    ("76", "Sulawesi Barat", "WITA", 4196),
    ("81", "Maluku", "WIT", 4006),
    ("82", "Maluku Utara", "WIT", 2939),
    ("91", "Papua", "WIT", 5559),
    ("92", "Papua Barat", "WIT", 1875),
    ("93", "Papua Selatan", "WIT", 1966),
    ("94", "Papua Tengah", "WIT", 5466),
    ("95", "Papua Pegunungan", "WIT", 5397),
    ("96", "Papua Barat Daya", "WIT", 1526),
)
PROVINCES: Final = tuple(Province(*row) for row in _PROVINCE_ROWS)
PROVINCE_BY_CODE: Final = {province.code: province for province in PROVINCES}


@dataclass(frozen=True)
class Quantiles:
    """An empirical distribution given by its min, p10, median, p90, p99 and max."""

    min: float
    p10: float
    median: float
    p90: float
    p99: float
    max: float


# Distribution of TPS over regions (KawalPemilu's public region/TPS list, 818,339 domestic TPS).
TPS_PER_DESA: Final = Quantiles(1, 1, 6, 21, 66, 451)
TPS_PER_KECAMATAN: Final = Quantiles(3, 18, 77, 242, 559, 1589)
KECAMATAN_PER_KABKOTA: Final = Quantiles(2, 5, 12, 25, 40, 51)


def is_code(text: str, level: str) -> bool:
    """Whether ``text`` is a region code of ``level`` (``provinsi`` ... ``tps``)."""
    return len(text) == CODE_LENGTHS[level] and text.isascii() and text.isdigit()


def region_path(code: str) -> tuple[str, ...]:
    """The codes from the province down to ``code``: ``5103051004`` -> 51, 5103, 510305, ...."""
    return tuple(code[:length] for length in (2, 4, 6, 10, 13) if length <= len(code))


def zone_of(code: str) -> Zone | None:
    """The time zone of a region by its province, or None for an unknown province."""
    province = PROVINCE_BY_CODE.get(code[:2])
    return province.zone if province else None
