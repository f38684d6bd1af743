"""The true result of each TPS's form ("truth"), deterministic from the scenario seed.

:func:`result_body` gives the body a device submits, without ``pages`` (the device adds the
SHA-256 of each page photo it uploaded). It obeys the ballot arithmetic the mock enforces
(scenarios/FACTS.md, "Ballot arithmetic"), which :func:`ballot_problems` checks:

- sum(chart) == suara_sah; suara_sah + suara_tidak_sah == suara_total == pengguna_total_j;
- pengguna_total_j <= ballots received = DPT + ceil(2% of DPT); pemilih_dpt_j == the TPS's DPT;
- pengguna_dpt_j <= pemilih_dpt_j; every *_j == *_l + *_p.

Who voted (administrasi) is drawn once per TPS and shared by its five forms; the invalid votes
and the chart are drawn per form.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Final, TypedDict

from scenarios.schema.geography import BALLOT_RESERVE
from scenarios.schema.population import Election
from scenarios.workload.sampling import apportion, stream

if TYPE_CHECKING:
    from scenarios.workload.population import Tps

# KPU public results JSON: presidential candidate ids 100025, 100026, 100027 (pairs 01, 02, 03).
PRESIDENTIAL_CANDIDATES: Final = ("100025", "100026", "100027")
# est.: national shares of the three pairs in 2024, used as the centre of each TPS's split.
PRESIDENTIAL_SHARES: Final = (0.2495, 0.5859, 0.1647)
# est.: 18 national parties on the 2024 legislative ballots (ids 1-18 here).
PARTY_COUNT: Final = 18
# est.: DPD candidates per province ballot.
DPD_CANDIDATES: Final = 20
# est.: male share of voters; the 2024 DPT is close to half and half.
MALE_SHARE: Final = 0.499
# est.: turnout per TPS; 2024's national turnout was around 80%.
TURNOUT: Final = (0.68, 0.92)
# est.: invalid votes, higher on the crowded legislative ballots than on the presidential one.
INVALID_RATE: Final = {"ppwp": (0.005, 0.03), "legislative": (0.04, 0.15)}

_TRIPLES: Final = ("pemilih_dpt", "pengguna_dpt", "pengguna_dptb", "pengguna_non_dpt")


class ResultBody(TypedDict):
    """A result submission without its ``pages``."""

    chart: dict[str, int]
    administrasi: dict[str, int]


def ballots_received(dpt: int) -> int:
    """Ballots a TPS receives: its DPT plus a 2% reserve (scenarios/FACTS.md)."""
    return dpt + math.ceil(BALLOT_RESERVE * dpt)


def result_body(seed: int, tps: Tps, election: Election) -> ResultBody:
    """The true chart and administrasi of ``tps``'s ``election`` form."""
    administrasi = _who_voted(seed, tps)
    rng = stream(seed, "ballot", tps.code, election)
    total = administrasi["pengguna_total_j"]
    low, high = INVALID_RATE["ppwp" if election == "ppwp" else "legislative"]
    invalid = round(total * rng.uniform(low, high))
    valid = total - invalid
    administrasi |= {"suara_sah": valid, "suara_tidak_sah": invalid, "suara_total": total}
    return {"chart": _chart(seed, rng, tps, election, valid), "administrasi": administrasi}


