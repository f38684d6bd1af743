"""The loopback rule: load goes only to loopback unless the user names the remote host.

One rule, used by every part that sends load (the harness's ``run`` and ``plan``, the locustfile
run by hand), decided from the URL as written, before any connection and without DNS:

- loopback is ``localhost``, an IPv4 address of 127.0.0.0/8 in dotted-quad form, ``[::1]``, or
  an IPv4-mapped IPv6 address of 127.0.0.0/8 (``[::ffff:127.0.0.1]``, which a dual-stack socket
  connects to 127.0.0.1: accepted on purpose);
- any other name is remote, whatever it resolves to today (a name in /etc/hosts, a DNS answer that
  can change between the check and the connection): it needs ``--allow-remote NAME``;
- a numeric host in another form (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``) is
  refused outright: the socket layer reads it as an address most people would not recognise;
  write the address in dotted-quad form.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import ClassVar
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The target is not loopback and was not allowed by name (exit code 2)."""

    exit_code: ClassVar[int] = 2  # a usage error (rundir.exits.USAGE), said by the CLI


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """True when ``host`` (as written in a URL, brackets allowed) is loopback by the rule."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address is not None and address.is_loopback


def _odd_numeric(host: str) -> bool:
    """A host the C library takes as an IPv4 address although it is not in dotted-quad form."""
    if _address(host) is not None:
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def check_target(url: str, allow_remote: str | None, flag: str = "--target") -> str:
    """The target's host, once it is known to be safe to load; else UnsafeTarget saying why."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # a bad port raises here, as a bracket does
    except ValueError as error:
        raise UnsafeTarget(
            f"{flag} {url!r}: not a URL ({error}); give one like http://127.0.0.1:8000"
        ) from None
    if parts.scheme not in {"http", "https"} or not host:
        raise UnsafeTarget(f"{flag} {url!r}: give an http:// or https:// URL with a host")
    if port == 0:
        raise UnsafeTarget(f"{flag} {url!r}: port 0 is not a port; valid ports: 1 to 65535")
    if parts.query or parts.fragment:
        raise UnsafeTarget(
            f"{flag} {url!r}: the service's base URL has no ?query or #fragment; give its base "
            "URL, like http://127.0.0.1:8000/api"
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(
            f"{flag} {url!r}: credentials in the URL would be written to the run record; the "
            "harness sends none, so give the URL without user:password@"
        )
    if _odd_numeric(host):
        raise UnsafeTarget(
            f"{flag} {url}: {host} is a numeric address in an unusual form; write it in "
            "dotted-quad form (e.g. 127.0.0.1)"
        )
    if allow_remote is not None and allow_remote.strip("[]").lower() != host:
        raise UnsafeTarget(
            f"--allow-remote {allow_remote!r} does not name the target's host {host!r}; "
            f"pass --allow-remote {host} to load it"
        )
    if allow_remote is None and not is_loopback(host):
        raise UnsafeTarget(
            f"{flag} {url}: {host} is not a loopback address; a load test goes to a remote "
            f"service only when you name it: add --allow-remote {host}"
        )
    return host
