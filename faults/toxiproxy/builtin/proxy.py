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
import re
import socket
from typing import Any

from faults.toxiproxy.builtin.link import Link, ReadBuffer, Side
from faults.toxiproxy.builtin.stages import make_stage
from faults.toxiproxy.builtin.state import DOWNSTREAM, UPSTREAM, ApiError, ToxicState

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 4096
DEFAULT_LISTEN = "127.0.0.1:0"


def split_host_port(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into its parts, with Go's rules and error messages.

    An empty port is 0; a port may be a service name from the services database.
    """
    host, port = _split(address)
    return host, lookup_port(port)


def _split(address: str) -> tuple[str, str]:
    def fail(reason: str) -> ApiError:
        return ApiError(f"address {address}: {reason}", 500)

    colon = address.rfind(":")
    if colon < 0:
        raise fail("missing port in address")
    host_start, after_host = 0, 0
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 != colon:
            if end + 1 < len(address) and address[end + 1] == ":":
                raise fail("too many colons in address")
            raise fail("missing port in address")
        host = address[1:end]
        host_start, after_host = 1, end + 1
    else:
        host = address[:colon]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in address[host_start:]:
        raise fail("unexpected '[' in address")
    if "]" in address[after_host:]:
        raise fail("unexpected ']' in address")
    return host, address[colon + 1 :]


def lookup_port(service: str) -> int:
    """A port number or service name as Go reads it; errors name what was given."""
    if not service:
        return 0
    number = re.fullmatch(r"([+-]?)([0-9]+)", service)
    if number is None:
        try:
            return socket.getservbyname(service, "tcp")
        except OSError:
            raise ApiError(f"address tcp/{service}: unknown port", 500) from None
    port = -int(number[2]) if number[1] == "-" else int(number[2])
    if not 0 <= port <= 65535:
        raise ApiError(f"address {service}: invalid port", 500)
    return port


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_listen(address: str) -> str:
    """The address a listen string stands for, as the real server compares them (names resolved).

    Errors are the real server's for an update: Go's address errors, without "listen tcp".
    """
    host, port = split_host_port(address)
    if not host or _is_ip(host):
        return join_host_port(host, port)
    return join_host_port(_lookup(host, port)[0][1], port)


def _lookup(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    """``host``'s addresses, IPv4 first (Go listens on the first IPv4 address of a name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ApiError(f"lookup {host}: no such host", 500) from None
    found: list[tuple[socket.AddressFamily, str]] = [(info[0], str(info[4][0])) for info in infos]
    found.sort(key=lambda address: address[0] != socket.AF_INET)
    return found


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_wildcard(host: str) -> bool:
    return not host or (_is_ip(host) and ipaddress.ip_address(host).is_unspecified)


def bind_listener(host: str, port: int) -> tuple[socket.socket | None, str, Exception | None]:
    """Bind ``host``:``port`` as Go's ``net.Listen("tcp", ...)`` does.

    Returns the socket (None when binding failed), the address Go names in a bind error (the
    resolved one; ``:port`` for an empty host) and the bind error. A wildcard host (empty,
    0.0.0.0 or ::) listens on IPv4 and IPv6 where the host has IPv6, so it reads ``[::]:port``.
    Raises :class:`ApiError` when a name does not resolve.
    """
    if _is_wildcard(host):
        shown = f":{port}" if not host else join_host_port(host, port)
        candidates = [(socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")]
    elif _is_ip(host):
        shown = join_host_port(host, port)
        candidates = [(socket.AF_INET6 if ":" in host else socket.AF_INET, host)]
    else:
        family, ip = _lookup(host, port)[0]
        shown = join_host_port(ip, port)
        candidates = [(family, ip)]
    error: Exception | None = None
    for family, ip in candidates:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # no IPv6 on this host: the IPv4 wildcard is next
            error = exc
            continue
        try:
            if family == socket.AF_INET6 and _is_wildcard(host):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ip, port))
        except OSError as exc:
            sock.close()
            error = exc
            if exc.errno not in {errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL}:
                break
            continue
        return sock, shown, None
    return None, shown, error


def _reason(error: Exception | None) -> str:
    """An OS error as Go prints it: the C library's message in lower case."""
    number = getattr(error, "errno", None) or errno.EINVAL
    return os.strerror(number).lower()


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
        """Listen; a proxy already enabled is left alone. Failures are 500s worded like Go's.

        ``listen tcp: <address error>`` when the address cannot be read or resolved, and
        ``listen tcp <resolved address>: bind: <OS reason>`` when it cannot be bound.
        """
        if self.enabled:
            return
        loop = asyncio.get_running_loop()
        try:
            host, port = split_host_port(self.listen)
            sock, shown, error = await asyncio.to_thread(bind_listener, host, port)
        except ApiError as exc:
            raise ApiError(f"listen tcp: {exc.message}", 500) from None
        if sock is None:
            raise ApiError(f"listen tcp {shown}: bind: {_reason(error)}", 500)
        try:
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
            self._server = await loop.create_server(
                lambda: Connection(self).client, sock=sock, backlog=LISTEN_BACKLOG
            )
        except OSError as exc:
            sock.close()
            raise ApiError(f"listen tcp {shown}: listen: {_reason(exc)}", 500) from None
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
