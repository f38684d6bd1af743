"""The ``[hindcast]`` section: replay a night that really happened and hold it to the record.

A hindcast scenario names the published national curve it is compared with (``published``: the
share of all TPS with data at moments of the night, read in WIB), the moments a fitted parameter
may be fitted on (``fit_on``; only election-day moments, so the later ones stay predictions held
out of the fit), the parameters the harness fits there (``[[hindcast.fit]]``: a field and the
range a fact allows), and the provenance of every other parameter (``[[hindcast.parameters]]``:
published, an estimate, or fitted, each with its source or reason). The harness fits before the
run and writes the values into ``[hindcast.fitted]`` of the scenario as run; a scenario that
already has them (a run directory's copy) is run as it is.

A fitted field is ``arrival.time_scale`` or ``faults.<window name>.<param>`` (a number of that
window's params). ``[hindcast.fitted]``, when given, names every fitted field: the run then says
the values came from the file, not from its own fit.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, Final, Literal

from pydantic import Field, field_validator, model_validator

from scenarios.schema.clock import Clock
from scenarios.schema.errors import FieldError, raise_if_any
from scenarios.schema.fields import PositiveDuration, Section
from scenarios.schema.population import ELECTIONS, Election
from scenarios.schema.slo import Slo, plan_args
from scenarios.schema.units import TimeSpec, parse_time_spec

# National presidential progress, TPS with data over the 823,236 TPS of the KPU public results
# JSON (pemilu2024.kpu.go.id), WIB, as scenarios/FACTS.md "Timing" lists them: 14 Feb 17:44
# 5.6%, 19:00 7.3%, 20:03 13.6%; 15 Feb 12:00 42.5%; 16 Feb 16:00 54.9%; 17 Feb 12:00 64.8%;
# 20 Feb about 72% (no time of day is published: noon is assumed); the plateau 78.8% (its date
# is est.: the curve had flattened by late Feb).
PUBLISHED_2024: Final = (
    ("17:44", 0.056),
    ("19:00", 0.073),
    ("20:03", 0.136),
    ("+1d 12:00", 0.425),
    ("+2d 16:00", 0.549),
    ("+3d 12:00", 0.648),
    ("+6d 12:00", 0.72),
    ("+13d 12:00", 0.788),
)
PUBLISHED_ZONE: Final = "WIB"
# The election-day moments: the only ones a parameter may be fitted on.
ELECTION_DAY: Final = ("17:44", "19:00", "20:03")
TIME_SCALE: Final = "arrival.time_scale"
TIME_SCALE_MAX: Final = 10.0  # arrival.time_scale's own bound (scenarios/schema/arrival.py)
FIELD_HELP: Final = f'"{TIME_SCALE}" or "faults.<window name>.<param>"'


def split_field(text: str) -> tuple[str, str] | None:
    """(window name, param) of ``faults.<window name>.<param>`` (the name may hold dots); None
    for ``arrival.time_scale``. ValueError for anything else."""
    if text == TIME_SCALE:
        return None
    name, dot, param = text.removeprefix("faults.").rpartition(".")
    if not text.startswith("faults.") or not dot or not name or not param:
        raise ValueError(f"must be {FIELD_HELP}")
    return name, param


def _moment(text: object) -> TimeSpec:
    if not isinstance(text, str):
        raise FieldError('must be a time of day in WIB like "20:03" or "+1d 12:00"', given=text)
    try:
        return parse_time_spec(text, allow_offset=False)
    except ValueError as error:
        raise FieldError(str(error), given=text) from None


class FitSpec(Section):
    """One parameter the harness fits on the election-day moments, within a range."""

    field: str = Field(description=FIELD_HELP)
    low: float
    high: float
    reason: str = Field(min_length=1, description="why no fact fixes it, and what bounds it")

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        try:
            split_field(value)
        except ValueError as error:
            raise FieldError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _range(self) -> FitSpec:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise FieldError("low and high must be finite numbers", given=[self.low, self.high])
        if not self.low < self.high:
            raise FieldError("low must be below high", given=[self.low, self.high])
        if self.field == TIME_SCALE and not 0 < self.low < self.high <= TIME_SCALE_MAX:
            raise FieldError(
                f"must lie within arrival.time_scale's own range (0, {TIME_SCALE_MAX:g}]",
                given=[self.low, self.high],
            )
        return self


class ParameterSpec(Section):
    """Where one of the scenario's parameters comes from."""

    name: str = Field(min_length=1)
    value: str = Field(min_length=1)
    basis: Literal["published", "estimate", "fitted"]
    source: str = Field(min_length=1, description="the public source, or the estimate's reason")


