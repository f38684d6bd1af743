"""The time axis of every run chart: ticks chosen by the span, labels that never overlap.

A tick shows the time of day; the date goes on a second line, only on the first tick and where
the day changes ("18:00" ... "00:00\\n15 Feb"). The step between ticks grows with the span so
there are at most ``MAX_TICKS`` of them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

MAX_TICKS = 8
STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080)


def tick_minutes(span_s: float) -> int:
    """The smallest step (minutes) that puts at most MAX_TICKS ticks on ``span_s`` seconds."""
    for step in STEPS_MIN:
        if span_s / (step * 60) <= MAX_TICKS - 1:
            return step
    return math.ceil(span_s / 60 / (MAX_TICKS - 1) / 1440) * 1440


class DayOnChange(Formatter):
    """``HH:MM``, with the date on its own line at the first tick and wherever the day changes."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        labels, day = [], None
        for value in values:
            moment: dt.datetime = mdates.num2date(value)  # type: ignore[no-untyped-call]
            text = moment.strftime("%H:%M")
            if moment.date() != day:
                text += moment.strftime("\n%d %b")
                day = moment.date()
            labels.append(text)
        return labels


def apply(axes: Axes, start: float, end: float, span_s: float) -> None:
    """Limit the x axis to [start, end] (date numbers) with ticks for ``span_s`` seconds."""
    step = tick_minutes(span_s)
    locator: mdates.DateLocator
    if step < 60:
        locator = mdates.MinuteLocator(byminute=range(0, 60, step))  # type: ignore[no-untyped-call]
    elif step < 1440:
        hours = step // 60
        locator = mdates.HourLocator(byhour=range(0, 24, hours))  # type: ignore[no-untyped-call]
    else:
        locator = mdates.DayLocator(interval=step // 1440)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(DayOnChange())
    axes.set_xlim(start, end)
