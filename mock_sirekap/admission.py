"""ASGI middleware in front of the API: server faults, the capacity model, request metrics.

For each API request it (1) classifies the endpoint, (2) refuses a plenary request with 503 +
Retry-After while the plenary gate is set, and fails any request an injected error fault picks,
(3) takes a modelled worker or refuses with 503 + Retry-After when the queue is full or the wait is
too long, (4) holds the response until the sampled service time (plus injected latency) has passed,
overlapping the real work, and (5) records the request in the metrics.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_sirekap import metrics
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


def _content_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, runtime: ServerRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = classify(scope["method"], scope["path"]) or "other"
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if endpoint == "other":
                await self.app(scope, receive, recording_send)
            else:
                await self._serve(endpoint, scope, receive, recording_send)
        finally:
            metrics.observe_request(endpoint, status, time.perf_counter() - started)

    async def _serve(self, endpoint: str, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        faults, rng, capacity = runtime.faults, runtime.rng, runtime.capacity
        gate = faults.spec.plenary_gate
        if gate is not None and endpoint == "plenary":
            metrics.REJECTIONS.labels("plenary_gate").inc()
            await send_error(send, 503, PLENARY_GATE_MESSAGE, gate.retry_after_s)
            return
        if faults.should_fail(endpoint, rng):
            metrics.REJECTIONS.labels("fault").inc()
            code = faults.spec.error_status
            retry = capacity.retry_after if code in {429, 503} else None
            await send_error(send, code, f"injected server fault: HTTP {code}", retry)
            return
        extra = faults.extra_latency(endpoint, rng)
        if capacity.raw:
            if extra:
                await asyncio.sleep(extra)
            await self.app(scope, receive, send)
            return

        limiter = runtime.limiter
        metrics.QUEUE_DEPTH.set(limiter.waiting + 1)
        refused = await limiter.acquire(capacity.queue_timeout)
        metrics.QUEUE_DEPTH.set(limiter.waiting)
        if refused is not None:
            metrics.REJECTIONS.labels(refused).inc()
            why = "queue full" if refused == "queue_full" else "waited too long for a worker"
            await send_error(
                send,
                503,
                f"server at capacity ({why}); retry after {capacity.retry_after} s",
                capacity.retry_after,
            )
            return
        metrics.IN_FLIGHT.inc()
        service = capacity.service_time[endpoint].sample(rng, _content_length(scope)) + extra
        loop = asyncio.get_running_loop()
        deadline = loop.time() + service

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                remaining = deadline - loop.time()
                if remaining > 0:
                    await asyncio.sleep(remaining)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            metrics.IN_FLIGHT.dec()
            limiter.release()
