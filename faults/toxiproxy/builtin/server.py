"""Run the built-in Toxiproxy-compatible server: the HTTP API and every proxy, in one loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from faults.toxiproxy.builtin.api import ToxiproxyApi
from faults.toxiproxy.builtin.http import Request, start_http_server
from faults.toxiproxy.builtin.state import ApiError

log = logging.getLogger(__name__)


class BuiltinToxiproxy:
    """The API server and its proxies; ``await start()``, then ``await close()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474) -> None:
        self.host = host
        self.port = port
        self.api = ToxiproxyApi()
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, config: Path | None = None) -> None:
        if config is not None:
            await self.populate_from(config)
        self._server = await start_http_server(self.api.handle, self.host, self.port)
        sockets = getattr(self._server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("Toxiproxy-compatible API listening on %s", self.url)

    async def populate_from(self, config: Path) -> None:
        """Create the proxies listed in a JSON file, as ``toxiproxy-server -config`` does."""
        body = await asyncio.to_thread(config.read_bytes)
        response = await self.api.handle(Request("POST", "/populate", {}, body))
        if response.status >= 400:
            raise ApiError(f"cannot populate from {config}: {response.body.decode()}", 400)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.api.close()


async def serve(host: str, port: int, config: Path | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop every proxy."""
    server = BuiltinToxiproxy(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await server.start(config)
        await stop.wait()
    finally:
        await server.close()
        log.info("Toxiproxy-compatible server stopped")
