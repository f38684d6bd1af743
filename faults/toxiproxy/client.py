"""A typed control client for the Toxiproxy HTTP API (``toxiproxy-server`` or the built-in one).

Every call has a timeout. An API error becomes :class:`ToxiproxyApiError`, whose message carries
Toxiproxy's own error text; a server that cannot be reached becomes :class:`ToxiproxyUnavailable`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from faults.toxiproxy.models import ProxyInfo, Toxic, toxic_from_api

DEFAULT_URL = "http://127.0.0.1:8474"
DEFAULT_TIMEOUT_S = 5.0


class ToxiproxyError(Exception):
    """Anything that went wrong talking to Toxiproxy."""


class ToxiproxyUnavailable(ToxiproxyError):
    """The server did not answer (refused, timed out, connection broken)."""


class ToxiproxyApiError(ToxiproxyError):
    """The server answered with an error status; ``error`` is Toxiproxy's own message."""

    def __init__(self, method: str, path: str, status: int, error: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.error = error
        super().__init__(f"Toxiproxy {method} {path} answered {status}: {error}")


class ToxiproxyClient:
    """Control a Toxiproxy server at ``url``; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "sirekap-loadtest-faults", "Content-Type": "application/json"},
        )

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- server ---------------------------------------------------------------------------------

    def version(self) -> str:
        """The server's version string (``{"version": ...}`` since 2.7, plain text before)."""
        response = self._request("GET", "/version")
        try:
            data = response.json()
        except json.JSONDecodeError:
            return response.text.strip()
        return str(data["version"]) if isinstance(data, dict) else str(data)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    # -- proxies --------------------------------------------------------------------------------

    def proxies(self) -> dict[str, ProxyInfo]:
        data = self._request("GET", "/proxies").json()
        return {name: ProxyInfo.from_api(item) for name, item in data.items()}

    def get_proxy(self, name: str) -> ProxyInfo:
        return ProxyInfo.from_api(self._request("GET", f"/proxies/{_q(name)}").json())

    def create_proxy(
        self, name: str, *, listen: str, upstream: str, enabled: bool = True
    ) -> ProxyInfo:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return ProxyInfo.from_api(self._request("POST", "/proxies", body).json())

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        """Change some fields of a proxy; a new listen or upstream drops its open connections."""
        body: dict[str, Any] = {}
        if listen is not None:
            body["listen"] = listen
        if upstream is not None:
            body["upstream"] = upstream
        if enabled is not None:
            body["enabled"] = enabled
        return ProxyInfo.from_api(self._request("PATCH", f"/proxies/{_q(name)}", body).json())

    def enable(self, name: str) -> ProxyInfo:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> ProxyInfo:
        """Take the proxy down: it stops listening (connections refused) and drops open ones."""
        return self.update_proxy(name, enabled=False)

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{_q(name)}")

    def ensure_proxy(self, name: str, *, listen: str, upstream: str) -> ProxyInfo:
        """Make proxy ``name`` exist, enabled, with this listen address and upstream.

        Unlike toxiproxy-python's ``populate()`` an existing proxy is updated in place, never
        deleted and recreated. A listen port of 0 matches whatever port the proxy already has.
        """
        try:
            current = self.get_proxy(name)
        except ToxiproxyApiError as exc:
            if exc.status != 404:
                raise
            return self.create_proxy(name, listen=listen, upstream=upstream)
        changes: dict[str, Any] = {}
        if not _same_listen(current.listen, listen):
            changes["listen"] = listen
        if current.upstream != upstream:
            changes["upstream"] = upstream
        if not current.enabled:
            changes["enabled"] = True
        return self.update_proxy(name, **changes) if changes else current

    def populate(self, proxies: Iterable[dict[str, Any]]) -> list[ProxyInfo]:
        """Create or replace several proxies at once (``POST /populate``)."""
        data = self._request("POST", "/populate", list(proxies)).json()
        return [ProxyInfo.from_api(item) for item in data.get("proxies") or ()]

    # -- toxics ---------------------------------------------------------------------------------

    def toxics(self, proxy: str) -> list[Toxic]:
        return [toxic_from_api(item) for item in self._request("GET", _toxics(proxy)).json()]

    def get_toxic(self, proxy: str, name: str) -> Toxic:
        return toxic_from_api(self._request("GET", f"{_toxics(proxy)}/{_q(name)}").json())

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        return toxic_from_api(self._request("POST", _toxics(proxy), toxic.to_api()).json())

    def update_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        """Set the attributes and toxicity of the existing toxic named ``toxic.resolved_name``."""
        body = {"attributes": toxic.attributes(), "toxicity": toxic.toxicity}
        path = f"{_toxics(proxy)}/{_q(toxic.resolved_name)}"
        return toxic_from_api(self._request("PATCH", path, body).json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", f"{_toxics(proxy)}/{_q(name)}")

    # -- plumbing -------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            response = self._http.request(
                method, path, content=None if body is None else json.dumps(body)
            )
        except httpx.TimeoutException as exc:
            raise ToxiproxyUnavailable(
                f"Toxiproxy at {self.url} did not answer {method} {path} in time: {exc!r}"
            ) from exc
        except httpx.TransportError as exc:
            raise ToxiproxyUnavailable(
                f"cannot reach Toxiproxy at {self.url} ({method} {path}): {exc!r}"
            ) from exc
        if response.status_code >= 400:
            raise ToxiproxyApiError(method, path, response.status_code, _error_text(response))
        return response


def _q(name: str) -> str:
    return quote(name, safe="")


def _toxics(proxy: str) -> str:
    return f"/proxies/{_q(proxy)}/toxics"


def _error_text(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text or response.reason_phrase
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return text


def _same_listen(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    a_host, _, a_port = actual.rpartition(":")
    w_host, _, w_port = wanted.rpartition(":")
    return w_port == "0" and a_host.strip("[]") == w_host.strip("[]") and a_port.isdigit()
