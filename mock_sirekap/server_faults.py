"""Server-side faults set through the admin API: errors, extra latency, capacity brown-out, and
the plenary gate (the plenary endpoints suspended for maintenance while uploads go on).

The state is kept in the database as well as in memory, so every server process of a
``--workers N`` mock follows the same faults (each polls the row a few times a second).

A fault state may hold a lease (``lease_s``): it lapses by itself once ``lease_s`` real seconds
pass without a renewal (``POST /admin/faults/lease``), so a fault never outlives the harness that
set it, even one killed with SIGKILL. The lease ends at a UNIX time kept with the state, so every
process lapses it at the same moment.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mock_sirekap.capacity import ENDPOINTS

# On 18 Feb 2024 plenaries were suspended at noon for Sirekap maintenance, and the recap display
# paused 18-19 Feb while uploads continued (NusaBali, 18 Feb 2024; national press).
PLENARY_GATE_MESSAGE = "plenary suspended for Sirekap maintenance"


class PlenaryGate(BaseModel):
    """While set, the plenary endpoints (operator sessions, PUT and GET plenary) answer 503."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retry_after_s: int = Field(
        60, ge=0, le=86_400, description="seconds sent in Retry-After with each refusal"
    )


class FaultSpec(BaseModel):
    """Body of ``PUT /admin/faults``: replaces the whole server fault state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="fraction of requests failed")
    error_status: int = Field(503, ge=400, le=599, description="HTTP status of failed requests")
    latency_ms: float = Field(0.0, ge=0.0, le=600_000, description="extra latency (real ms)")
    jitter_ms: float = Field(0.0, ge=0.0, le=600_000, description="uniform +- jitter (real ms)")
    capacity_fraction: float = Field(
        1.0, gt=0.0, le=1.0, description="brown-out: share of the modelled workers left"
    )
    endpoints: list[str] | None = Field(
        None, description=f"endpoints affected, of {', '.join(ENDPOINTS)}; omitted: all"
    )
    plenary_gate: PlenaryGate | None = Field(
        None, description="suspend the plenary endpoints (503 + Retry-After); null: open"
    )

    @field_validator("endpoints")
    @classmethod
    def _known_endpoints(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in ENDPOINTS]
        if unknown or not value:
            what = f"unknown endpoint {unknown[0]!r}" if unknown else "empty endpoint list"
            raise ValueError(f"{what}; valid endpoints: {', '.join(ENDPOINTS)}")
        return value


NO_FAULTS = FaultSpec()
MAX_LEASE_S = 86_400.0
LEASE_DOC = (
    "real seconds the state holds unless renewed with POST /admin/faults/lease; when it runs "
    "out every fault is removed; omitted: held until DELETE /admin/faults"
)


class LeasedFaultSpec(FaultSpec):
    """Body of ``PUT /admin/faults``: the fault state, and the lease it holds for."""

    lease_s: float | None = Field(None, gt=0, le=MAX_LEASE_S, description=LEASE_DOC)

    def fault_spec(self) -> FaultSpec:
        return FaultSpec.model_validate(self.model_dump(exclude={"lease_s"}))


class LeaseRenewal(BaseModel):
    """Body of ``POST /admin/faults/lease``: hold the faults in force ``lease_s`` more seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lease_s: float = Field(gt=0, le=MAX_LEASE_S, description="real seconds from now")
    version: int | None = Field(
        None, ge=1, description="renew only this version of the state (from PUT's answer)"
    )


def iso(unix: float | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat()


@dataclass(slots=True)
class FaultState:
    spec: FaultSpec = NO_FAULTS
    version: int = 0
    since: str | None = None
    lease_s: float | None = None
    expires_at: float | None = None  # UNIX time the lease runs out; None: no lease
    lapsed_at: float | None = None  # when a lease ran out and removed the faults

    @classmethod
    def leased(cls, spec: FaultSpec, since: str, lease_s: float | None) -> FaultState:
        expires = None if lease_s is None else time.time() + lease_s
        return cls(spec, since=since, lease_s=lease_s, expires_at=expires)

    def lapse(self) -> FaultState:
        """The state once the lease ran out: no faults (same version: nothing new to load)."""
        return FaultState(version=self.version, lapsed_at=self.expires_at)

    def renewed(self, lease_s: float) -> FaultState:
        return replace(self, lease_s=lease_s, expires_at=time.time() + lease_s)

    @property
    def active(self) -> bool:
        return self.spec != NO_FAULTS

    def applies_to(self, endpoint: str) -> bool:
        return self.spec.endpoints is None or endpoint in self.spec.endpoints

    def should_fail(self, endpoint: str, rng: random.Random) -> bool:
        rate = self.spec.error_rate
        return rate > 0 and self.applies_to(endpoint) and rng.random() < rate

    def extra_latency(self, endpoint: str, rng: random.Random) -> float:
        """Seconds of injected latency for one request (0 when none applies)."""
        spec = self.spec
        if (spec.latency_ms <= 0 and spec.jitter_ms <= 0) or not self.applies_to(endpoint):
            return 0.0
        jitter = rng.uniform(-spec.jitter_ms, spec.jitter_ms) if spec.jitter_ms else 0.0
        return max(0.0, spec.latency_ms + jitter) / 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.spec.model_dump(),
            "active": self.active,
            "since": self.since,
            "version": self.version,
            "lease_s": self.lease_s,
            "expires_at": iso(self.expires_at),
            "lapsed_at": iso(self.lapsed_at),
        }

    def to_row(self) -> str:
        return json.dumps(
            {
                "spec": self.spec.model_dump(),
                "since": self.since,
                "lease_s": self.lease_s,
                "expires_at": self.expires_at,
            }
        )

    @classmethod
    def from_row(cls, version: int, text: str) -> FaultState:
        data = json.loads(text)
        spec = FaultSpec.model_validate(data["spec"])
        return cls(spec, version, data["since"], data.get("lease_s"), data.get("expires_at"))
