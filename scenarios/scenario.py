"""The whole scenario: a frozen model of one file, with its cross-section checks.

Sections: ``name``, ``description``, ``[clock]``, ``[population]``, ``[arrival]``, ``[client]``,
``[target]``, ``[[faults]]`` and ``[slo]``. Only ``name``, ``clock`` and ``population`` are
required; the other sections have documented defaults.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, PrivateAttr, field_validator, model_validator

from scenarios.arrival_spec import ArrivalSpec
from scenarios.client import ClientSpec
from scenarios.clock import Clock
from scenarios.errors import FieldError, FieldErrors
from scenarios.fields import Section
from scenarios.population_spec import PopulationSpec
from scenarios.target import TargetSpec
from scenarios.timeline import Fault, FaultWindowSpec, resolve_faults

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


class SloSpec(Section):
    """SLO expressions, kept as text; the report parses and checks them."""

    checks: Annotated[tuple[str, ...], Field(strict=False)] = ()

    @field_validator("checks")
    @classmethod
    def _not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, check in enumerate(value):
            if not check.strip():
                raise FieldError("must be a non-empty SLO expression", given=check, path=(index,))
        return tuple(check.strip() for check in value)


class Scenario(Section):
    """One load scenario, validated; see the module doc and scenarios/README.md."""

    name: str = Field(description="lower-case letters, digits, '_', '-', '.'")
    description: str = ""
    clock: Clock
    population: PopulationSpec
    arrival: ArrivalSpec = ArrivalSpec()
    client: ClientSpec = ClientSpec()
    target: TargetSpec = TargetSpec()
    faults: Annotated[tuple[FaultWindowSpec, ...], Field(strict=False)] = ()
    slo: SloSpec = SloSpec()

    _timeline: tuple[Fault, ...] = PrivateAttr(default=())
    _source: str = PrivateAttr(default="")

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise FieldError(
                "must be lower-case letters, digits, '_', '-' or '.', starting with a letter "
                "or digit, like 'kuta_selatan_2024'"
            )
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
