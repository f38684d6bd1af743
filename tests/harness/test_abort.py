"""Abort-on-fail decides only what live figures decide beyond doubt."""

from __future__ import annotations

from harness.abort import AbortWatch
from scenarios.slo import parse_slo


def _progress(ok: int, count: int, abandoned: int = 0) -> dict[str, object]:
    return {
        "abandoned": abandoned,
        "endpoints": {"page": {"count": count, "ok": ok}, "result": {"count": 0, "ok": 0}},
    }


def test_only_marked_and_live_slos_are_watched() -> None:
    watch = AbortWatch(
        [
            parse_slo("page.success_ratio >= 0.99", abort_on_fail=True),
            parse_slo("page.p95 < 2s", abort_on_fail=True),  # latency: only at the end
            parse_slo("load.abandoned <= 3"),  # not marked
        ]
    )
    assert [s.expression for s in watch.watched] == ["page.success_ratio >= 0.99"]
    assert [s.expression for s in watch.at_end_only] == ["page.p95 < 2s"]


def test_a_ratio_aborts_only_after_enough_time_and_requests() -> None:
    watch = AbortWatch([parse_slo("upload.success_ratio >= 0.99", abort_on_fail=True)])
    assert watch.check(_progress(50, 100), elapsed_fraction=0.1) is None  # too early
    assert watch.check(_progress(5, 10), elapsed_fraction=0.5) is None  # too few requests
    breach = watch.check(_progress(50, 100), elapsed_fraction=0.5)
    assert breach is not None and breach.value == 0.5
    assert str(breach) == (
        "aborted: upload.success_ratio >= 0.99 was breached during the run (value 0.5)"
    )
    assert watch.check(_progress(100, 100), elapsed_fraction=0.5) is None


def test_a_growing_count_aborts_as_soon_as_it_passes_an_upper_bound() -> None:
    upper = AbortWatch([parse_slo("load.abandoned <= 3", abort_on_fail=True)])
    assert upper.check(_progress(0, 0, abandoned=3), 0.0) is None
    assert upper.check(_progress(0, 0, abandoned=4), 0.0) is not None
    lower = AbortWatch([parse_slo("page.requests >= 1000", abort_on_fail=True)])
    assert lower.check(_progress(10, 10), 0.9) is None  # may still be reached
