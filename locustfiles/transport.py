"""HTTP for one device: a FastHttpUser's client with a whole-request timeout and recording.

Each request runs under a real-clock timeout for the whole exchange (connect, send, answer); when
it expires the device drops its connections, as a phone app cancelling a call does. With
``new_connection`` every request asks the server to close the connection afterwards, so each
opens its own (a phone on a cellular network). Every request is recorded in the process's
timeline with its failure kind; Locust's own statistics get it through FastHttpSession as usual.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import gevent
from locust.contrib.fasthttp import FastHttpSession

from locustfiles.api import Response
from locustfiles.recorder import Recorder
from locustfiles.shared_clock import now
from rundir.failures import TRUNCATED, describe, http_failure, transport_failure


class HttpTransport:
    """Sends a device's requests through its user's FastHttpSession."""

    def __init__(self, user: Any, recorder: Recorder, new_connection: bool) -> None:
        self.user = user
        self.recorder = recorder
        self.new_connection = new_connection

    def send(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Response:
        if self.new_connection:
            headers["Connection"] = "close"
        timer = gevent.Timeout(timeout)
        started = time.perf_counter()
        timer.start()
        try:
            response = self._exchange(endpoint, method, path, body, headers, timer)
        except gevent.Timeout as expired:  # fired outside the client's own handling
            if expired is not timer:
                raise
            response = Response(0, "timeout", error=f"no complete answer in {timeout:g} s")
        finally:
            timer.close()
        latency_ms = (time.perf_counter() - started) * 1000.0
        response.finished_at = now()  # the run's shared clock
        if response.failure == "timeout":
            self._reconnect()
        self.recorder.request(endpoint, response.finished_at, latency_ms, response.failure)
        return response

    def _exchange(
        self,
        endpoint: str,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timer: gevent.Timeout,
    ) -> Response:
        reply = self.user.client.request(method, path, name=endpoint, data=body, headers=headers)
        status = int(reply.status_code or 0)
        error = getattr(reply, "error", None)
        if status == 0:
            failure = "other" if error is None else transport_failure(error)
            if error is timer or getattr(error, "original", None) is timer:
                failure = "timeout"
            return Response(0, failure, error="" if error is None else describe(error))
        try:
            content = reply._cached_content  # set once the whole body was read
        except AttributeError:
            return Response(status, TRUNCATED, error=f"HTTP {status}: body cut off")
        headers_in = reply.headers
        retry_after = headers_in.get("retry-after") if headers_in is not None else None
        return Response(
            status,
            http_failure(status),
            content or b"",
            retry_after if isinstance(retry_after, str) else None,
        )

    def _reconnect(self) -> None:
        """Drop every connection of this device (a request was cut off mid-way)."""
        old: FastHttpSession = self.user.client
        self.user.client = new_session(self.user)
        with contextlib.suppress(Exception):  # a half-used pool is discarded anyway
            old.client.close()


def new_session(user: Any) -> FastHttpSession:
    """A fresh FastHttpSession with the user's settings (as FastHttpUser makes it)."""
    return FastHttpSession(
        base_url=user.host,
        request_event=user.environment.events.request,
        network_timeout=user.network_timeout,
        connection_timeout=user.connection_timeout,
        max_redirects=user.max_redirects,
        max_retries=user.max_retries,
        insecure=user.insecure,
        concurrency=user.concurrency,
        user=user,
        client_pool=user.client_pool,
        ssl_context_factory=user.ssl_context_factory,
        headers=user.default_headers,
        proxy_host=user.proxy_host,
        proxy_port=user.proxy_port,
    )
