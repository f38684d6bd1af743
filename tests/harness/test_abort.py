"""Abort-on-fail decides only what live figures decide beyond doubt."""

from __future__ import annotations

from harness.abort import AbortWatch
from scenarios.schema.slo import parse_slo


def _progress(ok: int, count: int, abandoned: int = 0) -> dict[str, object]:
    return {
        "abandoned": abandoned,
        "endpoints": {"page": {"count": count, "ok": ok}, "result": {"count": 0, "ok": 0}},
    }


def test_only_marked_growing_counts_with_an_upper_bound_are_watched() -> None:
    watch = AbortWatch(
        [
            parse_slo("page.failures <= 10", abort_on_fail=True),
            parse_slo("page.success_ratio >= 0.99", abort_on_fail=True),  # may still recover
            parse_slo("page.p95 < 2s", abort_on_fail=True),  # latency: only at the end
            parse_slo("page.requests >= 1000", abort_on_fail=True),  # may still be reached
            parse_slo("load.abandoned <= 3"),  # not marked
        ]
    )
    assert [s.expression for s in watch.watched] == ["page.failures <= 10"]
    assert [s.expression for s in watch.at_end_only] == [
        "page.success_ratio >= 0.99",
        "page.p95 < 2s",
        "page.requests >= 1000",
    ]


def test_a_growing_count_aborts_as_soon_as_it_passes_its_bound() -> None:
    watch = AbortWatch([parse_slo("upload.failures <= 10", abort_on_fail=True)])
    assert watch.check(_progress(90, 100)) is None  # 10 failures: still within
    breach = watch.check(_progress(89, 100))
    assert breach is not None and breach.value == 11
    assert str(breach) == ("aborted: upload.failures <= 10 was breached during the run (value 11)")
    abandoned = AbortWatch([parse_slo("load.abandoned <= 3", abort_on_fail=True)])
    assert abandoned.check(_progress(0, 0, abandoned=3)) is None
    assert abandoned.check(_progress(0, 0, abandoned=4)) is not None
