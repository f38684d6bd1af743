"""Which forms a device misreads on its first upload, and the numbers it reads instead.

Deterministic from the population seed, per TPS and election (its own random stream), so the
harness knows the truth (:func:`scenarios.workload.ballots.result_body`) and every misread.

A misread turns one digit of one number into the digit the app confuses it with: 2->7, 3->8,
4->9, in any position (41->91 is 4->9 in the tens; national and regional press, 2024). Two
kinds:

- consistent: the misread is in a candidate's votes and propagated into the sums (suara_sah,
  suara_total, pengguna_total_j and its l or p part), so every ballot rule still holds and the
  server stores it; only the plenary's manual totals can show it. Only misreads that keep the
  voters within the ballots received qualify; when none does, the form gets an inconsistent one.
- inconsistent: one digit of a candidate's votes, suara_sah, suara_tidak_sah or suara_total
  changes alone, so a sum no longer holds and the server's arithmetic check answers 422.

A form whose numbers hold none of the digits 2, 3, 4 cannot be misread this way and is left as is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from scenarios.schema.population import Election
from scenarios.workload.ballots import ResultBody, ballots_received, result_body
from scenarios.workload.sampling import stream

if TYPE_CHECKING:
    from scenarios.schema.quality import QualitySpec
    from scenarios.workload.population import Population, Tps

# Digit misreads by OCR/OMR in 2024 (national and regional press): 3->8, 2->7, 4->9, 41->91.
SWAPS: Final = {"2": "7", "3": "8", "4": "9"}
# Administrasi fields an inconsistent misread may hit: each one alone breaks a sum.
_SUMS: Final = ("suara_sah", "suara_tidak_sah", "suara_total")


@dataclass(frozen=True)
class Misread:
    """One misread form: what the device reads, and which fields differ from the truth."""

    tps_code: str
    election: Election
    consistent: bool
    field: str  # where the digit was misread, e.g. "chart.100025"
    swap: str  # the number as counted and as read, e.g. "41->91"
    fields: tuple[str, ...]  # every field that differs from the truth, sorted
    body: ResultBody  # the numbers as read

    def as_json(self) -> dict[str, Any]:
        """The ``misread`` object of the ledger (without what happened to it)."""
        return {"fields": list(self.fields), "consistent": self.consistent}


def _swaps(value: int) -> list[tuple[int, int]]:
    """(position, misread value) for every digit of ``value`` the app may misread."""
    text = str(value)
    return [
        (position, int(text[:position] + SWAPS[digit] + text[position + 1 :]))
        for position, digit in enumerate(text)
        if digit in SWAPS
    ]


def misread(quality: QualitySpec, seed: int, tps: Tps, election: Election) -> Misread | None:
    """The misread of this TPS's form on its first upload, or None if it is read right."""
    if election not in quality.elections or quality.misread_fraction <= 0:
        return None
    rng = stream(seed, "misread", tps.code, election)
    if rng.random() >= quality.misread_fraction:
        return None
    want_consistent = rng.random() < quality.consistent_fraction
    truth = result_body(seed, tps, election)
    if want_consistent:
        found = _consistent(rng, tps, election, truth)
        if found is not None:
            return found
    return _inconsistent(rng, tps, election, truth)


def _consistent(
    rng: random.Random, tps: Tps, election: Election, truth: ResultBody
) -> Misread | None:
    adm = truth["administrasi"]
    room = ballots_received(tps.dpt) - adm["pengguna_total_j"]
    options = [
        (key, value, new)
        for key, value in truth["chart"].items()
        for _, new in _swaps(value)
        if new - value <= room
    ]
    if not options:
        return None
    key, value, new = rng.choice(options)
    delta = new - value
    side = rng.choice(("pengguna_total_l", "pengguna_total_p"))
    chart = {**truth["chart"], key: new}
    changed = ("suara_sah", "suara_total", "pengguna_total_j", side)
    administrasi = {**adm, **{name: adm[name] + delta for name in changed}}
    fields = sorted([f"chart.{key}", *(f"administrasi.{name}" for name in changed)])
    return Misread(
        tps.code,
        election,
        True,
        f"chart.{key}",
        f"{value}->{new}",
        tuple(fields),
        {"chart": chart, "administrasi": administrasi},
    )


def _inconsistent(
    rng: random.Random, tps: Tps, election: Election, truth: ResultBody
) -> Misread | None:
    numbers = [(f"chart.{key}", value) for key, value in truth["chart"].items()]
    numbers += [(f"administrasi.{name}", truth["administrasi"][name]) for name in _SUMS]
    options = [(field, value, new) for field, value in numbers for _, new in _swaps(value)]
    if not options:
        return None
    field, value, new = rng.choice(options)
    section, _, key = field.partition(".")
    chart, administrasi = dict(truth["chart"]), dict(truth["administrasi"])
    (chart if section == "chart" else administrasi)[key] = new
    return Misread(
        tps.code,
        election,
        False,
        field,
        f"{value}->{new}",
        (field,),
        {"chart": chart, "administrasi": administrasi},
    )


def misreads(
    quality: QualitySpec, population: Population, forms: Iterable[tuple[str, Election]]
) -> dict[tuple[str, Election], Misread]:
    """The misread of every form in ``forms`` (TPS code, election) that has one."""
    found: dict[tuple[str, Election], Misread] = {}
    if not quality.active:
        return found
    for code, election in forms:
        item = misread(quality, population.seed, population.get(code), election)
        if item is not None:
            found[(code, election)] = item
    return found
