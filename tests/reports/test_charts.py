"""Every chart renders a PNG from plain series, fault windows shaded, gaps allowed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reports import charts

CLOCK = charts.ChartClock(dt.datetime(2024, 2, 14, 13, 0), "WITA", 260.0)
WINDOWS = [charts.Window("server down", 5400.0, 16200.0)]
T = [600.0 * i for i in range(60)]


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_all_charts_render(tmp_path: Path) -> None:
    ok = [0.0 if 9 <= i < 27 else 10.0 for i in range(60)]
    failed = [10.0 if 9 <= i < 27 else 0.0 for i in range(60)]
    gaps = [None if 9 <= i < 27 else 0.2 for i in range(60)]
    paths = [
        charts.throughput(tmp_path / "a.png", CLOCK, T, ok, failed, WINDOWS),
        charts.latency(tmp_path / "b.png", CLOCK, T, {"page": {"p50": gaps, "p95": gaps}}, WINDOWS),
        charts.errors(tmp_path / "c.png", CLOCK, T, {"refused": failed, "timeout": ok}, WINDOWS),
        charts.errors(tmp_path / "c2.png", CLOCK, T, {"refused": [0.0] * 60}, []),
        charts.completion(
            tmp_path / "d.png",
            CLOCK,
            T,
            list(range(60)),
            list(range(60)),
            {"20 TPS/day": [i / 3 for i in range(60)]},
            WINDOWS,
        ),
        charts.backlog(tmp_path / "e.png", CLOCK, T, failed, WINDOWS),
        charts.server(tmp_path / "f.png", CLOCK, T, {"in flight": gaps}, WINDOWS),
    ]
    assert all(_is_png(path) for path in paths)