class HindcastSpec(Section):
    """See the module doc."""

    published: Annotated[tuple[tuple[str, float], ...], Field(strict=False, default=PUBLISHED_2024)]
    fit_on: Annotated[tuple[str, ...], Field(strict=False, default=ELECTION_DAY)]
    fit: Annotated[tuple[FitSpec, ...], Field(strict=False)] = ()
    fitted: Annotated[dict[str, float], Field(strict=False, default_factory=dict)]
    tolerance_pp: float = Field(default=5.0, gt=0, le=100, description="percentage points")
    poll_every: PositiveDuration = Field(default=1.0, description="real clock")
    counterfactual_share: str = Field(default="99%", description="of the plan's deadline")
    counterfactual_deadline: str = Field(default="24:00", description="WIB, election day")
    election: Election = Field(default="ppwp", description="whose national recap is compared")
    parameters: Annotated[tuple[ParameterSpec, ...], Field(strict=False)] = ()

    @field_validator("counterfactual_deadline")
    @classmethod
    def _deadline(cls, value: str) -> str:
        spec = _moment(value)
        if spec.day != 0:
            raise FieldError('must be a time of day on election day in WIB, like "24:00"')
        return value

    @field_validator("counterfactual_share")
    @classmethod
    def _share(cls, value: str) -> str:
        try:
            plan_args(value, "24:00")
        except ValueError as error:
            raise FieldError(str(error).split(";")[0] + ': give a share like "99%"') from None
        return value

    @field_validator("election")
    @classmethod
    def _election(cls, value: str) -> str:
        if value not in ELECTIONS:
            raise FieldError(f"must be one of {', '.join(ELECTIONS)}")
        return value

    @field_validator("published", mode="before")
    @classmethod
    def _published(cls, value: object) -> object:
        if not isinstance(value, list | tuple) or not value:
            raise FieldError(
                'must be an array of [time in WIB, share] pairs like [["19:00", 0.073]]'
            )
        previous: TimeSpec | None = None
        for index, item in enumerate(value):
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise FieldError('must be a pair ["19:00", 0.073]', given=item, path=(index,))
            try:
                spec = _moment(item[0])
            except FieldError as error:
                raise FieldError(error.valid, given=item[0], path=(index, 0)) from None
            share = item[1]
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise FieldError("must be a share in [0, 1]", given=share, path=(index, 1))
            if previous is not None and (spec.day, spec.second_of_day) <= (
                previous.day,
                previous.second_of_day,
            ):
                raise FieldError(
                    f"must be later than the previous moment {previous.text!r}",
                    given=item[0], path=(index, 0),
                )  # fmt: skip
            if index and share < value[index - 1][1]:
                raise FieldError(
                    f"must be >= the previous share {value[index - 1][1]:g} (TPS with data "
                    "accumulate)", given=share, path=(index, 1),
                )  # fmt: skip
            previous = spec
        return tuple((str(text), float(share)) for text, share in value)

    @model_validator(mode="after")
    def _fit_on_election_day(self) -> HindcastSpec:
        """Only election-day moments of ``published`` may be fitted on: the rest are held out."""
        known = {text: _moment(text) for text, _ in self.published}
        problems = []
        for index, text in enumerate(self.fit_on):
            spec = known.get(text)
            if spec is None:
                problems.append(
                    FieldError(
                        f"must be a moment of hindcast.published: {', '.join(known)}",
                        given=text, path=("fit_on", index),
                    )
                )  # fmt: skip
            elif spec.day != 0 or spec.second_of_day >= 86_400:
                problems.append(
                    FieldError(
                        "must be an election-day moment (D0, before midnight): later moments "
                        "are held out of the fit, as predictions",
                        given=text, path=("fit_on", index),
                    )
                )  # fmt: skip
        if len(set(self.fit_on)) != len(self.fit_on):
            problems.append(
                FieldError("must name each moment once", given=list(self.fit_on), path=("fit_on",))
            )
        if self.fit and not self.fit_on:
            problems.append(FieldError("must name at least one moment to fit on", path=("fit_on",)))
        fields = {knob.field: knob for knob in self.fit}
        if len(fields) != len(self.fit):
            problems.append(FieldError("names a field twice", path=("fit",)))
        for key, value in self.fitted.items():
            knob = fields.get(key)
            if knob is None:
                valid = ", ".join(fields) or "none: [[hindcast.fit]] is empty"
                problems.append(
                    FieldError(f"is not a field of [[hindcast.fit]]: {valid}", path=("fitted", key))
                )
            elif not (math.isfinite(value) and knob.low <= value <= knob.high):
                problems.append(
                    FieldError(
                        f"must be within the fit's range [{knob.low:g}, {knob.high:g}]",
                        given=value, path=("fitted", key),
                    )
                )  # fmt: skip
        missing = [name for name in fields if self.fitted and name not in self.fitted]
        if missing:
            problems.append(
                FieldError(
                    f"must give every field of [[hindcast.fit]] or none (missing: "
                    f"{', '.join(missing)}); leave it out and the run fits them all",
                    given=dict(self.fitted),
                    path=("fitted",),
                )
            )
        raise_if_any(problems)
        return self

    def moments(self) -> list[tuple[str, float, bool]]:
        """(time in WIB, published share, fitted on it) for every published moment; with
        nothing to fit, no moment is a fitted one."""
        return [
            (text, share, bool(self.fit) and text in self.fit_on) for text, share in self.published
        ]


