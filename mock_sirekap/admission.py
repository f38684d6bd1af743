"""ASGI middleware in front of the API: server faults, the capacity model, request metrics.

For each API request it (1) classifies the endpoint, (2) refuses a plenary request with 503 +
Retry-After while the plenary gate is set, and fails any request an injected error fault picks,
(3) takes a modelled worker or refuses with 503 + Retry-After when the queue is full or the wait is
too long, (4) holds the response until the sampled service time (plus injected latency, plus the
per-MiB time of the body bytes actually read) has passed, overlapping the real work, and (5) records
the request in the metrics. Every request's body goes through a ``bodies.BodyGuard`` (size and time
limits, disconnects); a client that leaves while queued or while its answer is held frees its
place at once and is counted as a disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_sirekap import metrics
from mock_sirekap.bodies import DEFAULT_BODY_TIMEOUT, JSON_BODY_LIMIT, BodyGuard
from mock_sirekap.capacity import CapacityModel, Limiter
from mock_sirekap.server_faults import PLENARY_GATE_MESSAGE, FaultState


@dataclass
class ServerRuntime:
    """The per-process state the middleware and the admin API share."""

    capacity: CapacityModel
    faults: FaultState = field(default_factory=FaultState)
    rng: random.Random = field(default_factory=random.Random)
    limiter: Limiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = Limiter(self.capacity.workers, self.capacity.queue)

    def set_faults(self, state: FaultState) -> None:
        self.faults = state
        self.limiter.set_fraction(state.spec.capacity_fraction)

    def current_faults(self) -> FaultState:
        """The faults in force now: a state whose lease ran out lapses here (in every process)."""
        faults = self.faults
        if faults.expires_at is not None and time.time() >= faults.expires_at:
            self.set_faults(faults.lapse())
        return self.faults


def classify(method: str, path: str) -> str | None:
    """The modelled endpoint a request belongs to, or None for admin, health, docs and metrics."""
    if not path.startswith("/api/v1/"):
        return None
    parts = path[8:].split("/")
    head = parts[0]
    if head == "sessions" and method == "POST":
        return "session"
    if head == "operators" or (head == "recap" and len(parts) in {4, 5} and parts[3] == "plenary"):
        return "plenary"
    if head == "tps":
        if method == "GET":
            return "read"
        if method == "PUT" and len(parts) == 5 and parts[3] == "pages":
            return "page"
        if method == "PUT" and len(parts) == 4 and parts[3] == "result":
            return "result"
    if head == "recap":
        return "recap"
    return None


async def send_error(send: Send, status: int, message: str, retry_after: int | None = None) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The largest body per endpoint and the time a whole body may take (real seconds)."""

    page: int
    other: int = JSON_BODY_LIMIT
    timeout: float = DEFAULT_BODY_TIMEOUT

    def limit(self, endpoint: str) -> int:
        return self.page if endpoint == "page" else self.other


class Exchange:
    """The ``send`` side of one request: records the status, drops what a gone client would get,
    and closes the connection after an answer given before the body was read."""

    def __init__(self, send: Send, guard: BodyGuard) -> None:
        self._send = send
        self.guard = guard
        self.status = 500

    async def send(self, message: Message) -> None:
        if self.guard.disconnected:
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if not self.guard.complete:  # body left unread: do not read it for the next request
                message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
        await self._send(message)

    async def error(self, status: int, message: str, retry_after: int | None = None) -> None:
        await send_error(self.send, status, message, retry_after)


async def hold(guard: BodyGuard, seconds: float) -> None:
    """Wait ``seconds``, or less if the client goes away meanwhile (when that can be seen)."""
    if seconds <= 0:
        return
    if not guard.complete:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(guard.until_disconnect(), seconds)


async def acquire(limiter: Limiter, guard: BodyGuard, max_wait: float) -> str | None:
    """Take a worker as ``Limiter.acquire`` does; "disconnected" if the client leaves the queue."""
    if limiter.try_acquire():
        return None
    if not guard.complete:  # the body is still to come: no disconnect can be seen before it
        return await limiter.acquire(max_wait)
    waiting = asyncio.ensure_future(limiter.acquire(max_wait))
    watch = asyncio.ensure_future(guard.until_disconnect())
    try:
        await asyncio.wait({waiting, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if not guard.disconnected:
        return await waiting
    if waiting.done():
        if waiting.result() is None:
            limiter.release()
    else:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    return "disconnected"


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, runtime: ServerRuntime, limits: BodyLimits) -> None:
        self.app = app
        self.runtime = runtime
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = classify(scope["method"], scope["path"]) or "other"
        limits = self.limits
        guard = BodyGuard(receive, scope, endpoint, limits.limit(endpoint), limits.timeout)
        exchange = Exchange(send, guard)
        started = time.perf_counter()
        try:
            too_large = guard.refusal(scope)
            if too_large is not None:
                await exchange.error(413, too_large)
            elif endpoint == "other":
                await self.app(scope, guard.receive, exchange.send)
            else:
                await self._serve(endpoint, scope, guard, exchange)
        finally:
            guard.close()
            if guard.disconnected:
                metrics.DISCONNECTS.labels(endpoint).inc()
            else:
                metrics.observe_request(endpoint, exchange.status, time.perf_counter() - started)

    async def _serve(
        self, endpoint: str, scope: Scope, guard: BodyGuard, exchange: Exchange
    ) -> None:
        runtime = self.runtime
        faults, rng, capacity = runtime.current_faults(), runtime.rng, runtime.capacity
        gate = faults.spec.plenary_gate
        if gate is not None and endpoint == "plenary":
            metrics.REJECTIONS.labels("plenary_gate").inc()
            await exchange.error(503, PLENARY_GATE_MESSAGE, gate.retry_after_s)
            return
        if faults.should_fail(endpoint, rng):
            metrics.REJECTIONS.labels("fault").inc()
            code = faults.spec.error_status
            retry = capacity.retry_after if code in {429, 503} else None
            await exchange.error(code, f"injected server fault: HTTP {code}", retry)
            return
        extra = faults.extra_latency(endpoint, rng)
        if capacity.raw:
            await hold(guard, extra)
            if not guard.disconnected:
                await self.app(scope, guard.receive, exchange.send)
            return

        limiter = runtime.limiter
        metrics.QUEUE_DEPTH.set(limiter.waiting + 1)
        refused = await acquire(limiter, guard, capacity.queue_timeout)
        metrics.QUEUE_DEPTH.set(limiter.waiting)
        if refused == "disconnected":
            return
        if refused is not None:
            metrics.REJECTIONS.labels(refused).inc()
            why = "queue full" if refused == "queue_full" else "waited too long for a worker"
            await exchange.error(
                503,
                f"server at capacity ({why}); retry after {capacity.retry_after} s",
                capacity.retry_after,
            )
            return
        metrics.IN_FLIGHT.inc()
        service = capacity.service_time[endpoint]
        loop = asyncio.get_running_loop()
        # The body's share is charged on the bytes read when the answer is ready, not on the
        # declared length: a client that sends nothing costs nothing for its body.
        due = loop.time() + service.sample(rng, 0) + extra

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await hold(guard, due + service.body_time(guard.bytes_read) - loop.time())
            await exchange.send(message)

        try:
            await self.app(scope, guard.receive, timed_send)
        finally:
            metrics.IN_FLIGHT.dec()
            limiter.release()
