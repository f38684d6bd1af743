"""The ``[target]`` section: a real service (``url``) or the mock with a capacity model.

``[target.mock]`` is what the harness writes as the mock's ``--capacity`` JSON file (see
:func:`capacity_json`). All its durations are on the real clock: the mock serves real requests.
"""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from rundir.endpoints import ALL
from scenarios.schema.errors import FieldError, Shown
from scenarios.schema.fields import Duration, PositiveDuration, Section, require_p95_above_median

ENDPOINTS: Final = ALL  # rundir.endpoints


MAX_INSTANCES: Final = 16  # the embedded deployment's instances at most (one machine)


class ServiceTimeSpec(Section):
    """Service time of one request: log-normal by median and p95, plus ``per_mib`` of body."""

    median: PositiveDuration = Field(description="real clock")
    p95: PositiveDuration = Field(description="real clock")
    per_mib: Duration = Field(default=0.0, description="real clock, per MiB of request body")

    @model_validator(mode="after")
    def _ordered(self) -> ServiceTimeSpec:
        require_p95_above_median(self.median, self.p95)
        return self


def _service(median: float, p95: float, per_mib: float = 0.0) -> ServiceTimeSpec:
    return ServiceTimeSpec.model_construct(median=median, p95=p95, per_mib=per_mib)


class ServiceTimesSpec(Section):
    """Service times per endpoint (est. defaults for one modest server instance)."""

    session: ServiceTimeSpec = _service(0.02, 0.08)
    page: ServiceTimeSpec = _service(0.05, 0.2, per_mib=0.04)
    result: ServiceTimeSpec = _service(0.03, 0.12)
    read: ServiceTimeSpec = _service(0.005, 0.02)
    recap: ServiceTimeSpec = _service(0.03, 0.15)
    # est.: a PPK operator's plenary call reads one result and writes one row, like a submission.
    plenary: ServiceTimeSpec = _service(0.03, 0.12)


class MockCapacitySpec(Section):
    """The mock's modelled capacity: workers, a bounded queue, admission control, service times.

    ``mode = "raw"`` removes the model (the mock serves as fast as the host allows).
    """

    mode: Literal["model", "raw"] = "model"
    workers: int = Field(default=8, ge=1, description="requests served at once")
    queue: int = Field(default=64, ge=0, description="requests waiting; beyond it: 503")
    queue_timeout: PositiveDuration = Field(default=2.0, description="real clock; then 503")
    retry_after: PositiveDuration = Field(
        default=30.0, description="real clock, whole seconds: the 503's Retry-After"
    )
    service_time: ServiceTimesSpec = ServiceTimesSpec()
    instances: int = Field(
        default=1,
        ge=1,
        le=MAX_INSTANCES,
        description="mock instances behind HAProxy (a staging-like deployment), each with this "
        "model: the model is one instance's",
    )
    storage: Literal["sqlite", "postgres"] = Field(
        default="sqlite",
        description="the instances' database: one SQLite file, or a PostgreSQL server the "
        "harness starts, reached through a Toxiproxy proxy named 'db'",
    )

    @property
    def deployed(self) -> bool:
        """Several instances or a database server: the staging-like deployment, not one mock."""
        return self.instances > 1 or self.storage == "postgres"

    @field_validator("retry_after")
    @classmethod
    def _whole_seconds(cls, value: float) -> float:
        if value != int(value):
            raise FieldError("must be a whole number of seconds, like 30s or 2m")
        return value


class TargetSpec(Section):
    """Exactly one of ``url`` (a real service) or ``[target.mock]``; the mock by default."""

    url: str | None = Field(default=None, description="base URL of a real service")
    mock: MockCapacitySpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_mock(cls, data: Any) -> Any:
        if isinstance(data, dict) and "url" not in data and "mock" not in data:
            return {**data, "mock": {}}
        return data

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise FieldError('must be an http:// or https:// URL like "http://127.0.0.1:8000"')
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_target(self) -> TargetSpec:
        if self.url is not None and self.mock is not None:
            raise FieldError(
                "give either url (a real service) or [target.mock] (the mock), not both",
                given=Shown(f"url {self.url!r} and [target.mock]"),
                path=("mock",),
            )
        return self