def apply_fitted(data: dict[str, Any]) -> dict[str, Any]:
    """Scenario data with ``[hindcast.fitted]`` values set in the fields they name (a copy);
    FieldError when a value names a window or param that is not there."""
    hindcast = data.get("hindcast")
    fitted = hindcast.get("fitted") if isinstance(hindcast, dict) else None
    if not isinstance(fitted, dict) or not fitted:
        return data
    data = copy.deepcopy(data)
    for key, value in fitted.items():
        path = ("hindcast", "fitted", key)
        try:
            named = split_field(str(key))
        except ValueError as error:
            raise FieldError(str(error), given=key, path=path) from None
        if named is None:
            arrival = data.setdefault("arrival", {})
            if isinstance(arrival, dict):
                arrival["time_scale"] = value
            continue
        name, param = named
        windows = [w for w in data.get("faults") or [] if isinstance(w, dict)]
        window = next((w for w in windows if w.get("name") == name), None)
        if window is None:
            valid = ", ".join(repr(w["name"]) for w in windows if w.get("name")) or "none named"
            raise FieldError(f"names no fault window; the named windows: {valid}", given=value,
                             path=path)  # fmt: skip
        params = window.setdefault("params", {})
        if not isinstance(params, dict) or not isinstance(params.get(param), int | float):
            shown = ", ".join(params) if isinstance(params, dict) and params else "none"
            raise FieldError(
                f"names no number of window {name!r}'s params (its params: {shown})",
                given=value, path=path,
            )  # fmt: skip
        params[param] = value
    return data


def check_fit_fields(spec: HindcastSpec | None, windows: dict[str, dict[str, Any]]) -> None:
    """Every ``[[hindcast.fit]]`` field names something the scenario has (``windows``: name ->
    params); FieldError otherwise."""
    if spec is None:
        return
    problems = []
    for index, knob in enumerate(spec.fit):
        named = split_field(knob.field)
        if named is None:
            continue
        name, param = named
        params = windows.get(name)
        if params is None or not isinstance(params.get(param), int | float):
            valid = ", ".join(f"{w} ({', '.join(p) or 'no params'})" for w, p in windows.items())
            problems.append(
                FieldError(
                    "must name a fault window and one of its numeric params; the named "
                    f"windows: {valid or 'none'}",
                    given=knob.field, path=("hindcast", "fit", index, "field"),
                )
            )  # fmt: skip
    raise_if_any(problems)


def check_in_run(
    spec: HindcastSpec | None, slos: list[Slo], clock: Clock, elections: tuple[str, ...]
) -> None:
    """What a hindcast compares lies inside the run: its fit moments, the moments its SLOs name
    (and, for the largest residuals, at least one moment of the kind), its form among those the
    devices upload. FieldError otherwise."""
    problems = []
    hindcast_slos = [(index, slo) for index, slo in enumerate(slos) if slo.scope == "hindcast"]
    if spec is None:
        problems += [
            FieldError(
                "needs a [hindcast] section", given=slo.expression, path=("slo", "checks", index)
            )
            for index, slo in hindcast_slos
        ]
        raise_if_any(problems)
        return
    run = f"{clock.local(0)} to {clock.local(clock.duration)}"
    inside = {
        text: 0 <= clock.offset(_moment(text), PUBLISHED_ZONE) <= clock.duration
        for text, _ in spec.published
    }
    if spec.election not in elections:
        problems.append(
            FieldError(
                f"must be a form the devices upload (client.elections: {', '.join(elections)})",
                given=spec.election,
                path=("hindcast", "election"),
            )
        )
    for index, text in enumerate(spec.fit_on):
        if not inside.get(text, True):
            problems.append(
                FieldError(
                    f"lies outside the run ({run}): a moment the run does not replay "
                    "cannot be fitted on",
                    given=text,
                    path=("hindcast", "fit_on", index),
                )
            )
    for index, slo in hindcast_slos:
        path = ("slo", "checks", index)
        if slo.args:
            if slo.args[0] not in inside:
                valid = ", ".join(inside)
                problems.append(
                    FieldError(
                        f"names no published moment of [hindcast]; moments: {valid}",
                        given=slo.args[0],
                        path=path,
                    )
                )
            elif not inside[slo.args[0]]:
                problems.append(
                    FieldError(
                        f"names a moment outside the run ({run}): it can never be measured",
                        given=slo.args[0],
                        path=path,
                    )
                )
            continue
        fitted = slo.metric == "max_residual_fitted"
        kinds = [inside[t] for t, _, used in spec.moments() if used is fitted]
        if not any(kinds):
            kind = "fitted" if fitted else "held-out"
            problems.append(
                FieldError(
                    f"has no {kind} moment inside the run ({run}) to measure",
                    given=slo.expression,
                    path=path,
                )
            )
    raise_if_any(problems)
