"""A proxy of the built-in server: its listener, its open connections and its toxic chains.

Toxiproxy semantics kept here: a disabled proxy closes its listener (new connections are refused)
and drops its open connections; toxics added, updated or removed apply to open connections at
once; a toxic chain per direction, in the order the toxics were added.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import socket
from typing import Any

from faults.toxiproxy.builtin.link import Link, ReadBuffer, Side
from faults.toxiproxy.builtin.stages import make_stage
from faults.toxiproxy.builtin.state import DOWNSTREAM, UPSTREAM, ApiError, ToxicState

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 4096
DEFAULT_LISTEN = "127.0.0.1:0"


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into its parts; errors read like Go's net package."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ApiError(f"address {address}: missing port in address", 500)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or int(port) > 65535:
        raise ApiError(f"address {address}: invalid port", 500)
    return host, int(port)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_listen(address: str) -> str:
    """The address a listen string stands for, as the real server compares them (names resolved)."""
    host, port = split_host_port(address)
    if not host or _is_ip(host):
        return join_host_port(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ApiError(f"lookup {host}: no such host", 500) from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return join_host_port(str(infos[0][4][0]), port)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Connection:
    """One accepted client and its upstream connection."""

    def __init__(self, proxy: ProxyRuntime) -> None:
        self.proxy = proxy
        self.client = Side(self, proxy.buffer)
        self.upstream: Side | None = None
        self.links: tuple[Link, Link] | None = None

    def side_made(self, side: Side) -> None:
        if side is self.client:
            self.proxy.connections.add(self)
            asyncio.get_running_loop().create_task(self._open_upstream())

    async def _open_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_host_port(self.proxy.upstream)
            _, side = await loop.create_connection(
                lambda: Side(self, self.proxy.buffer), host or "127.0.0.1", port
            )
        except (OSError, ApiError) as exc:
            log.info(
                "proxy %s: cannot reach upstream %s: %s", self.proxy.name, self.proxy.upstream, exc
            )
            self.client.transport.close()
            return
        self.upstream = side
        if self.client.lost or not self.proxy.enabled:
            side.transport.abort()
            self.client.transport.abort()
            return
        up = Link(UPSTREAM, self.client, side, make_stage)
        down = Link(DOWNSTREAM, side, self.client, make_stage)
        self.links = (up, down)
        self.proxy.links[UPSTREAM].add(up)
        self.proxy.links[DOWNSTREAM].add(down)
        up.start(self.proxy.chains[UPSTREAM])
        down.start(self.proxy.chains[DOWNSTREAM])

    def side_lost(self, side: Side) -> None:
        links = self.links
        if links is not None:
            for link in links:
                if link.source is side:
                    link.source_lost()
                if link.dest is side:
                    link.dest_lost()
        elif side is self.client and self.upstream is not None:
            self.upstream.transport.abort()
        if self.client.lost and (self.upstream is None or self.upstream.lost):
            self._forget()

    def _forget(self) -> None:
        self.proxy.connections.discard(self)
        if self.links is not None:
            self.proxy.links[UPSTREAM].discard(self.links[0])
            self.proxy.links[DOWNSTREAM].discard(self.links[1])

    def abort(self) -> None:
        """Drop the connection now (the proxy was disabled, changed or deleted)."""
        self.client.transport.abort()
        if self.upstream is not None:
            self.upstream.transport.abort()


class ProxyRuntime:
    """A named proxy: ``listen`` -> ``upstream``, with toxics per direction."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen or DEFAULT_LISTEN
        self.upstream = upstream
        self.enabled = False
        self.chains: tuple[list[ToxicState], list[ToxicState]] = ([], [])
        self.links: tuple[set[Link], set[Link]] = (set(), set())
        self.connections: set[Connection] = set()
        self.buffer = ReadBuffer()
        self._server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},  # Toxiproxy 2.12 serialises its proxy's logger field as an empty object
            "toxics": [toxic.to_json() for toxic in self.toxics()],
        }

    # -- listening ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; a proxy already enabled is left alone. Failures are 500s with the OS reason."""
        if self.enabled:
            return
        loop = asyncio.get_running_loop()
        host, port = split_host_port(self.listen)
        sock = None
        try:
            infos = await loop.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            infos.sort(key=lambda info: info[0] != socket.AF_INET)
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
            self._server = await loop.create_server(
                lambda: Connection(self).client, sock=sock, backlog=LISTEN_BACKLOG
            )
        except socket.gaierror:
            raise ApiError(f"listen tcp {self.listen}: lookup {host}: no such host", 500) from None
        except OSError as exc:
            if sock is not None:
                sock.close()
            reason = os.strerror(exc.errno or errno.EINVAL).lower()
            raise ApiError(f"listen tcp {self.listen}: bind: {reason}", 500) from None
        bound = sock.getsockname()
        self.listen = join_host_port(str(bound[0]), int(bound[1]))
        self.enabled = True
        log.info("proxy %s: listening on %s, upstream %s", self.name, self.listen, self.upstream)

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        # let the event loop finish closing the listening socket before answering
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.info("proxy %s: stopped", self.name)

    # -- toxics ---------------------------------------------------------------------------------

    def toxics(self) -> list[ToxicState]:
        return [*self.chains[UPSTREAM], *self.chains[DOWNSTREAM]]

    def find_toxic(self, name: str) -> ToxicState | None:
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        return None

    def add_toxic(self, toxic: ToxicState) -> None:
        self.chains[toxic.direction].append(toxic)
        for link in list(self.links[toxic.direction]):
            link.add_toxic(toxic)

    def update_toxic(self, toxic: ToxicState) -> None:
        for link in list(self.links[toxic.direction]):
            link.update_toxic(toxic)

    def remove_toxic(self, toxic: ToxicState) -> None:
        self.chains[toxic.direction].remove(toxic)
        for link in list(self.links[toxic.direction]):
            link.remove_toxic(toxic)

    def remove_all_toxics(self) -> None:
        for toxic in self.toxics():
            self.remove_toxic(toxic)
