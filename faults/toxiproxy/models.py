"""Typed models of Toxiproxy's toxics and proxies, with Toxiproxy's own attribute names and units.

Each toxic type is one frozen model whose fields are the toxic's attributes, named and measured as
Toxiproxy names and measures them (milliseconds, microseconds, KB/s with KB = 1000 bytes, bytes),
plus the fields every toxic has: ``name`` (defaults to ``<type>_<stream>``), ``stream`` and
``toxicity``. A misspelt attribute is an error here; the real server would silently ignore it and
apply a toxic that does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

Stream = Literal["upstream", "downstream"]
STREAMS: tuple[Stream, ...] = ("upstream", "downstream")

_COMMON_FIELDS = ("name", "stream", "toxicity")


class _Toxic(BaseModel):
    """Fields shared by every toxic; subclasses add the attributes of one toxic type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]

    name: str | None = Field(
        None, description="toxic name; Toxiproxy defaults it to <type>_<stream>"
    )
    stream: Stream = Field("downstream", description="upstream = client to server")
    toxicity: float = Field(1.0, ge=0.0, le=1.0, description="probability the toxic applies")

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            valid = set(cls.model_fields)
            unknown = sorted(str(key) for key in data if key not in valid)
            if unknown:
                raise ValueError(
                    f"unknown attribute {', '.join(map(repr, unknown))} for a {cls.TYPE} toxic; "
                    f"valid attributes: {', '.join(cls.attribute_names()) or '(none)'}; "
                    f"valid toxic fields: {', '.join(_COMMON_FIELDS)}"
                )
        return data

    @classmethod
    def attribute_names(cls) -> tuple[str, ...]:
        return tuple(name for name in cls.model_fields if name not in _COMMON_FIELDS)

    @property
    def type(self) -> str:
        return self.TYPE

    @property
    def resolved_name(self) -> str:
        """The name Toxiproxy gives this toxic: ``name``, or ``<type>_<stream>`` when unset."""
        return self.name if self.name is not None else f"{self.TYPE}_{self.stream}"

    def attributes(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.attribute_names()}

    def to_api(self) -> dict[str, Any]:
        """The JSON body of ``POST /proxies/{proxy}/toxics``."""
        return {
            "name": self.resolved_name,
            "type": self.TYPE,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes(),
        }


class LatencyToxic(_Toxic):
    """Delays all data by ``latency`` +/- ``jitter`` milliseconds."""

    TYPE: ClassVar[str] = "latency"
    latency: StrictInt = Field(0, ge=0, description="milliseconds")
    jitter: StrictInt = Field(0, ge=0, description="milliseconds, +/-")


class BandwidthToxic(_Toxic):
    """Limits the link to ``rate`` KB/s (1 KB = 1000 bytes); 0 means unlimited."""

    TYPE: ClassVar[str] = "bandwidth"
    rate: StrictInt = Field(0, ge=0, description="KB/s")


class SlowCloseToxic(_Toxic):
    """Delays the closing of the connection by ``delay`` milliseconds."""

    TYPE: ClassVar[str] = "slow_close"
    delay: StrictInt = Field(0, ge=0, description="milliseconds")


class TimeoutToxic(_Toxic):
    """Drops all data and closes the connection after ``timeout`` ms (0: never, until removed)."""

    TYPE: ClassVar[str] = "timeout"
    timeout: StrictInt = Field(0, ge=0, description="milliseconds; 0 holds until removed")


class ResetPeerToxic(_Toxic):
    """Resets the connection (TCP RST) on the first data, after ``timeout`` milliseconds."""

    TYPE: ClassVar[str] = "reset_peer"
    timeout: StrictInt = Field(0, ge=0, description="milliseconds")


class SlicerToxic(_Toxic):
    """Slices data into pieces of about ``average_size`` bytes, ``delay`` microseconds apart."""

    TYPE: ClassVar[str] = "slicer"
    average_size: StrictInt = Field(1, ge=1, description="bytes")
    size_variation: StrictInt = Field(0, ge=0, description="bytes, smaller than average_size")
    delay: StrictInt = Field(0, ge=0, description="microseconds between pieces")

    @model_validator(mode="after")
    def _variation_below_average(self) -> SlicerToxic:
        if self.size_variation >= self.average_size:
            raise ValueError(
                f"size_variation ({self.size_variation}) must be smaller than average_size "
                f"({self.average_size})"
            )
        return self


class LimitDataToxic(_Toxic):
    """Closes the connection once ``bytes`` bytes went through (per connection and direction)."""

    TYPE: ClassVar[str] = "limit_data"
    bytes: StrictInt = Field(0, ge=0, description="bytes")


Toxic = (
    LatencyToxic
    | BandwidthToxic
    | SlowCloseToxic
    | TimeoutToxic
    | ResetPeerToxic
    | SlicerToxic
    | LimitDataToxic
)

TOXIC_TYPES: dict[str, type[_Toxic]] = {
    cls.TYPE: cls
    for cls in (
        LatencyToxic,
        BandwidthToxic,
        SlowCloseToxic,
        TimeoutToxic,
        ResetPeerToxic,
        SlicerToxic,
        LimitDataToxic,
    )
}


class ToxicError(ValueError):
    """A toxic description that Toxiproxy would not accept or would not apply as meant."""


def make_toxic(
    type_: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    stream: str = "downstream",
    toxicity: float = 1.0,
) -> Toxic:
    """Build a typed toxic from loose values (a file, a command line); errors say what is valid."""
    cls = TOXIC_TYPES.get(type_)
    if cls is None:
        raise ToxicError(f"unknown toxic type {type_!r}; valid types: {', '.join(TOXIC_TYPES)}")
    attrs = dict(attributes or {})
    for common in _COMMON_FIELDS:
        if common in attrs:
            raise ToxicError(
                f"{common!r} is a toxic field, not an attribute of a {type_} toxic; "
                f"valid attributes: {', '.join(cls.attribute_names())}"
            )
    try:
        toxic = cls.model_validate({**attrs, "name": name, "stream": stream, "toxicity": toxicity})
    except ValidationError as exc:
        raise ToxicError(_first_error(exc, type_)) from None
    return toxic  # type: ignore[return-value]


def toxic_from_api(data: Mapping[str, Any]) -> Toxic:
    """Parse a toxic as the Toxiproxy API returns it (``{"name", "type", "stream", ...}``)."""
    attributes = data.get("attributes") or {}
    return make_toxic(
        str(data.get("type")),
        attributes,
        name=data.get("name"),
        stream=str(data.get("stream", "downstream")).lower(),
        toxicity=float(data.get("toxicity", 1.0)),
    )


def _first_error(exc: ValidationError, type_: str) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return f"invalid {type_} toxic: " + "; ".join(parts)


class ProxyInfo(BaseModel):
    """A proxy as the Toxiproxy API shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ProxyInfo:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=data["enabled"],
            toxics=tuple(toxic_from_api(item) for item in data.get("toxics") or ()),
        )

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])
