"""The fault kinds of each layer and their parameters (frozen, validated, units in the names).

Durations here are request-level, so they are real time (milliseconds or microseconds). The window
a fault is applied in is on the simulated clock (see ``faults.timeline``).

network (through Toxiproxy):
  down        proxy disabled: new connections refused, open ones dropped
  latency     latency_ms +/- jitter_ms on each chunk
  bandwidth   rate_kb_per_s (1 KB = 1000 bytes): a slow link
  timeout     data stops; connections close after timeout_ms (0: held until the window ends)
  reset       connections reset (TCP RST) on their first data, after timeout_ms
  slicer      data cut into small pieces (average_size_bytes, size_variation_bytes, delay_us)
  limit_data  each connection closes after max_bytes in a direction (truncated uploads)
  slow_close  closes held back delay_ms
  flaky       a fraction of connections is reset (mode "reset") or hangs (mode "timeout")
server (the target's admin fault API):
  errors        a fraction (rate) of requests answered with status
  latency       extra latency_ms +/- jitter_ms per request
  brownout      only capacity_fraction of the server's capacity is available
  plenary_gate  the plenary endpoints (operator sessions, plenary PUT and GET) answer 503 with
                Retry-After: retry_after_s; uploads and public reads go on (no endpoints param)
process (through a process handle):
  kill        SIGKILL at the start, restarted at the end of the window
  freeze      SIGSTOP at the start, SIGCONT at the end
command (the user's own commands, see faults.command_layer):
  run         argv ``apply`` at the start, ``revert`` at the end (and whenever the run ends
              first), optional ``probe`` after apply (exit 0: in effect); ``timeout_s`` real
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from faults.command_argv import Argv, EnvList, TimeoutS

Layer = Literal["network", "server", "process", "command"]
LAYERS: tuple[Layer, ...] = ("network", "server", "process", "command")
StreamChoice = Literal["upstream", "downstream", "both"]
Endpoint = Literal["session", "page", "result", "read", "recap", "plenary"]
ENDPOINTS: tuple[Endpoint, ...] = ("session", "page", "result", "read", "recap", "plenary")


WHERE = ("proxy", "victim")  # where a fault acts, when not the default place


class Params(BaseModel):
    """Parameters of one fault kind; unknown names are errors that list the valid ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    LAYER: ClassVar[Layer]
    KIND: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in cls.model_fields)
            if unknown:
                # the kind's own parameters first, where it acts (proxy, victim) last
                valid = ", ".join(sorted(cls.model_fields, key=lambda n: n in WHERE)) or "(none)"
                raise ValueError(
                    f"unknown parameter {', '.join(map(repr, unknown))} for a {cls.LAYER} "
                    f"{cls.KIND} fault; valid parameters: {valid}"
                )
        return data

    @model_serializer(mode="wrap")
    def _where_only_when_given(self, handler: SerializerFunctionWrapHandler) -> Any:
        """``proxy`` and ``victim`` are left out when not given: the default place."""
        data = handler(self)
        if isinstance(data, dict):
            for name in WHERE:
                if data.get(name, "") is None:
                    del data[name]
        return data


# -- network ------------------------------------------------------------------------------------


class OnProxy(Params):
    """A network fault: on the load path's proxy unless it names another one."""

    LAYER: ClassVar[Layer] = "network"
    proxy: str | None = Field(
        None,
        min_length=1,
        description="the proxy it acts on: a dependency's link ('db': a deployment's database) "
        "or the load path (the default)",
    )


class NetworkParams(OnProxy):
    LAYER: ClassVar[Layer] = "network"
    stream: StreamChoice = Field(
        "both", description="upstream = client to server, downstream = server to client, or both"
    )


class DownParams(OnProxy):
    KIND: ClassVar[str] = "down"


class LatencyParams(NetworkParams):
    KIND: ClassVar[str] = "latency"
    latency_ms: int = Field(ge=0, description="real milliseconds added to each chunk")
    jitter_ms: int = Field(0, ge=0, description="real milliseconds, +/-")
    stream: StreamChoice = "downstream"


class BandwidthParams(NetworkParams):
    KIND: ClassVar[str] = "bandwidth"
    rate_kb_per_s: int = Field(ge=1, description="KB/s, 1 KB = 1000 bytes")


class TimeoutParams(NetworkParams):
    KIND: ClassVar[str] = "timeout"
    timeout_ms: int = Field(0, ge=0, description="close after this; 0 holds until the end")


class ResetParams(NetworkParams):
    KIND: ClassVar[str] = "reset"
    timeout_ms: int = Field(0, ge=0, description="real milliseconds before the reset")
    stream: StreamChoice = "upstream"


class SlicerParams(NetworkParams):
    KIND: ClassVar[str] = "slicer"
    average_size_bytes: int = Field(ge=1)
    size_variation_bytes: int = Field(0, ge=0)
    delay_us: int = Field(0, ge=0, description="real microseconds between pieces")

    @model_validator(mode="after")
    def _variation_below_average(self) -> SlicerParams:
        if self.size_variation_bytes >= self.average_size_bytes:
            raise ValueError(
                f"size_variation_bytes ({self.size_variation_bytes}) must be smaller than "
                f"average_size_bytes ({self.average_size_bytes})"
            )
        return self