def _who_voted(seed: int, tps: Tps) -> dict[str, int]:
    rng = stream(seed, "voters", tps.code)
    dpt = tps.dpt
    registered_men = _binomial_like(rng, dpt, MALE_SHARE)
    voted = min(dpt, round(dpt * rng.uniform(*TURNOUT)))
    # Split the voters by sex within what the register allows.
    men = min(registered_men, max(voted - (dpt - registered_men), _binomial_like(rng, voted, 0.5)))
    reserve = ballots_received(dpt) - dpt
    moved_in = rng.randint(0, reserve // 2)  # DPTb: registered elsewhere, voting here
    walk_in = rng.randint(0, (reserve - moved_in) // 2)  # non-DPT voters with an ID card
    fields = {
        "pemilih_dpt": (registered_men, dpt - registered_men),
        "pengguna_dpt": (men, voted - men),
        "pengguna_dptb": _split(rng, moved_in),
        "pengguna_non_dpt": _split(rng, walk_in),
    }
    result: dict[str, int] = {}
    for name, (male, female) in fields.items():
        result |= {f"{name}_j": male + female, f"{name}_l": male, f"{name}_p": female}
    for suffix in ("l", "p"):
        result[f"pengguna_total_{suffix}"] = sum(
            result[f"{name}_{suffix}"] for name in _TRIPLES[1:]
        )
    result["pengguna_total_j"] = result["pengguna_total_l"] + result["pengguna_total_p"]
    return result


def _binomial_like(rng: random.Random, count: int, share: float) -> int:
    """About ``count * share``, with binomial-sized noise, kept within [0, count]."""
    spread = math.sqrt(count * share * (1 - share))
    return min(count, max(0, round(rng.gauss(count * share, spread))))


def _split(rng: random.Random, count: int) -> tuple[int, int]:
    male = rng.randint(0, count)
    return male, count - male


def _chart(
    seed: int, rng: random.Random, tps: Tps, election: Election, valid: int
) -> dict[str, int]:
    if election == "ppwp":
        ids: tuple[str, ...] = PRESIDENTIAL_CANDIDATES
        centre: tuple[float, ...] = PRESIDENTIAL_SHARES
    elif election == "pdpd":
        # One DPD ballot per province: candidate ids carry the province code.
        ids = tuple(f"{tps.provinsi}{number:03d}" for number in range(1, DPD_CANDIDATES + 1))
        centre = _national_weights(seed, f"pdpd-{tps.provinsi}", len(ids))
    else:
        ids = tuple(str(number) for number in range(1, PARTY_COUNT + 1))
        centre = _national_weights(seed, election, len(ids))
    # Each TPS leans its own way around the centre (a log-normal factor per option).
    weights = [share * math.exp(0.5 * rng.gauss(0.0, 1.0)) for share in centre]
    return dict(zip(ids, apportion(valid, weights), strict=True))


def _national_weights(seed: int, label: str, count: int) -> tuple[float, ...]:
    """Uneven vote shares for one ballot, the same for every TPS of the run."""
    rng = stream(seed, "shares", label)
    raw = [rng.paretovariate(1.2) for _ in range(count)]
    total = sum(raw)
    return tuple(value / total for value in raw)


def ballot_problems(body: ResultBody, dpt: int) -> list[str]:
    """The ballot-arithmetic rules ``body`` breaks for a TPS with ``dpt`` voters ([] if none)."""
    chart, adm = body["chart"], body["administrasi"]
    problems = []
    if sum(chart.values()) != adm["suara_sah"]:
        problems.append(f"sum(chart) {sum(chart.values())} != suara_sah {adm['suara_sah']}")
    if adm["suara_sah"] + adm["suara_tidak_sah"] != adm["suara_total"]:
        problems.append("suara_sah + suara_tidak_sah != suara_total")
    if adm["suara_total"] != adm["pengguna_total_j"]:
        problems.append("suara_total != pengguna_total_j")
    if adm["pengguna_total_j"] > ballots_received(dpt):
        problems.append(f"pengguna_total_j > ballots received {ballots_received(dpt)}")
    if adm["pemilih_dpt_j"] != dpt:
        problems.append(f"pemilih_dpt_j {adm['pemilih_dpt_j']} != DPT {dpt}")
    if adm["pengguna_dpt_j"] > adm["pemilih_dpt_j"]:
        problems.append("pengguna_dpt_j > pemilih_dpt_j")
    for name in (*_TRIPLES, "pengguna_total"):
        if f"{name}_j" in adm and adm[f"{name}_j"] != adm[f"{name}_l"] + adm[f"{name}_p"]:
            problems.append(f"{name}_j != {name}_l + {name}_p")
    if any(value < 0 for value in (*chart.values(), *adm.values())):
        problems.append("a negative count")
    return problems
