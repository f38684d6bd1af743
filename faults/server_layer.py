"""The server layer: fault windows through the target's admin fault API.

The API holds one fault state for the whole server: ``PUT /admin/faults`` replaces it (error rate
and status, latency and jitter, capacity fraction, endpoints, and the plenary gate as
``plenary_gate: {"retry_after_s": n}``), ``DELETE /admin/faults`` clears it.
While windows overlap, the layer sends the combination of all active ones; when none is left it
clears. HTTP status faults and failing a time window (Toxiproxy cannot do either) live here.

No fault outlives the harness: every state is sent with a lease (``lease_s``) and a background
thread renews it (``POST /admin/faults/lease``) every third of the lease while a window is active.
If the harness dies, even by SIGKILL, the server removes the faults once the lease runs out. A
lease that lapsed anyway (the harness was stopped longer than the lease, or the target restarted)
is set again with a PUT. The thread stops when the last window is removed, on ``clear`` and on
``close``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from faults.kinds import (
    BrownoutParams,
    PlenaryGateParams,
    ServerErrorsParams,
    ServerLatencyParams,
    ServerLayerParams,
    ServerParams,
)
from faults.timeline import FaultWindow

FAULTS_PATH = "/admin/faults"
LEASE_PATH = "/admin/faults/lease"
DEFAULT_LEASE_S = 15.0  # real seconds; renewed every third of it
log = logging.getLogger(__name__)


class ServerFaultError(RuntimeError):
    """The admin fault API refused a change or could not be reached."""


def fault_state(active: list[ServerLayerParams]) -> dict[str, Any]:
    """The ``PUT /admin/faults`` body for these active windows."""
    state: dict[str, Any] = {}
    for params in active:
        match params:
            case ServerErrorsParams():
                state["error_rate"] = params.rate
                state["error_status"] = params.status
            case ServerLatencyParams():
                state["latency_ms"] = params.latency_ms
                state["jitter_ms"] = params.jitter_ms
            case BrownoutParams():
                state["capacity_fraction"] = params.capacity_fraction
            case PlenaryGateParams():
                state["plenary_gate"] = {"retry_after_s": params.retry_after_s}
        if isinstance(params, ServerParams) and params.endpoints is not None:
            state["endpoints"] = list(params.endpoints)
    return state


class ServerFaults:
    """Applies server fault windows to the target at ``base_url`` with its admin token."""

    layer = "server"

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        lease_s: float = DEFAULT_LEASE_S,
    ) -> None:
        if not admin_token:
            raise ValueError(
                "admin_token must not be empty: the admin API needs the target's token"
            )
        if not lease_s > 0:
            raise ValueError(f"lease_s must be above 0 seconds; got {lease_s}")
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        self.lease_s = lease_s
        self._active: dict[str, ServerLayerParams] = {}
        self._version: int | None = None  # of the state last PUT, for its renewals
        self._lock = threading.Lock()  # one admin call at a time: the renewer's or the caller's
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.renew_error: str | None = None  # the last renewal that failed, None once one works

    def close(self) -> None:
        """Stop renewing (a fault still set lapses within its lease) and close the client."""
        self._stop_renewing()
        self._http.close()

    def apply(self, key: str, window: FaultWindow) -> None:
        if not isinstance(window.params, ServerLayerParams):
            raise TypeError(f"not a server fault: {window.describe()}")
        with self._lock:
            self._active[key] = window.params
            self._push()

    def remove(self, key: str, window: FaultWindow) -> None:
        with self._lock:
            if self._active.pop(key, None) is not None:
                self._push()
        if not self._active:
            self._stop_renewing()

    def clear(self) -> None:
        self._stop_renewing()
        with self._lock:
            self._active.clear()
            self._send("DELETE", None)

    def current(self) -> dict[str, Any]:
        """The server's fault state as it reports it (``GET /admin/faults``)."""
        response = self._send("GET", None)
        data: dict[str, Any] = response.json()
        return data

    def _push(self) -> None:
        """Send the state of the active windows (under the lock); start renewing its lease."""
        if not self._active:
            self._send("DELETE", None)
            return
        body = {**fault_state(list(self._active.values())), "lease_s": self.lease_s}
        answer = self._send("PUT", body)
        version = _json(answer).get("version")
        self._version = version if isinstance(version, int) else None
        if self._renewer is None:
            self._stop.clear()
            self._renewer = threading.Thread(
                target=self._renew_loop, name="server-fault-lease", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                if self._stop.is_set() or not self._active:
                    return
                try:
                    self._renew()
                    self.renew_error = None
                except ServerFaultError as exc:  # the next period tries again
                    self.renew_error = str(exc)
                    log.warning("renewing the server fault lease failed: %s", exc)

    def _renew(self) -> None:
        body = {"lease_s": self.lease_s, "version": self._version}
        try:
            response = self._http.post(LEASE_PATH, json=body)
        except httpx.HTTPError as exc:
            raise ServerFaultError(f"POST {self.base_url}{LEASE_PATH} failed: {exc!r}") from exc
        if response.status_code == 409:  # lapsed, or the target restarted: set it again
            self._push()
            return
        self._check("POST", f"{self.base_url}{LEASE_PATH}", response)

    def _stop_renewing(self) -> None:
        self._stop.set()
        renewer, self._renewer = self._renewer, None
        if renewer is not None and renewer is not threading.current_thread():
            renewer.join(timeout=self._http.timeout.read or 5.0)

    def _send(self, method: str, body: dict[str, Any] | None) -> httpx.Response:
        url = f"{self.base_url}{FAULTS_PATH}"
        try:
            response = self._http.request(method, FAULTS_PATH, json=body)
        except httpx.HTTPError as exc:
            raise ServerFaultError(f"{method} {url} failed: {exc!r}") from exc
        self._check(method, url, response)
        return response

    @staticmethod
    def _check(method: str, url: str, response: httpx.Response) -> None:
        if response.status_code in {401, 403}:
            raise ServerFaultError(
                f"{method} {url} answered {response.status_code}: the admin token was refused"
            )
        if not response.is_success:
            raise ServerFaultError(
                f"{method} {url} answered {response.status_code}: {response.text.strip()[:300]}"
            )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
