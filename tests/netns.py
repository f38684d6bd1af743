"""Throwaway multi-host networks for end-to-end tests: Linux network namespaces joined by veths.

Every address lives only inside namespaces made here (``10.213.<link>.0/24``, one subnet per
link); the veth ends are created directly inside their namespaces, so the machine's own network
is never touched. Needs root and iproute2; ``available()`` says why not otherwise.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

PREFIX = "slt"
SUBNET = "10.213.{link}.0/24"
MAX_LINKS = 256
IP_TIMEOUT = 10.0
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_OURS = re.compile(rf"{PREFIX}(\d+)n(\d+)-")
_counter = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; with ``check`` a failure raises RuntimeError carrying ip's message."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if check and done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {message}")
    return done


def _next_prefix() -> str:
    return f"{PREFIX}{os.getpid()}n{next(_counter)}-"


@functools.cache
def available() -> str | None:
    """None if namespaces and veth pairs can be made here, else a one-line reason why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    probe = f"{_next_prefix()}probe"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a network namespace: {exc}"
    try:
        _ip("-n", probe, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a veth pair: {exc}"
    finally:
        _remove(probe)
    return None


def _pids_in(namespace: str) -> list[int]:
    done = _ip("netns", "pids", namespace, check=False)
    return [int(word) for word in done.stdout.split() if word.isdigit()]


def _remove(namespace: str) -> None:
    """Kill every process inside ``namespace``, then delete it (and with it its veths)."""
    deadline = time.monotonic() + 5.0
    while (pids := _pids_in(namespace)) and time.monotonic() < deadline:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    _ip("netns", "delete", namespace, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ours() -> list[str]:
    """Names of all namespaces this module made that still exist (any process's)."""
    done = _ip("netns", "list", check=False)
    names = (line.split()[0] for line in done.stdout.splitlines() if line.strip())
    return [name for name in names if _OURS.match(name)]


def remove_stale() -> list[str]:
    """Delete namespaces left by earlier runs whose process is gone; return their names."""
    stale = []
    for name in ours():
        match = _OURS.match(name)
        if match and not _alive(int(match.group(1))):
            _remove(name)
            stale.append(name)
    return stale


@dataclass(frozen=True)
class Network:
    """The hosts of one ``hosts()`` call: their namespaces, link addresses and interfaces."""

    namespaces: Mapping[str, str]
    addresses: Mapping[tuple[str, str], str]
    interfaces: Mapping[tuple[str, str], str]

    def namespace(self, host: str) -> str:
        """The namespace name of ``host``."""
        try:
            return self.namespaces[host]
        except KeyError:
            raise KeyError(f"no host {host!r}; hosts are {sorted(self.namespaces)}") from None

    def _link_key(self, host: str, peer: str) -> tuple[str, str]:
        self.namespace(host)
        self.namespace(peer)
        if (host, peer) not in self.addresses:
            raise KeyError(f"hosts {host!r} and {peer!r} share no link")
        return (host, peer)

    def address(self, host: str, peer: str) -> str:
        """The IPv4 address of ``host`` on its link to ``peer``: what ``peer`` uses to reach it."""
        return self.addresses[self._link_key(host, peer)]

    def interface(self, host: str, peer: str) -> str:
        """The name, inside ``host``, of its veth end towards ``peer`` (e.g. for ``tc``)."""
        return self.interfaces[self._link_key(host, peer)]

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed so that it runs inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def run(
        self, host: str, argv: Sequence[str], **kwargs: Any
    ) -> subprocess.CompletedProcess[Any]:
        """``subprocess.run`` of ``argv`` inside ``host`` (``check`` defaults to False)."""
        kwargs.setdefault("check", False)
        return subprocess.run(self.command(host, argv), **kwargs)  # noqa: PLW1510


def _validate(names: Sequence[str], links: Sequence[tuple[str, str]]) -> None:
    if isinstance(names, str):
        raise TypeError("names must be a sequence of host names, not one string")
    for name in names:
        if not _HOST_NAME.fullmatch(name):
            raise ValueError(f"host name {name!r} must be 1-32 of [A-Za-z0-9_-]")
    if len(set(names)) != len(names):
        raise ValueError(f"host names repeat: {list(names)}")
    if len(links) > MAX_LINKS:
        raise ValueError(f"at most {MAX_LINKS} links, got {len(links)}")
    seen: set[frozenset[str]] = set()
    for a, b in links:
        for end in (a, b):
            if end not in names:
                raise ValueError(f"link ({a!r}, {b!r}) names unknown host {end!r}")
        if a == b:
            raise ValueError(f"link ({a!r}, {b!r}) joins a host to itself")
        pair = frozenset((a, b))
        if pair in seen:
            raise ValueError(f"hosts {a!r} and {b!r} are linked twice")
        seen.add(pair)


@contextmanager
def hosts(names: Sequence[str], links: Sequence[tuple[str, str]]) -> Iterator[Network]:
    """One fresh namespace per name, ``lo`` up, and a veth pair with a /24 of its own per link.

    On exit, even on error, every process inside them is killed and the namespaces deleted.
    """
    _validate(names, links)
    remove_stale()
    prefix = _next_prefix()
    made: list[str] = []
    try:
        namespaces = {name: f"{prefix}{name}" for name in names}
        for namespace in namespaces.values():
            _ip("netns", "add", namespace)
            made.append(namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        addresses: dict[tuple[str, str], str] = {}
        interfaces: dict[tuple[str, str], str] = {}
        for index, (a, b) in enumerate(links):
            ns_a, ns_b = namespaces[a], namespaces[b]
            veth = f"veth{index}"
            _ip(
                "-n", ns_a, "link", "add", veth, "type", "veth", "peer", "name", veth, "netns", ns_b
            )
            net = SUBNET.format(link=index).removesuffix(".0/24")
            for host, peer, namespace, last in ((a, b, ns_a, 1), (b, a, ns_b, 2)):
                addresses[(host, peer)] = f"{net}.{last}"
                interfaces[(host, peer)] = veth
                _ip("-n", namespace, "addr", "add", f"{net}.{last}/24", "dev", veth)
                _ip("-n", namespace, "link", "set", veth, "up")
        yield Network(namespaces, addresses, interfaces)
    finally:
        for namespace in made:
            _remove(namespace)
