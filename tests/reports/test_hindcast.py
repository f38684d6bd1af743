"""The hindcast's model, fit and figures: the fit sees only election day, the replay is read from
the recap as measured (never guessed across a gap), and the residuals say what they measure."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from reports.completion import Completion, FormTimes
from reports.hindcast import (
    PAST_THE_RUN,
    analyse_hindcast,
    answered_reads,
    hindcast_reason,
    hindcast_value,
    replay_share,
)
from reports.hindcast_model import FluidModel, fit, moments
from scenarios import build_population, curve_seconds, parse_slo, scenario_from_dict

SHORT = Path(__file__).resolve().parents[1] / "harness" / "fixtures" / "hindcast_short.toml"


def short_data() -> dict[str, Any]:
    return tomllib.loads(SHORT.read_text(encoding="utf-8"))


def with_published(data: dict[str, Any], published: list[list[Any]]) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    changed["hindcast"]["published"] = published
    return changed


def test_time_scale_stretches_the_arrival_curve_about_its_first_point() -> None:
    data = short_data()
    plain = scenario_from_dict(data)
    data["arrival"] = {**data["arrival"], "time_scale": 2.0}
    stretched = scenario_from_dict(data)
    before, after = curve_seconds(plain, "WIB"), curve_seconds(stretched, "WIB")
    assert after[0] == before[0]
    for (t0, f0), (t1, f1) in zip(before[1:], after[1:], strict=True):
        assert f1 == f0
        assert t1 - after[0][0] == pytest.approx(2 * (t0 - before[0][0]))


def test_the_fit_recovers_a_pace_the_model_itself_produced() -> None:
    data = short_data()
    truth = scenario_from_dict(
        {**data, "hindcast": {**data["hindcast"], "fitted": {"arrival.time_scale": 1.8}}}
    )
    model = FluidModel(truth)
    sizing = model.sizing(truth)
    published = [[m.text, round(model.share(sizing, m.seconds), 6)] for m in moments(truth)]
    found = fit(with_published(data, published))
    assert found is not None
    assert found.values["arrival.time_scale"] == pytest.approx(1.8, abs=0.02)
    assert max(abs(r) for r in found.residuals.values()) < 0.1
    assert found.on == ("17:44", "19:00", "20:03")


def test_the_fit_never_sees_a_held_out_moment() -> None:
    data = short_data()
    base = fit(data)
    moved = fit(with_published(data, [*data["hindcast"]["published"][:3], ["21:30", 0.9]]))
    assert base is not None and moved is not None
    assert moved.values == base.values  # 21:30 is held out: changing it changes nothing fitted
    refit = fit(with_published(data, [["17:44", 0.01], *data["hindcast"]["published"][1:]]))
    assert refit is not None and refit.values != base.values  # a fitted moment does


def test_the_replay_is_interpolated_between_reads_and_never_beyond_them() -> None:
    reads = [(0.0, 0.0), (100.0, 0.1), (200.0, 0.3), (1000.0, 0.5)]
    assert replay_share(reads, 150.0, gap=300)[0] == pytest.approx(0.2)
    assert replay_share(reads, 100.0, gap=300)[0] == pytest.approx(0.1)
    share, why = replay_share(reads, 600.0, gap=300)
    assert share is None and "did not answer from 200 s to 1000 s" in why
    # after the last read (or before the first) nothing was read: not the last read's value
    share, why = replay_share(reads, 1010.0, gap=300)
    assert share is None and why == "no read after it: the recap's last answer was at 1000 s"
    assert replay_share(reads, 1010.0, gap=300, near=20)[0] == pytest.approx(0.5)
    share, why = replay_share(reads, -5.0, gap=300)
    assert share is None and why.startswith("no read before it")
    assert replay_share([], 10.0, gap=300) == (None, "the national recap never answered")
    # a moment a hair after the last read is no index error
    assert replay_share(reads, 1000.0 + 5e-7, gap=300)[1].startswith("no read after it")


def test_unanswered_and_impossible_reads_are_counted_apart_and_never_used() -> None:
    lines: list[dict[str, Any]] = [
        {"sim": 10.0, "ok": True, "total": 100, "progres": 5},
        {"sim": 20.0, "ok": False, "error": "ConnectTimeout"},
        {"sim": math.nan, "ok": True, "total": 100, "progres": 6},
        {"sim": 30.0, "ok": True, "total": 100, "progres": 101},
        {"sim": 40.0, "ok": True, "total": True, "progres": 1},
        {"sim": 45.0, "ok": True, "total": 10**400, "progres": 1},
        {"sim": 1e300, "ok": True, "total": 100, "progres": 9},
        {"sim": 5.0, "ok": True, "total": 100, "progres": 1},
        {"sim": 50.0, "ok": True, "total": 100, "progres": 3},
    ]
    read = answered_reads(lines, tps=100, span=(-1000.0, 1000.0))
    assert read.answered == [(5.0, 0.01), (10.0, 0.05), (50.0, 0.03)]
    assert read.unanswered == 1
    assert read.impossible_count == 5
    assert "101 TPS with data of 100" in read.impossible[1]
    assert read.falls == 1  # 5 -> 3: a recap that fell is said, not hidden


def recap_lines(scenario_share: list[tuple[float, float]], total: int) -> list[dict[str, Any]]:
    return [
        {"sim": t, "ok": True, "total": total, "progres": round(share * total)}
        for t, share in scenario_share
    ]


def test_rows_say_fitted_or_held_out_with_the_residual_and_why_a_miss_happened() -> None:
    data = short_data()
    data["hindcast"]["fitted"] = {"arrival.time_scale": 1.4}
    loaded = scenario_from_dict(data)
    by = {m.text: m.seconds for m in moments(loaded)}
    # a replay that is 10 points high at the held-out 21:30 with nothing waiting (backlog 0)
    shares = {"17:44": 0.056, "19:00": 0.073, "20:03": 0.136, "21:30": 0.30}
    reads = recap_lines(
        [(by[k] - 60, v) for k, v in shares.items()] + [(by[k] + 60, v) for k, v in shares.items()],
        len(build_population(loaded).tps),
    )
    reads.sort(key=lambda line: line["sim"])
    times = [FormTimes(ready=0.0, acked=10.0)]
    completion = Completion.of(times, loaded.clock.duration, 1)
    found = analyse_hindcast(loaded, reads, completion)
    assert found is not None
    rows = {r.moment: r for r in found.rows}
    assert [r.fitted for r in found.rows] == [True, True, True, False]
    assert rows["21:30"].residual_pp == pytest.approx(10.0, abs=0.2)
    assert rows["19:00"].residual_pp == pytest.approx(0.0, abs=0.2)
    assert found.max_residual(False) == pytest.approx(10.0, abs=0.2)
    assert found.held_out_within() is False
    assert any("held out and beyond ±5 pp: 21:30" in note for note in found.notes)
    assert any("the replay's service stood idle" in note for note in found.notes)
    assert hindcast_value(found, parse_slo("hindcast.residual('21:30') < 5")) == pytest.approx(
        10.0, abs=0.2
    )
    assert hindcast_value(found, parse_slo("hindcast.share('20:03') > 0")) == pytest.approx(
        0.136, abs=0.002
    )
    assert "hindcast.max_residual_held_out" in found.figure_keys()
    assert found.sentence.startswith("With ")


def test_a_moment_past_the_run_or_without_reads_is_not_measured_and_says_why() -> None:
    data = short_data()
    data["hindcast"]["published"] = [
        ["17:44", 0.056],
        ["19:00", 0.073],
        ["20:03", 0.136],
        ["21:30", 0.2],
        ["+1d 12:00", 0.425],
    ]
    data["hindcast"]["fitted"] = {"arrival.time_scale": 1.4}
    loaded = scenario_from_dict(data)
    found = analyse_hindcast(loaded, [], None)
    assert found is not None
    last = found.rows[-1]
    assert last.replay is None and last.why == PAST_THE_RUN
    assert "hindcast.share('+1d 12:00')" not in found.figure_keys()
    assert found.rows[0].why == "the national recap never answered"
    slo = parse_slo("hindcast.max_residual_held_out <= 5")
    assert hindcast_value(found, slo) is None
    assert "no held-out moment was measured" in hindcast_reason(found, slo)
    assert hindcast_reason(None, slo).startswith("the run has no hindcast")


def test_the_counterfactual_is_read_at_its_deadline_even_past_the_run() -> None:
    data = short_data()
    data["hindcast"]["fitted"] = {"arrival.time_scale": 1.4}
    loaded = scenario_from_dict(data)  # the run ends 22:00; the deadline is 24:00
    found = analyse_hindcast(loaded, [], None)
    assert found is not None
    model = FluidModel(loaded)
    at_midnight = model.share(
        model.sizing(loaded, faults=False, horizon=30 * 3600), found.deadline_s
    )
    assert found.at_deadline["no attack, as built"] == pytest.approx(at_midnight)
    assert (
        found.at_deadline["no attack, as built"]
        > found.at_deadline["no attack, as built"] * 0
        + model.share(model.sizing(loaded, faults=False), loaded.clock.duration)
        - 1e-9
    )
    assert "the replay's share is not measured" in found.sentence


def test_a_field_the_moments_cannot_tell_apart_is_refused_not_set_to_an_end_of_its_range() -> None:
    data = short_data()
    data["faults"].append(
        {"name": "late", "layer": "server", "kind": "brownout", "start": "21:00", "end": "21:45",
         "params": {"capacity_fraction": 0.5}}
    )  # fmt: skip
    data["hindcast"]["fit"].append(
        {"field": "faults.late.capacity_fraction", "low": 0.1, "high": 0.9, "reason": "a test"}
    )
    with pytest.raises(ValueError, match=r"cannot tell values of faults\.late\.capacity_fraction"):
        fit(data)
