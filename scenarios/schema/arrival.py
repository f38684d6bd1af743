"""The ``[arrival]`` section: when each TPS finishes counting and when its pages go out.

All durations here are on the simulated clock.

- ``curve``: the cumulative fraction of TPS that have finished counting the presidential ballot,
  as a piecewise-linear function of local time of day, read in each TPS's own zone (so "18:00"
  is 18:00 WIB for a TPS in Jakarta and 18:00 WITA for one in Bali). It starts at 0 and never
  falls; the last value may be below 1: the rest of the TPS never upload.
- ``zone_curves``: optional curves replacing ``curve`` for one zone.
- ``time_scale``: stretches every curve's times about its first point (1: as written; 2: each
  moment twice as far from the first). A hindcast fits it (scenarios/schema/hindcast.py).
- ``page_span``: time from a form's first page to its last, log-normal (median, p95), for a
  3-page form; a form with ``n`` pages spans ``(n - 1) / 2`` times as long.
- ``form_gap``: the forms are counted in turn (ppwp, pdpr, pdpd, pdprdp, pdprdk); each is ready
  this long after the one before.
- ``offline_fraction`` of TPS capture offline and upload ``offline_delay`` (uniform) later.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from scenarios.schema.errors import FieldError
from scenarios.schema.fields import (
    Duration,
    DurationRange,
    PositiveDuration,
    Section,
    require_p95_above_median,
    to_time_of_day,
)
from scenarios.schema.units import TimeSpec, Zone

CurvePoint = tuple[TimeSpec, float]
Curve = tuple[CurvePoint, ...]

_CURVE_HELP = 'an array of [time of day, fraction] pairs like [["13:00", 0.0], ["18:00", 0.1]]'


def _sort_key(spec: TimeSpec) -> tuple[int, int]:
    return (spec.day, spec.second_of_day)


def _curve(value: object) -> Curve:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise FieldError(f"must be {_CURVE_HELP}, with at least two points")
    points: list[CurvePoint] = []
    for index, item in enumerate(value):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise FieldError(
                'must be a pair [time of day, fraction] like ["18:00", 0.1]',
                given=item,
                path=(index,),
            )
        try:
            spec = to_time_of_day(item[0])
        except FieldError as exc:
            raise FieldError(exc.valid, given=item[0], path=(index, 0)) from None
        fraction = item[1]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise FieldError("must be a number in [0, 1]", given=fraction, path=(index, 1))
        if not 0 <= fraction <= 1:
            raise FieldError("must be a number in [0, 1]", given=fraction, path=(index, 1))
        if points and _sort_key(spec) <= _sort_key(points[-1][0]):
            raise FieldError(
                f"must be later than the previous point {points[-1][0].text!r}",
                given=item[0],
                path=(index, 0),
            )
        if points and fraction < points[-1][1]:
            raise FieldError(
                f"must be >= the previous fraction {points[-1][1]:g} (the curve is cumulative)",
                given=fraction,
                path=(index, 1),
            )
        points.append((spec, float(fraction)))
    if points[0][1] != 0:
        raise FieldError(
            "must be 0: the curve starts where no TPS has finished counting",
            given=points[0][1],
            path=(0, 1),
        )
    return tuple(points)


CurveField = Annotated[
    Curve,
    BeforeValidator(_curve),
    PlainSerializer(
        lambda curve: [[spec.text, fraction] for spec, fraction in curve], list[list[object]]
    ),
]

# First photo upload of 1,000 Jakarta TPS (scenarios/FACTS.md, "Timing"): 18:00 9.8%; 20:00
# 30.5%; 24:00 54.4%; 03:00 next day 66.6%; voting ends 13:00 local, counting follows. The
# national presidential upload plateaued at 78.8% (KPU public results JSON); +1d 12:00 at 75% is
# est.
CURVE_2024: Final[Curve] = tuple(
    (to_time_of_day(text), fraction)
    for text, fraction in (
        ("13:00", 0.0),
        ("18:00", 0.098),
        ("20:00", 0.305),
        ("24:00", 0.544),
        ("+1d 03:00", 0.666),
        ("+1d 12:00", 0.75),
        ("+2d 00:00", 0.788),
    )
)


class SpanSpec(Section):
    """A log-normal span of simulated time given by its median and p95."""

    # The 3 pages of one form arrived within a median of 2.8 minutes of each other (the same
    # Jakarta sample, scenarios/FACTS.md "Timing").
    median: PositiveDuration = Field(default=168.0, description="simulated clock")
    p95: PositiveDuration = Field(default=900.0, description="simulated clock (est.)")

    @model_validator(mode="after")
    def _ordered(self) -> SpanSpec:
        require_p95_above_median(self.median, self.p95)
        return self


class ArrivalSpec(Section):
    """When TPS finish counting and when their pages are sent; see the module doc."""

    curve: CurveField = Field(default=CURVE_2024, description="local time of day, per TPS zone")
    zone_curves: dict[Zone, CurveField] = Field(default_factory=dict)
    time_scale: float = Field(default=1.0, gt=0, le=10, description="1: the curve as written")
    page_span: SpanSpec = SpanSpec()
    # est.: counting the five ballots one after another runs from 13:00 to past midnight.
    form_gap: Duration = Field(default=7200.0, description="simulated clock")
    # In Garut 93 of ~8,000 TPS (1.2%) were in blank spots and uploaded later (scenarios/FACTS.md,
    # "The upload path").
    offline_fraction: float = Field(default=0.0, ge=0, le=1)
    # est.: "offline for hours".
    offline_delay: DurationRange = Field(default=(3600.0, 21600.0), description="simulated clock")

    def curve_for(self, zone: Zone) -> Curve:
        """The curve that applies to TPS in ``zone``."""
        return self.zone_curves.get(zone, self.curve)
