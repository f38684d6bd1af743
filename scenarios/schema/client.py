"""The ``[client]`` section: how a simulated KPPS device behaves.

Request timeouts are on the real clock (they bound one HTTP request); think time and retry
back-off are on the simulated clock (they are part of the schedule), (scenarios/schema/clock.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from scenarios.schema.errors import FieldError, Shown, raise_if_any
from scenarios.schema.fields import DurationRange, PositiveDuration, Section
from scenarios.schema.population import ELECTIONS, Election
from scenarios.schema.units import format_duration

RetryPolicy = Literal["none", "fixed", "exponential"]


class TimeoutSpec(Section):
    """Timeouts per request, real clock (est. defaults for a phone on a busy mobile network)."""

    connect: PositiveDuration = Field(default=10.0, description="TCP/TLS connect (real clock)")
    session: PositiveDuration = Field(default=30.0, description="device login (real clock)")
    page: PositiveDuration = Field(default=120.0, description="one page photo PUT (real clock)")
    result: PositiveDuration = Field(default=30.0, description="result submission (real clock)")
    read: PositiveDuration = Field(default=30.0, description="a read or recap GET (real clock)")


class RetrySpec(Section):
    """What a device does after a failed request.

    ``none``: give up at once. ``fixed``: wait ``delay``. ``exponential``: full jitter, a uniform
    wait in [0, min(cap, delay * 2 ** (failures - 1))]. ``max_attempts`` counts the first try.
    With ``honour_retry_after`` the device waits at least the server's Retry-After (seconds on
    the server's clock, i.e. real) before trying again.
    """

    policy: RetryPolicy = "exponential"
    delay: PositiveDuration = Field(default=30.0, description="simulated clock")
    cap: PositiveDuration = Field(default=1800.0, description="simulated clock")
    max_attempts: int = Field(default=10, ge=1)
    honour_retry_after: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> RetrySpec:
        errors = []
        if (
            self.policy == "none"
            and "max_attempts" in self.model_fields_set
            and self.max_attempts > 1
        ):
            errors.append(
                FieldError(
                    'must be 1 with policy = "none" (or choose policy "fixed" or "exponential")',
                    given=self.max_attempts,
                    path=("max_attempts",),
                )
            )
        if self.policy == "exponential" and self.cap < self.delay:
            errors.append(
                FieldError(
                    f"must be >= delay ({format_duration(self.delay)})",
                    given=Shown(format_duration(self.cap)),
                    path=("cap",),
                )
            )
        raise_if_any(errors)
        return self

    @property
    def attempts(self) -> int:
        """Attempts per request, the first included."""
        return 1 if self.policy == "none" else self.max_attempts

    def backoff(self, failures: int, draw: float) -> float:
        """Simulated seconds to wait after ``failures`` failed attempts (>= 1).

        ``draw`` is a uniform number in [0, 1) from the caller's random stream (the jitter).
        """
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures}")
        if self.policy == "none":
            return 0.0
        if self.policy == "fixed":
            return self.delay
        return draw * min(self.cap, self.delay * 2.0 ** min(failures - 1, 60))


class ClientSpec(Section):
    """Device behaviour; see the module doc for the clocks."""

    # Presidential only by default, to keep runs small; legislative forms are optional.
    elections: Annotated[tuple[Election, ...], Field(strict=False, min_length=1)] = ("ppwp",)
    timeouts: TimeoutSpec = TimeoutSpec()
    retry: RetrySpec = RetrySpec()
    # est.: a few seconds to a minute between a device's unscheduled steps (login, submit).
    think_time: DurationRange = Field(default=(5.0, 30.0), description="simulated clock")
    new_connection_per_upload: bool = False
    # Two KPPS devices per TPS (kompas.tv, article 484912); with 2, both send every form
    # (idempotency under test).
    devices_per_tps: Literal[1, 2] = 1

    @field_validator("elections")
    @classmethod
    def _unique(cls, value: tuple[Election, ...]) -> tuple[Election, ...]:
        raise_if_any(
            [
                FieldError("duplicate election", given=election, path=(index,))
                for index, election in enumerate(value)
                if election in value[:index]
            ]
        )
        # Keep the counting order whatever the order written.
        return tuple(election for election in ELECTIONS if election in value)
