"""The server layer: fault windows through the target's admin fault API.

The API holds one fault state for the whole server: ``PUT /admin/faults`` replaces it (error rate
and status, latency and jitter, capacity fraction, endpoints, and the plenary gate as
``plenary_gate: {"retry_after_s": n}``), ``DELETE /admin/faults`` clears it.
While windows overlap, the layer sends the combination of all active ones; when none is left it
clears. HTTP status faults and failing a time window (Toxiproxy cannot do either) live here.
"""

from __future__ import annotations

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
    ) -> None:
        if not admin_token:
            raise ValueError(
                "admin_token must not be empty: the admin API needs the target's token"
            )
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        self._active: dict[str, ServerLayerParams] = {}

    def close(self) -> None:
        self._http.close()

    def apply(self, key: str, window: FaultWindow) -> None:
        if not isinstance(window.params, ServerLayerParams):
            raise TypeError(f"not a server fault: {window.describe()}")
        self._active[key] = window.params
        self._push()

    def remove(self, key: str, window: FaultWindow) -> None:
        if self._active.pop(key, None) is not None:
            self._push()

    def clear(self) -> None:
        self._active.clear()
        self._send("DELETE", None)

    def current(self) -> dict[str, Any]:
        """The server's fault state as it reports it (``GET /admin/faults``)."""
        response = self._send("GET", None)
        data: dict[str, Any] = response.json()
        return data

    def _push(self) -> None:
        if self._active:
            self._send("PUT", fault_state(list(self._active.values())))
        else:
            self._send("DELETE", None)

    def _send(self, method: str, body: dict[str, Any] | None) -> httpx.Response:
        url = f"{self.base_url}{FAULTS_PATH}"
        try:
            response = self._http.request(method, FAULTS_PATH, json=body)
        except httpx.HTTPError as exc:
            raise ServerFaultError(f"{method} {url} failed: {exc!r}") from exc
        if response.status_code in {401, 403}:
            raise ServerFaultError(
                f"{method} {url} answered {response.status_code}: the admin token was refused"
            )
        if not response.is_success:
            raise ServerFaultError(
                f"{method} {url} answered {response.status_code}: {response.text.strip()[:300]}"
            )
        return response
