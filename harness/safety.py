"""Load goes only to loopback unless the user names the remote host: a typo must not load prod."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The target is not loopback and was not allowed by name (exit code 2)."""


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses
    )


def check_target(url: str, allow_remote: str | None) -> str:
    """The target's host, once it is known to be safe to load; else UnsafeTarget saying why."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeTarget(f"--target {url!r}: give an http:// or https:// URL with a host")
    host = parts.hostname
    if allow_remote is not None and allow_remote != host:
        raise UnsafeTarget(
            f"--allow-remote {allow_remote!r} does not name the target's host {host!r}; "
            f"pass --allow-remote {host} to load it"
        )
    if allow_remote is None and not is_loopback(host):
        raise UnsafeTarget(
            f"--target {url}: {host} is not a loopback address; a load test goes to a remote "
            f"service only when you name it: add --allow-remote {host}"
        )
    return host
