"""The ballot rules (scenarios/FACTS.md), one by one: each broken alone is reported alone."""

from __future__ import annotations

import pytest

from mock_sirekap.arithmetic import ballots_received, check_result
from tests.mock_sirekap.conftest import valid_result

DPT = 250


def _rules(
    chart: dict[str, int], adm: dict[str, int], election: str = "ppwp"
) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in check_result(election, chart, adm, DPT)]


def test_a_consistent_form_breaks_no_rule() -> None:
    body = valid_result(DPT)
    assert _rules(body["chart"], body["administrasi"]) == []


def test_ballots_received_are_dpt_plus_a_two_percent_reserve() -> None:
    assert ballots_received(250) == 255
    assert ballots_received(300) == 306
    assert ballots_received(1) == 2  # the reserve rounds up


@pytest.mark.parametrize(
    ("change", "expected", "message"),
    [
        (
            {"chart": {"100025": +5}},
            [("chart", "candidates_sum_to_valid")],
            "candidate votes add up to",
        ),
        (
            {"administrasi": {"suara_tidak_sah": +1, "suara_total": 0}},
            [("administrasi.suara_total", "valid_plus_invalid_is_total")],
            "suara_sah",
        ),
        (
            {"administrasi": {"pengguna_total_j": +2, "pengguna_total_l": +2}},
            [("administrasi.pengguna_total_j", "total_is_voters")],
            "differs from pengguna_total_j",
        ),
        (
            {"administrasi": {"pemilih_dpt_j": +1, "pemilih_dpt_l": +1}},
            [("administrasi.pemilih_dpt_j", "dpt_matches_registry")],
            "differs from this TPS's DPT 250",
        ),
        (
            {"administrasi": {"pemilih_dpt_p": +1}},
            [("administrasi.pemilih_dpt_j", "total_is_male_plus_female")],
            "pemilih_dpt_l 125 + pemilih_dpt_p 126 = 251",
        ),
    ],
)
def test_each_rule_is_reported_with_its_field_path(
    change: dict[str, dict[str, int]], expected: list[tuple[str, str]], message: str
) -> None:
    body = valid_result(DPT)
    for section, deltas in change.items():
        for key, delta in deltas.items():
            body[section][key] += delta
    violations = check_result("ppwp", body["chart"], body["administrasi"], DPT)
    assert [(v.field, v.rule) for v in violations] == expected
    assert message in violations[0].message


def test_more_voters_than_ballots_received_is_impossible() -> None:
    voters = 260  # DPT 250 + 2% = 255 ballots
    chart = {"100025": 100, "100026": 100, "100027": voters - 200}
    adm = {
        "suara_sah": voters, "suara_tidak_sah": 0, "suara_total": voters,
        "pemilih_dpt_j": DPT, "pemilih_dpt_l": 125, "pemilih_dpt_p": 125,
        "pengguna_dpt_j": 240, "pengguna_dpt_l": 120, "pengguna_dpt_p": 120,
        "pengguna_total_j": voters, "pengguna_total_l": 130, "pengguna_total_p": 130,
    }  # fmt: skip
    violations = check_result("ppwp", chart, adm, DPT)
    assert [(v.field, v.rule) for v in violations] == [
        ("administrasi.pengguna_total_j", "within_ballots_received")
    ]
    assert violations[0].message == (
        "260 voters exceed the 255 ballots this TPS received (DPT 250 plus 2% reserve)"
    )


def test_dpt_voters_cannot_exceed_the_dpt() -> None:
    body = valid_result(DPT)
    adm = body["administrasi"]
    adm.update(pengguna_dpt_j=DPT + 1, pengguna_dpt_l=DPT // 2 + 1, pengguna_dpt_p=DPT - DPT // 2)
    assert ("administrasi.pengguna_dpt_j", "dpt_voters_within_dpt") in _rules(body["chart"], adm)


def test_missing_fields_and_unknown_candidates_are_named() -> None:
    body = valid_result(DPT)
    del body["administrasi"]["suara_total"]
    chart = {**body["chart"], "100099": 0}
    violations = check_result("ppwp", chart, body["administrasi"], DPT)
    assert [(v.field, v.rule) for v in violations] == [
        ("administrasi.suara_total", "required"),
        ("chart", "known_candidates"),
    ]
    assert violations[1].message == (
        "presidential chart must list exactly candidates 100025, 100026, 100027; "
        "got 100025, 100026, 100027, 100099"
    )


def test_legislative_charts_take_numeric_party_ids() -> None:
    body = valid_result(DPT)
    adm = body["administrasi"]
    chart = {"1": adm["suara_sah"] - 10, "2": 10}
    assert _rules(chart, adm, "pdpr") == []
    assert _rules({"PDI": adm["suara_sah"]}, adm, "pdpr") == [("chart", "known_candidates")]
