"""Misreads: deterministic from the seed, digit swaps, and the mock's arithmetic check's verdict.

A consistent misread must pass the server's ballot arithmetic (mock_sirekap.arithmetic) so only
the plenary can catch it; an inconsistent one must be refused.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mock_sirekap.arithmetic import check_result
from scenarios import (
    ELECTIONS,
    ballot_problems,
    build_population,
    misread,
    misreads,
    read_operators,
    write_operators,
)
from scenarios.schema.quality import QualitySpec
from scenarios.workload.misreads import SWAPS
from tests.scenarios.helpers import MINIMAL, scenario

EVERY_FORM = QualitySpec(misread_fraction=1.0, elections=ELECTIONS)


def _one_digit_apart(before: str, after: str) -> bool:
    """``after`` is ``before`` with one digit d replaced by SWAPS[d]."""
    if len(before) != len(after):
        return False
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    return len(changed) == 1 and SWAPS.get(changed[0][0]) == changed[0][1]


def test_misreads_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    population = build_population(scenario())
    quality = QualitySpec()
    first = [misread(quality, population.seed, tps, "ppwp") for tps in population]
    again = [misread(quality, population.seed, tps, "ppwp") for tps in population]
    assert first == again
    other = build_population(scenario().population.model_copy(update={"seed": 8}))
    assert [misread(quality, 8, tps, "ppwp") for tps in other] != first


def test_the_share_misread_follows_misread_fraction() -> None:
    loaded = scenario("\n[quality]\n", base=_many_tps())
    population = build_population(loaded)
    found = misreads(loaded.quality, population, [(tps.code, "ppwp") for tps in population])
    share = len(found) / len(population)
    assert share == pytest.approx(0.242, abs=0.03)
    consistent = sum(1 for item in found.values() if item.consistent) / len(found)
    assert 0.5 < consistent <= 0.67 + 0.05  # some draws have no misread that adds up


def test_every_misread_is_a_2_7_3_8_or_4_9_digit_swap_of_one_number() -> None:
    population = build_population(scenario())
    kinds = Counter[str]()
    for tps in population:
        for election in ELECTIONS:
            item = misread(EVERY_FORM, population.seed, tps, election)
            if item is None:
                continue
            before, after = item.swap.split("->")
            assert _one_digit_apart(before, after), item.swap
            section, _, key = item.field.partition(".")
            truth = population.result_body(tps, election)
            assert truth[section][key] == int(before)
            assert item.body[section][key] == int(after)
            kinds.update(f"{a}->{b}" for a, b in zip(before, after, strict=True) if a != b)
    assert set(kinds) == {"2->7", "3->8", "4->9"}


@pytest.mark.parametrize("election", ELECTIONS)
def test_consistent_misreads_pass_the_arithmetic_check_and_inconsistent_ones_fail(
    election: str,
) -> None:
    population = build_population(scenario())
    seen = Counter[bool]()
    for tps in population:
        item = misread(EVERY_FORM, population.seed, tps, election)
        assert item is not None
        truth = population.result_body(tps, election)
        violations = check_result(election, item.body["chart"], item.body["administrasi"], tps.dpt)
        seen[item.consistent] += 1
        if item.consistent:
            assert violations == [], (item.swap, violations)
            assert ballot_problems(item.body, tps.dpt) == []
            delta = int(item.swap.split("->")[1]) - int(item.swap.split("->")[0])
            adm = item.body["administrasi"]
            for name in ("suara_sah", "suara_total", "pengguna_total_j"):
                assert adm[name] == truth["administrasi"][name] + delta
        else:
            assert violations, item.swap
            assert len(item.fields) == 1
        differing = sorted(
            f"{section}.{key}"
            for section in ("chart", "administrasi")
            for key in truth[section]
            if truth[section][key] != item.body[section][key]
        )
        assert list(item.fields) == differing
    assert seen[True] and seen[False]


def test_forms_of_elections_not_in_quality_and_a_zero_fraction_are_never_misread() -> None:
    population = build_population(scenario())
    tps = population.tps[0]
    assert misread(QualitySpec(misread_fraction=1.0), population.seed, tps, "pdpr") is None
    assert misread(QualitySpec(misread_fraction=0.0), population.seed, tps, "ppwp") is None
    assert misreads(QualitySpec(misread_fraction=0.0), population, [(tps.code, "ppwp")]) == {}


def test_the_operators_file_has_n_operators_per_kecamatan_with_seeded_secrets(
    tmp_path: Path,
) -> None:
    loaded = scenario(
        '\n[[population.regions]]\ncode = "5103052003"\nname = "Kutuh"\ntps = 3\n'
        '\n[[population.regions]]\ncode = "5171011001"\ntps = 2\n'
    )
    population = build_population(loaded)
    path = tmp_path / "operators.csv"
    assert write_operators(population, path, 2) == 4
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "kecamatan_code,operator_id,secret,tps"
    rows = read_operators(path)
    assert [(row.kecamatan_code, row.operator_id) for row in rows] == [
        ("510305", "ppk-510305-1"), ("510305", "ppk-510305-2"),
        ("517101", "ppk-517101-1"), ("517101", "ppk-517101-2"),
    ]  # fmt: skip
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["23", "23", "2", "2"]
    assert all(len(row.secret) == 32 for row in rows)
    assert len({row.secret for row in rows}) == 4
    write_operators(population, tmp_path / "again.csv", 2)
    assert read_operators(tmp_path / "again.csv") == rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kecamatan,operator_id,secret\n510305,a,b\n",
         "line 1: header lacks kecamatan_code; the header must name "
         "kecamatan_code,operator_id,secret (further columns allowed)"),
        ("kecamatan_code,operator_id,secret\n5103,a,b\n",
         "line 2: kecamatan_code '5103' must be a 6-digit kecamatan code like '510305'"),
        ("kecamatan_code,operator_id,secret\n510305,a,\n",
         "line 2: operator_id and secret must not be empty"),
    ],
)  # fmt: skip
def test_a_bad_operators_file_names_the_file_the_line_and_what_is_valid(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "operators.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        read_operators(path)
    assert str(caught.value) == f"{path}: {message}"


def _many_tps() -> str:
    return MINIMAL.replace("tps = 20", "tps = 999")
