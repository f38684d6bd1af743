"""The ballot arithmetic a C.Hasil must satisfy, checked rule by rule (scenarios/FACTS.md).

Every violated rule is reported with the field path it concerns, so a device (or its officer) can
see at once what does not add up, as Sirekap's checks should have shown in 2024.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from mock_sirekap.elections import PRESIDENTIAL, PRESIDENTIAL_CANDIDATES, ascii_digits

REQUIRED_ADMINISTRASI: tuple[str, ...] = (
    "suara_sah",
    "suara_tidak_sah",
    "suara_total",
    "pemilih_dpt_j",
    "pemilih_dpt_l",
    "pemilih_dpt_p",
    "pengguna_dpt_j",
    "pengguna_dpt_l",
    "pengguna_dpt_p",
    "pengguna_total_j",
    "pengguna_total_l",
    "pengguna_total_p",
)

# A TPS receives ballots for its DPT plus a 2% reserve (scenarios/FACTS.md, "Ballot arithmetic").
RESERVE_FRACTION = 0.02


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


def ballots_received(dpt: int) -> int:
    """Ballots a TPS with ``dpt`` registered voters receives: DPT plus the 2% reserve."""
    return dpt + math.ceil(dpt * RESERVE_FRACTION)


def check_result(
    election: str, chart: Mapping[str, int], adm: Mapping[str, int], dpt: int
) -> list[Violation]:
    """Every rule the result breaks; an empty list means the form adds up."""
    found: list[Violation] = []
    missing = [name for name in REQUIRED_ADMINISTRASI if name not in adm]
    for name in missing:
        found.append(Violation(f"administrasi.{name}", "required", f"{name} is required"))
    found += _check_chart_keys(election, chart)
    if missing:
        return found  # the sums below need every required field

    sah, tidak_sah, total = adm["suara_sah"], adm["suara_tidak_sah"], adm["suara_total"]
    chart_sum = sum(chart.values())
    if chart_sum != sah:
        found.append(
            Violation(
                "chart",
                "candidates_sum_to_valid",
                f"candidate votes add up to {chart_sum} but suara_sah is {sah}",
            )
        )
    if sah + tidak_sah != total:
        found.append(
            Violation(
                "administrasi.suara_total",
                "valid_plus_invalid_is_total",
                f"suara_sah {sah} + suara_tidak_sah {tidak_sah} = {sah + tidak_sah}, "
                f"but suara_total is {total}",
            )
        )
    voters = adm["pengguna_total_j"]
    if total != voters:
        found.append(
            Violation(
                "administrasi.pengguna_total_j",
                "total_is_voters",
                f"suara_total {total} differs from pengguna_total_j {voters} (voters who voted)",
            )
        )
    received = ballots_received(dpt)
    if voters > received:
        found.append(
            Violation(
                "administrasi.pengguna_total_j",
                "within_ballots_received",
                f"{voters} voters exceed the {received} ballots this TPS received "
                f"(DPT {dpt} plus 2% reserve)",
            )
        )
    if adm["pemilih_dpt_j"] != dpt:
        found.append(
            Violation(
                "administrasi.pemilih_dpt_j",
                "dpt_matches_registry",
                f"pemilih_dpt_j {adm['pemilih_dpt_j']} differs from this TPS's DPT {dpt}",
            )
        )
    if adm["pengguna_dpt_j"] > adm["pemilih_dpt_j"]:
        found.append(
            Violation(
                "administrasi.pengguna_dpt_j",
                "dpt_voters_within_dpt",
                f"pengguna_dpt_j {adm['pengguna_dpt_j']} exceeds pemilih_dpt_j "
                f"{adm['pemilih_dpt_j']}",
            )
        )
    found += _check_gender_totals(adm)
    return found


def _check_chart_keys(election: str, chart: Mapping[str, int]) -> list[Violation]:
    if election == PRESIDENTIAL:
        keys = set(chart)
        if keys != PRESIDENTIAL_CANDIDATES:
            expected = ", ".join(sorted(PRESIDENTIAL_CANDIDATES))
            return [
                Violation(
                    "chart",
                    "known_candidates",
                    f"presidential chart must list exactly candidates {expected}; "
                    f"got {', '.join(sorted(keys)) or 'none'}",
                )
            ]
        return []
    bad = sorted(key for key in chart if not ascii_digits(key))
    if bad or not chart:
        shown = ", ".join(repr(key) for key in bad) or "none"
        return [
            Violation(
                "chart",
                "known_candidates",
                f"chart keys must be numeric party or candidate ids; got {shown}",
            )
        ]
    return []


def _check_gender_totals(adm: Mapping[str, int]) -> list[Violation]:
    """Each j (total) field is l (male) + p (female)."""
    found: list[Violation] = []
    for name in sorted(adm):
        if not name.endswith("_j"):
            continue
        stem = name[:-2]
        male, female = adm.get(f"{stem}_l"), adm.get(f"{stem}_p")
        if male is None or female is None:
            found.append(
                Violation(
                    f"administrasi.{stem}_l",
                    "total_is_male_plus_female",
                    f"{name} needs both {stem}_l and {stem}_p",
                )
            )
        elif male + female != adm[name]:
            found.append(
                Violation(
                    f"administrasi.{name}",
                    "total_is_male_plus_female",
                    f"{name} is {adm[name]} but {stem}_l {male} + {stem}_p {female} = "
                    f"{male + female}",
                )
            )
    return found
