"""The whole scenario: a frozen model of one file, with its cross-section checks.

Sections: ``name``, ``description``, ``[clock]``, ``[population]``, ``[arrival]``, ``[client]``,
``[quality]``, ``[plenary]``, ``[target]``, ``[[proxies]]``, ``[[faults]]``, ``[slo]`` and
``[hindcast]`` (a replay held to a published curve, scenarios/schema/hindcast.py) and
``[compare]`` (the tolerances of a comparison with a baseline, scenarios/schema/compare.py). Only
``name``, ``clock`` and ``population`` are required; the other sections have documented defaults
(no misreads and no plenary when ``[quality]`` and ``[plenary]`` are left out).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, PrivateAttr, field_validator, model_validator

from scenarios.schema.arrival import ArrivalSpec
from scenarios.schema.client import ClientSpec
from scenarios.schema.clock import Clock
from scenarios.schema.compare import check_tolerance
from scenarios.schema.errors import FieldError, FieldErrors, raise_if_any
from scenarios.schema.faults import Fault, FaultWindowSpec, resolve_faults
from scenarios.schema.fields import Section
from scenarios.schema.hindcast import HindcastSpec, apply_fitted, check_fit_fields, check_in_run
from scenarios.schema.plenary import NO_PLENARY, PlenarySpec
from scenarios.schema.population import PopulationSpec
from scenarios.schema.proxies import ProxySpec
from scenarios.schema.quality import NO_MISREADS, QualitySpec
from scenarios.schema.slo import Slo, SloSyntaxError, parse_slo, plan_args
from scenarios.schema.target import TargetSpec
from scenarios.schema.units import parse_time_spec

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


class SloCheck(Section):
    """An SLO with options: ``{ check = "result.p95 < 2s", abort_on_fail = true }``."""

    check: str
    abort_on_fail: bool = False


class SloSpec(Section):
    """SLO expressions (scenarios/schema/slo.py): a string, or a table with ``abort_on_fail``."""

    checks: Annotated[tuple[str | SloCheck, ...], Field(strict=False)] = ()

    @field_validator("checks")
    @classmethod
    def _parse(cls, value: tuple[str | SloCheck, ...]) -> tuple[str | SloCheck, ...]:
        problems = []
        for index, check in enumerate(value):
            text = check if isinstance(check, str) else check.check
            path: tuple[str | int, ...] = (index,) if isinstance(check, str) else (index, "check")
            if not text.strip():
                problems.append(
                    FieldError("must be a non-empty SLO expression", given=text, path=path)
                )
                continue
            try:
                parse_slo(text)
            except SloSyntaxError as error:
                problems.append(FieldError(error.reason, given=text, path=path))
        raise_if_any(problems)
        return value

    @property
    def parsed(self) -> tuple[Slo, ...]:
        """The checks as parsed SLOs, in file order."""
        return tuple(
            parse_slo(check)
            if isinstance(check, str)
            else parse_slo(check.check, abort_on_fail=check.abort_on_fail)
            for check in self.checks
        )


class Scenario(Section):
    """One load scenario, validated; see the module doc and scenarios/README.md."""

    name: str = Field(description="lower-case letters, digits, '_', '-', '.'")
    description: str = ""
    clock: Clock
    population: PopulationSpec
    arrival: ArrivalSpec = ArrivalSpec()
    client: ClientSpec = ClientSpec()
    quality: QualitySpec = NO_MISREADS
    plenary: PlenarySpec = NO_PLENARY
    target: TargetSpec = TargetSpec()
    proxies: Annotated[tuple[ProxySpec, ...], Field(strict=False)] = ()
    faults: Annotated[tuple[FaultWindowSpec, ...], Field(strict=False)] = ()
    slo: SloSpec = SloSpec()
    hindcast: HindcastSpec | None = None
    compare: Annotated[dict[str, str], Field(strict=False, default_factory=dict)]

    _timeline: tuple[Fault, ...] = PrivateAttr(default=())
    _source: str = PrivateAttr(default="")

    @model_validator(mode="before")
    @classmethod
    def _fitted_values(cls, data: object) -> object:
        """``[hindcast.fitted]`` values replace the fields they name, before validation."""
        return apply_fitted(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _fit_fields_known(self) -> Scenario:
        check_fit_fields(self.hindcast, {w.name: dict(w.params) for w in self.faults if w.name})
        check_in_run(self.hindcast, list(self.slo.parsed), self.clock, self.client.elections)
        return self

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise FieldError(
                "must be lower-case letters, digits, '_', '-' or '.', starting with a letter "
                "or digit, like 'kuta_selatan_2024'"
            )
        return value

    @field_validator("compare")
    @classmethod
    def _tolerances(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, text in value.items():
            try:
                check_tolerance(key, text)
            except ValueError as error:
                problems.append(FieldError(str(error), given=text, path=(key,)))
        raise_if_any(problems)
        return value

    @model_validator(mode="after")
    def _faults_inside_run(self) -> Scenario:
        try:
            self._timeline = resolve_faults(self.faults, self.clock)
        except FieldError as error:
            raise FieldError(error.valid, given=error.given, path=("faults", *error.path)) from None
        except FieldErrors as errors:
            raise FieldErrors(
                FieldError(error.valid, given=error.given, path=("faults", *error.path))
                for error in errors.errors
            ) from None
        return self

    @model_validator(mode="after")
    def _proxies_known(self) -> Scenario:
        """Proxy names and listen addresses are unique, 'db' is free when the embedded
        deployment's database link takes it, and every network fault's ``proxy`` is one of
        them (or that 'db'; the run checks it is there)."""
        problems, seen, listening = [], set(), dict[str, str]()
        for index, proxy in enumerate(self.proxies):
            if proxy.name in seen:
                problems.append(
                    FieldError("is declared twice", given=proxy.name, path=("proxies", index))
                )
            if proxy.listen in listening:
                problems.append(
                    FieldError(
                        f"proxy {listening[proxy.listen]!r} listens there already; each proxy "
                        "needs its own address", given=proxy.listen,
                        path=("proxies", index, "listen"),
                    )
                )  # fmt: skip
            mock = self.target.mock
            if proxy.name == "db" and mock is not None and mock.storage == "postgres":
                problems.append(
                    FieldError(
                        "names the embedded deployment's own database link (storage = "
                        "'postgres'); name the dependency otherwise",
                        given=proxy.name, path=("proxies", index, "name"),
                    )
                )  # fmt: skip
            seen.add(proxy.name)
            listening.setdefault(proxy.listen, proxy.name)
        for index, fault in enumerate(self.faults):
            named = fault.params.get("proxy") if fault.layer == "network" else None
            if isinstance(named, str) and named != "db" and named not in seen:
                valid = ", ".join(sorted(seen)) or "none: declare it in [[proxies]]"
                problems.append(
                    FieldError(
                        f"names no proxy of [[proxies]]; declared: {valid}",
                        given=named, path=("faults", index, "params", "proxy"),
                    )
                )  # fmt: skip
        raise_if_any(problems)
        return self

    @model_validator(mode="after")
    def _forms_are_uploaded(self) -> Scenario:
        uploaded = self.client.elections
        shown = ", ".join(uploaded)
        problems = [
            FieldError(
                f"must be a form the devices upload (client.elections: {shown})",
                given=election,
                path=(section, "elections", index),
            )
            for section, active, elections in (
                ("quality", self.quality.active, self.quality.elections),
                ("plenary", self.plenary.enabled, self.plenary.elections),
            )
            if active
            for index, election in enumerate(elections)
            if election not in uploaded
        ]
        raise_if_any(problems)
        return self

    @model_validator(mode="after")
    def _plenary_inside_run(self) -> Scenario:
        plenary, clock = self.plenary, self.clock
        if not plenary.enabled:
            return self
        start = clock.offset(plenary.start)
        run = f"{clock.local(0)} to {clock.local(clock.duration)}"
        if not 0 <= start < clock.duration:
            raise FieldError(
                f"starts {clock.local(start)}, outside the run ({run}); must lie inside the run",
                given=plenary.start.text,
                path=("plenary", "start"),
            )
        if not plenary.periods(clock, clock.zone):
            raise FieldError(
                f"must leave working time between plenary.start ({clock.local(start)}) and the "
                f"run's end ({clock.local(clock.duration)}); start earlier or run longer",
                given=plenary.model_dump(mode="json")["working_hours"],
                path=("plenary", "working_hours"),
            )
        return self

    @model_validator(mode="after")
    def _slos_name_known_faults(self) -> Scenario:
        names = [fault.name for fault in self._timeline]
        problems = []
        for index, slo in enumerate(self.slo.parsed):
            if slo.scope == "completion" and slo.args:
                try:
                    parse_time_spec(slo.args[0])
                except ValueError as error:
                    problems.append(
                        FieldError(str(error), given=slo.args[0], path=("slo", "checks", index))
                    )
            if slo.scope == "plan" and slo.args:
                try:
                    plan_args(*slo.args)
                except ValueError as error:
                    problems.append(
                        FieldError(str(error), given=slo.expression, path=("slo", "checks", index))
                    )
            if slo.scope == "recovery" and slo.args and slo.args[0] not in names:
                valid = (
                    ", ".join(repr(name) for name in names) or "none: the scenario has no faults"
                )
                problems.append(
                    FieldError(
                        f"names no fault window; fault windows: {valid}",
                        given=slo.args[0],
                        path=("slo", "checks", index),
                    )
                )
        raise_if_any(problems)
        return self

    @property
    def timeline(self) -> tuple[Fault, ...]:
        """The fault windows in simulated seconds from the start, in file order."""
        return self._timeline

    @property
    def source(self) -> str:
        """The file this scenario was loaded from ("" if built in code)."""
        return self._source

    def with_source(self, source: str) -> Scenario:
        """Record the file the scenario came from (used in error and summary lines)."""
        self._source = source
        return self