class LimitDataParams(NetworkParams):
    KIND: ClassVar[str] = "limit_data"
    max_bytes: int = Field(ge=0, description="bytes per connection and direction")
    stream: StreamChoice = "upstream"


class SlowCloseParams(NetworkParams):
    KIND: ClassVar[str] = "slow_close"
    delay_ms: int = Field(ge=0)
    stream: StreamChoice = "downstream"


class FlakyParams(NetworkParams):
    KIND: ClassVar[str] = "flaky"
    fraction: float = Field(gt=0.0, le=1.0, description="share of connections affected")
    mode: Literal["reset", "timeout"] = "reset"
    timeout_ms: int = Field(0, ge=0, description="reset: delay; timeout: close after (0 holds)")
    stream: StreamChoice = "upstream"


# -- server -------------------------------------------------------------------------------------


class ServerLayerParams(Params):
    """Any server kind (applied through ``faults.server_layer``)."""

    LAYER: ClassVar[Layer] = "server"


class ServerParams(ServerLayerParams):
    """A server kind scoped to endpoints."""

    endpoints: tuple[Endpoint, ...] | None = Field(
        None, description="endpoints affected; all when omitted"
    )

    @model_validator(mode="after")
    def _endpoints_not_empty(self) -> ServerParams:
        if self.endpoints is not None and not self.endpoints:
            raise ValueError(
                "endpoints must not be empty; omit it for all, or pick from " + ", ".join(ENDPOINTS)
            )
        return self


class ServerErrorsParams(ServerParams):
    KIND: ClassVar[str] = "errors"
    rate: float = Field(gt=0.0, le=1.0, description="share of requests answered with status")
    status: int = Field(503, ge=400, le=599, description="an HTTP 4xx or 5xx status")


class ServerLatencyParams(ServerParams):
    KIND: ClassVar[str] = "latency"
    latency_ms: float = Field(ge=0.0, description="real milliseconds added per request")
    jitter_ms: float = Field(0.0, ge=0.0)


class BrownoutParams(ServerParams):
    KIND: ClassVar[str] = "brownout"
    capacity_fraction: float = Field(gt=0.0, le=1.0, description="share of capacity left")


class PlenaryGateParams(ServerLayerParams):
    """The plenary suspended for maintenance while uploads go on: on 18 Feb 2024 plenaries were
    suspended at noon for Sirekap maintenance (NusaBali, 18 Feb 2024)."""

    KIND: ClassVar[str] = "plenary_gate"
    retry_after_s: int = Field(
        60, ge=0, le=86_400, description="real seconds sent in Retry-After with each 503"
    )


# -- process ------------------------------------------------------------------------------------


class ProcessParams(Params):
    """A process fault: on the target, or the one process it names."""

    LAYER: ClassVar[Layer] = "process"
    victim: str | None = Field(
        None,
        min_length=1,
        description="which process: an instance of a deployment (mock-1, mock-2, ...), 'all' "
        "its instances, or 'db' (its database server); default the target (every instance)",
    )


class KillParams(ProcessParams):
    KIND: ClassVar[str] = "kill"


class FreezeParams(ProcessParams):
    KIND: ClassVar[str] = "freeze"


# -- command ------------------------------------------------------------------------------------


class CommandParams(Params):
    """The user's own commands: argv lists run directly, never through a shell."""

    LAYER: ClassVar[Layer] = "command"
    KIND: ClassVar[str] = "run"
    apply: Argv = Field(description="argv run at the window's start")
    revert: Argv = Field(description="argv run at its end, or when the run ends first")
    probe: Argv | None = Field(
        None, description="argv run after apply until it exits 0 (in effect), within timeout_s"
    )
    timeout_s: TimeoutS = Field(30.0, description="real seconds each command may take")
    env: EnvList = Field((), description="extra NAME=value variables for each command")


KINDS: dict[Layer, dict[str, type[Params]]] = {
    "network": {
        cls.KIND: cls
        for cls in (
            DownParams,
            LatencyParams,
            BandwidthParams,
            TimeoutParams,
            ResetParams,
            SlicerParams,
            LimitDataParams,
            SlowCloseParams,
            FlakyParams,
        )
    },
    "server": {
        cls.KIND: cls
        for cls in (ServerErrorsParams, ServerLatencyParams, BrownoutParams, PlenaryGateParams)
    },
    "process": {cls.KIND: cls for cls in (KillParams, FreezeParams)},
    "command": {CommandParams.KIND: CommandParams},
}


def params_class(layer: str, kind: str) -> type[Params]:
    """The parameter model of ``layer``/``kind``; the error lists what is valid."""
    kinds = KINDS.get(layer)  # type: ignore[call-overload]
    if kinds is None:
        raise ValueError(f"unknown fault layer {layer!r}; valid layers: {', '.join(LAYERS)}")
    cls: type[Params] | None = kinds.get(kind)
    if cls is None:
        raise ValueError(
            f"unknown {layer} fault kind {kind!r}; valid {layer} kinds: {', '.join(kinds)}"
        )
    return cls
