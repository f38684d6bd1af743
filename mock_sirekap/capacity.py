"""The modelled capacity: workers, a bounded queue, service times, admission control.

A real upload service saturates: requests wait for a worker, the wait queue fills, and the service
sheds load with 503 + Retry-After. The model makes that behaviour a setting, not an accident of
the host: service time is *waited* (asyncio.sleep while holding a worker), not burned, so a 2-core
laptop can stand in for a cluster, and results do not depend on how busy the host is.

File format (TOML or JSON; every time is real-clock seconds)::

    mode = "model"          # or "raw": no model, requests are served as fast as the host can
    workers = 16            # requests served at once
    queue = 256             # requests allowed to wait for a worker; more are refused (503)
    queue_timeout = 5.0     # longest wait for a worker before a 503
    retry_after = 2         # seconds, sent in Retry-After with every 503 the model answers
    [service_time.page]     # per endpoint: session, page, result, read, recap, plenary
    median = 0.12
    p95 = 0.40
    per_mib = 0.08          # added per MiB of request body read (photo uploads)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENDPOINTS: tuple[str, ...] = ("session", "page", "result", "read", "recap", "plenary")
# z-score of the 95th percentile of a normal distribution: lognormal sigma from median and p95.
Z95 = 1.6448536269514722


class CapacityError(ValueError):
    """A capacity file that cannot be used; the message names the file, field and what is valid."""


@dataclass(frozen=True, slots=True)
class ServiceTime:
    median: float
    p95: float
    per_mib: float = 0.0

    def sample(self, rng: random.Random, body_bytes: int) -> float:
        base = self.median
        if self.p95 > self.median > 0:
            sigma = math.log(self.p95 / self.median) / Z95
            base = self.median * math.exp(sigma * rng.gauss(0.0, 1.0))
        return base + self.body_time(body_bytes)

    def body_time(self, body_bytes: int) -> float:
        """The per-MiB share of the service time for ``body_bytes`` bytes of body."""
        return self.per_mib * body_bytes / 1_048_576


# A moderate instance, used when no file is given. Service times est.: a photo of 1-1.5 MB
# (est.: scenarios/FACTS.md) dominates the page endpoint through per_mib.
DEFAULT_SERVICE = {
    "session": ServiceTime(0.02, 0.06),
    "page": ServiceTime(0.06, 0.20, 0.08),
    "result": ServiceTime(0.04, 0.15),
    "read": ServiceTime(0.01, 0.04),
    "recap": ServiceTime(0.05, 0.20),
    # est.: a plenary call reads one result and writes one row, like a result submission.
    "plenary": ServiceTime(0.04, 0.15),
}


@dataclass(frozen=True, slots=True)
class CapacityModel:
    mode: str = "model"
    workers: int = 16
    queue: int = 256
    queue_timeout: float = 5.0
    retry_after: int = 2
    service_time: dict[str, ServiceTime] = field(default_factory=lambda: dict(DEFAULT_SERVICE))

    @property
    def raw(self) -> bool:
        return self.mode == "raw"

    def per_process(self, processes: int) -> CapacityModel:
        """The share of one of ``processes`` server processes (workers and queue divided)."""
        if processes <= 1:
            return self
        return CapacityModel(
            self.mode,
            max(1, round(self.workers / processes)),
            max(0, round(self.queue / processes)),
            self.queue_timeout,
            self.retry_after,
            dict(self.service_time),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "workers": self.workers,
            "queue": self.queue,
            "queue_timeout": self.queue_timeout,
            "retry_after": self.retry_after,
            "service_time": {
                name: {"median": st.median, "p95": st.p95, "per_mib": st.per_mib}
                for name, st in self.service_time.items()
            },
        }


RAW = CapacityModel(mode="raw")


def load_capacity(path: Path) -> CapacityModel:
    """Read a capacity file (TOML or JSON by extension); ``raw`` as a path means no model."""
    if str(path) == "raw":
        return RAW
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CapacityError(f"{path}: cannot read capacity file: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise CapacityError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from exc
    return parse_capacity(data, str(path))


def parse_capacity(data: Any, source: str) -> CapacityModel:
    if not isinstance(data, dict):
        raise CapacityError(f"{source}: expected a table of settings")
    allowed = {"mode", "workers", "queue", "queue_timeout", "retry_after", "service_time"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CapacityError(
            f"{source}: unknown setting {unknown[0]!r}; "
            f"valid settings: {', '.join(sorted(allowed))}"
        )
    mode = data.get("mode", "model")
    if mode not in {"model", "raw"}:
        raise CapacityError(f"{source}: mode: got {mode!r}; valid modes: model, raw")
    base = CapacityModel()
    services = dict(DEFAULT_SERVICE)
    for name, spec in dict(data.get("service_time", {})).items():
        if name not in ENDPOINTS:
            raise CapacityError(
                f"{source}: service_time.{name}: unknown endpoint; valid: {', '.join(ENDPOINTS)}"
            )
        services[name] = _service(spec, f"{source}: service_time.{name}")
    return CapacityModel(
        mode=mode,
        workers=_number(data, "workers", base.workers, source, int, minimum=1),
        queue=_number(data, "queue", base.queue, source, int, minimum=0),
        queue_timeout=_number(data, "queue_timeout", base.queue_timeout, source, float, minimum=0),
        retry_after=_number(data, "retry_after", base.retry_after, source, int, minimum=0),
        service_time=services,
    )


def _number(
    data: dict[str, Any], key: str, default: Any, source: str, kind: type, minimum: float
) -> Any:
    value = data.get(key, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok or value < minimum:
        what = "a whole number" if kind is int else "a number"
        raise CapacityError(f"{source}: {key}: got {value!r}; must be {what} >= {minimum:g}")
    return kind(value)


def _service(spec: Any, where: str) -> ServiceTime:
    if not isinstance(spec, dict) or not set(spec) <= {"median", "p95", "per_mib"}:
        raise CapacityError(f"{where}: expected a table with median, p95 and optional per_mib")
    values = {}
    for key in ("median", "p95", "per_mib"):
        value = spec.get(key, spec.get("median", 0.0) if key == "p95" else 0.0)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise CapacityError(f"{where}.{key}: got {value!r}; must be seconds >= 0")
        values[key] = float(value)
    if values["p95"] < values["median"]:
        raise CapacityError(
            f"{where}.p95: {values['p95']} is below the median {values['median']}; p95 >= median"
        )
    return ServiceTime(values["median"], values["p95"], values["per_mib"])


class Limiter:
    """Worker slots with a bounded FIFO wait queue, and a limit that a brown-out can lower."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue_limit = queue
        self.fraction = 1.0
        self.active = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()

    @property
    def limit(self) -> int:
        return max(1, math.ceil(self.workers * self.fraction))

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def set_fraction(self, fraction: float) -> None:
        self.fraction = fraction
        self._wake()

    def try_acquire(self) -> bool:
        """Take a free worker without waiting; False when none is free or others wait."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return True
        return False

    async def acquire(self, max_wait: float) -> str | None:
        """Take a worker; None on success, else the reason for refusal."""
        if self.try_acquire():
            return None
        if len(self._waiters) >= self.queue_limit:
            return "queue_full"
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(max_wait, self._expire, waiter)
        try:
            granted = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()
            else:
                self._discard(waiter)
            raise
        finally:
            expiry.cancel()
        return None if granted else "queue_timeout"

    def release(self) -> None:
        self.active -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(True)

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
            self._discard(waiter)

    def _discard(self, waiter: asyncio.Future[bool]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
