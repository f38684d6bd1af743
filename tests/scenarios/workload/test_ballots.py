"""Ballot truth: every result body obeys the arithmetic the mock enforces, deterministically."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import ELECTIONS, Election, ballot_problems, ballots_received, build_population
from scenarios.workload.ballots import result_body
from scenarios.workload.population import Device, Tps
from tests.scenarios.helpers import scenario

ADMINISTRASI = {
    "suara_sah",
    "suara_tidak_sah",
    "suara_total",
    *(
        f"{name}_{part}"
        for name in ("pemilih_dpt", "pengguna_dpt", "pengguna_total")
        for part in "jlp"
    ),
}


def tps_with(dpt: int, code: str = "5103051004001") -> Tps:
    return Tps(code, "WITA", dpt, (Device(f"{code}-1", "x"),), {})


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    dpt=st.integers(min_value=1, max_value=300),
    election=st.sampled_from(ELECTIONS),
)
def test_every_result_body_obeys_the_ballot_arithmetic(
    seed: int, dpt: int, election: Election
) -> None:
    body = result_body(seed, tps_with(dpt), election)
    assert ballot_problems(body, dpt) == []
    assert set(body["administrasi"]) >= ADMINISTRASI
    assert body["administrasi"]["pengguna_total_j"] <= ballots_received(dpt)


def test_presidential_charts_have_exactly_the_three_candidate_ids() -> None:
    body = result_body(1, tps_with(250), "ppwp")
    assert list(body["chart"]) == ["100025", "100026", "100027"]


def test_legislative_charts_use_numeric_ids() -> None:
    for election in ELECTIONS[1:]:
        chart = result_body(1, tps_with(250), election)["chart"]
        assert chart and all(key.isdigit() for key in chart)
    assert all(key.startswith("51") for key in result_body(1, tps_with(250), "pdpd")["chart"])


def test_the_five_forms_of_a_tps_share_who_voted() -> None:
    bodies = [result_body(5, tps_with(280), election) for election in ELECTIONS]
    totals = {body["administrasi"]["pengguna_total_j"] for body in bodies}
    assert len(totals) == 1


def test_ballots_are_deterministic_from_the_seed() -> None:
    population = build_population(scenario())
    again = build_population(scenario())
    for tps in population.tps[:5]:
        assert population.result_body(tps, "ppwp") == again.result_body(tps.code, "ppwp")
    other = [result_body(population.seed + 1, tps, "ppwp") for tps in population.tps[:5]]
    assert other != [population.result_body(tps, "ppwp") for tps in population.tps[:5]]


def test_ballot_problems_names_each_broken_rule() -> None:
    body = result_body(3, tps_with(200), "ppwp")
    body["chart"]["100025"] += 1
    body["administrasi"]["pemilih_dpt_l"] += 1
    problems = ballot_problems(body, 201)
    assert any(problem.startswith("sum(chart)") for problem in problems)
    assert "pemilih_dpt_j 200 != DPT 201" in problems
    assert "pemilih_dpt_j != pemilih_dpt_l + pemilih_dpt_p" in problems


def test_a_tps_receives_its_dpt_plus_a_two_percent_reserve() -> None:
    assert ballots_received(300) == 306
    assert ballots_received(249) == 249 + 5  # ceil(4.98)
    assert ballots_received(1) == 2
